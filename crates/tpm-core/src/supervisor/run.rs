//! The supervisor's life: a single-threaded loop over one `poll` of a signalfd (SIGCHLD,
//! stop requests) and the child's output pipes, moving through explicit phases:
//!
//! ```text
//! Running ──main exits──▶ Draining(then) ──no children left──▶ Backoff ──▶ Running
//!    │                       │ deadline: SIGKILL                  │
//!    └──stop──▶ Draining(Finish stopped)                          └──stop──▶ Done
//! ```
//! The supervisor is a child subreaper, so every descendant of the managed process, even
//! one that double-forks and `setsid`s away, is re-parented to it when its parent dies.
//! That makes "`waitpid` says there are no children" exactly "the whole tree is gone",
//! which is when a stop (or a restart) may proceed.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::handshake::{self, Outcome, Reply};
use super::logpump::{LineSplitter, LogFile, Stamp};
use super::spawn;
use super::{BUILD, ENV_ID, ENV_NAME, ENV_SUPERVISOR};
use crate::error::{EXIT_FAILURE, EXIT_NOT_RUNNABLE};
use crate::info::unix_now;
use crate::lock::FileLock;
use crate::name::Name;
use crate::policy::{Decision, Tracker};
use crate::proc::{self, Identity};
use crate::record::Record;
use crate::status::Status;
use crate::store::{Store, Stream};

/// How often SIGKILL is repeated, once sent, for processes forked since the last round.
const KILL_ROUND: Duration = Duration::from_millis(100);
/// How long SIGKILL rounds go on before the supervisor gives up on unkillable processes.
const KILL_GIVE_UP: Duration = Duration::from_secs(10);
/// How often, at most, the count of dropped log bytes is written to the record.
const DROPPED_SAVE_INTERVAL: Duration = Duration::from_secs(1);
/// Bytes read from one pipe per wake-up, so one noisy stream cannot starve the other.
const READ_CHUNK: usize = 64 * 1024;
/// The pipe size a busy stream gets (Linux's default limit for unprivileged users), so the
/// process writes on while the supervisor logs, instead of the two taking turns.
const BUSY_PIPE: i32 = 1024 * 1024;

enum Phase {
    Running,
    /// The main process is gone or going; what is left of its tree is being terminated.
    Draining {
        deadline: Instant,
        killing_since: Option<Instant>,
        then: Then,
    },
    Backoff {
        until: Instant,
    },
    Done,
}

enum Then {
    Restart(Duration),
    Finish(Status, Option<String>),
}

enum Pumped {
    Data,
    Empty,
    Closed,
}

struct Pipe {
    fd: OwnedFd,
    stream: Stream,
    split: LineSplitter,
    /// Whether it was made [`BUSY_PIPE`] large (quiet streams keep the default 64 KiB).
    grown: bool,
}

struct Supervisor {
    store: Store,
    name: Name,
    record: Record,
    _lock: FileLock,
    me: Identity,
    signals: SignalFd,
    out: LogFile,
    err: LogFile,
    stamp: Stamp,
    /// Read buffer, and the stamped lines made from it.
    chunk: Vec<u8>,
    buf: Vec<u8>,
    pipes: Vec<Pipe>,
    tracker: Tracker,
    phase: Phase,
    /// The main process and when it started, until it is reaped.
    main: Option<(u32, Instant)>,
    /// Dropped log bytes as last written to the record, and when it was last written.
    saved_dropped: u64,
    last_save: Instant,
    /// The handshake pipe, until the first spawn is reported.
    ready: Option<OwnedFd>,
    /// A restart is under way: one that fails leads to another through the loop, never
    /// through a nested call (a program gone for good, at zero delay, would recurse).
    restarting: bool,
    env: Vec<(OsString, OsString)>,
}

/// `args`: store root, name, lock fd, handshake fd, the launcher's build (see `launch`).
pub fn main(args: &[OsString]) -> i32 {
    if args.get(4).map(OsString::as_os_str) != Some(OsStr::new(BUILD)) {
        // Launched by another build: say so and touch nothing (the lock stays with the
        // launcher, which then supervises with its own binary).
        if let Ok(ready) = adopt(args.get(3)) {
            handshake::send(
                ready,
                &Reply::OtherBuild {
                    build: BUILD.into(),
                },
            );
        }
        return EXIT_FAILURE;
    }
    match Supervisor::new(args) {
        Ok(mut s) => {
            s.run();
            0
        }
        Err(message) => {
            eprintln!("tpm supervisor: {message}");
            EXIT_FAILURE
        }
    }
}

/// Takes ownership of an inherited descriptor and marks it close-on-exec, so the managed
/// process does not inherit it (a child holding the lock would look like a live supervisor).
fn adopt(raw: Option<&OsString>) -> Result<OwnedFd, String> {
    let fd: i32 = raw
        .and_then(|r| r.to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .ok_or("bad descriptor argument")?;
    // SAFETY: F_GETFD only inspects the descriptor; it fails if `fd` is not open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(format!("descriptor {fd} is not open"));
    }
    // SAFETY: the launcher passed us this open descriptor for us alone to own.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|e| e.to_string())?;
    Ok(owned)
}

impl Supervisor {
    fn new(args: &[OsString]) -> Result<Supervisor, String> {
        let root = PathBuf::from(args.first().ok_or("missing store argument")?);
        let name = args
            .get(1)
            .and_then(|n| n.to_str())
            .and_then(|n| Name::parse(n).ok())
            .ok_or("missing or invalid name argument")?;
        let lock = FileLock::from_fd(adopt(args.get(2))?);
        let ready = adopt(args.get(3))?;

        let mask = {
            let mut m = SigSet::empty();
            for s in [
                Signal::SIGCHLD,
                Signal::SIGTERM,
                Signal::SIGINT,
                Signal::SIGQUIT,
                Signal::SIGHUP,
            ] {
                m.add(s);
            }
            m
        };
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
            .map_err(|e| e.to_string())?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| format!("signalfd: {e}"))?;
        nix::sys::prctl::set_child_subreaper(true).map_err(|e| format!("subreaper: {e}"))?;
        // Past RLIMIT_FSIZE a write raises SIGXFSZ, which would kill us; ignored, the write
        // fails with EFBIG and the bytes are counted as dropped. (`spawn` restores it.)
        // SAFETY: setting a disposition to SIG_IGN installs no handler.
        unsafe { nix::sys::signal::signal(Signal::SIGXFSZ, nix::sys::signal::SigHandler::SigIgn) }
            .map_err(|e| format!("SIGXFSZ: {e}"))?;

        let store = Store::at(root);
        let record = match store.load(&name) {
            Ok(r) => r,
            Err(e) => {
                handshake::send(
                    ready,
                    &Outcome::Failed {
                        code: EXIT_FAILURE,
                        message: e.to_string(),
                    }
                    .into(),
                );
                return Err(e.to_string());
            }
        };
        let me = Identity::of(std::process::id()).ok_or("cannot read /proc/self/stat")?;
        let env = child_env(&name, &record, &me);
        Ok(Supervisor {
            out: LogFile::open(&store, &name, Stream::Out, record.logs),
            err: LogFile::open(&store, &name, Stream::Err, record.logs),
            tracker: Tracker::new(record.policy),
            store,
            name,
            record,
            _lock: lock,
            me,
            signals,
            stamp: Stamp::default(),
            chunk: vec![0; READ_CHUNK],
            buf: Vec::with_capacity(READ_CHUNK + 1024),
            pipes: Vec::new(),
            phase: Phase::Running,
            main: None,
            saved_dropped: 0,
            last_save: Instant::now(),
            ready: Some(ready),
            restarting: false,
            env,
        })
    }

    fn run(&mut self) {
        self.record.spid = Some(self.me.pid);
        self.record.spid_start = Some(self.me.start_ticks);
        self.record.boot_id = Some(self.me.boot_id.clone());
        self.record.status = Status::Launching;
        self.save();
        self.start_child();
        super::resident::release_code();
        while !matches!(self.phase, Phase::Done) {
            self.wait_and_dispatch();
        }
        self.drain_pipes();
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
            let mut fds = Vec::with_capacity(1 + self.pipes.len());
            fds.push(PollFd::new(self.signals.as_fd(), PollFlags::POLLIN));
            for p in &self.pipes {
                fds.push(PollFd::new(p.fd.as_fd(), PollFlags::POLLIN));
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
            let pipes: Vec<usize> = (0..self.pipes.len())
                .filter(|&i| ready(&fds[i + 1]))
                .collect();
            (ready(&fds[0]), pipes)
        };
        // Output first: a child's last lines belong before the news of its exit.
        for &i in ready_pipes.iter().rev() {
            if let Pumped::Closed = self.pump(i) {
                self.close_pipe(i);
            }
        }
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

    // ---- the managed process ------------------------------------------------------------

    fn start_child(&mut self) {
        match spawn::spawn(&self.record.cmd, &self.record.cwd, &self.env) {
            Ok(child) => {
                let id = Identity::of(child.pid);
                self.record.pid = Some(child.pid);
                self.record.pid_start = id.map(|i| i.start_ticks);
                self.record.start_time = Some(unix_now());
                self.record.status = Status::Online;
                self.record.reason = None;
                if let Err(e) = self.store.write_pid(&self.name, child.pid) {
                    self.event(&e.to_string());
                }
                self.save();
                for (fd, stream) in [
                    (OwnedFd::from(child.stdout), Stream::Out),
                    (OwnedFd::from(child.stderr), Stream::Err),
                ] {
                    let _ = fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
                    self.pipes.push(Pipe {
                        fd,
                        stream,
                        split: LineSplitter::default(),
                        grown: false,
                    });
                }
                self.main = Some((child.pid, Instant::now()));
                self.phase = Phase::Running;
                if let Some(ready) = self.ready.take() {
                    handshake::send(ready, &Outcome::Spawned { pid: child.pid }.into());
                }
            }
            Err(e) => {
                let program = self.record.cmd.first().map_or("", String::as_str);
                let message = format!("cannot run {program}: {e}");
                self.event(&message);
                if let Some(ready) = self.ready.take() {
                    // The first start failed: report it and leave the record `errored`.
                    let code = match e.raw_os_error() {
                        Some(
                            libc::ENOENT
                            | libc::EACCES
                            | libc::ENOEXEC
                            | libc::ENOTDIR
                            | libc::EISDIR,
                        ) => EXIT_NOT_RUNNABLE,
                        _ => EXIT_FAILURE,
                    };
                    self.finish(Status::Errored, Some(message.clone()));
                    handshake::send(ready, &Outcome::Failed { code, message }.into());
                    return;
                }
                self.after_exit(message, Duration::ZERO);
            }
        }
    }

    /// Reaps every child that has exited; finishes draining when none is left.
    fn reap(&mut self) {
        let no_children = loop {
            match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break false,
                Ok(WaitStatus::Exited(pid, code)) => self.on_reaped(pid, code, None),
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    self.on_reaped(pid, 128 + sig as i32, Some(sig))
                }
                Ok(_) => {}
                Err(Errno::EINTR) => {}
                Err(Errno::ECHILD) => break true,
                Err(_) => break false,
            }
        };
        if no_children {
            if let Phase::Draining { .. } = self.phase {
                self.drained();
            }
        }
    }

    fn on_reaped(&mut self, pid: Pid, code: i32, signal: Option<Signal>) {
        let Some((main, started)) = self.main else {
            return;
        };
        if pid.as_raw() as u32 != main {
            return; // an orphan of the tree, re-parented to us
        }
        self.main = None;
        self.drain_pipes();
        self.record.exit_code = Some(code);
        self.record.pid = None;
        self.record.pid_start = None;
        if let Err(e) = self.store.remove_pid(&self.name) {
            self.event(&e.to_string());
        }
        let how = match signal {
            Some(sig) => format!("was killed by {sig}"),
            None => format!("exited with code {code}"),
        };
        if let Phase::Draining { .. } = self.phase {
            return; // a stop is under way; its outcome is already decided
        }
        let ran = started.elapsed();
        self.after_exit(format!("{how} after {}", human(ran)), ran);
    }

    /// An unasked end of a run (an exit, or a failed spawn): the policy decides.
    fn after_exit(&mut self, how: String, ran: Duration) {
        let then = match self.tracker.on_exit(ran) {
            Decision::Restart(delay) => {
                self.event(&format!("{how}; restarting in {}", human(delay)));
                Then::Restart(delay)
            }
            Decision::Stay => {
                self.event(&format!("{how}; autorestart is off"));
                let status = if self.record.exit_code == Some(0) {
                    Status::Stopped
                } else {
                    Status::Errored
                };
                Then::Finish(status, Some(format!("{how} (autorestart is off)")))
            }
            Decision::GiveUp { quick_exits } => {
                let why = format!(
                    "{how}; it ended {quick_exits} times in a row within 1s of starting, so it is not restarted"
                );
                self.event(&why);
                Then::Finish(Status::Errored, Some(why))
            }
        };
        self.record.status = match then {
            Then::Restart(_) => Status::Waiting,
            Then::Finish(..) => Status::Stopping,
        };
        self.begin_draining(then);
        // Written only if the draining goes on: had it ended at once (nothing was left of
        // the tree), the restart, backoff or finish it led to has written the record
        // already, and a `waiting` record overwritten a moment later costs a restart time.
        if let Phase::Draining { .. } = self.phase {
            self.save();
        }
    }

    fn request_stop(&mut self) {
        let finish = Then::Finish(Status::Stopped, None);
        match &mut self.phase {
            Phase::Running => {
                self.record.status = Status::Stopping;
                self.save();
                self.begin_draining(finish);
            }
            Phase::Draining { then, .. } => {
                *then = finish;
                self.record.status = Status::Stopping;
                self.save();
            }
            Phase::Backoff { .. } => self.finish(Status::Stopped, None),
            Phase::Done => {}
        }
    }

    fn begin_draining(&mut self, then: Then) {
        self.signal_tree(Signal::SIGTERM);
        self.phase = Phase::Draining {
            deadline: Instant::now() + self.record.policy.kill_timeout,
            killing_since: None,
            then,
        };
        // If nothing is left to wait for, the next reap says so at once.
        self.reap();
    }

    fn drained(&mut self) {
        let phase = std::mem::replace(&mut self.phase, Phase::Running);
        let Phase::Draining { then, .. } = phase else {
            self.phase = phase;
            return;
        };
        match then {
            Then::Restart(delay) if delay.is_zero() && !self.restarting => self.restart(),
            Then::Restart(delay) => {
                self.phase = Phase::Backoff {
                    until: Instant::now() + delay,
                };
                self.record.status = Status::Waiting;
                self.save();
            }
            Then::Finish(status, reason) => self.finish(status, reason),
        }
    }

    fn restart(&mut self) {
        self.restarting = true;
        self.record.restarts += 1;
        self.start_child();
        self.restarting = false;
    }

    fn finish(&mut self, status: Status, reason: Option<String>) {
        self.record.status = status;
        self.record.reason = reason;
        self.record.pid = None;
        self.record.pid_start = None;
        let _ = self.store.remove_pid(&self.name);
        self.save();
        self.phase = Phase::Done;
    }

    /// Signals the main process's group and every other descendant (daemons that left the
    /// group are still ours: we are their subreaper).
    fn signal_tree(&mut self, signal: Signal) -> usize {
        let group = self.main.map(|(pid, _)| pid);
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
        for pid in proc::descendants(self.me.pid, &table) {
            let in_group = group.is_some_and(|g| table.iter().any(|s| s.pid == pid && s.pgrp == g));
            if !in_group {
                let _ = kill(Pid::from_raw(pid as i32), signal);
            }
            count += 1;
        }
        count
    }

    // ---- timers -------------------------------------------------------------------------

    fn next_timer(&self) -> Option<Instant> {
        let phase = match &self.phase {
            Phase::Draining { deadline, .. } => Some(*deadline),
            Phase::Backoff { until } => Some(*until),
            Phase::Running | Phase::Done => None,
        };
        match (phase, self.dropped_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn fire_timers(&mut self) {
        enum Fire {
            Restart,
            Kill { first: bool },
            GiveUp,
        }
        let now = Instant::now();
        if self.dropped_due().is_some_and(|due| now >= due) {
            self.save();
        }
        let fire = match &mut self.phase {
            Phase::Backoff { until } if now >= *until => Fire::Restart,
            Phase::Draining {
                deadline,
                killing_since,
                ..
            } if now >= *deadline => {
                let first = killing_since.is_none();
                let since = *killing_since.get_or_insert(now);
                *deadline = now + KILL_ROUND;
                if now.duration_since(since) > KILL_GIVE_UP {
                    Fire::GiveUp
                } else {
                    Fire::Kill { first }
                }
            }
            _ => return,
        };
        match fire {
            Fire::Restart => self.restart(),
            Fire::GiveUp => {
                self.event("processes survived SIGKILL for 10s; giving up on them");
                self.drained();
            }
            Fire::Kill { first } => {
                let left = self.signal_tree(Signal::SIGKILL);
                if first && left > 0 {
                    let timeout = human(self.record.policy.kill_timeout);
                    self.event(&format!(
                        "{left} process(es) still running after {timeout}; sent SIGKILL"
                    ));
                }
                self.reap();
            }
        }
    }

    // ---- logs ---------------------------------------------------------------------------

    /// Reads once from pipe `i` and writes the complete lines to its log.
    fn pump(&mut self, i: usize) -> Pumped {
        let pipe = &mut self.pipes[i];
        let n = loop {
            match nix::unistd::read(&pipe.fd, &mut self.chunk) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        match n {
            Ok(0) => Pumped::Closed,
            Ok(n) => {
                if n == self.chunk.len() && !pipe.grown {
                    // A full read: the writer may be waiting on us. (Refused beyond the
                    // user's pipe memory limit: then the pipe keeps its size.)
                    pipe.grown = true;
                    let _ = fcntl(&pipe.fd, FcntlArg::F_SETPIPE_SZ(BUSY_PIPE));
                }
                self.buf.clear();
                pipe.split
                    .feed(&self.chunk[..n], self.stamp.now(), &mut self.buf);
                let sink = match pipe.stream {
                    Stream::Out => &mut self.out,
                    Stream::Err => &mut self.err,
                };
                sink.write(&self.buf);
                Pumped::Data
            }
            Err(Errno::EAGAIN) => Pumped::Empty,
            Err(_) => Pumped::Closed,
        }
    }

    /// Flushes a pipe's unfinished line and forgets the pipe.
    fn close_pipe(&mut self, i: usize) {
        let mut pipe = self.pipes.swap_remove(i);
        self.buf.clear();
        pipe.split.finish(self.stamp.now(), &mut self.buf);
        let sink = match pipe.stream {
            Stream::Out => &mut self.out,
            Stream::Err => &mut self.err,
        };
        sink.write(&self.buf);
    }

    /// Reads every pipe until it would block (bounded, for a child that writes without
    /// end); closes those at end of stream.
    fn drain_pipes(&mut self) {
        for i in (0..self.pipes.len()).rev() {
            for _ in 0..64 {
                match self.pump(i) {
                    Pumped::Data => {}
                    Pumped::Empty => break,
                    Pumped::Closed => {
                        self.close_pipe(i);
                        break;
                    }
                }
            }
        }
    }

    /// A line from tpm itself, in the err log, marked `[tpm]`.
    fn event(&mut self, message: &str) {
        let line = format!("{}[tpm] {}: {message}\n", self.stamp.now(), self.name);
        self.err.write(line.as_bytes());
    }

    fn save(&mut self) {
        self.record.log_dropped = self.dropped();
        self.saved_dropped = self.record.log_dropped;
        self.last_save = Instant::now();
        if let Err(e) = self.store.write(&self.name, &self.record) {
            let msg = e.to_string();
            self.event(&msg);
        }
    }

    fn dropped(&self) -> u64 {
        self.out.dropped + self.err.dropped
    }

    /// When dropped log bytes are not in the record yet: the time to write them, at most
    /// once a second (a full disk must not turn into a record rewrite per line).
    fn dropped_due(&self) -> Option<Instant> {
        (self.dropped() != self.saved_dropped).then(|| self.last_save + DROPPED_SAVE_INTERVAL)
    }
}

/// Whether this process has any child, running or exited, without reaping one.
fn has_children() -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::All, flags), Err(Errno::ECHILD))
}

/// The managed process's environment: the caller's, the record's `--env`, then what tpm
/// promises (PORT, TPM_NAME, TPM_ID, and the supervisor marker).
fn child_env(name: &Name, record: &Record, me: &Identity) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let mut set = |k: &str, v: String| {
        env.retain(|(key, _)| key.as_os_str() != OsStr::new(k));
        env.push((k.into(), v.into()));
    };
    for (k, v) in &record.env {
        set(k, v.clone());
    }
    set("PORT", record.port.to_string());
    set(ENV_NAME, name.to_string());
    if let Some(id) = record.id {
        set(ENV_ID, id.to_string());
    }
    set(ENV_SUPERVISOR, format!("{}.{}", me.pid, me.start_ticks));
    env
}

/// `250ms`, `3.2s`, `15s`.
fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}s", d.as_secs())
    }
}
