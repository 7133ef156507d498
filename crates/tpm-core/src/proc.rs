//! What the operating system says about processes (`crate::platform::query` asks it:
//! `/proc` on Linux, libproc and sysctl on macOS).
//!
//! A pid alone is never trusted: tpm records each pid with its start time (clock ticks
//! after boot) and the boot id, and treats a pid whose start time or boot differs as dead.

use std::collections::HashMap;
use std::fs;
use std::sync::OnceLock;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::platform::query;

/// What tpm reads of a process (on Linux, the fields of `/proc/PID/stat` of these names).
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
    /// Start time in clock ticks after boot (on macOS, of the clock that stops while the
    /// machine sleeps, as [`uptime_seconds`] does).
    pub start_ticks: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

impl Stat {
    /// The process now; `None` when it does not exist (or is unreadable).
    pub fn read(pid: u32) -> Option<Stat> {
        query::stat(pid)
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

/// Names another file to read the boot id from: how tests simulate a reboot. The one
/// place tpm-core reads its own process's environment (it describes the machine, not the
/// user's request).
pub const BOOT_ID_FILE_VAR: &str = "TPM_BOOT_ID_FILE";

/// The current boot's id ("" where the kernel does not give one).
pub fn boot_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| match std::env::var_os(BOOT_ID_FILE_VAR) {
        Some(file) => fs::read_to_string(file)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        None => query::boot_id().unwrap_or_default(),
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

/// Seconds since boot, on the clock [`Stat::start_ticks`] counts on.
pub fn uptime_seconds() -> Option<f64> {
    query::uptime_seconds()
}

/// Every process's stat, read once, for tree walks.
pub fn all() -> Vec<Stat> {
    query::pids().into_iter().filter_map(Stat::read).collect()
}

/// Every descendant of `root` (not `root` itself), parents before children, found by
/// walking down from `root`: a few reads per process of the tree, whatever else runs on
/// the machine. (Where the OS cannot list a process's children, every process's stat is
/// read.)
pub fn tree(root: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if !query::children(root, &mut out) {
        return descendants(root, &all());
    }
    let mut i = 0;
    while i < out.len() {
        let pid = out[i];
        let before = out.len();
        query::children(pid, &mut out);
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
    let env = query::environ(pid)?;
    let prefix = format!("{key}=");
    env.split(|&b| b == 0)
        .find_map(|e| e.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Whether a process's environment holds `KEY=VALUE` exactly.
pub fn has_env(pid: u32, entry: &[u8]) -> bool {
    query::environ(pid).is_some_and(|env| env.split(|&b| b == 0).any(|e| e == entry))
}

/// A process's command line, its arguments joined by spaces ("" when unreadable, as for
/// a kernel thread or a process gone).
pub fn cmdline(pid: u32) -> String {
    query::cmdline(pid)
        .map(|raw| {
            String::from_utf8_lossy(&raw)
                .split('\0')
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Whether anything listens on TCP `port`: cheap (the kernel is asked about that port).
pub fn port_taken(port: u16) -> bool {
    query::port_taken(port)
}

/// The processes holding a listening socket on `port` (those this user may look into).
/// Looks into every process: for the rare case a port is taken, never on a hot path.
pub fn port_holders(port: u16) -> Vec<u32> {
    query::port_holders(port)
}

/// The first of `pids` that holds a TCP socket listening on `port`: a look at their
/// descriptors only (a process's tree listens, whatever else does).
pub fn listener(port: u16, pids: &[u32]) -> Option<u32> {
    query::listener(port, pids)
}

/// Whether one of `pids` holds a listening socket on `port`.
pub fn any_listens(pids: &[u32], port: u16) -> bool {
    listener(port, pids).is_some()
}

/// TCP ports with a socket in the LISTEN state.
pub fn listening_ports() -> Vec<u16> {
    query::listening_ports()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_listener_is_found_among_the_pids_given_and_only_there() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let me = std::process::id();
        assert!(port_taken(port));
        assert_eq!(super::listener(port, &[1, me]), Some(me));
        assert!(port_holders(port).contains(&me));
        assert!(listening_ports().contains(&port));
        assert_eq!(super::listener(port, &[1]), None);
        drop(listener);
        assert!(!port_taken(port));
        assert_eq!(super::listener(port, &[me]), None);
    }

    #[test]
    fn our_own_command_line_and_environment_are_read() {
        let me = std::process::id();
        let args: Vec<String> = std::env::args().collect();
        assert_eq!(cmdline(me), args.join(" "));
        // Cargo gives every test binary its package's name.
        assert_eq!(env_value(me, "CARGO_PKG_NAME").as_deref(), Some("tpm-core"));
        assert!(has_env(me, b"CARGO_PKG_NAME=tpm-core"));
        assert!(!has_env(me, b"CARGO_PKG_NAME=tpm"));
        assert!(env_value(me, "TPM_NO_SUCH_VARIABLE_EVER").is_none());
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
