//! The process status: one enum, the states a supervisor moves a process through.
//!
//! ```text
//!  launching ──spawned──▶ online ──exit──▶ waiting ──delay over──▶ online ...
//!      │                    │ stop           │ too many quick exits ──▶ errored
//!      └─exec failed─▶ errored               ▼
//!                        stopping ──tree gone──▶ stopped
//! ```
//! `launching`, `online`, `waiting` and `stopping` are *active*: a live supervisor owns the
//! process. A record left in an active status by a supervisor that is gone is read as
//! `errored` (or `stopped` after a reboot); see `info::observe`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The supervisor is starting the process.
    Launching,
    /// The process is running.
    Online,
    /// The process exited and will be restarted after a delay.
    Waiting,
    /// A stop was asked for; the process tree is being terminated.
    Stopping,
    /// Not running, by request or after a clean exit.
    Stopped,
    /// Not running, and will not be restarted until a user restarts it.
    Errored,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Launching,
        Status::Online,
        Status::Waiting,
        Status::Stopping,
        Status::Stopped,
        Status::Errored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Launching => "launching",
            Status::Online => "online",
            Status::Waiting => "waiting",
            Status::Stopping => "stopping",
            Status::Stopped => "stopped",
            Status::Errored => "errored",
        }
    }

    /// True while a supervisor owns the process.
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Stopped | Status::Errored)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = ();
    fn from_str(s: &str) -> Result<Status, ()> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        assert!("running".parse::<Status>().is_err());
    }

    #[test]
    fn only_stopped_and_errored_are_inactive() {
        let inactive: Vec<_> = Status::ALL.into_iter().filter(|s| !s.is_active()).collect();
        assert_eq!(inactive, [Status::Stopped, Status::Errored]);
    }
}
