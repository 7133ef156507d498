//! Liveness: a check that runs for the whole life of a process, where readiness
//! (`crate::readiness`) is judged once per run. A process that deadlocks but stays alive is
//! `online` for ever without one.
//!
//! A [`Health`] is part of the spec: what is checked (an HTTP path on the PORT, a TCP
//! connect to the PORT, a command's exit status), how often, how long one check may take,
//! how many failures in a row make it unhealthy, how long after a start failures do not
//! count, and what follows (restart, or only mark it). The supervisor runs it
//! (`supervisor::health`) and writes the verdict into the record's state ([`HealthState`],
//! `health=`, with `health_failures=`), so `tpm list`, the plugin, the web page and a
//! dependant's `healthy` condition read one field.
//!
//! The notify protocol's watchdog (`--watchdog`) is the other liveness signal: the process
//! says it is alive, rather than being asked. It lives beside readiness's `notify` kind.

use std::fmt;
use std::time::Duration;

/// How often a check runs unless told (Docker's and compose's default).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// How long one check may take unless told (Docker's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Failures in a row before acting, unless told (Docker's default is 3).
pub const DEFAULT_RETRIES: u32 = 3;
/// The shortest interval: a check is work in the supervisor, never a busy loop.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The longest interval, timeout and start period accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The longest a single check may take: the HTTP and TCP checks wait inside the
/// supervisor's loop, which must keep draining logs and answering stops.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// The most failures in a row that may be asked for.
pub const MAX_RETRIES: u32 = 1000;
/// The longest `--watchdog`.
pub const MAX_WATCHDOG: Duration = Duration::from_secs(24 * 3600);

/// What a liveness check asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// `GET http://127.0.0.1:PORT` + this path answers 2xx.
    Http(String),
    /// A TCP connection to 127.0.0.1:PORT is accepted.
    Tcp,
    /// This command (run by `sh -c`, in the process's folder and environment) exits 0.
    Cmd(String),
}

impl HealthCheck {
    /// The record's `health_check` key.
    pub fn kind(&self) -> &'static str {
        match self {
            HealthCheck::Http(_) => "http",
            HealthCheck::Tcp => "tcp",
            HealthCheck::Cmd(_) => "cmd",
        }
    }

    /// `http /healthz`, `tcp`, `cmd pg_isready`: for `describe` and events.
    pub fn describe(&self) -> String {
        match self {
            HealthCheck::Http(path) => format!("http {path}"),
            HealthCheck::Tcp => "tcp".into(),
            HealthCheck::Cmd(cmd) => format!("cmd {cmd}"),
        }
    }
}

/// What follows when the failures in a row reach `retries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthAction {
    /// Stop the tree as a stop would and start it again (not counted as a crash).
    #[default]
    Restart,
    /// Only mark it `unhealthy` (a dependant's `healthy` condition, a dashboard, an alert).
    Mark,
}

impl HealthAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthAction::Restart => "restart",
            HealthAction::Mark => "mark",
        }
    }

    pub fn parse(text: &str) -> Result<HealthAction, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "restart" => Ok(HealthAction::Restart),
            "mark" | "none" => Ok(HealthAction::Mark),
            other => Err(format!(
                "--health-action {other:?} is not one of restart, mark"
            )),
        }
    }
}

/// A liveness check and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub check: HealthCheck,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    /// After each start, failures in this window do not count (a success still makes it
    /// healthy): Docker's `start_period`.
    pub start_period: Duration,
    pub action: HealthAction,
}

impl Health {
    /// A check with the defaults.
    pub fn new(check: HealthCheck) -> Health {
        Health {
            check,
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            start_period: Duration::ZERO,
            action: HealthAction::Restart,
        }
    }

    /// `http /healthz every 30s, timeout 5s, 3 failures: restart`.
    pub fn describe(&self) -> String {
        let start = if self.start_period.is_zero() {
            String::new()
        } else {
            format!(
                ", start period {}",
                crate::supervisor::human(self.start_period)
            )
        };
        format!(
            "{} every {}, timeout {}, {} failure(s): {}{start}",
            self.check.describe(),
            crate::supervisor::human(self.interval),
            crate::supervisor::human(self.timeout),
            self.retries,
            self.action.as_str()
        )
    }
}

/// What the last checks said: the record's `health` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    /// No check has answered yet in this run (or it is in its start period).
    #[default]
    Unknown,
    Healthy,
    /// `retries` checks in a row failed.
    Unhealthy,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Unknown => "unknown",
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
        }
    }

    pub fn parse(text: &str) -> Option<HealthState> {
        match text {
            "unknown" => Some(HealthState::Unknown),
            "healthy" => Some(HealthState::Healthy),
            "unhealthy" => Some(HealthState::Unhealthy),
            _ => None,
        }
    }
}

impl fmt::Display for HealthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_actions_read_back() {
        for s in [
            HealthState::Unknown,
            HealthState::Healthy,
            HealthState::Unhealthy,
        ] {
            assert_eq!(HealthState::parse(s.as_str()), Some(s));
        }
        for a in [HealthAction::Restart, HealthAction::Mark] {
            assert_eq!(HealthAction::parse(a.as_str()), Ok(a));
        }
        assert!(HealthAction::parse("reboot").is_err());
    }

    #[test]
    fn describe_says_the_settings() {
        let mut h = Health::new(HealthCheck::Http("/healthz".into()));
        h.start_period = Duration::from_secs(10);
        assert_eq!(
            h.describe(),
            "http /healthz every 30s, timeout 5.0s, 3 failure(s): restart, start period 10s"
        );
    }
}
