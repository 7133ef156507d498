//! pm2: one Node.js daemon (its "God" process) that the `pm2` CLI talks to over a socket in
//! a private `PM2_HOME`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::{exec, pid_file, wait_until, App, Manager};
use crate::procfs;

pub struct Pm2 {
    bin: PathBuf,
    home: PathBuf,
    /// Ecosystem files and app logs.
    work: PathBuf,
    files: usize,
}

impl Pm2 {
    /// `bin`: the `pm2` launcher (`node_modules/.bin/pm2`); `dir`: a scratch folder.
    pub fn new(bin: PathBuf, dir: PathBuf) -> Pm2 {
        Pm2 {
            bin,
            home: dir.join("home"),
            work: dir.join("work"),
            files: 0,
        }
    }

    fn pm2(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("PM2_HOME", &self.home);
        c
    }

    fn jlist(&self) -> Result<Vec<serde_json::Value>, String> {
        let out = exec(self.pm2().arg("jlist"))?;
        serde_json::from_slice(&out.stdout).map_err(|e| format!("pm2 jlist: {e}"))
    }

    fn daemon(&self) -> Option<u32> {
        pid_file(&self.home.join("pm2.pid"))
            .ok()
            .filter(|&p| procfs::is_running(p))
    }
}

impl Manager for Pm2 {
    fn label(&self) -> &'static str {
        "pm2"
    }

    fn version(&self) -> String {
        // node_modules/.bin/pm2 -> node_modules/pm2/bin/pm2
        let package = std::fs::canonicalize(&self.bin)
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.join("package.json")));
        package
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
            .and_then(|v| v["version"].as_str().map(String::from))
            .unwrap_or_else(|| "unknown".into())
    }

    fn up(&mut self) -> Result<(), String> {
        std::fs::create_dir_all(&self.work).map_err(|e| e.to_string())?;
        exec(self.pm2().arg("ping")).map(drop) // starts the daemon
    }

    fn down(&mut self) -> Result<(), String> {
        if !self.home.exists() {
            return Ok(());
        }
        let daemon = self.daemon();
        exec(self.pm2().arg("kill"))?;
        if let Some(pid) = daemon {
            wait_until("pm2's daemon to exit", Duration::from_secs(20), || {
                Ok(!procfs::is_running(pid))
            })?;
        }
        Ok(())
    }

    fn launch(&mut self, apps: &[App]) -> Result<(), String> {
        let list: Vec<serde_json::Value> = apps
            .iter()
            .map(|a| {
                serde_json::json!({
                    "name": a.name,
                    "script": a.argv[0],
                    "args": a.argv[1..],
                    "interpreter": "none",
                    "exec_mode": "fork",
                    "autorestart": a.restart,
                    "restart_delay": 0,
                    "max_restarts": 1_000_000,
                    "out_file": self.work.join(format!("{}.out", a.name)),
                    "error_file": self.work.join(format!("{}.err", a.name)),
                })
            })
            .collect();
        self.files += 1;
        let file = self.work.join(format!("apps-{}.json", self.files));
        let text = serde_json::to_string_pretty(&serde_json::json!({ "apps": list }))
            .map_err(|e| e.to_string())?;
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        exec(self.pm2().arg("start").arg(&file)).map(drop)
    }

    fn remove(&mut self, app: &App) -> Result<(), String> {
        exec(self.pm2().args(["delete", &app.name])).map(drop)
    }

    fn online(&self) -> Result<Vec<String>, String> {
        Ok(self
            .jlist()?
            .iter()
            .filter(|p| p["pm2_env"]["status"] == "online")
            .filter_map(|p| p["name"].as_str().map(String::from))
            .collect())
    }

    fn list(&self) -> Command {
        let mut c = self.pm2();
        c.arg("jlist");
        c
    }

    fn start(&self, app: &App) -> Command {
        let mut c = self.pm2();
        c.arg("start")
            .arg(&app.argv[0])
            .args(["--name", &app.name, "--interpreter", "none"]);
        if !app.restart {
            c.arg("--no-autorestart");
        }
        c.arg("--").args(&app.argv[1..]);
        c
    }

    fn stop(&self, app: &App) -> Command {
        let mut c = self.pm2();
        c.args(["stop", &app.name]);
        c
    }

    fn own_pids(&self) -> Result<Vec<u32>, String> {
        self.daemon()
            .map(|p| vec![p])
            .ok_or_else(|| "pm2's daemon is not running".into())
    }

    fn out_log(&self, app: &App) -> PathBuf {
        self.work.join(format!("{}.out", app.name))
    }
}
