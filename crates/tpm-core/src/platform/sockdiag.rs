//! Which sockets listen on a TCP port, asked of the kernel through `NETLINK_SOCK_DIAG`.
//!
//! Every supervisor asks this of its PORT until its process listens (and now and then
//! after), so it must be cheap. Reading `/proc/net/tcp` walks the kernel's whole
//! established-connection hash table on every read (milliseconds, even on an idle
//! machine); a sock_diag dump that asks for listening sockets of one source port walks the
//! listening hash only, and the kernel filters by port. Where netlink is refused (a
//! sandbox), the `/proc/net` tables answer instead.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const TCP_LISTEN: u32 = 10;

/// `struct inet_diag_sockid`: ports and addresses in network byte order.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SockId {
    sport: u16,
    dport: u16,
    src: [u32; 4],
    dst: [u32; 4],
    interface: u32,
    cookie: [u32; 2],
}

/// `struct nlmsghdr` followed by `struct inet_diag_req_v2`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Request {
    len: u32,
    kind: u16,
    flags: u16,
    seq: u32,
    pid: u32,
    family: u8,
    protocol: u8,
    ext: u8,
    pad: u8,
    states: u32,
    id: SockId,
}

/// The inodes of the TCP sockets listening on `port` (IPv4 and IPv6).
pub(crate) fn listening_inodes(port: u16) -> Vec<u64> {
    match ask(port) {
        Ok(inodes) => inodes,
        Err(_) => crate::platform::query_linux::listening_inodes(port),
    }
}

fn ask(port: u16) -> io::Result<Vec<u64>> {
    // SAFETY: a plain socket(2) call; the descriptor is owned at once.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut inodes = Vec::new();
    for (seq, family) in [(1, libc::AF_INET), (2, libc::AF_INET6)] {
        send(&socket, seq, family as u8, port)?;
        receive(&socket, seq, &mut inodes)?;
    }
    Ok(inodes)
}

fn send(socket: &OwnedFd, seq: u32, family: u8, port: u16) -> io::Result<()> {
    let request = Request {
        len: std::mem::size_of::<Request>() as u32,
        kind: SOCK_DIAG_BY_FAMILY,
        flags: (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16,
        seq,
        pid: 0,
        family,
        protocol: libc::IPPROTO_TCP as u8,
        ext: 0,
        pad: 0,
        states: 1 << TCP_LISTEN,
        id: SockId {
            sport: port.to_be(),
            ..SockId::default()
        },
    };
    // SAFETY: the kernel's address for netlink is all zeroes but the family.
    let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    to.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: `request` and `to` are valid for the lengths given.
    let sent = unsafe {
        libc::sendto(
            socket.as_raw_fd(),
            (&request as *const Request).cast(),
            std::mem::size_of::<Request>(),
            0,
            (&to as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the dump's answers until its end, adding each socket's inode.
fn receive(socket: &OwnedFd, seq: u32, inodes: &mut Vec<u64>) -> io::Result<()> {
    // Offsets in `struct inet_diag_msg`, after the 16-byte header: family, state, timer,
    // retrans (4), the sockid (48), expires, rqueue, wqueue, uid (16), then the inode.
    const HEADER: usize = 16;
    const INODE: usize = HEADER + 4 + 48 + 16;
    // A dump's messages come in parts of a page or two; the answer for one port is a few
    // hundred bytes. On the stack: a supervisor's heap stays as it was.
    let mut buf = [0u8; 8192];
    loop {
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut rest = &buf[..n as usize];
        if rest.is_empty() {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        while rest.len() >= HEADER {
            let u32_at = |b: &[u8], at: usize| {
                b.get(at..at + 4)
                    .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
            };
            let len = u32_at(rest, 0).unwrap_or(0) as usize;
            let kind = u16::from_ne_bytes([rest[4], rest[5]]);
            let msg_seq = u32_at(rest, 8).unwrap_or(0);
            if len < HEADER || len > rest.len() {
                return Err(io::Error::from(io::ErrorKind::InvalidData));
            }
            if msg_seq == seq {
                match kind as i32 {
                    libc::NLMSG_DONE => return Ok(()),
                    libc::NLMSG_ERROR => {
                        let code = u32_at(rest, HEADER).unwrap_or(0) as i32;
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                    _ if kind == SOCK_DIAG_BY_FAMILY => {
                        if let Some(inode) = u32_at(rest, INODE) {
                            inodes.push(u64::from(inode));
                        }
                    }
                    _ => {}
                }
            }
            // Messages are aligned to 4 bytes.
            let step = (len + 3) & !3;
            rest = rest.get(step..).unwrap_or(&[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// The inode of a socket descriptor, as `/proc/self/fd` shows it.
    fn inode(fd: i32) -> u64 {
        std::fs::metadata(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .ino()
    }

    #[test]
    fn a_listener_is_found_by_its_port_and_only_by_it() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = v4.local_addr().unwrap().port();
        let found = ask(port).expect("netlink sock_diag answers");
        assert_eq!(found, vec![inode(v4.as_raw_fd())]);
        // The /proc/net tables agree.
        assert_eq!(crate::platform::query_linux::listening_inodes(port), found);
        // A connected socket on that port is not a listener.
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert_eq!(ask(port).unwrap().len(), 1);
        drop(v4);
        assert!(ask(port).unwrap().is_empty());
    }

    #[test]
    fn ipv6_listeners_are_found_too() {
        let Ok(v6) = std::net::TcpListener::bind("[::1]:0") else {
            eprintln!("no IPv6 loopback here: nothing to test");
            return;
        };
        let port = v6.local_addr().unwrap().port();
        assert_eq!(listening_inodes(port), vec![inode(v6.as_raw_fd())]);
    }
}

#[cfg(test)]
mod cost {
    #[test]
    #[ignore = "a measurement"]
    fn what_a_look_costs() {
        let t = std::time::Instant::now();
        for _ in 0..1000 {
            let _ = super::ask(31999);
        }
        eprintln!("sock_diag: {:?} per look", t.elapsed() / 1000);
        let t = std::time::Instant::now();
        for _ in 0..100 {
            let _ = crate::platform::query_linux::listening_inodes(31999);
        }
        eprintln!("/proc/net: {:?} per look", t.elapsed() / 100);
        let t = std::time::Instant::now();
        for _ in 0..1000 {
            let _ = crate::proc::tree(1);
        }
        eprintln!("tree(1): {:?}", t.elapsed() / 1000);
    }
}
