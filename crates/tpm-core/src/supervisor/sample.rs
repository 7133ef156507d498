//! Looking at the running tree now and then: its recent CPU, its whole memory, and whether
//! it listens on its PORT. What the supervisor sees goes into the record, so `tpm list`
//! stays a read of files, and is written only when it changed enough to show.
//!
//! The tree's CPU time is counted whole, even for processes that ended between two looks:
//! a process that ends is waited for by its parent, which adds its time to its own
//! children's time, or by the supervisor (the subreaper adopts orphans), which adds it to
//! its own. So the tree's total is the supervisor's children's time plus, for every live
//! process of the tree, its own and its children's time; CPU in percent is the growth of
//! that total over the time between two looks.
//!
//! Costs, per look: the tree's members (the cgroup's list, or a walk down from the
//! supervisor) and one `stat` each. For listening, the tree's descriptors are read for
//! sockets; only a tree that has one asks the kernel, by sock_diag, which sockets listen on
//! the port (on Linux by sock_diag, about 90 µs here: `crate::proc::listener`).
//!
//! When it looks: only while there is a reason, so an idle supervisor that nobody looks at
//! does not wake at all. The reasons: someone looks (`tpm list`, `monit`, the web page, a
//! metrics scrape touch the store's `looking` marker, whose inotify event wakes every
//! supervisor: it looks at once, then once a second for [`LOOKED_FOR`]); a memory limit
//! (`--max-memory`, looked at every 2 s); and the first minute of a run while its PORT is
//! not listened on (looked for five times a second in the first ten seconds, so a command
//! waiting for the port hears of it soon after it opens, then every 2 s). On these
//! once-a-second ticks: CPU and memory every second one; listening, while not found, every
//! second one in the first minute of a run and every tenth after, and once found every
//! twentieth, to notice it closing. The record says when the CPU figure was measured
//! (`cpu_at`), so a reader can tell a recent figure from an old one.

use std::time::{Duration, Instant};

use super::run::Supervisor;
use crate::events::{Event, Kind};
use crate::proc::{self, Stat};

/// How often the supervisor looks while it has a reason to.
const TICK: Duration = Duration::from_secs(1);
/// How long one touch of the `looking` marker keeps the supervisors looking.
pub(super) const LOOKED_FOR: Duration = Duration::from_secs(30);
/// In ticks ([`TICK`], a second): how often CPU and memory
/// are looked at, and listening while not found (early, then later), and once found.
const USAGE_EVERY: u32 = 2;
const LISTEN_EVERY: u32 = 2;
const LISTEN_LATER_EVERY: u32 = 10;
const LISTEN_KEPT_EVERY: u32 = 20;
/// How often, at most, growing counters alone make the record be written.
const COUNTERS_EVERY: Duration = Duration::from_secs(10);
/// How long "early" lasts for the wake-up-driven looks, and for the fast timer.
const EARLY: Duration = Duration::from_secs(60);
const FAST_FOR: Duration = Duration::from_secs(10);
const FAST_EVERY: Duration = Duration::from_millis(200);

#[derive(Default)]
pub(super) struct Sampler {
    /// When the run began; `None` while no process runs.
    since: Option<Instant>,
    /// The supervisor's wake-ups since.
    ticks: u32,
    /// Early in a run, while nothing listens: when listening is next looked for.
    fast: Option<Instant>,
    /// The tree's CPU time so far, in microseconds, and when it was read.
    last: Option<(Instant, u64)>,
    /// The code the run's start and its early looks faulted back in was released again.
    settled: bool,
    /// When the next tick is due; `None`: there is no reason to look.
    next_tick: Option<Instant>,
    /// Someone looks until then (the `looking` marker was touched).
    looked_until: Option<Instant>,
}

impl Sampler {
    /// When the next look is due: the fast one for listening early in a run, or a tick.
    pub(super) fn due(&self) -> Option<Instant> {
        [self.fast, self.next_tick].into_iter().flatten().min()
    }

    fn looked(&self, now: Instant) -> bool {
        self.looked_until.is_some_and(|until| now < until)
    }
}

impl Supervisor {
    /// A run began: the CPU time so far is the baseline (the supervisor's children's time
    /// holds the earlier runs').
    pub(super) fn sampling_begins(&mut self, port: Option<u16>) {
        let now = Instant::now();
        self.sampler = Sampler {
            since: Some(now),
            ticks: 0,
            fast: port.map(|_| now + FAST_EVERY),
            last: Some((now, children_micros())),
            settled: false,
            next_tick: Some(now + TICK),
            looked_until: self.sampler.looked_until,
        };
    }

    /// The run ended: nothing to look at until the next one.
    pub(super) fn sampling_ends(&mut self) {
        self.sampler = Sampler {
            looked_until: self.sampler.looked_until,
            ..Sampler::default()
        };
    }

    /// Takes the looks that are due now, and sets the next.
    pub(super) fn sample_due(&mut self, now: Instant) {
        if self.sampler.fast.is_some_and(|due| now >= due) {
            self.sample_fast(now);
        }
        if self.sampler.next_tick.is_some_and(|due| now >= due) {
            self.sample_tick(now);
            self.sampler.next_tick = self.next_tick(now);
        }
    }

    /// Someone looks (the `looking` marker was touched): a look now, then ticks for
    /// [`LOOKED_FOR`].
    pub(super) fn looked_at(&mut self, now: Instant) {
        let was = self.sampler.looked(now);
        self.sampler.looked_until = Some(now + LOOKED_FOR);
        if was || self.sampler.since.is_none() {
            return;
        }
        // What changed at rest (the CPU figure is then over the whole rest: `cpu_at` and
        // the next tick's make it recent).
        let port = self.record.spec.port.is_some();
        self.sample(now, true, port);
        self.sampler.next_tick = Some(now + TICK);
    }

    /// When the next tick is wanted, if there is a reason for one.
    fn next_tick(&self, now: Instant) -> Option<Instant> {
        let since = self.sampler.since?;
        let seeking = self.record.spec.port.is_some()
            && self.record.state.listening != Some(true)
            && now.duration_since(since) < EARLY;
        let memory = self.record.spec.policy.max_memory > 0;
        // Without file notifications no look is ever told: the supervisor looks always.
        let untold = self.fs_events.is_none();
        if self.sampler.looked(now) || memory || seeking || untold {
            Some(now + TICK)
        } else if !self.sampler.settled {
            Some(since + FAST_FOR)
        } else {
            None
        }
    }

    /// A tick: takes the looks that are due at this one.
    fn sample_tick(&mut self, now: Instant) {
        let Some(since) = self.sampler.since else {
            return;
        };
        self.sampler.ticks += 1;
        let ticks = self.sampler.ticks;
        let usage = ticks.is_multiple_of(USAGE_EVERY);
        let every = match self.record.state.listening {
            Some(true) => LISTEN_KEPT_EVERY,
            _ if now.duration_since(since) < EARLY => LISTEN_EVERY,
            _ => LISTEN_LATER_EVERY,
        };
        let listen = self.record.spec.port.is_some() && ticks.is_multiple_of(every);
        self.sample(now, usage, listen);
        if !self.sampler.settled && now.duration_since(since) >= FAST_FOR {
            // The spawn, the readiness wait and the fast looks are over: what they faulted
            // back in of the binary leaves the resident set.
            self.sampler.settled = true;
            super::resident::release_code();
        }
        if usage {
            // Once per look at the memory: `--max-memory` counts looks over the limit.
            self.check_memory();
        }
    }

    /// The fast look for listening, early in a run.
    fn sample_fast(&mut self, now: Instant) {
        let early = self
            .sampler
            .since
            .is_some_and(|s| now.duration_since(s) < FAST_FOR);
        self.sample(now, false, true);
        let found = self.record.state.listening == Some(true);
        self.sampler.fast = (early && !found).then_some(now + FAST_EVERY);
    }

    /// Looks at the tree: its CPU and memory (`usage`), whether it listens (`listen`).
    /// Writes the record when what it shows changed.
    fn sample(&mut self, now: Instant, usage: bool, listen: bool) {
        if !usage && !listen {
            return;
        }
        let members = self.members();
        let stats: Vec<Stat> = members.iter().filter_map(|&p| Stat::read(p)).collect();
        let mut changed = false;
        if usage {
            let total = children_micros() + stats.iter().map(tree_micros).sum::<u64>();
            let cpu = self.sampler.last.map(|(at, before)| {
                let secs = now.duration_since(at).as_secs_f64();
                let used = total.saturating_sub(before) as f64 / 1e6;
                if secs > 0.0 {
                    (used / secs * 1000.0).round() / 10.0
                } else {
                    0.0
                }
            });
            self.sampler.last = Some((now, total));
            if cpu.is_some() {
                self.record.state.cpu_at = Some(crate::events::now_ms());
            }
            self.cpu_seen = self.cpu_seen.max(total);
            // The counters (CPU time, log bytes written) are written with the rest, and at
            // least every so often while they grow: a scrape reads them from the record.
            changed |= self.last_save.elapsed() >= COUNTERS_EVERY && self.counters_moved();
            let mem: u64 = stats.iter().map(|s| s.rss_pages).sum::<u64>() * proc::page_size();
            let state = &mut self.record.state;
            changed |= cpu.is_some_and(|c| shows_change_cpu(state.cpu, c));
            changed |= shows_change_mem(state.mem, mem);
            if cpu.is_some() {
                state.cpu = cpu;
            }
            state.mem = Some(mem);
        }
        if let (true, Some(port)) = (listen, self.record.spec.port) {
            let holder = listener(port, &stats);
            let listening = holder.is_some();
            let before = self.record.state.listening;
            if before != Some(listening) {
                self.record.state.listening = Some(listening);
                changed = true;
                if let Some(pid) = holder {
                    let mut e = Event::now(&self.name, Kind::Listening).pid(pid);
                    e.reason = Some(format!("port {port}"));
                    self.history(e);
                } else if before == Some(true) {
                    self.event(&format!("nothing listens on port {port} any more"));
                }
            }
        }
        if changed {
            self.save();
        }
    }

    /// Whether CPU time (a whole second of it) or log bytes were added since the record
    /// was last written.
    fn counters_moved(&self) -> bool {
        let state = &self.record.state;
        self.cpu_base_ms + self.cpu_seen / 1000 >= state.cpu_time_ms + 1000
            || self.written_base + self.output.written() != state.log_written
    }

    /// The processes of the tree: the cgroup's, or the supervisor's descendants.
    fn members(&self) -> Vec<u32> {
        match &self.cgroup {
            Some(cg) => cg.procs(),
            None => proc::tree(self.me.pid),
        }
    }
}

/// A process's CPU time and its waited-for children's, in microseconds.
fn tree_micros(stat: &Stat) -> u64 {
    ticks_to_micros(stat.cpu_ticks + stat.children_ticks)
}

fn ticks_to_micros(ticks: u64) -> u64 {
    ticks.saturating_mul(1_000_000) / proc::ticks_per_second().max(1)
}

/// The CPU time of every child the supervisor waited for (and theirs), in microseconds.
pub(super) fn children_micros() -> u64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0;
    }
    let micros = |t: libc::timeval| t.tv_sec.max(0) as u64 * 1_000_000 + t.tv_usec.max(0) as u64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

/// The process of the tree that holds a socket listening on `port`, if any.
fn listener(port: u16, tree: &[Stat]) -> Option<u32> {
    let pids: Vec<u32> = tree.iter().map(|s| s.pid).collect();
    proc::listener(port, &pids)
}

/// A CPU figure worth writing: half a point away from the last written, or leaving or
/// reaching zero.
fn shows_change_cpu(before: Option<f64>, now: f64) -> bool {
    match before {
        None => true,
        Some(b) => (b - now).abs() >= 0.5 || ((b == 0.0) != (now == 0.0)),
    }
}

/// A memory figure worth writing: 1 % away from the last written.
fn shows_change_mem(before: Option<u64>, now: u64) -> bool {
    match before {
        None => true,
        Some(b) => b.abs_diff(now) > b / 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_changes_are_not_written() {
        assert!(shows_change_cpu(None, 0.0));
        assert!(!shows_change_cpu(Some(99.6), 100.0));
        assert!(shows_change_cpu(Some(99.0), 100.0));
        assert!(shows_change_cpu(Some(0.0), 0.1));
        assert!(!shows_change_mem(Some(100 << 20), (100 << 20) + 4096));
        assert!(shows_change_mem(Some(100 << 20), 102 << 20));
        assert!(shows_change_mem(None, 0));
    }

    #[test]
    fn our_children_s_time_grows_when_a_busy_child_is_reaped() {
        let before = children_micros();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(children_micros() > before);
    }
}
