//! Launching a supervisor, from the front end's side.
//!
//! The supervisor is [`SUPERVISOR_BIN`] when it is installed beside the front end and is
//! of the same build; otherwise (missing, not runnable, dead without a word, or answering
//! that it is another build) the front-end binary itself, re-executed with [`SUPERVISE_ARG`] (see `mod.rs`).
//! Either way, the front end holds the name's lock until the answer comes, so falling back
//! never leaves the name free. The supervisor is detached by a double fork inside `pre_exec`: the forked child calls `setsid` and
//! forks again; the middle process exits at once and is reaped here, so the supervisor is
//! never our child (no zombie in a long-lived caller such as the Nushell plugin) and, not
//! being a session leader, can never acquire a terminal. Only async-signal-safe calls run
//! between fork and exec, which keeps this correct in multi-threaded callers.
//!
//! Three descriptors cross the exec: the name's lock and its claim (see `crate::claim`), so
//! both pass to the supervisor without ever being free, and the write end of the handshake
//! pipe. The launcher's build ([`BUILD`]) goes along as an argument.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::handshake::{self, Outcome, Reply};
use super::{BUILD, ENV_ID, ENV_NAME, ENV_SUPERVISOR, SUPERVISE_ARG, SUPERVISOR_BIN};
use crate::claim::Claim;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::name::Name;
use crate::platform;
use crate::store::{Store, Stream};

/// How long `tpm start` waits for the supervisor's first word.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the supervisor for `name`, handing it `lock` and `claim`, and waits for the
/// handshake. `front_end` is the binary of the calling front end; [`SUPERVISOR_BIN`] beside
/// it is preferred.
pub fn launch(
    store: &Store,
    name: &Name,
    front_end: &Path,
    env: &[(OsString, OsString)],
    lock: FileLock,
    claim: Option<Claim>,
) -> Result<Outcome> {
    let lock_fd: OwnedFd = lock
        .into_fd()
        .map_err(|e| Error::io("cannot hand over", store.lock_path(name), e))?;
    let claim_fd: Option<OwnedFd> = claim.map(Claim::into_fd);
    let held = Handover {
        lock: &lock_fd,
        claim: claim_fd.as_ref(),
    };
    let dedicated = front_end.with_file_name(SUPERVISOR_BIN);
    let fail = |message: String| Error::Supervisor {
        name: name.to_string(),
        message,
    };
    if dedicated != front_end && dedicated.is_file() {
        // Another build, a binary that cannot run, or one that died without a word (had it
        // spawned the process, the process died with it): the front end's own binary
        // supervises instead.
        if let Answer::Reply(Reply::Outcome(outcome)) = start(store, name, &dedicated, env, &held)?
        {
            return Ok(outcome);
        }
    }
    match start(store, name, front_end, env, &held)? {
        Answer::Reply(Reply::Outcome(outcome)) => Ok(outcome),
        Answer::Reply(Reply::OtherBuild { build }) => Err(fail(format!(
            "{} is build {build}, not {BUILD}",
            front_end.display()
        ))),
        Answer::Died => Err(fail(DIED.into())),
        Answer::Unrunnable(message) => Err(fail(message)),
    }
}

const DIED: &str = "it exited before starting the process";

enum Answer {
    Reply(Reply),
    /// The pipe closed without a reply.
    Died,
    /// The binary could not be run at all, so nothing was started.
    Unrunnable(String),
}

/// The descriptors a supervisor takes over; the launcher keeps its own copies until the
/// answer comes, so a fallback to another binary never finds the name free.
struct Handover<'a> {
    lock: &'a OwnedFd,
    claim: Option<&'a OwnedFd>,
}

/// Runs `exe` as the supervisor and waits for its answer.
fn start(
    store: &Store,
    name: &Name,
    exe: &Path,
    env: &[(OsString, OsString)],
    held: &Handover<'_>,
) -> Result<Answer> {
    let fail = |message: String| Error::Supervisor {
        name: name.to_string(),
        message,
    };
    let (ready_r, ready_w) =
        platform::pipe().map_err(|e| fail(format!("cannot create a pipe: {e}")))?;
    // -1: no claim (sockets could not be had); the supervisor then goes without.
    let claim = held.claim.map_or(-1, |c| c.as_raw_fd());
    let inherit = [held.lock.as_raw_fd(), ready_w.as_raw_fd(), claim];
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
        .arg(BUILD)
        .arg(inherit[2].to_string())
        .env_clear()
        // A tpm started from inside a managed process must not carry that process's
        // markers: cleanup after a dead supervisor finds its tree by them.
        .envs(
            env.iter()
                .filter(|(k, _)| !is_marker(k))
                .map(|(k, v)| (k, v)),
        )
        .env_remove(crate::proc::BOOT_ID_FILE_VAR)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_log);
    // One start, one backend: the supervisor runs on the launcher's (see `platform`), whatever
    // the environment handed to it says.
    match platform::backend() {
        platform::Backend::Posix => cmd.env(platform::ENV_PLATFORM, "posix"),
        platform::Backend::Linux => cmd.env_remove(platform::ENV_PLATFORM),
    };
    // The supervisor must see the boot this launcher sees, not the one a kept environment
    // was captured in (only tests set it: see `proc::boot_id`).
    if let Some(file) = std::env::var_os(crate::proc::BOOT_ID_FILE_VAR) {
        cmd.env(crate::proc::BOOT_ID_FILE_VAR, file);
    }
    // SAFETY: only async-signal-safe calls (setsid, fork, _exit, fcntl) run in the child.
    unsafe {
        cmd.pre_exec(move || detach(&inherit));
    }
    let mut middle = match cmd.spawn() {
        Ok(middle) => middle,
        Err(e) => {
            return Ok(Answer::Unrunnable(format!(
                "cannot run {}: {e}",
                exe.display()
            )))
        }
    };
    // The middle process exits as soon as it has forked the supervisor.
    let _ = middle.wait();
    // Our copy goes: a closed pipe means the supervisor died. (The lock stays ours too
    // until the caller returns, so a fallback to another binary never finds it free.)
    drop(ready_w);
    match handshake::receive(ready_r, HANDSHAKE_TIMEOUT) {
        Ok(Some(reply)) => Ok(Answer::Reply(reply)),
        Ok(None) => Ok(Answer::Died),
        Err(e) => Err(fail(e.to_string())),
    }
}

fn is_marker(key: &OsString) -> bool {
    [ENV_NAME, ENV_ID, ENV_SUPERVISOR].iter().any(|m| key == m)
}

/// Runs in the forked child before exec: new session, second fork, keep `fds` open and
/// nothing else.
fn detach(fds: &[RawFd]) -> io::Result<()> {
    nix::unistd::setsid()?;
    // SAFETY: the child of a fork in a (possibly) multi-threaded process may only make
    // async-signal-safe calls until exec; fork and _exit are.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
        nix::unistd::ForkResult::Child => {}
    }
    // Whatever else the caller left open (a test harness's fd 3, a pipe a script reads
    // until its end, a jobserver) must not live on in a supervisor and every process it
    // runs: a reader of that pipe would wait for ever.
    // SAFETY: only async-signal-safe calls; the descriptors to keep are unmarked below.
    unsafe { platform::cloexec_from(3) };
    for &fd in fds.iter().filter(|&&fd| fd >= 0) {
        // SAFETY: plain fcntl on a descriptor we own; clears FD_CLOEXEC.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
