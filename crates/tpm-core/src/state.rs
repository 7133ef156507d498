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
    /// The cgroup of the process's tree (see `cgroup`), when it has one: the supervisor
    /// made it, and the next command empties it if the supervisor dies.
    pub cgroup: Option<String>,
    /// What the supervisor last saw of the running tree (see `supervisor::sample`): CPU in
    /// percent of one core over the last few seconds, and resident memory in bytes summed
    /// over the tree's processes.
    pub cpu: Option<f64>,
    pub mem: Option<u64>,
    /// Whether a process of the tree listens on the PORT; `None` without a PORT or before
    /// the first look.
    pub listening: Option<bool>,
    /// Whether the running process is ready (see `readiness`); `None` when none runs.
    pub ready: Option<bool>,
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
            cgroup: None,
            cpu: None,
            mem: None,
            listening: None,
            ready: None,
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
        self.mem = None;
        self.listening = None;
        self.ready = None;
    }
}
