//! The managed process's output: its stdout and stderr pipes, drained into the log files
//! (through the log pump), and tpm's own `[tpm]` lines in the err log.

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags};

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::housekeep::Housekeeper;
use super::logpump::{LineSplitter, LogFile, Stamp};
use crate::name::Name;
use crate::rotation::LogLimits;
use crate::store::{Store, Stream};

/// Bytes read from one pipe per wake-up, so one noisy stream cannot starve the other.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes read per read once a stream keeps its grown pipe full: fewer wake-ups, reads and
/// writes per megabyte. Back to [`READ_CHUNK`] (the memory returned) after a quiet second.
const BUSY_CHUNK: usize = 1024 * 1024;
/// Reads in a row from a pipe that keeps filling them, before the others get a turn.
const BUSY_READS: usize = 8;
/// The pipe size a busy stream gets (Linux's default limit for unprivileged users), so the
/// process writes on while the supervisor logs, instead of the two taking turns.
const BUSY_PIPE: i32 = 1024 * 1024;

/// A stream quiet this long gives its big buffers back.
const QUIET: Duration = Duration::from_secs(1);
/// Rotations are told to the event history at most this often (see `take_rotations`).
const ROTATIONS_TOLD_EVERY: Duration = Duration::from_secs(60);

/// What one read from a pipe found.
pub(super) enum Pumped {
    /// The read filled the buffer: there may be more.
    Full,
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

/// The open pipes and the two log files they feed.
pub(super) struct Output {
    pipes: Vec<Pipe>,
    out: LogFile,
    err: LogFile,
    stamp: Stamp,
    keeper: Rc<RefCell<Housekeeper>>,
    /// Read buffer, and the stamped lines made from it.
    chunk: Vec<u8>,
    buf: Vec<u8>,
    /// Reads that filled the buffer since the last heal (see [`BUSY_CHUNK`]).
    full_reads: u32,
    /// The readiness line to look for (`--ready-line`), and whether a line matched it.
    ready_line: Option<regex_lite::Regex>,
    line_matched: bool,
    /// When rotations were last told to the event history (see `take_rotations`).
    rotations_told: Option<Instant>,
    /// Streams read and thrown away (pm2's `out_file: "/dev/null"`).
    discard: crate::spec::Discard,
    /// When `housekeep` last ran: the big buffers go back a quiet second after.
    housekept: Instant,
}

impl Output {
    pub(super) fn open(
        store: &Store,
        name: &Name,
        limits: LogLimits,
        discard: crate::spec::Discard,
    ) -> Output {
        let mut out = LogFile::open(store, name, Stream::Out, limits);
        let mut err = LogFile::open(store, name, Stream::Err, limits);
        // Its first round (at the first heal) finishes what a previous supervisor left.
        let keeper = Rc::new(RefCell::new(Housekeeper::new(
            store.log_path(name, Stream::Out),
            store.log_path(name, Stream::Err),
            limits,
        )));
        out.keep_with(keeper.clone());
        err.keep_with(keeper.clone());
        Output {
            pipes: Vec::new(),
            out,
            err,
            keeper,
            stamp: Stamp::default(),
            // Made at the first read: many processes never write a line.
            chunk: Vec::new(),
            buf: Vec::new(),
            full_reads: 0,
            ready_line: None,
            line_matched: false,
            rotations_told: None,
            discard,
            housekept: Instant::now(),
        }
    }

    /// Starts draining a new child's pipes.
    pub(super) fn attach(&mut self, stdout: OwnedFd, stderr: OwnedFd) {
        for (fd, stream) in [(stdout, Stream::Out), (stderr, Stream::Err)] {
            let _ = fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
            self.pipes.push(Pipe {
                fd,
                stream,
                split: LineSplitter::default(),
                grown: false,
            });
        }
    }

    /// One poll entry per open pipe, in order (see [`Output::pumped`]).
    pub(super) fn poll_fds(&self) -> impl Iterator<Item = PollFd<'_>> {
        self.pipes
            .iter()
            .map(|p| PollFd::new(p.fd.as_fd(), PollFlags::POLLIN))
    }

    /// Pumps the pipes that poll found ready (`ready[i]` for the i-th of `poll_fds`).
    pub(super) fn pumped(&mut self, ready: &[bool]) {
        for i in (0..self.pipes.len().min(ready.len())).rev() {
            if ready[i] {
                for _ in 0..BUSY_READS {
                    match self.pump(i) {
                        Pumped::Full => {}
                        Pumped::Closed => {
                            self.close(i);
                            break;
                        }
                        Pumped::Data | Pumped::Empty => break,
                    }
                }
            }
        }
    }

    /// Reads once from pipe `i` and writes the complete lines to its log.
    fn pump(&mut self, i: usize) -> Pumped {
        let pipe = &mut self.pipes[i];
        if self.chunk.is_empty() {
            self.chunk = vec![0; READ_CHUNK];
        }
        let n = loop {
            match nix::unistd::read(&pipe.fd, &mut self.chunk) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        match n {
            Ok(0) => Pumped::Closed,
            Ok(n) => {
                let full = n == self.chunk.len();
                if full && !pipe.grown {
                    // A full read: the writer may be waiting on us. (Refused beyond the
                    // user's pipe memory limit: then the pipe keeps its size.)
                    pipe.grown = true;
                    let _ = crate::platform::grow_pipe(pipe.fd.as_fd(), BUSY_PIPE);
                }
                self.buf.clear();
                pipe.split
                    .feed(&self.chunk[..n], self.stamp.now(), &mut self.buf);
                let (sink, discard) = match pipe.stream {
                    Stream::Out => (&mut self.out, self.discard.out),
                    Stream::Err => (&mut self.err, self.discard.err),
                };
                if !discard {
                    sink.tick(self.stamp.secs());
                    sink.write(&self.buf);
                }
                let grown = pipe.grown;
                self.match_ready_line();
                if !full {
                    return Pumped::Data;
                }
                self.full_reads += 1;
                if self.chunk.len() < BUSY_CHUNK && grown {
                    self.chunk.resize(BUSY_CHUNK, 0);
                }
                Pumped::Full
            }
            Err(Errno::EAGAIN) => Pumped::Empty,
            Err(_) => Pumped::Closed,
        }
    }

    /// Looks for the readiness line (`--ready-line`) from now on; `None` stops looking.
    pub(super) fn watch_lines(&mut self, re: Option<regex_lite::Regex>) {
        self.ready_line = re;
        self.line_matched = false;
    }

    /// Whether a line matched since [`Output::watch_lines`].
    pub(super) fn line_matched(&self) -> bool {
        self.line_matched
    }

    /// Matches the lines just stamped into `buf` (their stamps left out) until one matches.
    fn match_ready_line(&mut self) {
        let Some(re) = &self.ready_line else { return };
        if self.line_matched {
            return;
        }
        let stamp = self.stamp.now().len();
        let text = String::from_utf8_lossy(&self.buf);
        self.line_matched = text
            .lines()
            .any(|line| re.is_match(line.get(stamp..).unwrap_or(line)));
    }

    /// Flushes a pipe's unfinished line and forgets the pipe.
    fn close(&mut self, i: usize) {
        let mut pipe = self.pipes.swap_remove(i);
        self.buf.clear();
        pipe.split.finish(self.stamp.now(), &mut self.buf);
        let (sink, discard) = match pipe.stream {
            Stream::Out => (&mut self.out, self.discard.out),
            Stream::Err => (&mut self.err, self.discard.err),
        };
        if !discard {
            sink.tick(self.stamp.secs());
            sink.write(&self.buf);
        }
    }

    /// Reads every pipe until it would block (bounded, for a child that writes without
    /// end); closes those at end of stream.
    pub(super) fn drain(&mut self) {
        for i in (0..self.pipes.len()).rev() {
            for _ in 0..64 {
                match self.pump(i) {
                    Pumped::Full | Pumped::Data => {}
                    Pumped::Empty => break,
                    Pumped::Closed => {
                        self.close(i);
                        break;
                    }
                }
            }
        }
    }

    /// A line from tpm itself, in the err log, marked `[tpm]`.
    pub(super) fn event(&mut self, name: &Name, message: &str) {
        let line = format!("{}[tpm] {name}: {message}\n", self.stamp.now());
        self.err.tick(self.stamp.secs());
        self.err.write(line.as_bytes());
    }

    /// Whether a log file could not be opened, or a rotation waits to be tried again.
    pub(super) fn failing(&self) -> bool {
        self.out.failing() || self.err.failing()
    }

    /// Tries again what failed in the log files (see `LogFile::heal`).
    pub(super) fn heal(&mut self) {
        self.out.heal();
        self.err.heal();
    }

    /// When `housekeep` (and the telling of rotations) is next wanted: the housekeeping's
    /// own time, a second after the last while the big buffers are held, a minute after
    /// rotations were last told while some wait. Nothing else: an idle pump has no timer.
    pub(super) fn due(&self) -> Option<Instant> {
        let buffers = (self.chunk.len() > READ_CHUNK).then(|| self.housekept + QUIET);
        let rotations = (self.out.rotations_pending() || self.err.rotations_pending()).then(|| {
            self.rotations_told
                .map_or(self.housekept, |t| t + ROTATIONS_TOLD_EVERY)
        });
        [self.keeper.borrow().due(), buffers, rotations]
            .into_iter()
            .flatten()
            .min()
    }

    /// Starts the log housekeeping if it was asked for or is due (see `housekeep`).
    pub(super) fn housekeep(&mut self) {
        self.housekept = Instant::now();
        self.keeper.borrow_mut().poll();
        // A quiet second: the buffers go back (an idle supervisor stays small; mapped on
        // their own, see `resident::tune_allocator`, they leave no hole in the heap).
        if self.full_reads == 0 && !self.chunk.is_empty() {
            self.chunk = Vec::new();
            self.buf = Vec::new();
        }
        self.full_reads = 0;
    }

    /// The rotations to tell the event history, as (stream, why, how many): at most once a
    /// minute unless `now`, so that a process that logs a file a second fills its history
    /// with its exits and restarts, not with rotations (a minute's are counted together).
    pub(super) fn take_rotations(&mut self, now: bool) -> Vec<(Stream, &'static str, u32)> {
        if !now
            && self
                .rotations_told
                .is_some_and(|t| t.elapsed() < ROTATIONS_TOLD_EVERY)
        {
            return Vec::new();
        }
        let told: Vec<_> = [(Stream::Out, &mut self.out), (Stream::Err, &mut self.err)]
            .into_iter()
            .filter_map(|(stream, log)| log.take_rotations().map(|(why, n)| (stream, why, n)))
            .collect();
        if !told.is_empty() {
            self.rotations_told = Some(Instant::now());
        }
        told
    }

    /// Log bytes written to the files so far.
    pub(super) fn written(&self) -> u64 {
        self.out.written + self.err.written
    }

    /// Log bytes that could not be written so far.
    pub(super) fn dropped(&self) -> u64 {
        self.out.dropped + self.err.dropped
    }
}
