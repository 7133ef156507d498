//! Signalling the managed process's whole tree.
//!
//! On Linux the supervisor is a child subreaper, so every descendant of the managed process,
//! even one that double-forks and `setsid`s away, is re-parented to it when its parent
//! dies. That makes "`waitpid` says there are no children" exactly "the whole tree is
//! gone", which is when a stop (or a restart) may proceed. Under the POSIX backend there is
//! no subreaper: orphans go to init, and the tree is the process group and what is still
//! below the supervisor (see `platform`).
//!
//! The tree is found without reading the whole process table: it is the process's cgroup
//! where it has one, else the supervisor's descendants walked down from the supervisor
//! (`proc::tree`), so stopping costs the same with 1 or 1 000 processes on the machine.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::cgroup::Cgroup;
use crate::platform;
use crate::proc;

/// Signals the main process's group (`group`, while it is unreaped) and every other process
/// of the tree: the cgroup's members, or every descendant of `supervisor` (daemons that
/// left the group are still ours: we are their subreaper). SIGKILL to a cgroup is one
/// `cgroup.kill`. Returns how many processes the tree had.
pub(super) fn signal(
    supervisor: u32,
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
    if !platform::has_children() {
        return 0;
    }
    if let (Some(cg), Signal::SIGKILL) = (cgroup, signal) {
        return cg.kill();
    }
    let members = match cgroup {
        Some(cg) => cg.procs(),
        None => proc::tree(supervisor),
    };
    for &pid in &members {
        // The group had its signal already: a TERM handler must not run twice.
        let in_group = group.is_some_and(|g| proc::Stat::read(pid).is_some_and(|s| s.pgrp == g));
        if !in_group {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    }
    members.len()
}
