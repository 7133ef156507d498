//! Telling when the running process is ready (see `crate::readiness`), and writing it into
//! the record's `ready` field, with a `ready` event when it becomes so.
//!
//! By the PORT: what the sampler found (`state.listening`). By a line: the output pipes
//! match each line against the expression until one matches. By HTTP: a GET on the
//! loopback every [`HTTP_EVERY`] until a 2xx answers (bounded by [`HTTP_TIMEOUT`], the
//! only wait in the supervisor's loop). Once ready by a line or HTTP, a run stays ready; by
//! the PORT, it follows the listening socket.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::run::Supervisor;
use crate::events::{Event, Kind};
use crate::readiness::ReadyCheck;

/// How often an HTTP check is tried until it succeeds.
const HTTP_EVERY: Duration = Duration::from_millis(200);
/// How long one HTTP check may take (connect, send, first line of the answer).
const HTTP_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a process without a PORT (a worker) must stay up to be ready: one that dies at
/// once is not (as a reload judges it).
const SETTLE: Duration = Duration::from_millis(500);

#[derive(Default)]
pub(super) struct ReadyWatch {
    /// When the next HTTP check is due; `None` unless one is wanted.
    next_http: Option<Instant>,
    /// When a process without a PORT has run long enough to be ready.
    settled_at: Option<Instant>,
    /// It sent `READY=1` on `NOTIFY_SOCKET` (see `notify`).
    pub(super) notified: bool,
}

impl ReadyWatch {
    pub(super) fn due(&self) -> Option<Instant> {
        match (self.next_http, self.settled_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Supervisor {
    /// A run began: not ready yet (unless nothing is checked).
    pub(super) fn readiness_begins(&mut self) {
        let check = &self.record.spec.ready.check;
        self.readiness.next_http =
            matches!(check, ReadyCheck::Http(_)).then(|| Instant::now() + HTTP_EVERY);
        self.output.watch_lines(match check {
            ReadyCheck::Line(re) => regex_lite::Regex::new(re).ok(),
            _ => None,
        });
        self.readiness.settled_at = (matches!(check, ReadyCheck::Port)
            && self.record.spec.port.is_none())
        .then(|| Instant::now() + SETTLE);
        let at_once = matches!(check, ReadyCheck::None);
        self.record.state.ready = Some(false);
        if at_once {
            self.set_ready(true);
        }
    }

    /// The run ended.
    pub(super) fn readiness_ends(&mut self) {
        self.readiness = ReadyWatch::default();
        self.output.watch_lines(None);
    }

    /// Looks again at what tells readiness; writes the record when it changed.
    pub(super) fn check_ready(&mut self, now: Instant) {
        if self.main.is_none() {
            return;
        }
        let ready = match &self.record.spec.ready.check {
            ReadyCheck::None => true,
            // A process without a PORT (a worker) is ready once it has stayed up a moment.
            ReadyCheck::Port if self.record.spec.port.is_none() => {
                match self.readiness.settled_at {
                    Some(at) if now >= at => {
                        self.readiness.settled_at = None;
                        true
                    }
                    Some(_) => false,
                    None => self.record.state.ready == Some(true),
                }
            }
            ReadyCheck::Port => self.record.state.listening == Some(true),
            ReadyCheck::Line(_) => self.output.line_matched(),
            ReadyCheck::Notify => self.readiness.notified,
            ReadyCheck::Http(path) => {
                if self.record.state.ready == Some(true) {
                    true
                } else if self.readiness.next_http.is_some_and(|at| now >= at) {
                    // Refused at start without a PORT; a record edited so is never ready.
                    let ok = self
                        .record
                        .spec
                        .port
                        .is_some_and(|port| http_ok(port, path, HTTP_TIMEOUT));
                    self.readiness.next_http = (!ok).then(|| Instant::now() + HTTP_EVERY);
                    ok
                } else {
                    false
                }
            }
        };
        self.set_ready(ready);
    }

    fn set_ready(&mut self, ready: bool) {
        if self.record.state.ready == Some(ready) {
            return;
        }
        self.record.state.ready = Some(ready);
        if ready {
            let mut e = Event::now(&self.name, Kind::Ready);
            e.reason = Some(self.record.spec.ready.check.describe());
            if let Some((pid, _)) = self.main {
                e = e.pid(pid);
            }
            self.history(e);
        }
        self.save();
    }
}

/// Whether `GET http://127.0.0.1:port{path}` answers 2xx within `timeout` (the liveness
/// check asks the same question, see `health`).
pub(super) fn http_ok(port: u16, path: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let _ = stream.set_read_timeout(Some(left));
    let _ = stream.set_write_timeout(Some(left));
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: tpm\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    // The status line is all that is needed: `HTTP/1.x 2xx`.
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < 12 {
        match stream.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let line = &head[..got];
    let ok = line.starts_with(b"HTTP/") && line.len() >= 12 && line[9] == b'2';
    // Read the rest of the answer (a 404 page, say) before closing: closing with unread
    // bytes sends a reset, which servers log as an error (Python's http.server prints a
    // traceback per probe). Up to 64 KiB, within the same deadline.
    let mut rest = [0u8; 4096];
    let mut drained = 0;
    while drained < 64 * 1024 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut rest) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    ok
}
