//! The listening socket a supervisor holds for its process (`--socket`).
//!
//! The supervisor binds the PORT once, at its start, and keeps the socket for its whole
//! life: the process gets it as fd 3 at every spawn (systemd's socket-activation protocol,
//! `LISTEN_FDS=1`, see `spawn`). While the process restarts or after a crash, the kernel
//! keeps completing connections into the socket's backlog, and the next process accepts
//! them: a client waits a moment instead of being refused.
//!
//! `SO_REUSEPORT`: the instances of an app each hold a socket on the same PORT, and the
//! kernel spreads new connections across them. It binds `[::]` (IPv4 and IPv6) where the
//! machine has IPv6, else `0.0.0.0`.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// The descriptor the process finds the socket at (`SD_LISTEN_FDS_START`).
pub const LISTEN_FD: i32 = 3;

/// A listening TCP socket on `port`, any address, shared with others that set
/// `SO_REUSEPORT` (the app's other instances).
pub fn bind(port: u16) -> io::Result<OwnedFd> {
    match bind_family(libc::AF_INET6, port) {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL)
            ) =>
        {
            bind_family(libc::AF_INET, port)
        }
        other => other,
    }
}

fn bind_family(family: libc::c_int, port: u16) -> io::Result<OwnedFd> {
    let check = |r: libc::c_int| {
        if r == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    };
    // SAFETY: plain socket calls on a descriptor owned here; the address structs are
    // zeroed and filled in full before use.
    let sock = crate::platform::stream_socket(family)?;
    unsafe {
        let on: libc::c_int = 1;
        let off: libc::c_int = 0;
        let set = |level, opt, value: &libc::c_int| {
            check(libc::setsockopt(
                sock.as_raw_fd(),
                level,
                opt,
                (value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ))
        };
        set(libc::SOL_SOCKET, libc::SO_REUSEADDR, &on)?;
        set(libc::SOL_SOCKET, libc::SO_REUSEPORT, &on)?;
        let bound = if family == libc::AF_INET6 {
            set(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, &off)?;
            let mut addr: libc::sockaddr_in6 = std::mem::zeroed();
            addr.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            addr.sin6_port = port.to_be();
            libc::bind(
                sock.as_raw_fd(),
                (&addr as *const libc::sockaddr_in6).cast(),
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        } else {
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_port = port.to_be();
            libc::bind(
                sock.as_raw_fd(),
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        check(bound)?;
        // The kernel caps the backlog at net.core.somaxconn.
        check(libc::listen(sock.as_raw_fd(), libc::SOMAXCONN))?;
        Ok(sock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_sockets_share_a_port_and_queue_connections_until_accepted() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let a = bind(port).unwrap();
        let b = bind(port).unwrap();
        // Nobody accepts, yet the connection is made: the backlog holds it.
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        drop(client);
        drop((a, b));
    }
}
