//! The start handshake: the supervisor tells the command that launched it, over a pipe,
//! whether the process was spawned (`ok PID`) or could not be (`fail CODE MESSAGE`), or that
//! it is a supervisor binary of another build and did nothing (`build BUILD`).
//! `tpm start` returns on that message, never after a fixed sleep.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Spawned { pid: u32 },
    Failed { code: i32, message: String },
}

/// What a supervisor answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Outcome(Outcome),
    /// It is a supervisor binary of another build (`BUILD` is its own) and did nothing.
    OtherBuild {
        build: String,
    },
}

impl From<Outcome> for Reply {
    fn from(outcome: Outcome) -> Reply {
        Reply::Outcome(outcome)
    }
}

impl Reply {
    fn encode(&self) -> String {
        match self {
            Reply::Outcome(Outcome::Spawned { pid }) => format!("ok {pid}\n"),
            Reply::Outcome(Outcome::Failed { code, message }) => {
                format!("fail {code} {}\n", message.replace('\n', " "))
            }
            Reply::OtherBuild { build } => format!("build {build}\n"),
        }
    }

    fn decode(line: &str) -> Option<Reply> {
        let line = line.trim_end_matches('\n');
        if let Some(pid) = line.strip_prefix("ok ") {
            return Some(
                Outcome::Spawned {
                    pid: pid.parse().ok()?,
                }
                .into(),
            );
        }
        if let Some(build) = line.strip_prefix("build ") {
            return Some(Reply::OtherBuild {
                build: build.to_string(),
            });
        }
        let rest = line.strip_prefix("fail ")?;
        let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
        Some(
            Outcome::Failed {
                code: code.parse().ok()?,
                message: message.to_string(),
            }
            .into(),
        )
    }
}

/// The supervisor's side: one message, then the pipe is closed.
pub fn send(fd: OwnedFd, reply: &Reply) {
    let mut pipe = std::fs::File::from(fd);
    // The launcher may have given up waiting; nothing to do about a failed write.
    let _ = pipe.write_all(reply.encode().as_bytes());
}

/// The launcher's side: waits for the message until `timeout`. `Ok(None)` means the pipe
/// closed without one (the supervisor died).
pub fn receive(fd: OwnedFd, timeout: Duration) -> io::Result<Option<Reply>> {
    let deadline = Instant::now() + timeout;
    let mut pipe = std::fs::File::from(fd);
    let mut buf = Vec::with_capacity(128);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the supervisor did not answer",
            ));
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let mut chunk = [0u8; 256];
        let n = pipe.read(&mut chunk)?;
        if n == 0 {
            return Ok(Reply::decode(&String::from_utf8_lossy(&buf)));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.contains(&b'\n') {
            return Ok(Reply::decode(&String::from_utf8_lossy(&buf)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for r in [
            Outcome::Spawned { pid: 42 }.into(),
            Outcome::Failed {
                code: 66,
                message: "cannot run x: No such file".into(),
            }
            .into(),
            Reply::OtherBuild {
                build: "0.1.0+0123456789abcdef".into(),
            },
        ] {
            assert_eq!(Reply::decode(&r.encode()), Some(r));
        }
        assert_eq!(Reply::decode("garbage"), None);
    }

    #[test]
    fn receive_gets_the_message_or_sees_the_pipe_close() {
        let (r, w) = nix::unistd::pipe().unwrap();
        send(w, &Outcome::Spawned { pid: 7 }.into());
        assert_eq!(
            receive(r, Duration::from_secs(5)).unwrap(),
            Some(Outcome::Spawned { pid: 7 }.into())
        );
        let (r, w) = nix::unistd::pipe().unwrap();
        drop(w);
        assert_eq!(receive(r, Duration::from_secs(5)).unwrap(), None);
        let (r, _w) = nix::unistd::pipe().unwrap();
        assert!(receive(r, Duration::from_millis(20)).is_err(), "times out");
    }
}
