//! What tpm needs of the operating system, named for what tpm does with it; the rest of the
//! core calls these and names no OS (`#[cfg(target_os)]` appears only below this folder).
//!
//! Two backends do the mechanics of supervision:
//! - `linux`: what Linux gives and POSIX has not: `clone3` into a cgroup, a parent-death
//!   signal, a signalfd, a child subreaper, `waitid(WNOWAIT)`, open-file-description locks
//!   a reader can test without taking, an abstract socket for the claim (it outlives a
//!   wiped store), `fallocate`, `close_range`.
//! - `posix`: only POSIX (fork/exec, a process group per tree and `kill(-pgid)`, `flock`,
//!   `poll` over a self-pipe written by a signal handler, `waitpid`, a Unix socket file for
//!   the claim, pipes marked close-on-exec by `fcntl`, descriptors closed by a loop). The
//!   macOS build uses it always; a Linux build uses it when `TPM_PLATFORM=posix` is in the
//!   environment of the first tpm process, so CI runs the very same binaries twice, once on
//!   each backend, with no second build (a cargo feature would need one). The variable
//!   passes to every supervisor through the environment, so one start uses one backend
//!   from the front end to the process.
//!
//! What POSIX has no equivalent of, and what tpm does instead under `posix`:
//! - cgroups (a daemon that leaves the group with `setsid` is still found and killed):
//!   the tree is the process group plus the supervisor's descendants; `tpm cleanup` finds
//!   leftovers by their `TPM_SUPERVISOR` marker (a daemon that clears its environment
//!   *and* leaves the group escapes).
//! - the parent-death signal (the process dies when its supervisor is SIGKILLed): a
//!   supervisor that is asked to stop (TERM, INT, QUIT) stops the tree on its way out; one
//!   killed outright leaves the process running until `tpm cleanup` or the next start's
//!   sweep finds it by its marker.
//! - the child subreaper (orphans of the tree come back to the supervisor): orphans go to
//!   init, so "no child left" means "the main process is gone", not "the tree is".
//! - a lock that can be tested without taking it: `flock` is tried shared and released at
//!   once, so a reader may for an instant hold it.
//! - an abstract socket: the claim is a socket file under the system's temporary folder,
//!   private to the user; a stale one (nobody listens) is replaced.
//!
//! What the OS says about processes (identity, tree, command line, environment, CPU and
//! memory, who listens on a port): `query`, with `query_linux` and `query_macos` below it.
//! Watching files for `--watch`: `watch`.

use std::fs::File;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::OnceLock;

#[cfg(target_os = "linux")]
mod linux;
mod posix;

#[cfg(test)]
mod boundary;

pub(crate) mod query;
#[cfg(target_os = "linux")]
pub(crate) mod query_linux;
#[cfg(target_os = "macos")]
mod query_macos;
// KERN_PROCARGS2's layout is read on every OS, so its tests run on Linux.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod procargs;
#[cfg(target_os = "linux")]
pub(crate) mod sockdiag;
pub(crate) mod watch;
#[cfg(target_os = "linux")]
mod watch_inotify;

// What the supervisor uses beside the mechanics, with what each system gets: store events
// (inotify; a timer elsewhere), systemd's notify socket (Linux only), the allocator's
// tuning (glibc only). Each is used on both backends: see each module for why.
pub(crate) mod allocator;
pub(crate) mod notify_socket;
pub(crate) mod store_events;
#[cfg(target_os = "linux")]
mod store_events_inotify;
#[cfg(any(target_os = "macos", all(test, target_os = "linux")))]
pub(crate) mod watch_notify;

/// The environment variable that picks the backend on Linux (`posix`; anything else or
/// nothing: `linux`). Read once per process.
pub const ENV_PLATFORM: &str = "TPM_PLATFORM";

/// Which backend this process runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Linux's own mechanics (cgroups, signalfd, PDEATHSIG, OFD locks, abstract sockets).
    Linux,
    /// POSIX only: what macOS runs, and Linux when asked.
    Posix,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Linux => "linux",
            Backend::Posix => "posix",
        }
    }
}

/// The backend of this process, chosen at its first use and kept for its life.
pub fn backend() -> Backend {
    static CHOSEN: OnceLock<Backend> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        if cfg!(target_os = "linux") && std::env::var_os(ENV_PLATFORM).is_none_or(|v| v != "posix")
        {
            Backend::Linux
        } else {
            Backend::Posix
        }
    })
}

/// Whether the Linux backend runs (the only one with cgroups, subreapers, death signals).
fn on_linux() -> bool {
    backend() == Backend::Linux
}

/// Runs `$linux` on the Linux backend, `$posix` otherwise.
macro_rules! pick {
    ($linux:expr, $posix:expr) => {{
        #[cfg(target_os = "linux")]
        {
            if on_linux() {
                $linux
            } else {
                $posix
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = on_linux;
            $posix
        }
    }};
}

// ---- Descriptors ----

/// A pipe whose both ends are close-on-exec: `(read, write)`.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    pick!(linux::pipe(), posix::pipe())
}

/// Marks every descriptor from `first` up close-on-exec, so nothing a caller left open
/// lives on in a supervisor. Only async-signal-safe calls: for the child between fork and
/// exec.
///
/// # Safety
/// Any descriptor this process still needs past an exec must be unmarked after.
pub unsafe fn cloexec_from(first: RawFd) {
    pick!(linux::cloexec_from(first), posix::cloexec_from(first))
}

/// A stream socket of `family` (`AF_INET`, `AF_INET6`, `AF_UNIX`), close-on-exec.
pub fn stream_socket(family: libc::c_int) -> io::Result<OwnedFd> {
    pick!(linux::stream_socket(family), posix::stream_socket(family))
}

/// Lets the kernel grow a pipe to `size` bytes, where it can (Linux's `F_SETPIPE_SZ`; a
/// POSIX pipe keeps its size). Refusals are the caller's to ignore.
pub fn grow_pipe(fd: BorrowedFd<'_>, size: i32) -> io::Result<()> {
    pick!(linux::grow_pipe(fd, size), {
        let _ = (fd, size);
        Ok(())
    })
}

/// Gives the calling thread the lowest CPU priority (nice 19), where threads have their
/// own (Linux); elsewhere nothing changes.
pub fn lower_thread_priority() {
    pick!(linux::lower_thread_priority(), ())
}

/// The calling thread's `errno`: async-signal-safe.
pub fn errno() -> i32 {
    posix::errno()
}

/// Sets the calling thread's `errno`: async-signal-safe.
pub fn set_errno(value: i32) {
    posix::set_errno(value)
}

/// Sets aside `len` bytes of disk for `file` without writing them, where the file system
/// can; `false` where it cannot (the caller writes zeros instead).
pub fn preallocate(file: &File, len: u64) -> bool {
    pick!(linux::preallocate(file, len), posix::preallocate(file, len))
}

// ---- Locks ----

/// Takes the write lock on the whole of `file` (waiting for it when `wait`); `Ok(false)`
/// when someone else holds it. The lock belongs to the open file: a descriptor handed to
/// another process carries it, and it goes when the last one closes.
pub fn lock(file: &File, wait: bool) -> io::Result<bool> {
    pick!(linux::lock(file, wait), posix::lock(file, wait))
}

/// Whether someone holds the write lock on `file` (opened for reading).
pub fn lock_is_held(file: &File) -> io::Result<bool> {
    pick!(linux::lock_is_held(file), posix::lock_is_held(file))
}

// ---- The claim on a name ----

/// Binds the claim socket whose key is `key` (a digest of the store and the name: short,
/// printable); it is not yet listening (see [`claim_listen`]) on the Linux backend.
/// `Err(EADDRINUSE)` when somebody holds it; other errors mean sockets cannot be had.
pub fn claim_bind(key: &str) -> io::Result<OwnedFd> {
    pick!(linux::claim_bind(key), posix::claim_bind(key))
}

/// Connects to the claim socket of `key`, without blocking: `Err(ECONNREFUSED | EAGAIN)`
/// when it is bound by someone who does not answer yet.
pub fn claim_connect(key: &str) -> io::Result<OwnedFd> {
    pick!(linux::claim_connect(key), posix::claim_connect(key))
}

/// Starts answering on a bound claim socket: from now on the caller is its holder.
pub fn claim_listen(fd: BorrowedFd<'_>) {
    posix::listen(fd)
}

/// Whether an answered connection means the holder listens (`true`) or a binder that
/// does not yet: the POSIX claim listens from its bind (a stale socket file is otherwise
/// indistinguishable from a start under way).
pub fn claim_listens_at_bind() -> bool {
    !on_linux()
}

/// Gives up a claim socket for good, just before it closes: its file (under `posix`) goes
/// while the socket still listens, so no other start takes the name and then loses its file.
pub fn claim_release(fd: BorrowedFd<'_>) {
    pick!(
        {
            let _ = fd;
        },
        posix::claim_release(fd)
    )
}

/// The pid of the process at the other end of a connected Unix socket, when it runs as
/// this user (`SO_PEERCRED` on Linux, `LOCAL_PEERPID` and `getpeereid` on macOS).
pub fn peer_pid(fd: BorrowedFd<'_>) -> Option<u32> {
    posix::peer_pid(fd)
}

// ---- Signals ----

/// The signals a supervisor reads in its loop, as a descriptor to poll: a signalfd (the
/// signals blocked) on Linux, a pipe its signal handler writes to under `posix`.
pub struct Signals {
    inner: SignalsInner,
}

enum SignalsInner {
    #[cfg(target_os = "linux")]
    Fd(nix::sys::signalfd::SignalFd),
    Pipe(posix::SelfPipe),
}

impl Signals {
    /// From now on `signals` arrive at [`Signals::fd`] instead of acting.
    pub fn catch(signals: &[nix::sys::signal::Signal]) -> io::Result<Signals> {
        let inner = pick!(
            SignalsInner::Fd(linux::signal_fd(signals)?),
            SignalsInner::Pipe(posix::SelfPipe::catch(signals)?)
        );
        Ok(Signals { inner })
    }

    /// Readable when a signal came.
    pub fn fd(&self) -> BorrowedFd<'_> {
        match &self.inner {
            #[cfg(target_os = "linux")]
            SignalsInner::Fd(fd) => std::os::fd::AsFd::as_fd(fd),
            SignalsInner::Pipe(pipe) => pipe.fd(),
        }
    }

    /// The next signal that came, without waiting.
    pub fn read(&mut self) -> Option<nix::sys::signal::Signal> {
        match &mut self.inner {
            #[cfg(target_os = "linux")]
            SignalsInner::Fd(fd) => {
                let info = fd.read_signal().ok()??;
                nix::sys::signal::Signal::try_from(info.ssi_signo as i32).ok()
            }
            SignalsInner::Pipe(pipe) => pipe.read(),
        }
    }
}

// ---- Spawning, children, the tree ----

/// In the child between fork and exec, makes it die with `parent` where the OS can (Linux:
/// `PR_SET_PDEATHSIG`), and fails with `ESRCH` if `parent` is already gone. POSIX has no
/// such thing: there the supervisor stops the tree on its way out (see the module notes).
///
/// # Safety
/// Only async-signal-safe calls; for the child of a fork.
pub unsafe fn die_with_parent(parent: libc::pid_t) -> io::Result<()> {
    pick!(
        linux::die_with_parent(parent),
        posix::die_with_parent(parent)
    )
}

/// Makes this process the reaper of every orphan of its descendants, where the OS can
/// (Linux's child subreaper); `false` where it cannot.
pub fn become_subreaper() -> io::Result<bool> {
    pick!(linux::become_subreaper(), Ok(false))
}

/// Whether orphans of a supervisor's tree come back to it (see [`become_subreaper`]).
pub fn has_subreaper() -> bool {
    pick!(true, false)
}

/// Whether this process has any child, running or exited, without reaping one.
pub fn has_children() -> bool {
    posix::has_children()
}

/// Whether the child `pid` has exited, without reaping it.
pub fn has_exited(pid: u32) -> bool {
    posix::has_exited(pid)
}

/// Whether cgroups are used: only on the Linux backend.
pub fn has_cgroups() -> bool {
    pick!(true, false)
}

/// Whether `dir` is a folder of a cgroup2 file system.
pub fn is_cgroup2(dir: &Path) -> bool {
    pick!(linux::is_cgroup2(dir), {
        let _ = dir;
        false
    })
}

/// Forks this (single-threaded) process, the child born in the cgroup open at `cgroup`
/// when given. Returns what `fork` returns; `Ok(None)` when the kernel refuses to clone
/// into the cgroup (no `clone3`, no right to the cgroup): the caller goes without.
///
/// # Safety
/// As `fork`: the child may make only async-signal-safe calls until it execs or exits.
pub unsafe fn fork_into(cgroup: Option<BorrowedFd<'_>>) -> io::Result<Option<libc::pid_t>> {
    match cgroup {
        Some(dir) => pick!(linux::clone_into_cgroup(dir), {
            let _ = dir;
            Ok(None)
        }),
        None => match libc::fork() {
            -1 => Err(io::Error::last_os_error()),
            pid => Ok(Some(pid)),
        },
    }
}
