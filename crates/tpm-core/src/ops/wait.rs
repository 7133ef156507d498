//! Waiting until a process is ready (`tpm start --wait`, `tpm restart --wait`, an app with
//! `wait_ready`): a read of its record every few milliseconds, where its supervisor writes
//! `ready` (see `crate::readiness`), until it is ready, its run ends, or time is up.

use std::time::{Duration, Instant};

use super::Tpm;
use crate::error::{Error, Result};
use crate::info::ProcessInfo;
use crate::name::Name;
use crate::status::Status;

/// How many of its last log lines a failed wait shows.
pub const LOG_LINES: usize = 10;
/// How often the record is read while waiting.
const POLL: Duration = Duration::from_millis(20);

/// How a wait for readiness ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    Ready,
    /// The run waited for ended (`code`: its exit code, when it exited).
    Exited {
        code: Option<i32>,
    },
    /// Not ready within the time given.
    TimedOut,
}

impl Tpm {
    /// Waits until the current run of `name` is ready, ends, or `timeout` passes. The run
    /// is the one the record names now: a run that ends (even one restarted at once) is
    /// reported as ended, at once.
    pub fn wait_until_ready(&self, name: &Name, timeout: Duration) -> Result<WaitOutcome> {
        let deadline = Instant::now() + timeout;
        let first = self.store.load(name)?;
        let (pid, restarts) = (first.state.pid, first.state.restarts);
        loop {
            let record = self.store.load(name)?;
            let state = &record.state;
            let same_run = state.pid.is_some() && state.pid == pid && state.restarts == restarts;
            if same_run && state.ready == Some(true) {
                return Ok(WaitOutcome::Ready);
            }
            let running = matches!(state.status, Status::Online | Status::Launching);
            if !same_run || !running || !self.store.is_locked(name) {
                return Ok(WaitOutcome::Exited {
                    code: state.exit_code,
                });
            }
            if Instant::now() >= deadline {
                return Ok(WaitOutcome::TimedOut);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Each process of `results` (restarted or started) once ready, or why not: what
    /// `restart --wait` does after the restarts. `timeout`: each process's own unless given.
    pub fn wait_each(
        &self,
        results: super::Each<ProcessInfo>,
        timeout: Option<Duration>,
    ) -> super::Each<ProcessInfo> {
        results
            .into_iter()
            .map(|(name, result)| {
                let result = result.and_then(|info| {
                    if info.ready == Some(true) {
                        return Ok(info);
                    }
                    let timeout = match timeout {
                        Some(t) => t,
                        None => self.wait_timeout(&name)?,
                    };
                    self.ensure_ready(&name, timeout)
                });
                (name, result)
            })
            .collect()
    }

    /// How long a wait for `name` lasts unless told: its `wait_timeout` (30 s by default).
    pub fn wait_timeout(&self, name: &Name) -> Result<Duration> {
        if let Some(given) = self.wait_timeout {
            return Ok(given);
        }
        Ok(self.store.load(name)?.spec.ready.wait_timeout)
    }

    /// [`Tpm::wait_until_ready`], as a command wants it: the process as it is once ready,
    /// or an error saying why not, with its last log lines.
    pub fn ensure_ready(&self, name: &Name, timeout: Duration) -> Result<ProcessInfo> {
        let why = match self.wait_until_ready(name, timeout)? {
            WaitOutcome::Ready => return self.info(name),
            WaitOutcome::Exited { code: Some(code) } => {
                format!("it exited with code {code} before it was ready")
            }
            WaitOutcome::Exited { code: None } => "it ended before it was ready".to_string(),
            WaitOutcome::TimedOut => {
                let record = self.store.load(name)?;
                format!(
                    "not ready after {} ({})",
                    crate::supervisor::human(timeout),
                    match &record.spec.ready.check {
                        crate::readiness::ReadyCheck::Port => match record.spec.port {
                            Some(port) => format!("nothing of it listens on port {port}"),
                            None => "it did not stay running".to_string(),
                        },
                        crate::readiness::ReadyCheck::Line(re) => {
                            format!("no line of its output matched /{re}/")
                        }
                        crate::readiness::ReadyCheck::Http(path) => format!(
                            "http://127.0.0.1:{}{path} did not answer 2xx",
                            record.spec.port.map_or("?".into(), |p| p.to_string())
                        ),
                        crate::readiness::ReadyCheck::Notify => {
                            "it sent no READY=1 on NOTIFY_SOCKET".to_string()
                        }
                        crate::readiness::ReadyCheck::None => "no check".to_string(),
                    }
                )
            }
        };
        let log = crate::logs::last_lines(&self.store, name, LOG_LINES)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.line)
            .collect();
        Err(Error::NotReady {
            name: name.to_string(),
            why,
            log,
        })
    }
}
