//! What is happening: a process's [`State`], kept current by its supervisor.
//!
//! Every pid is stored with its start time (clock ticks after boot) and the boot it
//! belongs to, so a pid that now names another process is never taken for ours (see
//! `proc::Identity`).

use crate::cgroup::Tracking;
use crate::status::Status;

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub status: Status,
    /// The running process, and its start time.
    pub pid: Option<u32>,
    pub pid_start: Option<u64>,
    /// The supervisor, likewise.
    pub spid: Option<u32>,
    pub spid_start: Option<u64>,
    /// The boot the pids above belong to.
    pub boot_id: Option<String>,
    /// Unix time the current (or last) run began.
    pub start_time: Option<i64>,
    pub restarts: u32,
    /// The last exit: the code, or 128 + the signal number.
    pub exit_code: Option<i32>,
    /// Why the process is in its status, when that is worth saying.
    pub reason: Option<String>,
    /// Log bytes that could not be written (full disk, file size limit), over the whole
    /// life of the record (restarts add to it).
    pub log_dropped: u64,
    /// Log bytes written to its files, likewise over the whole life of the record.
    pub log_written: u64,
    /// How its runs ended, likewise (see [`Exits`]).
    pub exits: Exits,
    /// CPU time of its trees in milliseconds, likewise: every run's, its children's and
    /// theirs (as the supervisor last wrote it: within about ten seconds of now).
    pub cpu_time_ms: u64,
    /// The cgroup of the process's tree (see `cgroup`), when it has one: the supervisor
    /// made it, and the next command empties it if the supervisor dies.
    pub cgroup: Option<String>,
    /// What the supervisor last saw of the running tree (see `supervisor::sample`): CPU in
    /// percent of one core over the last few seconds, and resident memory in bytes summed
    /// over the tree's processes.
    pub cpu: Option<f64>,
    /// When `cpu` was measured, in milliseconds since the epoch: the supervisor looks only
    /// while someone does (see `supervisor::sample`), so a figure can be old.
    pub cpu_at: Option<i64>,
    pub mem: Option<u64>,
    /// Whether a process of the tree listens on the PORT; `None` without a PORT or before
    /// the first look.
    pub listening: Option<bool>,
    /// Whether the running process is ready (see `readiness`); `None` when none runs.
    pub ready: Option<bool>,
    /// What its liveness check last said (see `health`); `None` without a check or a run.
    pub health: Option<crate::health::HealthState>,
    /// Failed liveness checks in a row.
    pub health_failures: u32,
    /// The last `STATUS=` the process sent on `NOTIFY_SOCKET` (see `supervisor::notify`).
    pub notify_status: Option<String>,
}

impl Default for State {
    fn default() -> Self {
        State {
            status: Status::Stopped,
            pid: None,
            pid_start: None,
            spid: None,
            spid_start: None,
            boot_id: None,
            start_time: None,
            restarts: 0,
            exit_code: None,
            reason: None,
            log_dropped: 0,
            log_written: 0,
            exits: Exits::default(),
            cpu_time_ms: 0,
            cgroup: None,
            cpu: None,
            cpu_at: None,
            mem: None,
            listening: None,
            ready: None,
            health: None,
            health_failures: 0,
            notify_status: None,
        }
    }
}

impl State {
    /// How the process's tree is (or was last) tracked.
    pub fn tracking(&self) -> Tracking {
        match self.cgroup {
            Some(_) => Tracking::Cgroup,
            None => Tracking::ProcessTree,
        }
    }

    /// Forgets the running process (it exited, or was never verified), and what was seen
    /// of its tree.
    pub fn clear_pid(&mut self) {
        self.pid = None;
        self.pid_start = None;
        self.cpu = None;
        self.cpu_at = None;
        self.mem = None;
        self.listening = None;
        self.ready = None;
        self.health = None;
        self.health_failures = 0;
        self.notify_status = None;
    }
}

/// Why a run ended. Exits are counted by the supervisor as it reaps the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// It exited with code 0, unasked.
    Success,
    /// It exited with another code, unasked.
    Failure,
    /// A signal tpm did not send ended it (the OOM killer, a `kill -9`, a crash).
    Signal,
    /// tpm ended it: a stop, a restart or reload, `--max-memory`, `--cron-restart`,
    /// `--watch`.
    Stopped,
}

impl ExitReason {
    pub const ALL: [ExitReason; 4] = [
        ExitReason::Success,
        ExitReason::Failure,
        ExitReason::Signal,
        ExitReason::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Success => "success",
            ExitReason::Failure => "failure",
            ExitReason::Signal => "signal",
            ExitReason::Stopped => "stopped",
        }
    }
}

/// Runs ended, by [`ExitReason`]. In the record: `exits=success:1,failure:2,signal:0,stopped:3`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exits([u64; 4]);

impl Exits {
    pub fn count(&self, reason: ExitReason) -> u64 {
        self.0[reason as usize]
    }

    pub fn add(&mut self, reason: ExitReason) {
        let n = &mut self.0[reason as usize];
        *n = n.saturating_add(1);
    }

    pub fn to_text(&self) -> String {
        let parts: Vec<String> = ExitReason::ALL
            .iter()
            .map(|r| format!("{}:{}", r.as_str(), self.count(*r)))
            .collect();
        parts.join(",")
    }

    /// Reads [`Exits::to_text`]; a reason this version does not know, or a count that does
    /// not read, is left out (a count is evidence, never a reason to reject a record).
    pub fn parse(text: &str) -> Exits {
        let mut exits = Exits::default();
        for part in text.split(',') {
            let Some((reason, n)) = part.split_once(':') else {
                continue;
            };
            let (Some(r), Ok(n)) = (
                ExitReason::ALL.iter().find(|r| r.as_str() == reason),
                n.parse::<u64>(),
            ) else {
                continue;
            };
            exits.0[*r as usize] = n;
        }
        exits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_round_trip_through_text_and_junk_reads_as_none() {
        let mut e = Exits::default();
        e.add(ExitReason::Failure);
        e.add(ExitReason::Failure);
        e.add(ExitReason::Stopped);
        assert_eq!(e.to_text(), "success:0,failure:2,signal:0,stopped:1");
        assert_eq!(Exits::parse(&e.to_text()), e);
        let junk = Exits::parse("failure:x,oom:3,signal:4,,:");
        assert_eq!(junk.count(ExitReason::Signal), 4);
        assert_eq!(junk.count(ExitReason::Failure), 0);
    }
}
