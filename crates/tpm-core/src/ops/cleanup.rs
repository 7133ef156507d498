//! Settling a record whose supervisor is gone (killed, or the machine rebooted).
//!
//! The managed process itself died with its supervisor (parent-death signal), but its
//! children may live on. They are found two ways: by process group (the main pid was the
//! group leader) and by the `TPM_SUPERVISOR` marker every process of the tree inherited.
//! They are sent SIGTERM, then SIGKILL after the kill timeout. Nothing is signalled unless
//! it is provably part of that tree.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::wait_until;
use crate::events::{self, Event, Kind};
use crate::info;
use crate::name::Name;
use crate::proc::{self, Identity, Stat};
use crate::record::Record;
use crate::status::Status;
use crate::store::Store;
use crate::supervisor::ENV_SUPERVISOR;

/// Called with the name's lock held. Ends what is left of a dead supervisor's tree and
/// writes the status the record should have (see `info::effective_status`).
pub(super) fn settle(store: &Store, name: &Name, record: &mut Record) {
    if !record.state.status.is_active() {
        return;
    }
    kill_leftovers(record);
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

/// The processes of a dead supervisor's tree that are still alive.
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

fn kill_leftovers(record: &Record) {
    let left = leftovers(record);
    if left.is_empty() {
        return;
    }
    for id in &left {
        id.signal(Signal::SIGTERM);
    }
    let timeout = record.spec.policy.kill_timeout;
    let gone = || left.iter().all(|id| !id.is_alive());
    if !wait_until(Instant::now() + timeout, gone) {
        for id in &left {
            id.signal(Signal::SIGKILL);
        }
        wait_until(Instant::now() + Duration::from_secs(2), gone);
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
