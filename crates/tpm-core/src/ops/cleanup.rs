//! Settling a record whose supervisor is gone (killed, or the machine rebooted).
//!
//! The managed process itself died with its supervisor (parent-death signal), but its
//! children may live on. Where the process had a cgroup, they are exactly the cgroup's
//! members, whatever they did to their group, session or environment. Otherwise they are
//! found two ways: by process group (the main pid was the group leader) and by the
//! `TPM_SUPERVISOR` marker every process of the tree inherited (a process that cleared its
//! environment and left the group cannot be found: docs/guarantees.md says so). Nothing is
//! signalled unless it is provably part of that tree.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::wait_until;
use crate::cgroup::Cgroup;
use crate::events::{self, Event, Kind};
use crate::info;
use crate::name::Name;
use crate::proc::{self, Identity, Stat};
use crate::record::Record;
use crate::status::Status;
use crate::store::Store;
use crate::supervisor::ENV_SUPERVISOR;

/// How long processes may take to die once sent SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// How a cleanup ends the leftovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Patience {
    /// TERM, up to the kill timeout, then KILL: what commands that act do (start, stop,
    /// restart, delete).
    Graceful,
    /// KILL at once (the main process got it too, from the kernel), and a short wait:
    /// what `tpm list` does, so a listing never waits out a kill timeout.
    Quick,
}

/// Called with the name's lock held. Ends what is left of a dead supervisor's tree and
/// writes the status the record should have (see `info::effective_status`). The write is
/// best effort: the leftovers are gone either way.
pub(super) fn settle(store: &Store, name: &Name, record: &mut Record, patience: Patience) {
    // A live supervisor (its lock file lost with a wiped store, say) owns its tree.
    if !record.state.status.is_active() || super::live_supervisor(record).is_some() {
        return;
    }
    kill_leftovers(name, record, patience);
    let (status, reason) = info::effective_status(record, false);
    let lost = Event::now(name, Kind::SupervisorLost).reason(reason.as_deref().unwrap_or(""));
    let _ = events::append(store, &lost);
    record.state.status = status;
    record.state.reason = reason;
    clear_pid(record);
    let _ = store.remove_pid(name);
    let _ = store.write(name, record);
}

pub(super) fn clear_pid(record: &mut Record) {
    record.state.pid = None;
    record.state.pid_start = None;
}

/// The cgroup the record's dead supervisor made, if it is provably that one.
fn cgroup_of(name: &Name, record: &Record) -> Option<Cgroup> {
    let s = &record.state;
    if s.boot_id.as_deref() != Some(proc::boot_id()) {
        return None; // cgroups do not outlive a boot
    }
    Cgroup::of_record(name, s.cgroup.as_deref()?, s.spid?, s.spid_start?)
}

/// The processes of a dead supervisor's tree that are still alive, found by process group
/// and marker (for a process without a cgroup).
fn leftovers(record: &Record) -> Vec<Identity> {
    let table = proc::all();
    let mut found: Vec<&Stat> = Vec::new();
    // The group: its id is the main pid. If a live process has that pid but another start
    // time, the pid (and with it the group id) was reused: nothing there is ours.
    if let (Some(pgid), Some(start)) = (record.state.pid, record.state.pid_start) {
        let reused = table
            .iter()
            .any(|s| s.pid == pgid && s.start_ticks != start);
        if !reused && record.state.boot_id.as_deref() == Some(proc::boot_id()) {
            found.extend(table.iter().filter(|s| s.pgrp == pgid));
        }
    }
    // The marker: every process the supervisor's child started inherited it.
    if let (Some(spid), Some(sstart)) = (record.state.spid, record.state.spid_start) {
        let marker = format!("{ENV_SUPERVISOR}={spid}.{sstart}");
        found.extend(
            table
                .iter()
                .filter(|s| s.pid != std::process::id() && proc::has_env(s.pid, marker.as_bytes())),
        );
    }
    let mut ids: Vec<Identity> = Vec::new();
    for s in found {
        if !s.is_zombie() && !ids.iter().any(|i| i.pid == s.pid) {
            ids.push(Identity {
                pid: s.pid,
                start_ticks: s.start_ticks,
                boot_id: proc::boot_id().to_string(),
            });
        }
    }
    ids
}

fn kill_leftovers(name: &Name, record: &Record, patience: Patience) {
    let timeout = record.spec.policy.kill_timeout;
    let stop_signal = record.spec.policy.stop_signal;
    if let Some(cg) = cgroup_of(name, record) {
        let empty = || cg.is_empty();
        if patience == Patience::Graceful && !empty() {
            for pid in cg.procs() {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), stop_signal);
            }
            wait_until(Instant::now() + timeout, empty);
        }
        cg.kill();
        wait_until(Instant::now() + KILL_WAIT, empty);
        cg.remove();
        return;
    }
    let left = leftovers(record);
    if left.is_empty() {
        return;
    }
    let gone = || left.iter().all(|id| !id.is_alive());
    let graceful = patience == Patience::Graceful && {
        for id in &left {
            id.signal(stop_signal);
        }
        wait_until(Instant::now() + timeout, gone)
    };
    if !graceful {
        for id in &left {
            id.signal(Signal::SIGKILL);
        }
        wait_until(Instant::now() + KILL_WAIT, gone);
    }
    // Processes forked while we waited: one more pass.
    for id in leftovers(record) {
        id.signal(Signal::SIGKILL);
    }
}

/// The status a record gets when settled after a user's stop; it is no longer meant to
/// run.
pub(super) fn stopped(record: &mut Record) {
    record.spec.wanted = false;
    record.state.status = Status::Stopped;
    record.state.reason = None;
    clear_pid(record);
}
