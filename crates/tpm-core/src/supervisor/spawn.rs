//! Spawning the managed process, from the supervisor.
//!
//! The child gets its own process group (so a stop can signal the whole group), stdin from
//! `/dev/null`, stdout and stderr into pipes the supervisor drains, and a parent-death
//! signal: if the supervisor dies, the kernel kills the child. The `getppid` check after
//! `PR_SET_PDEATHSIG` closes the race where the supervisor died before the call.
//! Spawning happens on the supervisor's only thread: the death signal fires when the
//! *thread* that forked exits, so it must be one that lives as long as the supervisor.
//! Where the process has a cgroup (see `crate::cgroup`), the child enters it before exec,
//! so nothing it ever forks is born outside it.

use std::ffi::OsString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{ChildStderr, ChildStdout, Command, Stdio};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

/// A freshly spawned child.
pub struct Spawned {
    pub pid: u32,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
}

/// `cgroup_procs`: the process's `cgroup.procs`, open for writing, if it has a cgroup.
pub fn spawn(
    cmd: &[String],
    cwd: &str,
    env: &[(OsString, OsString)],
    cgroup_procs: Option<RawFd>,
) -> io::Result<Spawned> {
    let (program, args) = cmd
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let supervisor = nix::unistd::getpid();
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if !cwd.is_empty() {
        command.current_dir(cwd);
    }
    // SAFETY: only async-signal-safe calls (write, sigprocmask, signal, prctl, getppid) run
    // in the child.
    unsafe {
        command.pre_exec(move || {
            if let Some(fd) = cgroup_procs {
                // "0" moves the writer. A refusal leaves it in the supervisor's cgroup, which
                // the supervisor sees after the spawn (it then tracks the process tree).
                libc::write(fd, b"0".as_ptr().cast(), 1);
            }
            // The supervisor blocks the signals it reads from a signalfd; the child must not
            // inherit that mask.
            nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            // The supervisor ignores SIGXFSZ (see `run`); ignored signals survive exec.
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != supervisor {
                return Err(io::Error::other("the supervisor exited"));
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    let pid = child.id();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io::Error::other("the child's pipes are missing"));
    };
    // The `Child` handle is dropped without waiting: the supervisor reaps with waitpid(-1).
    drop(child);
    Ok(Spawned {
        pid,
        stdout,
        stderr,
    })
}
