//! The POSIX backend: only what POSIX gives (see the module notes in `mod.rs`). macOS runs
//! it always; Linux with `TPM_PLATFORM=posix`. A few calls differ by name between the two
//! (`errno`'s location, the peer of a socket); they are chosen here.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::Signal;

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn set_fd_flag(
    fd: RawFd,
    cmd_get: libc::c_int,
    cmd_set: libc::c_int,
    flag: libc::c_int,
) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller owns.
    unsafe {
        let flags = check(libc::fcntl(fd, cmd_get))?;
        check(libc::fcntl(fd, cmd_set, flags | flag))?;
    }
    Ok(())
}

fn cloexec(fd: RawFd) -> io::Result<()> {
    set_fd_flag(fd, libc::F_GETFD, libc::F_SETFD, libc::FD_CLOEXEC)
}

fn nonblocking(fd: RawFd) -> io::Result<()> {
    set_fd_flag(fd, libc::F_GETFL, libc::F_SETFL, libc::O_NONBLOCK)
}

/// `pipe` then `fcntl(FD_CLOEXEC)` on each end (POSIX has no `pipe2` before 2024's issue 8;
/// macOS has none). The supervisor and tpm fork only from one thread or exec at once, so
/// the moment between the two calls leaks the pipe into no other program.
pub(super) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe fills the two descriptors it opens.
    check(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
    // SAFETY: both were just opened, and are ours alone.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    cloexec(r.as_raw_fd())?;
    cloexec(w.as_raw_fd())?;
    Ok((r, w))
}

/// Each descriptor up to the limit of open files (at most 65 536) in turn.
pub(super) unsafe fn cloexec_from(first: RawFd) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let top = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
        limit.rlim_cur.min(1 << 16) as RawFd
    } else {
        1024
    };
    for fd in first..top {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
}

fn errno_location() -> *mut libc::c_int {
    // SAFETY: both return the calling thread's errno, always valid.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    unsafe {
        libc::__errno_location()
    }
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    unsafe {
        libc::__error()
    }
}

pub(super) fn errno() -> i32 {
    // SAFETY: see `errno_location`.
    unsafe { *errno_location() }
}

pub(super) fn set_errno(value: i32) {
    // SAFETY: see `errno_location`.
    unsafe { *errno_location() = value }
}

/// POSIX's `posix_fallocate` is missing on macOS: zeros are written instead.
pub(super) fn preallocate(_file: &File, _len: u64) -> bool {
    false
}

/// `flock`: it belongs to the open file, so it passes with a descriptor to the supervisor.
pub(super) fn lock(file: &File, wait: bool) -> io::Result<bool> {
    let how = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), how) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// `flock` has no test: a shared lock is tried and dropped at once. A start that tries the
/// lock in that instant sees it held, and tries again (its wait for the lock has a
/// deadline, see `ops::start`).
pub(super) fn lock_is_held(file: &File) -> io::Result<bool> {
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0 {
            // SAFETY: as above.
            unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
            return Ok(false);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(true),
            _ => return Err(e),
        }
    }
}

// ---- The claim: a socket file in a folder of the user's own ----

/// The folder of claim sockets: `/tmp/tpm-claims-UID`, made private (0700) and refused
/// when it is not the user's own (someone else could then replace our sockets). Outside
/// the store, so a wiped store leaves the claims of running supervisors in place.
fn claim_dir() -> io::Result<PathBuf> {
    let uid = nix::unistd::geteuid().as_raw();
    let dir = PathBuf::from(format!("/tmp/tpm-claims-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is not this user's private folder", dir.display()),
        ));
    }
    Ok(dir)
}

fn sockaddr(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: sockaddr_un is a plain C struct; all-zero is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (slot, &b) in addr.sun_path.iter_mut().zip(bytes) {
        *slot = b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    Ok((addr, len))
}

/// `socket` then `fcntl(FD_CLOEXEC)` (macOS has no `SOCK_CLOEXEC`).
pub(super) fn stream_socket(family: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket opens a descriptor that becomes ours alone.
    let fd = unsafe { OwnedFd::from_raw_fd(check(libc::socket(family, libc::SOCK_STREAM, 0))?) };
    cloexec(fd.as_raw_fd())?;
    Ok(fd)
}

fn stream() -> io::Result<OwnedFd> {
    let fd = stream_socket(libc::AF_UNIX)?;
    nonblocking(fd.as_raw_fd())?;
    Ok(fd)
}

fn bind_at(path: &Path) -> io::Result<OwnedFd> {
    let fd = stream()?;
    let (addr, len) = sockaddr(path)?;
    // SAFETY: the address is filled in full above.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            len,
        )
    })?;
    Ok(fd)
}

fn connect_at(path: &Path) -> io::Result<OwnedFd> {
    let fd = stream()?;
    let (addr, len) = sockaddr(path)?;
    // SAFETY: as in `bind_at`.
    check(unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            len,
        )
    })?;
    Ok(fd)
}

/// A socket file stays after its holder dies; nobody listening on it means it is stale
/// (the claim listens from its bind), and it is replaced.
pub(super) fn claim_bind(key: &str) -> io::Result<OwnedFd> {
    let path = claim_dir()?.join(key);
    let fd = match bind_at(&path) {
        Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => match connect_at(&path) {
            Err(c) if c.raw_os_error() == Some(libc::ECONNREFUSED) => {
                let _ = std::fs::remove_file(&path);
                bind_at(&path)?
            }
            _ => return Err(e),
        },
        other => other?,
    };
    listen(fd.as_fd());
    Ok(fd)
}

pub(super) fn claim_connect(key: &str) -> io::Result<OwnedFd> {
    connect_at(&claim_dir()?.join(key))
}

pub(super) fn listen(fd: BorrowedFd<'_>) {
    // SAFETY: listen on a socket the caller owns.
    unsafe { libc::listen(fd.as_raw_fd(), 16) };
}

/// The socket's file (found by `getsockname`).
pub(super) fn claim_release(fd: BorrowedFd<'_>) {
    // SAFETY: sockaddr_un is a plain C struct; getsockname fills at most `len` bytes.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    let named = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut addr as *mut libc::sockaddr_un).cast(),
            &mut len,
        )
    } == 0;
    if named && addr.sun_family == libc::AF_UNIX as libc::sa_family_t {
        let bytes: Vec<u8> = addr
            .sun_path
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        if bytes.first() == Some(&b'/') {
            let _ = std::fs::remove_file(Path::new(OsStr::from_bytes(&bytes)));
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn peer_pid(fd: BorrowedFd<'_>) -> Option<u32> {
    use nix::sys::socket::{getsockopt, sockopt};
    let cred = getsockopt(&fd, sockopt::PeerCredentials).ok()?;
    (cred.uid() == nix::unistd::geteuid().as_raw()).then_some(cred.pid() as u32)
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(super) fn peer_pid(fd: BorrowedFd<'_>) -> Option<u32> {
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: getpeereid fills two integers.
    if unsafe { libc::getpeereid(fd.as_raw_fd(), &mut uid, &mut gid) } != 0
        || uid != nix::unistd::geteuid().as_raw()
    {
        return None;
    }
    let mut pid: libc::pid_t = 0;
    let mut len = std::mem::size_of::<libc::pid_t>() as libc::socklen_t;
    // SAFETY: LOCAL_PEERPID fills one pid_t.
    let ok = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_LOCAL,
            libc::LOCAL_PEERPID,
            (&mut pid as *mut libc::pid_t).cast(),
            &mut len,
        )
    } == 0;
    (ok && pid > 0).then_some(pid as u32)
}

// ---- Children ----

pub(super) unsafe fn die_with_parent(parent: libc::pid_t) -> io::Result<()> {
    if libc::getppid() != parent {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}

/// `waitid(WNOWAIT)` on `id`: `Some(pid)` of a child that has exited (0 for none yet),
/// `None` for no such child.
fn peek(idtype: libc::idtype_t, id: libc::id_t) -> Option<libc::pid_t> {
    // SAFETY: siginfo_t is a plain C struct; waitid fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    loop {
        // SAFETY: as above.
        if unsafe { libc::waitid(idtype, id, &mut info, flags) } == 0 {
            break;
        }
        if errno() != libc::EINTR {
            return None;
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: waitid filled the struct (or left it zeroed: no child exited).
    let pid = unsafe { info.si_pid() };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let pid = info.si_pid;
    Some(pid)
}

pub(super) fn has_children() -> bool {
    peek(libc::P_ALL, 0).is_some()
}

pub(super) fn has_exited(pid: u32) -> bool {
    peek(libc::P_PID, pid as libc::id_t).is_none_or(|p| p != 0)
}

// ---- Signals: a self-pipe ----

/// The write end of the self-pipe, for the signal handler.
static SELF_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signo: libc::c_int) {
    let saved = errno();
    let fd = SELF_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = signo as u8;
        // SAFETY: write is async-signal-safe; a full pipe drops the byte (a wake-up is
        // pending anyway).
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    set_errno(saved);
}

/// Signals as bytes in a pipe, written by a handler; the loop polls the read end.
pub(crate) struct SelfPipe {
    read: OwnedFd,
    _write: OwnedFd,
}

impl SelfPipe {
    pub(super) fn catch(signals: &[Signal]) -> io::Result<SelfPipe> {
        let (read, write) = pipe()?;
        nonblocking(read.as_raw_fd())?;
        nonblocking(write.as_raw_fd())?;
        SELF_PIPE.store(write.as_raw_fd(), Ordering::Relaxed);
        // SAFETY: sigaction is a plain C struct; the handler only writes to the pipe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            for &s in signals {
                check(libc::sigaction(
                    s as libc::c_int,
                    &action,
                    std::ptr::null_mut(),
                ))?;
            }
        }
        Ok(SelfPipe {
            read,
            _write: write,
        })
    }

    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    pub(super) fn read(&mut self) -> Option<Signal> {
        let mut byte = 0u8;
        loop {
            // SAFETY: read of one byte into a local.
            let n = unsafe { libc::read(self.read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
            if n == 1 {
                if let Ok(s) = Signal::try_from(i32::from(byte)) {
                    return Some(s);
                }
                continue;
            }
            if n == -1 && errno() == libc::EINTR {
                continue;
            }
            return None;
        }
    }
}
