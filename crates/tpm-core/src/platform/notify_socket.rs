//! The socket of systemd's notify protocol (`sd_notify(3)`, see
//! `crate::supervisor::notify`): a datagram socket at an abstract address (nothing on disk,
//! gone with its owner) whose every datagram carries its sender's credentials
//! (`SO_PASSCRED`). Both are Linux's, and the protocol is systemd's, so Linux has it on
//! both backends: it is not a mechanic of supervision, and a program written for
//! `Type=notify` speaks it the same under `TPM_PLATFORM=posix`. Elsewhere (macOS) there is
//! none: [`bind`] fails with [`UNSUPPORTED`], and the supervisor says so in its err log
//! at start; the process gets no `NOTIFY_SOCKET`.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

/// Why there is no notify socket on this system, for the err log.
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) const UNSUPPORTED: &str = "systemd's notify protocol is Linux's: this system has no abstract socket addresses nor SO_PASSCRED, so READY=1 and WATCHDOG=1 cannot be heard (use --ready-port, --ready-line or --ready-http, and --health-* instead of --watchdog)";

/// The largest datagram read (systemd's own limit is larger; a status line is short).
#[cfg(target_os = "linux")]
const MAX_DATAGRAM: usize = 4096;

/// A datagram socket bound at the abstract `address` (given without its leading `@`),
/// non-blocking, close-on-exec, receiving its senders' credentials.
#[cfg(target_os = "linux")]
pub(crate) fn bind(address: &str) -> io::Result<OwnedFd> {
    use nix::sys::socket::{
        bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, UnixAddr,
    };
    use std::os::fd::AsRawFd;
    let fd = socket(
        AddressFamily::Unix,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    setsockopt(&fd, sockopt::PassCred, &true)?;
    bind(fd.as_raw_fd(), &UnixAddr::new_abstract(address.as_bytes())?)?;
    Ok(fd)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn bind(_address: &str) -> io::Result<OwnedFd> {
    Err(io::Error::new(io::ErrorKind::Unsupported, UNSUPPORTED))
}

/// One datagram: the sender's pid and uid, and its text; `None` when none is waiting. A
/// datagram without credentials is read (so it is gone) and comes back with pid 0 and uid
/// `u32::MAX`, which no tree and no user has.
#[cfg(target_os = "linux")]
pub(crate) fn receive(fd: BorrowedFd<'_>) -> Option<(u32, u32, String)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; MAX_DATAGRAM];
    let mut space = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
    let (len, creds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<UnixAddr>(
            fd.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .ok()?;
        let mut creds = None;
        for c in msg.cmsgs().ok()? {
            if let ControlMessageOwned::ScmCredentials(u) = c {
                creds = Some((u.pid() as u32, u.uid()));
            }
        }
        (msg.bytes, creds)
    };
    let (pid, uid) = creds.unwrap_or((0, u32::MAX));
    Some((pid, uid, String::from_utf8_lossy(&buf[..len]).into_owned()))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn receive(_fd: BorrowedFd<'_>) -> Option<(u32, u32, String)> {
    None
}
