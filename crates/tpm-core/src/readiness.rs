//! Readiness: `online` means the process runs; *ready* means it serves. How a process is
//! judged ready is part of its spec ([`Readiness`]); whether it is, the supervisor writes
//! into its record (`state.ready`), so `tpm list` stays a read of files and a command
//! waiting for it (`ops::wait`) reads the same field.
//!
//! - `port` (the default): something of its tree listens on its PORT (the supervisor's
//!   sampler looks, five times a second in a run's first ten seconds).
//! - `line`: a line of its output (stdout or stderr) matches a regular expression.
//! - `http`: `GET http://127.0.0.1:PORT/PATH` answers 2xx.
//! - `notify`: the process sends `READY=1` on `NOTIFY_SOCKET` (systemd's notify protocol,
//!   `Type=notify`; see `supervisor::notify`).
//! - `none`: ready as soon as it runs.

use std::time::Duration;

/// How long `--wait` waits by default.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `--wait-timeout` accepted.
pub const MAX_WAIT_TIMEOUT: Duration = Duration::from_secs(3600);

/// How a process is judged ready.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReadyCheck {
    /// Its tree listens on its PORT.
    #[default]
    Port,
    /// A line of its output matches this regular expression.
    Line(String),
    /// `GET http://127.0.0.1:PORT` + this path answers 2xx.
    Http(String),
    /// It sends `READY=1` on `NOTIFY_SOCKET`.
    Notify,
    /// Ready as soon as it runs.
    None,
}

impl ReadyCheck {
    /// The record's `ready_check` key.
    pub fn kind(&self) -> &'static str {
        match self {
            ReadyCheck::Port => "port",
            ReadyCheck::Line(_) => "line",
            ReadyCheck::Http(_) => "http",
            ReadyCheck::Notify => "notify",
            ReadyCheck::None => "none",
        }
    }

    /// `port`, `line /listening on/`, `http /health`: for `describe`.
    pub fn describe(&self) -> String {
        match self {
            ReadyCheck::Port => "port".into(),
            ReadyCheck::Line(re) => format!("line /{re}/"),
            ReadyCheck::Http(path) => format!("http {path}"),
            ReadyCheck::Notify => "notify".into(),
            ReadyCheck::None => "none".into(),
        }
    }
}

/// Readiness settings of a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub check: ReadyCheck,
    /// Starts and restarts return only once it is ready (pm2's `wait_ready`).
    pub wait: bool,
    /// How long they wait (pm2's `listen_timeout`).
    pub wait_timeout: Duration,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            check: ReadyCheck::Port,
            wait: false,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
        }
    }
}

/// Checks a `--ready-line` expression; the error says what is wrong with it. The
/// supervisor matches with `regex-lite` (Perl-like syntax, without Unicode classes such as
/// `\p{L}`): checked with the same engine.
pub fn check_regex(re: &str) -> Result<(), String> {
    regex_lite::Regex::new(re)
        .map(|_| ())
        .map_err(|e| format!("--ready-line {re:?} is not a regular expression: {e}"))
}

/// A `--ready-http` path as requested: with a leading `/`.
pub fn http_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}
