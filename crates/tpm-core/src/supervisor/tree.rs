//! Signalling the managed process's whole tree.
//!
//! On Linux the supervisor is a child subreaper, so every descendant of the managed process,
//! even one that double-forks and `setsid`s away, is re-parented to it when its parent
//! dies. That makes "`waitpid` says there are no children" exactly "the whole tree is
//! gone", which is when a stop (or a restart) may proceed. Under the POSIX backend there is
//! no subreaper: orphans go to init. There the tree is also every process that carries the
//! supervisor's `TPM_SUPERVISOR` marker (found in the whole process table), and a drain
//! waits for those too ([`sweep_strays`]); a process that left the group and cleared its
//! environment escapes (see `platform`).
//!
//! The tree is found without reading the whole process table: it is the process's cgroup
//! where it has one, else the supervisor's descendants walked down from the supervisor
//! (`proc::tree`), so stopping costs the same with 1 or 1 000 processes on the machine.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use std::time::{Duration, Instant};

use crate::cgroup::Cgroup;
use crate::platform;
use crate::proc::{self, Identity};

/// Signals the main process's group (`group`, while it is unreaped) and every other process
/// of the tree: the cgroup's members, or every descendant of `supervisor` (daemons that
/// left the group are still ours: we are their subreaper). SIGKILL to a cgroup is one
/// `cgroup.kill`. Returns how many processes the tree had.
pub(super) fn signal(
    supervisor: &Identity,
    group: Option<u32>,
    cgroup: Option<&Cgroup>,
    signal: Signal,
) -> usize {
    if let Some(pgid) = group {
        // Safe while the main process is unreaped: its pid, and so its group id, is ours.
        let _ = kill(Pid::from_raw(-(pgid as i32)), signal);
    }
    // Without a single child there is no descendant either (a subreaper adopts them
    // all). This is the common case of a process that exits leaving nothing behind, on
    // the way to its restart.
    let subreaper = platform::has_subreaper();
    if subreaper && !platform::has_children() {
        return 0;
    }
    if let (Some(cg), Signal::SIGKILL) = (cgroup, signal) {
        return cg.kill();
    }
    let mut members = match cgroup {
        Some(cg) => cg.procs(),
        None => proc::tree(supervisor.pid),
    };
    if !subreaper {
        for pid in strays(supervisor) {
            if !members.contains(&pid) {
                members.push(pid);
            }
        }
    }
    for &pid in &members {
        // The group had its signal already: a TERM handler must not run twice.
        let in_group = group.is_some_and(|g| proc::Stat::read(pid).is_some_and(|s| s.pgrp == g));
        if !in_group {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    }
    members.len()
}

/// The processes that carry `supervisor`'s marker, where orphans do not come back to it
/// (no subreaper); none where they do (they are its descendants then).
fn strays(supervisor: &Identity) -> Vec<u32> {
    if platform::has_subreaper() {
        return Vec::new();
    }
    let marker = format!(
        "{}={}.{}",
        super::ENV_SUPERVISOR,
        supervisor.pid,
        supervisor.start_ticks
    );
    proc::all()
        .into_iter()
        .filter(|s| {
            s.pid != supervisor.pid && !s.is_zombie() && proc::has_env(s.pid, marker.as_bytes())
        })
        .map(|s| s.pid)
        .collect()
}

/// How long strays may take to die once sent SIGKILL.
const STRAY_KILL_WAIT: Duration = Duration::from_secs(2);

/// Where orphans are not ours (no subreaper), "no child left" is not "the tree is gone":
/// the strays of the tree (signalled with the rest, see [`signal`]) are waited for until
/// `deadline`, then killed. Blocks the supervisor meanwhile: it runs when the main
/// process is already gone. Returns how many were killed.
pub(super) fn sweep_strays(supervisor: &Identity, deadline: Instant) -> usize {
    let mut pause = Duration::from_millis(1);
    loop {
        let left = strays(supervisor);
        if left.is_empty() {
            return 0;
        }
        if Instant::now() >= deadline {
            for &pid in &left {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
            let until = Instant::now() + STRAY_KILL_WAIT;
            while !strays(supervisor).is_empty() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            return left.len();
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
