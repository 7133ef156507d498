//! One liveness probe over TCP (`--health-tcp`, `--health-http`) that never blocks the
//! loop: a non-blocking connect, the request written when the socket is writable, the
//! status line read when it is readable. Its socket is one more slot in the loop's `poll`
//! and its deadline one more timer, so while a server hangs in a request the supervisor
//! still drains the log pipes, answers stop and restart and reaps its children.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::poll::PollFlags;
use nix::sys::socket::{
    connect, getsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn,
};

/// How much of an answer is read after its status line (a 404 page, say) before closing:
/// closing with unread bytes sends a reset, which servers log as an error (Python's
/// http.server prints a traceback per probe).
const DRAIN_MAX: usize = 64 * 1024;

enum Stage {
    Connecting,
    Sending,
    Reading,
    /// The verdict is given; the rest of the answer is read until its end or the deadline.
    Draining,
}

pub(super) struct Probe {
    stream: TcpStream,
    deadline: Instant,
    stage: Stage,
    /// The HTTP request; `None` for a TCP check (a connection is its whole answer).
    request: Option<Vec<u8>>,
    sent: usize,
    /// `HTTP/1.x 2xx` is all that is needed of the answer.
    head: [u8; 12],
    got: usize,
    drained: usize,
}

/// What a probe said when it moved on.
pub(super) enum Step {
    /// Nothing yet: wait for its socket again.
    Pending,
    /// The check's answer; the probe may still be reading the rest (see `finished`).
    Verdict(bool),
}

impl Probe {
    /// Starts a connection to `127.0.0.1:port`; `Err` is a failed check (refused now).
    /// With a `path`, an HTTP GET of it follows the connection.
    pub(super) fn start(
        port: u16,
        path: Option<&str>,
        deadline: Instant,
    ) -> Result<(Probe, Step), Errno> {
        // Made without SOCK_NONBLOCK/SOCK_CLOEXEC (Linux's only): the loop is one thread,
        // so nothing forks between the socket and its flags.
        let fd = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::empty(),
            None,
        )?;
        // A health command or a restart spawned while a probe is open must not inherit it.
        fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        let stream = TcpStream::from(fd);
        stream
            .set_nonblocking(true)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let addr = SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
        let request = path.map(|p| {
            format!(
                "GET {p} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: tpm\r\nConnection: close\r\n\r\n"
            )
            .into_bytes()
        });
        let mut probe = Probe {
            stream,
            deadline,
            stage: Stage::Connecting,
            request,
            sent: 0,
            head: [0; 12],
            got: 0,
            drained: 0,
        };
        match connect(probe.stream.as_raw_fd(), &addr) {
            // A loopback connection may be made at once.
            Ok(()) => {
                let step = probe.connected();
                Ok((probe, step))
            }
            Err(Errno::EINPROGRESS | Errno::EINTR) => Ok((probe, Step::Pending)),
            Err(e) => Err(e),
        }
    }

    pub(super) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Its slot in the loop's `poll`: writable while connecting and sending, readable
    /// after.
    pub(super) fn poll_fd(&self) -> (BorrowedFd<'_>, PollFlags) {
        let flags = match self.stage {
            Stage::Connecting | Stage::Sending => PollFlags::POLLOUT,
            Stage::Reading | Stage::Draining => PollFlags::POLLIN,
        };
        (self.stream.as_fd(), flags)
    }

    /// Whether the verdict was given already (the probe only reads the rest now).
    pub(super) fn answered(&self) -> bool {
        matches!(self.stage, Stage::Draining)
    }

    /// Whether there is nothing left to do: the socket can be closed.
    pub(super) fn finished(&self) -> bool {
        matches!(self.stage, Stage::Draining) && self.drained >= DRAIN_MAX
    }

    /// Its socket is ready (or in error): as far as it can go without waiting.
    pub(super) fn advance(&mut self) -> Step {
        match self.stage {
            Stage::Connecting => {
                match getsockopt(&self.stream, sockopt::SocketError) {
                    Ok(0) => {}
                    _ => return self.verdict(false),
                }
                self.connected()
            }
            Stage::Sending => self.send(),
            Stage::Reading => self.read_head(),
            Stage::Draining => {
                self.drain();
                Step::Pending
            }
        }
    }

    fn connected(&mut self) -> Step {
        match self.request {
            None => self.verdict(true),
            Some(_) => {
                self.stage = Stage::Sending;
                self.send()
            }
        }
    }

    fn send(&mut self) -> Step {
        let Some(request) = &self.request else {
            return self.verdict(true);
        };
        while self.sent < request.len() {
            match self.stream.write(&request[self.sent..]) {
                Ok(0) => return self.verdict(false),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.verdict(false),
            }
        }
        self.stage = Stage::Reading;
        self.read_head()
    }

    fn read_head(&mut self) -> Step {
        while self.got < self.head.len() {
            match self.stream.read(&mut self.head[self.got..]) {
                Ok(0) => break,
                Ok(n) => self.got += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let line = &self.head[..self.got];
        let ok = line.starts_with(b"HTTP/") && line.len() >= 12 && line[9] == b'2';
        let step = self.verdict(ok);
        self.drain();
        step
    }

    fn drain(&mut self) {
        let mut rest = [0u8; 4096];
        while self.drained < DRAIN_MAX {
            match self.stream.read(&mut rest) {
                Ok(n) if n > 0 => self.drained += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // The end of the answer, or a broken connection: nothing more to read.
                _ => self.drained = DRAIN_MAX,
            }
        }
    }

    fn verdict(&mut self, ok: bool) -> Step {
        self.stage = Stage::Draining;
        if self.request.is_none() || !ok && self.got == 0 {
            // Nothing to read after a bare connection or a failed one.
            self.drained = DRAIN_MAX;
        }
        Step::Verdict(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    use nix::poll::{poll, PollFd, PollTimeout};

    /// Drives a probe as the loop does, by `poll`, until its verdict.
    fn verdict(port: u16, path: Option<&str>) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let (mut probe, mut step) = match Probe::start(port, path, deadline) {
            Ok(started) => started,
            Err(_) => return false,
        };
        loop {
            if let Step::Verdict(ok) = step {
                return ok;
            }
            let (fd, flags) = probe.poll_fd();
            let mut fds = [PollFd::new(fd, flags)];
            poll(&mut fds, PollTimeout::from(10_000u16)).expect("poll");
            step = probe.advance();
        }
    }

    /// A server on a free port answering one connection with `answer`.
    fn server(answer: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            if let Ok((mut c, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf);
                let _ = c.write_all(answer);
            }
        });
        port
    }

    #[test]
    fn an_http_probe_judges_the_status_line() {
        assert!(verdict(server(b"HTTP/1.0 200 OK\r\n\r\nok"), Some("/h")));
        assert!(!verdict(
            server(b"HTTP/1.0 404 Not Found\r\n\r\n"),
            Some("/h")
        ));
        assert!(!verdict(server(b""), Some("/h")));
    }

    #[test]
    fn a_tcp_probe_is_a_connection_and_a_closed_port_fails() {
        assert!(verdict(server(b""), None));
        let closed = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        assert!(!verdict(closed, None));
        assert!(!verdict(closed, Some("/h")));
    }
}
