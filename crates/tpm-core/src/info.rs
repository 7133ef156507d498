//! `ProcessInfo`: a process as observed now, the one type every front end renders.
//!
//! The CLI's `--json` fields and the Nushell plugin's columns are this struct's fields,
//! with the same names and meanings. It joins the record (what the supervisor last wrote)
//! with what is true now: whether the supervisor still holds its lock, whether the pid is
//! still the same process, and its CPU and memory.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, Local, TimeZone};
use serde::Serialize;

use crate::cgroup::Tracking;
use crate::name::Name;
use crate::proc::{self, Identity, Stat};
use crate::record::Record;
use crate::status::Status;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessInfo {
    pub name: String,
    pub id: Option<u32>,
    pub status: Status,
    /// The running process; `None` unless it is verified alive.
    pub pid: Option<u32>,
    /// `None`: it listens on no PORT (a worker).
    pub port: Option<u16>,
    /// Whether a process of its tree listens on the PORT, as its supervisor last looked
    /// (within a second early in a run, then while someone looks: a listing, `monit`, the
    /// web page); `None` when not running, without a PORT, or before the first look.
    /// Whether it serves (see `readiness`: it listens on its PORT, printed its ready line,
    /// or answers HTTP); `None` when not running.
    pub ready: Option<bool>,
    pub listening: Option<bool>,
    /// Seconds since the current run began; `None` when not running.
    pub uptime: Option<u64>,
    pub restarts: u32,
    /// CPU use of the whole tree in percent of one core, over the last few seconds while
    /// someone looks (a listing wakes the supervisors, which then look every 2 s for 30 s;
    /// an idle supervisor nobody looks at never looks, and the first listing after a rest
    /// shows the figure of the last look, whose time the record keeps as `cpu_at`). Before
    /// its first look, the main process's average over its run, as `ps` shows it.
    pub cpu: Option<f64>,
    /// Resident memory in bytes, summed over the tree's processes (pages they share are
    /// counted in each, as pm2 and `ps` sums do). Before the supervisor's first look, the
    /// main process's.
    pub mem: Option<u64>,
    /// When the current (or last) run began.
    pub started: Option<DateTime<FixedOffset>>,
    pub script: String,
    pub cmd: Vec<String>,
    pub cwd: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    /// The supervisor's pid, while one is alive.
    pub supervisor: Option<u32>,
    pub autorestart: bool,
    pub log_dropped: u64,
    /// Whether it is meant to run: started and not stopped by a user since (a reboot or a
    /// crash do not change it; `tpm resurrect` starts those that are not running).
    pub wanted: bool,
    /// Restarts by the restart policy in the last 24 hours, from the event history.
    pub restarts_24h: u32,
    /// Time online over the time it was meant to run, in the last 24 hours (or since it was
    /// created), in percent; `None` when it was not meant to run in that time.
    pub uptime_pct_24h: Option<f64>,
    /// How the process's tree is (or was last) found: `cgroup` where tpm could give it one,
    /// else `process-tree` (see `cgroup::Tracking`).
    pub tracking: Tracking,
    /// Its instance number, for one of an app's instances (`NAME-PORT-i`).
    pub instance: Option<u32>,
    /// What its liveness check last said (`unknown`, `healthy`, `unhealthy`; see
    /// `health`); `None` without a check, or when not running.
    pub health: Option<crate::health::HealthState>,
}

/// Time, read once for a whole listing.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: i64,
    /// Seconds since boot, for CPU averages.
    pub boot_uptime: Option<f64>,
}

impl Clock {
    pub fn now() -> Clock {
        Clock {
            now: unix_now(),
            boot_uptime: proc::uptime_seconds(),
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Joins a record with what is true now. `supervised` tells whether the name's lock is held.
pub fn observe(name: &Name, record: &Record, supervised: bool, clock: Clock) -> ProcessInfo {
    observe_seen(name, record, supervised, clock, None)
}

/// The record's process, if it runs and is still the one recorded.
pub(crate) fn live_process(record: &Record) -> Option<Stat> {
    Identity::from_parts(
        record.state.pid,
        record.state.pid_start,
        record.state.boot_id.as_deref(),
    )
    .and_then(|id| id.stat_if_alive())
}

/// Whether the live process `stat` of `record` proves its supervisor alive: its parent is
/// the recorded supervisor, so that supervisor lives, and is that one (an orphan is adopted
/// by an ancestor, never by a process that took a dead one's pid). A live supervisor holds
/// the name's lock: a listing need not ask the lock, nor read the supervisor's `/proc`.
pub(crate) fn parent_is_supervisor(record: &Record, stat: &Stat) -> bool {
    record.state.spid == Some(stat.ppid)
}

/// [`observe`], given the process's stat when the caller has just read it.
pub(crate) fn observe_seen(
    name: &Name,
    record: &Record,
    supervised: bool,
    clock: Clock,
    seen: Option<Stat>,
) -> ProcessInfo {
    let (status, reason) = effective_status(record, supervised);
    let live = if matches!(
        status,
        Status::Online | Status::Stopping | Status::Launching
    ) {
        seen.or_else(|| live_process(record))
    } else {
        None
    };
    let supervisor = if !supervised {
        None
    } else if let Some(stat) = live.filter(|s| parent_is_supervisor(record, s)) {
        Some(stat.ppid)
    } else {
        Identity::from_parts(
            record.state.spid,
            record.state.spid_start,
            record.state.boot_id.as_deref(),
        )
        .filter(Identity::is_alive)
        .map(|id| id.pid)
    };
    let hz = proc::ticks_per_second() as f64;
    let state = &record.state;
    let cpu = live.and_then(|s| {
        if state.cpu.is_some() {
            return state.cpu;
        }
        let ran = clock.boot_uptime? - s.start_ticks as f64 / hz;
        (ran > 0.0).then(|| round1(s.cpu_ticks as f64 / hz / ran * 100.0))
    });
    ProcessInfo {
        name: name.to_string(),
        id: record.id,
        status,
        pid: live.map(|s| s.pid),
        port: record.spec.port,
        listening: live.and(state.listening),
        ready: live.map(|_| state.ready == Some(true)),
        uptime: live
            .and(record.state.start_time)
            .map(|t| (clock.now - t).max(0) as u64),
        restarts: record.state.restarts,
        cpu,
        mem: live.map(|s| state.mem.unwrap_or(s.rss_pages * proc::page_size())),
        started: record.state.start_time.and_then(local_time),
        script: record.spec.script.clone(),
        cmd: record.spec.cmd.clone(),
        cwd: record.spec.cwd.clone(),
        kind: record.spec.kind.clone(),
        exit_code: record.state.exit_code,
        reason,
        supervisor,
        autorestart: record.spec.policy.autorestart,
        log_dropped: record.state.log_dropped,
        wanted: record.spec.wanted,
        restarts_24h: 0,
        uptime_pct_24h: None,
        tracking: record.state.tracking(),
        instance: record.spec.cluster.instance,
        health: live.and(state.health),
    }
}

/// The history's last 24 hours, for [`ProcessInfo::restarts_24h`] and
/// [`ProcessInfo::uptime_pct_24h`].
pub(crate) fn with_history(
    mut info: ProcessInfo,
    store: &crate::store::Store,
    name: &Name,
) -> ProcessInfo {
    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    // The whole (capped) history: a span that began before the window counts from its
    // start.
    let history = crate::events::read(store, name, 0);
    let recent = crate::events::recent(&history, crate::events::now_ms(), DAY);
    info.restarts_24h = recent.restarts;
    info.uptime_pct_24h = recent.uptime_pct;
    info
}

/// A record in an active status whose supervisor is gone did not end the way it says.
pub(crate) fn effective_status(record: &Record, supervised: bool) -> (Status, Option<String>) {
    if supervised || !record.state.status.is_active() {
        return (record.state.status, record.state.reason.clone());
    }
    if record
        .state
        .boot_id
        .as_deref()
        .is_some_and(|b| b != proc::boot_id())
    {
        (Status::Stopped, Some("the system restarted".into()))
    } else {
        (
            Status::Errored,
            Some("its supervisor exited unexpectedly (killed?)".into()),
        )
    }
}

/// A Unix time in the local time zone.
pub fn local_time(secs: i64) -> Option<DateTime<FixedOffset>> {
    Local
        .timestamp_opt(secs, 0)
        .single()
        .map(|t| t.fixed_offset())
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
