//! What the kernel says about processes, read from Linux's `/proc`.
//!
//! A pid alone is never trusted: tpm records each pid with its start time (clock ticks
//! after boot) and the boot id, and treats a pid whose start time or boot differs as dead.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::sync::OnceLock;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The fields of `/proc/PID/stat` tpm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub pid: u32,
    pub state: u8,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// The same of its children that it waited for (and theirs), in clock ticks.
    pub children_ticks: u64,
    /// Start time in clock ticks after boot.
    pub start_ticks: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

impl Stat {
    /// Reads `/proc/PID/stat`; `None` when the process does not exist (or is unreadable).
    pub fn read(pid: u32) -> Option<Stat> {
        let mut buf = [0u8; 1024];
        let mut file = fs::File::open(format!("/proc/{pid}/stat")).ok()?;
        let n = file.read(&mut buf).ok()?;
        Stat::parse(pid, &buf[..n])
    }

    /// The command name may hold spaces and parentheses: fields start after the last `)`.
    fn parse(pid: u32, raw: &[u8]) -> Option<Stat> {
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

    /// A zombie has exited and only waits to be reaped.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }
}

/// A process as tpm remembers it: pid, start time and boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub pid: u32,
    pub start_ticks: u64,
    pub boot_id: String,
}

impl Identity {
    /// The identity of a live process now.
    pub fn of(pid: u32) -> Option<Identity> {
        let stat = Stat::read(pid)?;
        Some(Identity {
            pid,
            start_ticks: stat.start_ticks,
            boot_id: boot_id().to_string(),
        })
    }

    /// Rebuilds a remembered identity from its parts; `None` if any part is missing.
    pub fn from_parts(
        pid: Option<u32>,
        start: Option<u64>,
        boot: Option<&str>,
    ) -> Option<Identity> {
        Some(Identity {
            pid: pid.filter(|&p| p > 1)?,
            start_ticks: start?,
            boot_id: boot?.to_string(),
        })
    }

    /// The process is alive and is the one remembered (not a reused pid, not a zombie).
    pub fn stat_if_alive(&self) -> Option<Stat> {
        if self.boot_id != boot_id() {
            return None;
        }
        Stat::read(self.pid).filter(|s| s.start_ticks == self.start_ticks && !s.is_zombie())
    }

    pub fn is_alive(&self) -> bool {
        self.stat_if_alive().is_some()
    }

    /// Signals the process only if it is still the one remembered. There is a window
    /// between the check and the signal, but a pid is only reused after the process is
    /// reaped, and tpm signals processes it verified a moment before.
    pub fn signal(&self, signal: Signal) -> bool {
        self.is_alive() && kill(Pid::from_raw(self.pid as i32), signal).is_ok()
    }
}

/// Where the kernel gives the current boot's id.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// Names another file to read the boot id from: how tests simulate a reboot. The one
/// place tpm-core reads its own process's environment (it describes the machine, not the
/// user's request).
pub const BOOT_ID_FILE_VAR: &str = "TPM_BOOT_ID_FILE";

/// The current boot's id ("" where the kernel does not give one).
pub fn boot_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let file = std::env::var_os(BOOT_ID_FILE_VAR).unwrap_or_else(|| BOOT_ID.into());
        fs::read_to_string(file)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

/// Clock ticks per second (`_SC_CLK_TCK`).
pub fn ticks_per_second() -> u64 {
    static HZ: OnceLock<u64> = OnceLock::new();
    *HZ.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|&v| v > 0)
            .map_or(100, |v| v as u64)
    })
}

pub fn page_size() -> u64 {
    static SIZE: OnceLock<u64> = OnceLock::new();
    *SIZE.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .filter(|&v| v > 0)
            .map_or(4096, |v| v as u64)
    })
}

/// Seconds since boot, from `/proc/uptime`.
pub fn uptime_seconds() -> Option<f64> {
    let text = fs::read_to_string("/proc/uptime").ok()?;
    text.split_ascii_whitespace().next()?.parse().ok()
}

/// Every process's stat, read once, for tree walks.
pub fn all() -> Vec<Stat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(Stat::read)
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

/// The children of `pid`: each of its threads lists those it forked. Empty when the
/// process is gone.
fn children(pid: u32, out: &mut Vec<u32>) {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
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
}

/// Every descendant of `root` (not `root` itself), parents before children, found by
/// walking down from `root`: a few reads per process of the tree, whatever else runs on
/// the machine. (Where the kernel has no children files, every process's stat is read.)
pub fn tree(root: u32) -> Vec<u32> {
    if !has_children_files() {
        return descendants(root, &all());
    }
    let mut out = Vec::new();
    children(root, &mut out);
    let mut i = 0;
    while i < out.len() {
        let pid = out[i];
        let before = out.len();
        children(pid, &mut out);
        // A pid seen twice (it exited and the number came back between two reads) is
        // walked once.
        let mut j = before;
        while j < out.len() {
            if out[..before].contains(&out[j]) || out[j] == root {
                out.swap_remove(j);
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    out
}

/// All descendants of `root` (not `root` itself), parents before children, from a table of
/// every process.
pub fn descendants(root: u32, table: &[Stat]) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for s in table {
        children.entry(s.ppid).or_default().push(s.pid);
    }
    let mut out = Vec::new();
    let mut queue = vec![root];
    while let Some(p) = queue.pop() {
        if let Some(kids) = children.get(&p) {
            for &k in kids {
                if k != root && !out.contains(&k) {
                    out.push(k);
                    queue.push(k);
                }
            }
        }
    }
    out
}

/// The value of `key` in a process's environment, if this user may read it.
pub fn env_value(pid: u32, key: &str) -> Option<String> {
    let env = fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{key}=");
    env.split(|&b| b == 0)
        .find_map(|e| e.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Reads `/proc/PID/environ` and tells whether it holds `KEY=VALUE` exactly.
pub fn has_env(pid: u32, entry: &[u8]) -> bool {
    match fs::read(format!("/proc/{pid}/environ")) {
        Ok(env) => env.split(|&b| b == 0).any(|e| e == entry),
        Err(_) => false,
    }
}

/// A process's command line, its arguments joined by spaces ("" when unreadable, as for
/// a kernel thread or a process gone).
pub fn cmdline(pid: u32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            String::from_utf8_lossy(&raw)
                .split('\0')
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The listening TCP sockets of `port`: their inodes, from `/proc/net/tcp` and `tcp6`
/// (`sockdiag` asks the kernel more cheaply; this is its fallback).
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

/// The processes holding a listening socket on `port` (those whose descriptors this user
/// may read). Reads every process's descriptors: for the rare case a port is taken, never
/// on a hot path.
pub fn port_holders(port: u16) -> Vec<u32> {
    let inodes = crate::sockdiag::listening_inodes(port);
    if inodes.is_empty() {
        return Vec::new();
    }
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| holds_socket(pid, &inodes))
        .collect()
}

/// Whether process `pid` has a descriptor open on one of the sockets `inodes`.
pub fn holds_socket(pid: u32, inodes: &[u64]) -> bool {
    sockets(pid).iter().any(|i| inodes.contains(i))
}

/// The inodes of the sockets process `pid` has open (those this user may read).
pub fn sockets(pid: u32) -> Vec<u64> {
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

/// Whether one of `pids` holds a listening socket on `port`: a read of their descriptors
/// only (a process's tree listens, whatever else does).
pub fn any_listens(pids: &[u32], port: u16) -> bool {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return false;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    pids.iter().any(|pid| {
        fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten().any(|fd| {
                fs::read_link(fd.path())
                    .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
            })
        })
    })
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
        let s = Stat::parse(42, raw).unwrap();
        assert_eq!((s.state, s.ppid, s.pgrp, s.session), (b'S', 1, 42, 42));
        assert_eq!((s.cpu_ticks, s.start_ticks, s.rss_pages), (10, 5555, 250));
        assert!(Stat::parse(1, b"garbage").is_none());
        assert!(Stat::parse(1, b"1 (x) S 1").is_none());
    }

    #[test]
    fn our_own_identity_is_alive_and_a_forged_one_is_not() {
        let me = Identity::of(std::process::id()).unwrap();
        assert!(me.is_alive());
        let reused = Identity {
            start_ticks: me.start_ticks + 1,
            ..me.clone()
        };
        assert!(!reused.is_alive());
        let other_boot = Identity {
            boot_id: "not-this-boot".into(),
            ..me.clone()
        };
        assert!(!other_boot.is_alive());
        assert!(
            !reused.signal(Signal::SIGTERM),
            "a reused pid is never signalled"
        );
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
        assert!(holds_socket(std::process::id(), &[inode]));
        assert!(!holds_socket(std::process::id(), &[inode + 1_000_000]));
    }

    #[test]
    fn descendants_walk_the_tree() {
        let mk = |pid, ppid| Stat {
            pid,
            state: b'S',
            ppid,
            pgrp: 0,
            session: 0,
            cpu_ticks: 0,
            children_ticks: 0,
            start_ticks: 0,
            rss_pages: 0,
        };
        let table = [mk(10, 1), mk(11, 10), mk(12, 11), mk(13, 10), mk(20, 1)];
        let mut d = descendants(10, &table);
        d.sort();
        assert_eq!(d, [11, 12, 13]);
    }

    #[test]
    fn the_tree_is_walked_down_from_its_root_without_the_process_table() {
        use std::process::{Command, Stdio};
        // bash, its sleep, and a subshell with a sleep of its own.
        let mut child = Command::new("bash")
            .args(["-c", "sleep 30 & (sleep 31; true) & wait"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let root = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut found = tree(root);
        while found.len() < 3 {
            assert!(std::time::Instant::now() < deadline, "tree: {found:?}");
            std::thread::sleep(std::time::Duration::from_millis(10));
            found = tree(root);
        }
        let mut expected = descendants(root, &all());
        expected.sort();
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
        for pid in found {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn identity_needs_every_part() {
        assert!(Identity::from_parts(Some(5), Some(1), Some("b")).is_some());
        assert!(Identity::from_parts(Some(5), None, Some("b")).is_none());
        assert!(
            Identity::from_parts(Some(1), Some(1), Some("b")).is_none(),
            "never init"
        );
        assert!(Identity::from_parts(Some(0), Some(1), Some("b")).is_none());
    }
}
