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
//! supervisor) and one `stat` each. Listening is asked of the kernel by sock_diag for the
//! one port (`crate::sockdiag`), then the tree's descriptors are read only when something
//! listens there. A look every two seconds; listening is looked for five times a second in
//! the first ten seconds of a run (so a command waiting for the port hears of it soon
//! after it opens), once a second after, and every tenth look once found, to notice it closing.

use std::time::{Duration, Instant};

use super::run::Supervisor;
use crate::events::{Event, Kind};
use crate::proc::{self, Stat};

/// How often CPU and memory are looked at.
const EVERY: Duration = Duration::from_secs(2);
/// How often listening is looked for, early in a run and later.
const LISTEN_EARLY: Duration = Duration::from_millis(200);
const LISTEN_EARLY_FOR: Duration = Duration::from_secs(10);
const LISTEN_LATER: Duration = Duration::from_secs(1);
/// Once listening, how often it is checked again.
const LISTEN_KEPT: Duration = Duration::from_secs(20);

#[derive(Default)]
pub(super) struct Sampler {
    /// When CPU and memory are next due; `None` while no process runs.
    next_usage: Option<Instant>,
    /// When listening is next due; `None` while no process runs or without a PORT.
    next_listen: Option<Instant>,
    /// When the run began.
    since: Option<Instant>,
    /// The tree's CPU time so far, in microseconds, and when it was read.
    last: Option<(Instant, u64)>,
}

impl Sampler {
    /// The earliest look due.
    pub(super) fn due(&self) -> Option<Instant> {
        [self.next_usage, self.next_listen]
            .into_iter()
            .flatten()
            .min()
    }
}

impl Supervisor {
    /// A run began: the CPU time so far is the baseline (the supervisor's children's time
    /// holds the earlier runs').
    pub(super) fn sampling_begins(&mut self, port: u16) {
        let now = Instant::now();
        self.sampler = Sampler {
            next_usage: Some(now + EVERY),
            next_listen: (port > 0).then_some(now + LISTEN_EARLY),
            since: Some(now),
            last: Some((now, children_micros())),
        };
    }

    /// The run ended: nothing to look at until the next one.
    pub(super) fn sampling_ends(&mut self) {
        self.sampler = Sampler::default();
    }

    /// Takes the looks that are due; writes the record when what it shows changed.
    pub(super) fn sample(&mut self, now: Instant) {
        let usage_due = self.sampler.next_usage.is_some_and(|at| now >= at);
        let listen_due = self.sampler.next_listen.is_some_and(|at| now >= at);
        if !usage_due && !listen_due {
            return;
        }
        let members = self.members();
        let stats: Vec<Stat> = members.iter().filter_map(|&p| Stat::read(p)).collect();
        let mut changed = false;
        if usage_due {
            self.sampler.next_usage = Some(now + EVERY);
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
            let mem: u64 = stats.iter().map(|s| s.rss_pages).sum::<u64>() * proc::page_size();
            let state = &mut self.record.state;
            changed |= cpu.is_some_and(|c| shows_change_cpu(state.cpu, c));
            changed |= shows_change_mem(state.mem, mem);
            if cpu.is_some() {
                state.cpu = cpu;
            }
            state.mem = Some(mem);
        }
        if listen_due {
            let port = self.record.spec.port;
            let holder = listener(port, &stats);
            let listening = holder.is_some();
            let early = self
                .sampler
                .since
                .is_some_and(|s| now.duration_since(s) < LISTEN_EARLY_FOR);
            self.sampler.next_listen = Some(
                now + match (listening, early) {
                    (true, _) => LISTEN_KEPT,
                    (false, true) => LISTEN_EARLY,
                    (false, false) => LISTEN_LATER,
                },
            );
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
fn children_micros() -> u64 {
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
    let inodes = crate::sockdiag::listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    tree.iter()
        .map(|s| s.pid)
        .find(|&pid| proc::holds_socket(pid, &inodes))
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
