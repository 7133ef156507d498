//! The supervisor's life: a single-threaded loop over one `poll` of its signals (SIGCHLD,
//! stop requests), the claim socket and the child's output pipes. What each wake-up means
//! for the process is the phase machine's (`phase`); the pipes are `pipes`'; the tree is
//! `tree`'s; keeping the store true is `heal`'s.

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use super::heal::FileId;
use super::phase::Phase;
use super::pipes::Output;
use crate::cgroup::Cgroup;
use crate::claim::Claim;
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
    pub(super) lock: FileLock,
    pub(super) me: Identity,
    pub(super) signals: crate::platform::Signals,
    pub(super) output: Output,
    pub(super) tracker: Tracker,
    pub(super) phase: Phase,
    /// The main process and when it started, until it is reaped.
    pub(super) main: Option<(u32, Instant)>,
    /// Dropped log bytes as last written to the record, and when it was last written.
    pub(super) saved_dropped: u64,
    pub(super) last_save: Instant,
    /// Log bytes dropped before this supervisor (the count is the record's whole life's).
    pub(super) dropped_base: u64,
    /// Likewise log bytes written, and CPU milliseconds of earlier supervisors' trees.
    pub(super) written_base: u64,
    pub(super) cpu_base_ms: u64,
    /// This supervisor's trees' CPU time as the last look counted it, in microseconds.
    pub(super) cpu_seen: u64,
    /// The record as last written (to tell it from a damaged one), and whether the last
    /// write failed (it is retried at the next heal).
    pub(super) written: Option<FileId>,
    pub(super) dirty: bool,
    /// When the store is next checked (see `heal`; `None`: when the kernel says a file
    /// changed), how many times it was, and the lock file's identity (to tell it from one
    /// made after it was removed).
    pub(super) next_heal: Option<Instant>,
    /// The kernel's word that the supervisor's files changed, or that someone looks
    /// (see `fsnotify`); `None` where there is none (the store is then looked at every
    /// second).
    pub(super) fs_events: Option<super::fsnotify::StoreEvents>,
    pub(super) heals: u32,
    pub(super) lock_id: Option<(u64, u64)>,
    /// A record write found the lock file gone and made it again: the next heal restores
    /// the rest.
    pub(super) relocked: bool,
    /// The record's and the lock's paths, made once (they are looked at at each heal).
    pub(super) meta_path: std::path::PathBuf,
    pub(super) lock_path: std::path::PathBuf,
    /// The handshake pipe, until the first spawn is reported.
    pub(super) ready: Option<OwnedFd>,
    /// A restart is under way: one that fails leads to another through the loop, never
    /// through a nested call (a program gone for good, at zero delay, would recurse).
    pub(super) restarting: bool,
    /// The managed process's environment.
    pub(super) env: Vec<(OsString, OsString)>,
    /// The process's cgroup, where one could be made (see `crate::cgroup`).
    pub(super) cgroup: Option<Cgroup>,
    /// The claim on the name (see `crate::claim`), answered from the event loop.
    pub(super) claim: Option<Claim>,
    /// The last history write failed (said once until one succeeds).
    pub(super) history_failed: bool,
    /// The PORT's listening socket, held for the process (`--socket`).
    pub(super) listener: Option<OwnedFd>,
    /// Looks at the running tree (see `sample`).
    pub(super) sampler: super::sample::Sampler,
    /// Tells when the running process is ready (see `ready`).
    pub(super) readiness: super::ready::ReadyWatch,
    /// Restarts that are not crashes: memory, cron (see `triggers`).
    pub(super) triggers: super::triggers::Triggers,
    /// `--watch`: boxed, so a supervisor that does not watch carries one pointer.
    pub(super) watcher: Option<Box<super::watch::Watcher>>,
    /// The liveness check's timer and command (see `health`).
    pub(super) health: super::health::HealthWatch,
    /// `NOTIFY_SOCKET`, when the spec uses the notify protocol (see `notify`).
    pub(super) notify: Option<super::notify::NotifySocket>,
}

impl Supervisor {
    pub(super) fn run(&mut self) {
        super::resident::tune_allocator();
        self.record.state.spid = Some(self.me.pid);
        self.record.state.spid_start = Some(self.me.start_ticks);
        self.record.state.boot_id = Some(self.me.boot_id.clone());
        self.record.state.status = Status::Launching;
        self.dropped_base = self.record.state.log_dropped;
        self.written_base = self.record.state.log_written;
        self.cpu_base_ms = self.record.state.cpu_time_ms;
        if let Some(claim) = &self.claim {
            claim.listen();
        }
        self.reserve();
        self.save();
        self.start_watching();
        self.notify_open();
        self.start_child();
        // The files are all there now: from here the kernel says when one changes.
        self.heal();
        self.schedule_cron();
        super::resident::release_code();
        super::resident::release_heap();
        while !matches!(self.phase, Phase::Done) {
            self.wait_and_dispatch();
        }
        self.output.drain();
    }

    /// Leaves the name: the claim first, then the lock file and the lock, so a command that
    /// finds the lock free finds the claim free too.
    pub(super) fn release(self) {
        drop(self.claim);
        self.lock.remove(&self.lock_path);
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
        let (
            signal_ready,
            claim_ready,
            ready_pipes,
            watch_ready,
            fs_ready,
            notify_ready,
            probe_ready,
        ) = {
            let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(4);
            fds.push(PollFd::new(self.signals.fd(), PollFlags::POLLIN));
            // Always two entries before the pipes; a missing claim polls the signalfd twice.
            let claim = match &self.claim {
                Some(c) => c.as_fd(),
                None => self.signals.fd(),
            };
            fds.push(PollFd::new(claim, PollFlags::POLLIN));
            fds.extend(self.output.poll_fds());
            let pipes_end = fds.len();
            if let Some(w) = &self.watcher {
                fds.push(PollFd::new(w.fd(), PollFlags::POLLIN));
            }
            let fs_at = fds.len();
            if let Some(n) = &self.fs_events {
                fds.push(PollFd::new(n.fd(), PollFlags::POLLIN));
            }
            let notify_at = fds.len();
            if let Some(n) = &self.notify {
                fds.push(PollFd::new(n.fd(), PollFlags::POLLIN));
            }
            let probe_at = fds.len();
            if let Some((fd, flags)) = self.health.poll_fd() {
                fds.push(PollFd::new(fd, flags));
            }
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
            let pipes: Vec<bool> = fds[2..pipes_end].iter().map(ready).collect();
            let watch = self.watcher.is_some() && fds.get(pipes_end).is_some_and(ready);
            let fs = self.fs_events.is_some() && fds.get(fs_at).is_some_and(ready);
            let notify = self.notify.is_some() && fds.get(notify_at).is_some_and(ready);
            let probe = fds.get(probe_at).is_some_and(ready);
            (
                ready(&fds[0]),
                ready(&fds[1]),
                pipes,
                watch,
                fs,
                notify,
                probe,
            )
        };
        if fs_ready {
            self.notified();
        }
        if watch_ready {
            self.watch_readable();
        }
        // Output first: a child's last lines belong before the news of its exit.
        self.output.pumped(&ready_pipes);
        if notify_ready {
            self.notify_readable();
        }
        if probe_ready {
            self.health_io();
        }
        if claim_ready {
            if let Some(claim) = &self.claim {
                claim.answer();
            }
        }
        if signal_ready {
            self.handle_signals();
        }
        self.fire_timers();
    }

    fn handle_signals(&mut self) {
        let mut reap = false;
        while let Some(signal) = self.signals.read() {
            match signal {
                Signal::SIGCHLD => reap = true,
                Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT => self.request_stop(),
                // There is no terminal to lose: SIGHUP is `tpm reload`'s (and a --socket
                // process's `tpm restart`): a new process, behind the same supervisor and
                // socket.
                Signal::SIGHUP => self.request_restart(),
                _ => {}
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
    /// once in the err log (unless for want of room: that line would be dropped too), and
    /// never stops supervision.
    pub(super) fn history(&mut self, event: crate::events::Event) {
        if let Err(e) = crate::events::append(&self.store, &event) {
            let no_space = matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT));
            if !self.history_failed && !no_space {
                self.event(&format!("cannot write the event history: {e}"));
            }
            self.history_failed = true;
        } else {
            self.history_failed = false;
        }
    }

    /// Writes the record, with the dropped log bytes counted so far. A write that fails is
    /// tried again at the next heal (a full disk is said once, in the record's count of
    /// dropped log bytes, not in a log line that would be dropped too).
    pub(super) fn save(&mut self) {
        self.write_record(false);
    }

    /// Writes the record's last word (`stopped`, `errored`) even on a full disk, into the
    /// room set aside for it (see `Store::write_reserved`).
    pub(super) fn save_final(&mut self) {
        self.write_record(true);
    }

    fn write_record(&mut self, reserved: bool) {
        // The lock file first: a record without it would look unsupervised to a command.
        // The rest of what was lost is the next heal's, made due now.
        if self.relock() {
            self.relocked = true;
            self.next_heal = Some(Instant::now());
        }
        self.saved_dropped = self.output.dropped();
        self.record.state.log_dropped = self.dropped_base + self.saved_dropped;
        self.record.state.log_written = self.written_base + self.output.written();
        // Reaped runs are in the children's time; a running tree's, in the last look.
        let cpu = self.cpu_seen.max(super::sample::children_micros());
        self.record.state.cpu_time_ms = self.cpu_base_ms + cpu / 1000;
        self.last_save = Instant::now();
        let written = if reserved {
            self.store.write_reserved(&self.name, &self.record)
        } else {
            self.store.write(&self.name, &self.record)
        };
        match written {
            Ok(()) => {
                self.dirty = false;
                self.written = FileId::of(&self.meta_path);
                self.rewatch_record();
            }
            Err(e) => {
                if !self.dirty && !e.is_no_space() {
                    let msg = e.to_string();
                    self.event(&msg);
                }
                self.dirty = true;
            }
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
pub(crate) fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}s", d.as_secs())
    }
}
