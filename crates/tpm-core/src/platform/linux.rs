//! The Linux backend: what Linux gives beyond POSIX (see the module notes in `mod.rs`).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};

/// Linux's `CLONE_INTO_CGROUP` (5.7).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The cgroup2 file system's magic number (`statfs`).
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

pub(super) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}

/// `close_range(CLOSE_RANGE_CLOEXEC)` (Linux 5.11) marks them all in one call; where it
/// is missing, each is marked in turn.
pub(super) unsafe fn cloexec_from(first: RawFd) {
    let marked = libc::syscall(
        libc::SYS_close_range,
        first as u32,
        u32::MAX,
        libc::CLOSE_RANGE_CLOEXEC,
    );
    if marked != 0 {
        super::posix::cloexec_from(first);
    }
}

pub(super) fn stream_socket(family: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket opens a descriptor that becomes ours alone.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

pub(super) fn grow_pipe(fd: BorrowedFd<'_>, size: i32) -> io::Result<()> {
    fcntl(fd, FcntlArg::F_SETPIPE_SZ(size))?;
    Ok(())
}

pub(super) fn lower_thread_priority() {
    // SAFETY: setpriority on this thread's own id; no memory is involved.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

pub(super) fn preallocate(file: &File, len: u64) -> bool {
    // SAFETY: fallocate on a descriptor we own; it only allocates.
    unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t) == 0 }
}

fn whole_file(kind: libc::c_short) -> libc::flock {
    // SAFETY: flock is a plain C struct; all-zero is a valid value for every field.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl
}

/// Open-file-description locks: unlike `flock`, a reader can test one (`F_OFD_GETLK`)
/// without taking it, so `tpm list` never makes a concurrent `tpm start` fail; unlike
/// classic POSIX locks they belong to the open file, so they pass with a descriptor.
pub(super) fn lock(file: &File, wait: bool) -> io::Result<bool> {
    let fl = whole_file(libc::F_WRLCK as libc::c_short);
    loop {
        let arg = if wait {
            FcntlArg::F_OFD_SETLKW(&fl)
        } else {
            FcntlArg::F_OFD_SETLK(&fl)
        };
        return match fcntl(file, arg) {
            Ok(_) => Ok(true),
            Err(Errno::EAGAIN | Errno::EACCES) => Ok(false),
            Err(Errno::EINTR) => continue,
            Err(e) => Err(e.into()),
        };
    }
}

pub(super) fn lock_is_held(file: &File) -> io::Result<bool> {
    let mut fl = whole_file(libc::F_WRLCK as libc::c_short);
    fcntl(file, FcntlArg::F_OFD_GETLK(&mut fl))?;
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// An abstract address lives in the kernel, not in a folder: no file operation (not even
/// `rm -rf` of the store) can undo it, and it vanishes with its last descriptor.
fn claim_address(key: &str) -> io::Result<UnixAddr> {
    UnixAddr::new_abstract(format!("tpm/{key}").as_bytes()).map_err(io::Error::from)
}

fn stream() -> io::Result<OwnedFd> {
    socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(io::Error::from)
}

pub(super) fn claim_bind(key: &str) -> io::Result<OwnedFd> {
    let addr = claim_address(key)?;
    let fd = stream()?;
    nix::sys::socket::bind(fd.as_raw_fd(), &addr)?;
    Ok(fd)
}

pub(super) fn claim_connect(key: &str) -> io::Result<OwnedFd> {
    let addr = claim_address(key)?;
    let fd = stream()?;
    connect(fd.as_raw_fd(), &addr)?;
    Ok(fd)
}

pub(super) fn signal_fd(signals: &[Signal]) -> io::Result<SignalFd> {
    let mut mask = SigSet::empty();
    for &s in signals {
        mask.add(s);
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(io::Error::from)
}

/// The parent-death signal, then the `getppid` check that closes the race where the parent
/// died before the call. It fires when the *thread* that forked exits: callers fork from a
/// thread that lives as long as they do.
pub(super) unsafe fn die_with_parent(parent: libc::pid_t) -> io::Result<()> {
    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
        return Err(io::Error::last_os_error());
    }
    super::posix::die_with_parent(parent)
}

pub(super) fn become_subreaper() -> io::Result<bool> {
    nix::sys::prctl::set_child_subreaper(true)?;
    Ok(true)
}

// `f_type` is 32 bits wide on some architectures, 64 on others.
#[allow(clippy::unnecessary_cast)]
pub(super) fn is_cgroup2(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir)
        .is_ok_and(|fs| fs.filesystem_type().0 as i64 == CGROUP2_SUPER_MAGIC)
}

/// `clone3(2)`'s arguments (`struct clone_args`, version 2: with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `clone3(CLONE_INTO_CGROUP)`: the child is born in the cgroup, so nothing it ever forks
/// starts outside it (moving it in by writing to `cgroup.procs` waits for an RCU grace
/// period, 5 to 20 ms on a busy machine, at every restart).
pub(super) unsafe fn clone_into_cgroup(dir: BorrowedFd<'_>) -> io::Result<Option<libc::pid_t>> {
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: dir.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY (the caller's): clone3 without CLONE_VM and without a stack is a fork.
    let pid = libc::syscall(
        libc::SYS_clone3,
        &args as *const CloneArgs,
        std::mem::size_of::<CloneArgs>(),
    );
    if pid >= 0 {
        return Ok(Some(pid as libc::pid_t));
    }
    let e = io::Error::last_os_error();
    // No clone3 or no CLONE_INTO_CGROUP before Linux 5.7, a seccomp filter, no right to
    // the cgroup.
    match e.raw_os_error() {
        Some(libc::ENOSYS | libc::E2BIG | libc::EINVAL | libc::EPERM | libc::EACCES) => Ok(None),
        _ => Err(e),
    }
}
