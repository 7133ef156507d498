//! The supervisor's life: a single-threaded loop over one `poll` of a signalfd (SIGCHLD,
//! stop requests) and the child's output pipes. What each wake-up means for the process is
//! the phase machine's (`phase`); the pipes are `pipes`'; the tree is `tree`'s.

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;

use super::phase::Phase;
use super::pipes::Output;
use crate::lock::FileLock;
use crate::name::Name;
use crate::policy::Tracker;
use crate::proc::Identity;
use crate::record::Record;
use crate::status::Status;
use crate::store::Store;

/// How often, at most, the count of dropped log bytes is written to the record.
const DROPPED_SAVE_INTERVAL: Duration = Duration::from_secs(1);

pub(super) struct Supervisor {
    pub(super) store: Store,
    pub(super) name: Name,
    pub(super) record: Record,
    pub(super) _lock: FileLock,
    pub(super) me: Identity,
    pub(super) signals: SignalFd,
    pub(super) output: Output,
    pub(super) tracker: Tracker,
    pub(super) phase: Phase,
    /// The main process and when it started, until it is reaped.
    pub(super) main: Option<(u32, Instant)>,
    /// Dropped log bytes as last written to the record, and when it was last written.
    pub(super) saved_dropped: u64,
    pub(super) last_save: Instant,
    /// The handshake pipe, until the first spawn is reported.
    pub(super) ready: Option<OwnedFd>,
    /// A restart is under way: one that fails leads to another through the loop, never
    /// through a nested call (a program gone for good, at zero delay, would recurse).
    pub(super) restarting: bool,
    /// The managed process's environment.
    pub(super) env: Vec<(OsString, OsString)>,
    /// The last history write failed (said once until one succeeds).
    pub(super) history_failed: bool,
}

impl Supervisor {
    pub(super) fn run(&mut self) {
        self.record.state.spid = Some(self.me.pid);
        self.record.state.spid_start = Some(self.me.start_ticks);
        self.record.state.boot_id = Some(self.me.boot_id.clone());
        self.record.state.status = Status::Launching;
        self.save();
        self.start_child();
        super::resident::release_code();
        while !matches!(self.phase, Phase::Done) {
            self.wait_and_dispatch();
        }
        self.output.drain();
    }

    fn wait_and_dispatch(&mut self) {
        let timeout = self.next_timer().map_or(PollTimeout::NONE, |at| {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return PollTimeout::ZERO; // due now: look at the fds, then fire it
            }
            // Round up, so a timer is never polled a millisecond early, in a loop.
            PollTimeout::from(u16::try_from(left.as_millis() + 1).unwrap_or(u16::MAX))
        });
        let (signal_ready, ready_pipes) = {
            let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(3);
            fds.push(PollFd::new(self.signals.as_fd(), PollFlags::POLLIN));
            fds.extend(self.output.poll_fds());
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(Errno::EINTR) => return,
                Err(e) => {
                    self.event(&format!("poll failed: {e}"));
                    std::thread::sleep(Duration::from_millis(10));
                    return;
                }
            }
            let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
            let pipes: Vec<bool> = fds[1..].iter().map(ready).collect();
            (ready(&fds[0]), pipes)
        };
        // Output first: a child's last lines belong before the news of its exit.
        self.output.pumped(&ready_pipes);
        if signal_ready {
            self.handle_signals();
        }
        self.fire_timers();
    }

    fn handle_signals(&mut self) {
        let mut reap = false;
        while let Ok(Some(info)) = self.signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) => reap = true,
                Ok(Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT) => self.request_stop(),
                _ => {} // SIGHUP: no terminal to lose; ignored.
            }
        }
        if reap {
            self.reap();
        }
    }

    /// A line from tpm itself, in the err log, marked `[tpm]`.
    pub(super) fn event(&mut self, message: &str) {
        self.output.event(&self.name, message);
    }

    /// Adds to the process's event history; a history that cannot be written is said
    /// once in the err log, and never stops supervision.
    pub(super) fn history(&mut self, event: crate::events::Event) {
        if let Err(e) = crate::events::append(&self.store, &event) {
            if !self.history_failed {
                self.history_failed = true;
                self.event(&format!("cannot write the event history: {e}"));
            }
        } else {
            self.history_failed = false;
        }
    }

    /// Writes the record, with the dropped log bytes counted so far.
    pub(super) fn save(&mut self) {
        self.record.state.log_dropped = self.output.dropped();
        self.saved_dropped = self.record.state.log_dropped;
        self.last_save = Instant::now();
        if let Err(e) = self.store.write(&self.name, &self.record) {
            let msg = e.to_string();
            self.event(&msg);
        }
    }

    /// When dropped log bytes are not in the record yet: the time to write them, at most
    /// once a second (a full disk must not turn into a record rewrite per line).
    pub(super) fn dropped_due(&self) -> Option<Instant> {
        (self.output.dropped() != self.saved_dropped)
            .then(|| self.last_save + DROPPED_SAVE_INTERVAL)
    }
}

/// `250ms`, `3.2s`, `15s`.
pub(super) fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}s", d.as_secs())
    }
}
