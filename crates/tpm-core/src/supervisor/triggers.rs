//! Restarts that are not crashes: the memory limit (`--max-memory`) and a schedule
//! (`--cron-restart`). Each stops the running tree as a stop would (the stop signal, KILL
//! after the kill timeout) and starts it again at once; the restart policy's crash count
//! is left alone, and the `restart_scheduled` event says what asked for it (`by`) and why.

use std::time::{Duration, Instant};

use super::phase::{Phase, Then};
use super::run::Supervisor;
use crate::events::{Event, Kind};
use crate::options::format_size;
use crate::status::Status;

/// How many looks in a row (the sampler's, every 2 s) must find the tree over its memory
/// limit: a short spike is not a leak.
const OVER_LOOKS: u32 = 2;

#[derive(Default)]
pub(super) struct Triggers {
    /// Looks in a row that found the tree over `max_memory`.
    over: u32,
    /// When the cron schedule next fires.
    next_cron: Option<Instant>,
}

impl Triggers {
    pub(super) fn due(&self) -> Option<Instant> {
        self.next_cron
    }
}

impl Supervisor {
    /// Sets the next cron time (from now), if the spec has a schedule.
    pub(super) fn schedule_cron(&mut self) {
        self.triggers.next_cron = self.record.spec.cron_restart.as_deref().and_then(|expr| {
            let now = chrono::Local::now();
            let next = crate::policy::next_cron(expr, &now).ok()?;
            let wait = (next - now).to_std().unwrap_or(Duration::ZERO);
            Some(Instant::now() + wait)
        });
    }

    /// After a look at the tree: restarts it if it has stayed over its memory limit.
    pub(super) fn check_memory(&mut self) {
        let limit = self.record.spec.policy.max_memory;
        if limit == 0 || !matches!(self.phase, Phase::Running) {
            return;
        }
        let Some(mem) = self.record.state.mem.filter(|&m| m > limit) else {
            self.triggers.over = 0;
            return;
        };
        self.triggers.over += 1;
        if self.triggers.over >= OVER_LOOKS {
            self.triggers.over = 0;
            let why = format!(
                "its memory ({}) stayed over max_memory_restart ({})",
                format_size_short(mem),
                format_size(limit)
            );
            self.planned_restart("max_memory", &why);
        }
    }

    /// Fires the cron schedule when due.
    pub(super) fn check_cron(&mut self, now: Instant) {
        if self.triggers.next_cron.is_none_or(|at| now < at) {
            return;
        }
        self.schedule_cron();
        if matches!(self.phase, Phase::Running) {
            let expr = self.record.spec.cron_restart.clone().unwrap_or_default();
            self.planned_restart("cron", &format!("cron_restart \"{expr}\""));
        }
    }

    /// Stops the running tree and starts it again at once; not a crash.
    pub(super) fn planned_restart(&mut self, by: &str, why: &str) {
        self.event(&format!("restarting: {why}"));
        let mut e = Event::now(&self.name, Kind::RestartScheduled)
            .by(by)
            .reason(why);
        e.after_ms = Some(0);
        self.history(e);
        self.tracker.on_planned_restart();
        self.record.state.status = Status::Stopping;
        self.record.state.reason = Some(format!("restarting: {why}"));
        self.save();
        self.begin_draining(Then::Restart(Duration::ZERO));
    }
}

/// `123.4M`: a measured size, for the event (not an exact option value).
fn format_size_short(bytes: u64) -> String {
    let mib = bytes as f64 / (1u64 << 20) as f64;
    if mib >= 1024.0 {
        format!("{:.1}G", mib / 1024.0)
    } else {
        format!("{mib:.1}M")
    }
}
