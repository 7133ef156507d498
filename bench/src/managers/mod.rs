//! The three managers behind one interface, each driven through its own command-line tool
//! exactly as a user would: `tpm`, `pm2` (with its daemon), `supervisorctl` (with
//! `supervisord`). Each keeps its state in the run's scratch folder.

mod pm2;
mod supervisord;
mod tpm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use pm2::Pm2;
pub use supervisord::Supervisord;
pub use tpm::Tpm;

/// A process to manage.
#[derive(Debug, Clone)]
pub struct App {
    /// The name given to the manager (tpm appends `-PORT`).
    pub name: String,
    /// tpm's PORT (the others ignore it).
    pub port: u16,
    /// Program and arguments, run directly (no shell).
    pub argv: Vec<String>,
    /// Restart at once, without delay or give-up, when it exits (else leave it down).
    pub restart: bool,
}

/// What every manager does, in the benchmarks' terms.
pub trait Manager {
    /// `tpm`, `pm2`, `supervisord`.
    fn label(&self) -> &'static str;
    fn version(&self) -> String;
    /// A fresh, empty manager (its daemon started, if it has one).
    fn up(&mut self) -> Result<(), String>;
    /// Everything it runs stopped, and its daemon gone. Safe to call twice.
    fn down(&mut self) -> Result<(), String>;
    /// Starts `apps` the fastest way the manager has (untimed); returns when the manager's
    /// command does, without asking it anything more (the log figures must not disturb it).
    fn launch(&mut self, apps: &[App]) -> Result<(), String>;
    /// Starts `apps` (untimed) and returns once the manager reports every one online.
    fn add(&mut self, apps: &[App]) -> Result<(), String> {
        self.launch(apps)?;
        wait_until(
            "the processes to be online",
            Duration::from_secs(60),
            || {
                let online = self.online()?;
                Ok(apps.iter().all(|a| online.contains(&self.id(a))))
            },
        )
    }
    /// Stops and forgets one app (untimed).
    fn remove(&mut self, app: &App) -> Result<(), String>;
    /// The names of the apps running, as the manager reports them.
    fn online(&self) -> Result<Vec<String>, String>;
    /// The name the manager knows `app` by.
    fn id(&self, app: &App) -> String {
        app.name.clone()
    }
    /// The listing the figures time (`tpm list --json`, `pm2 jlist`, `supervisorctl status`).
    fn list(&self) -> Command;
    /// Makes `app` known without starting it, where the manager needs that (untimed).
    fn prepare(&mut self, _app: &App) -> Result<(), String> {
        Ok(())
    }
    /// The timed start of one app.
    fn start(&self, app: &App) -> Command;
    /// The timed stop of one app.
    fn stop(&self, app: &App) -> Command;
    /// The manager's own processes (not the apps): what the memory figures add up.
    fn own_pids(&self) -> Result<Vec<u32>, String>;
    /// Where the app's stdout is logged (the current file, after any rotation).
    fn out_log(&self, app: &App) -> PathBuf;
}

/// Runs a command to completion; fails with its stderr unless it succeeded.
pub fn exec(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", describe(cmd)))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{} failed ({}): {}{}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    }
}

/// The command as a user would type it, for messages.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Polls `cond` every few milliseconds until it holds, or fails after `limit`.
pub fn wait_until(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        if cond()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {limit:?} waiting for {what}"));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Reads the pid in a daemon's pid file.
pub fn pid_file(path: &Path) -> Result<u32, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .trim()
        .parse()
        .map_err(|_| format!("{}: not a pid", path.display()))
}
