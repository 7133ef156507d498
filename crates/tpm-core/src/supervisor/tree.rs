//! Signalling the managed process's whole tree.
//!
//! The supervisor is a child subreaper, so every descendant of the managed process, even
//! one that double-forks and `setsid`s away, is re-parented to it when its parent dies.
//! That makes "`waitpid` says there are no children" exactly "the whole tree is gone",
//! which is when a stop (or a restart) may proceed.

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag};
use nix::unistd::Pid;

use crate::proc;

/// Signals the main process's group (`group`, while it is unreaped) and every other
/// descendant of `supervisor` (daemons that left the group are still ours: we are their
/// subreaper). Returns how many descendants were found.
pub(super) fn signal(supervisor: u32, group: Option<u32>, signal: Signal) -> usize {
    if let Some(pgid) = group {
        // Safe while the main process is unreaped: its pid, and so its group id, is ours.
        let _ = kill(Pid::from_raw(-(pgid as i32)), signal);
    }
    // Without a single child there is no descendant either (a subreaper adopts them
    // all): no need to read every process on the machine. This is the common case of
    // a process that exits leaving nothing behind, on the way to its restart.
    if !has_children() {
        return 0;
    }
    let table = proc::all();
    let mut count = 0;
    for pid in proc::descendants(supervisor, &table) {
        let in_group = group.is_some_and(|g| table.iter().any(|s| s.pid == pid && s.pgrp == g));
        if !in_group {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
        count += 1;
    }
    count
}

/// Whether this process has any child, running or exited, without reaping one.
fn has_children() -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::All, flags), Err(Errno::ECHILD))
}
