//! Launching a supervisor, from the front end's side.
//!
//! The supervisor is a front-end binary re-executed with [`SUPERVISE_ARG`] (see `mod.rs`).
//! It is detached by a double fork inside `pre_exec`: the forked child calls `setsid` and
//! forks again; the middle process exits at once and is reaped here, so the supervisor is
//! never our child (no zombie in a long-lived caller such as the Nushell plugin) and, not
//! being a session leader, can never acquire a terminal. Only async-signal-safe calls run
//! between fork and exec, which keeps this correct in multi-threaded callers.
//!
//! Two descriptors cross the exec: the name's lock (so the lock passes to the supervisor
//! without ever being free) and the write end of the handshake pipe.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::fcntl::OFlag;

use super::handshake::{self, Outcome};
use super::{ENV_ID, ENV_NAME, ENV_SUPERVISOR, SUPERVISE_ARG};
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::name::Name;
use crate::store::{Store, Stream};

/// How long `tpm start` waits for the supervisor's first word.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the supervisor for `name`, handing it `lock`, and waits for the handshake.
pub fn launch(
    store: &Store,
    name: &Name,
    exe: &Path,
    env: &[(OsString, OsString)],
    lock: FileLock,
) -> Result<Outcome> {
    let fail = |message: String| Error::Supervisor {
        name: name.to_string(),
        message,
    };
    let (ready_r, ready_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| fail(format!("cannot create a pipe: {e}")))?;
    let lock_fd: OwnedFd = lock.into_fd();
    let inherit = [lock_fd.as_raw_fd(), ready_w.as_raw_fd()];
    // The supervisor's own stderr (a panic, should one ever happen) goes to the err log.
    let err_log = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(store.log_path(name, Stream::Err))
        .map_err(|e| Error::io("cannot open", store.log_path(name, Stream::Err), e))?;

    let mut cmd = Command::new(exe);
    cmd.arg(SUPERVISE_ARG)
        .arg(store.root())
        .arg(name.as_str())
        .arg(inherit[0].to_string())
        .arg(inherit[1].to_string())
        .env_clear()
        // A tpm started from inside a managed process must not carry that process's
        // markers: cleanup after a dead supervisor finds its tree by them.
        .envs(
            env.iter()
                .filter(|(k, _)| !is_marker(k))
                .map(|(k, v)| (k, v)),
        )
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_log);
    // SAFETY: only async-signal-safe calls (setsid, fork, _exit, fcntl) run in the child.
    unsafe {
        cmd.pre_exec(move || detach(&inherit));
    }
    let mut middle = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", exe.display())))?;
    // The middle process exits as soon as it has forked the supervisor.
    let _ = middle.wait();
    // Our copies go: the supervisor holds the lock now, and a closed pipe means it died.
    drop(ready_w);
    drop(lock_fd);
    match handshake::receive(ready_r, HANDSHAKE_TIMEOUT) {
        Ok(Some(outcome)) => Ok(outcome),
        Ok(None) => Err(fail("it exited before starting the process".into())),
        Err(e) => Err(fail(e.to_string())),
    }
}

fn is_marker(key: &OsString) -> bool {
    [ENV_NAME, ENV_ID, ENV_SUPERVISOR].iter().any(|m| key == m)
}

/// Runs in the forked child before exec: new session, second fork, keep `fds` open.
fn detach(fds: &[RawFd]) -> io::Result<()> {
    nix::unistd::setsid()?;
    // SAFETY: the child of a fork in a (possibly) multi-threaded process may only make
    // async-signal-safe calls until exec; fork and _exit are.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
        nix::unistd::ForkResult::Child => {}
    }
    for &fd in fds {
        // SAFETY: plain fcntl on a descriptor we own; clears FD_CLOEXEC.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
