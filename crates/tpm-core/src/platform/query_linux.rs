//! Linux's answers to [`super::query`]: `/proc` for processes, sock_diag (with the
//! `/proc/net` tables as its fallback) and each process's descriptors for sockets.

use std::fs;
use std::io::Read;
use std::sync::OnceLock;

use super::sockdiag;
use crate::proc::Stat;

/// Reads `/proc/PID/stat`; `None` when the process does not exist (or is unreadable).
pub fn stat(pid: u32) -> Option<Stat> {
    let mut buf = [0u8; 1024];
    let mut file = fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let n = file.read(&mut buf).ok()?;
    parse_stat(pid, &buf[..n])
}

/// The command name may hold spaces and parentheses: fields start after the last `)`.
pub(crate) fn parse_stat(pid: u32, raw: &[u8]) -> Option<Stat> {
    let close = raw.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(raw.get(close + 2..)?).ok()?;
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // `rest` starts at field 3 (state); field N is f[N - 3].
    let num = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(Stat {
        pid,
        state: *f.first()?.as_bytes().first()?,
        ppid: num(4)? as u32,
        pgrp: num(5)? as u32,
        session: num(6)? as u32,
        cpu_ticks: num(14)? + num(15)?,
        children_ticks: num(16)? + num(17)?,
        start_ticks: num(22)?,
        rss_pages: num(24)?,
    })
}

/// Every pid there is now.
pub fn pids() -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .collect()
}

/// Whether this kernel lists each thread's children in `/proc/PID/task/TID/children`
/// (`CONFIG_PROC_CHILDREN`, on in every mainstream distribution's kernel).
fn has_children_files() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        let me = std::process::id();
        fs::metadata(format!("/proc/{me}/task/{me}/children")).is_ok()
    })
}

/// Adds the children of `pid` to `out`: each of its threads lists those it forked.
/// `false` when this kernel cannot say (the caller reads every process's stat instead).
pub fn children(pid: u32, out: &mut Vec<u32>) -> bool {
    if !has_children_files() {
        return false;
    }
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    let mut buf = String::new();
    for task in tasks.flatten() {
        let mut path = task.path();
        path.push("children");
        buf.clear();
        if fs::File::open(&path)
            .and_then(|mut f| f.read_to_string(&mut buf))
            .is_ok()
        {
            out.extend(
                buf.split_ascii_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    true
}

/// A process's environment, its entries separated by NULs (this user's processes only).
pub fn environ(pid: u32) -> Option<Vec<u8>> {
    fs::read(format!("/proc/{pid}/environ")).ok()
}

/// A process's arguments, separated by NULs.
pub fn cmdline(pid: u32) -> Option<Vec<u8>> {
    fs::read(format!("/proc/{pid}/cmdline")).ok()
}

/// The current boot's id, from the kernel.
pub fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Seconds since boot, from `/proc/uptime`: the clock [`Stat::start_ticks`] counts on.
pub fn uptime_seconds() -> Option<f64> {
    let text = fs::read_to_string("/proc/uptime").ok()?;
    text.split_ascii_whitespace().next()?.parse().ok()
}

/// The first of `pids` that holds a TCP socket listening on `port`. The processes'
/// sockets first: a tree without one (most that never listen) costs the kernel nothing;
/// then sock_diag says which sockets listen on the port.
pub fn listener(port: u16, pids: &[u32]) -> Option<u32> {
    let held: Vec<(u32, u64)> = pids
        .iter()
        .flat_map(|&pid| sockets(pid).into_iter().map(move |i| (pid, i)))
        .collect();
    if held.is_empty() {
        return None;
    }
    let listening = sockdiag::listening_inodes(port);
    held.iter()
        .find(|(_, inode)| listening.contains(inode))
        .map(|&(pid, _)| pid)
}

/// Whether anything listens on TCP `port` (sock_diag: the listening hash only).
pub fn port_taken(port: u16) -> bool {
    !sockdiag::listening_inodes(port).is_empty()
}

/// The processes holding a listening socket on `port` (those whose descriptors this user
/// may read). Reads every process's descriptors: for the rare case a port is taken, never
/// on a hot path.
pub fn port_holders(port: u16) -> Vec<u32> {
    let inodes = sockdiag::listening_inodes(port);
    if inodes.is_empty() {
        return Vec::new();
    }
    pids()
        .into_iter()
        .filter(|&pid| sockets(pid).iter().any(|i| inodes.contains(i)))
        .collect()
}

/// The inodes of the sockets process `pid` has open (those this user may read).
fn sockets(pid: u32) -> Vec<u64> {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| {
            let target = fs::read_link(fd.path()).ok()?;
            let target = target.as_os_str().as_encoded_bytes();
            let inode = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
            std::str::from_utf8(inode).ok()?.parse().ok()
        })
        .collect()
}

/// The listening TCP sockets of `port`: their inodes, from `/proc/net/tcp` and `tcp6`
/// (sock_diag asks the kernel more cheaply; this is its fallback).
pub(crate) fn listening_inodes(port: u16) -> Vec<u64> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Some(text) = read_net_table(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_ascii_whitespace().collect();
            let local_port = cols
                .get(1)
                .and_then(|l| l.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if cols.get(3) == Some(&"0A") && local_port == Some(port) {
                if let Some(inode) = cols.get(9).and_then(|i| i.parse().ok()) {
                    inodes.push(inode);
                }
            }
        }
    }
    inodes
}

/// A `/proc/net` table in as few reads as it takes. Each read of one walks the kernel's whole
/// socket hash table (2 ms here, with a single socket open), so reading in small pieces and
/// then once more for the end, as `read_to_string` does, made every `tpm start` 8 ms
/// slower. One large read returns every line; a read that comes back well short of the room
/// it had is the end.
fn read_net_table(path: &str) -> Option<String> {
    const ROOM: usize = 1 << 20;
    let mut file = fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    loop {
        let start = buf.len();
        buf.resize(start + ROOM, 0);
        let n = loop {
            match file.read(&mut buf[start..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other.ok()?,
            }
        };
        buf.truncate(start + n);
        // A line is at most a few hundred bytes: short by more than that is the end.
        if n == 0 || n + 4096 < ROOM {
            break;
        }
    }
    String::from_utf8(buf).ok()
}

/// TCP ports with a socket in the LISTEN state, from `/proc/net/tcp` and `tcp6`.
pub fn listening_ports() -> Vec<u16> {
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Some(text) = read_net_table(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let mut cols = line.split_ascii_whitespace();
            let local = cols.nth(1);
            let state = cols.nth(1);
            if state != Some("0A") {
                continue;
            }
            if let Some(port) = local
                .and_then(|l| l.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            {
                if !ports.contains(&port) {
                    ports.push(port);
                }
            }
        }
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parses_names_with_spaces_and_parens() {
        let raw = b"42 (a) b (c)) S 1 42 42 0 -1 4194560 1 0 0 0 7 3 0 0 20 0 1 0 5555 1000 250 18446744073709551615";
        let s = parse_stat(42, raw).unwrap();
        assert_eq!((s.state, s.ppid, s.pgrp, s.session), (b'S', 1, 42, 42));
        assert_eq!((s.cpu_ticks, s.start_ticks, s.rss_pages), (10, 5555, 250));
        assert!(parse_stat(1, b"garbage").is_none());
        assert!(parse_stat(1, b"1 (x) S 1").is_none());
    }

    #[test]
    fn a_process_s_sockets_are_found_by_inode() {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let inode = fs::metadata(format!("/proc/self/fd/{}", listener.as_raw_fd()))
            .unwrap()
            .ino();
        assert!(sockets(std::process::id()).contains(&inode));
    }
}
