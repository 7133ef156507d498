//! A cgroup (v2) per managed process, where the hierarchy is writable.
//!
//! A process can leave its process group, its session and its environment behind, but not
//! its cgroup: everything it forks is born in it, and `cgroup.kill` ends them all at once.
//! So where tpm can make cgroups (root on most servers, or a delegated subtree), each
//! supervisor makes one for its process, a child of its own cgroup named for the process and
//! the supervisor, puts the process in it before `exec`, and stops the tree through it; the
//! next command after a supervisor's death empties it the same way. Elsewhere the tree is
//! what the supervisor (a subreaper) has below it, and leftovers of a dead supervisor are
//! found by process group and by the `TPM_SUPERVISOR` marker ([`Tracking::ProcessTree`]).
//!
//! The cgroup2 mount is read from `/proc/self/mountinfo` (`/sys/fs/cgroup` on pure v2
//! systems, `/sys/fs/cgroup/unified` on hybrid ones); nothing is assumed about its place.

use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::Serialize;

use crate::name::Name;

/// How a process's tree is found, to stop it and to clean up after a dead supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tracking {
    /// Its own cgroup: nothing escapes, whatever it does to its session, group or
    /// environment.
    Cgroup,
    /// The supervisor's descendants (it is their subreaper) while it lives; after its death,
    /// the process group and the `TPM_SUPERVISOR` marker.
    ProcessTree,
}

impl Tracking {
    pub fn as_str(self) -> &'static str {
        match self {
            Tracking::Cgroup => "cgroup",
            Tracking::ProcessTree => "process-tree",
        }
    }
}

/// Where this process's supervisors would make their processes' cgroups (this process's own
/// cgroup, which they inherit), if they may: `Err` says why not. For `tpm doctor`.
pub fn available() -> Result<PathBuf, String> {
    if !crate::platform::has_cgroups() {
        return Err(format!(
            "the {} backend has no cgroups",
            crate::platform::backend().as_str()
        ));
    }
    let Some(mount) = mount() else {
        return Err("no cgroup2 file system is mounted".into());
    };
    let own = fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|t| unified_path(&t).map(str::to_string))
        .ok_or("this process is in no cgroup2 cgroup")?;
    let dir = mount
        .dir_of(&own)
        .ok_or_else(|| format!("its cgroup {own} is outside the mount"))?;
    // SAFETY: access(2) reads a path we own a C string of.
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| "an odd cgroup path".to_string())?;
    if unsafe { libc::access(path.as_ptr(), libc::W_OK) } != 0 {
        return Err(format!("{} is not writable here", dir.display()));
    }
    Ok(dir)
}

/// One process's cgroup: a folder of the cgroup2 file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    dir: PathBuf,
}

/// The folder name of the cgroup of `name` under supervisor `spid` (started at `start`):
/// what makes a recorded path provably tpm's, for that supervisor.
fn leaf(name: &Name, spid: u32, start: u64) -> String {
    format!("tpm-{spid}-{start}-{name}")
}

impl Cgroup {
    /// Makes the cgroup for the process of `name`, supervised by this process (`spid`,
    /// started at `start`), below this process's own cgroup. `None` where no cgroup2
    /// hierarchy is mounted or this process may not make cgroups in it.
    pub fn create(name: &Name, spid: u32, start: u64) -> Option<Cgroup> {
        let parent = own_dir()?;
        let dir = parent.join(leaf(name, spid, start));
        match fs::create_dir(&dir) {
            Ok(()) => {}
            // Left by a supervisor of the same pid and start time: only ever ours.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) => return None,
        }
        Some(Cgroup { dir })
    }

    /// The cgroup a record names, if it is one tpm made for that supervisor: a cgroup2
    /// folder whose name carries the process's name and the supervisor's pid and start
    /// time. Anything else (a forged or stale path) is never used.
    pub fn of_record(name: &Name, path: &str, spid: u32, start: u64) -> Option<Cgroup> {
        let dir = PathBuf::from(path);
        let plain = dir.is_absolute()
            && dir
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if !plain || dir.file_name()?.to_str()? != leaf(name, spid, start) {
            return None;
        }
        crate::platform::is_cgroup2(&dir).then_some(Cgroup { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The folder, open: `clone3(CLONE_INTO_CGROUP)` takes it, so a child is born in the
    /// cgroup (see `supervisor::spawn`).
    pub fn open(&self) -> io::Result<OwnedFd> {
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&self.dir)
            .map(OwnedFd::from)
    }

    /// `cgroup.procs`, open for writing: a process that writes `0` to it moves itself in
    /// (slower than being born in it: the write waits for an RCU grace period).
    pub fn procs_writer(&self) -> io::Result<OwnedFd> {
        fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(self.dir.join("cgroup.procs"))
            .map(OwnedFd::from)
    }

    /// Whether `pid` is in this cgroup (its `/proc/PID/cgroup` names it).
    pub fn contains(&self, pid: u32) -> bool {
        let Some(own) = fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .ok()
            .and_then(|t| unified_path(&t).map(str::to_string))
        else {
            return false;
        };
        mount()
            .and_then(|m| m.dir_of(&own))
            .is_some_and(|d| d == self.dir)
    }

    /// The pids in the cgroup now.
    pub fn procs(&self) -> Vec<u32> {
        fs::read_to_string(self.dir.join("cgroup.procs"))
            .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// No process left in it (or below it).
    pub fn is_empty(&self) -> bool {
        match fs::read_to_string(self.dir.join("cgroup.events")) {
            Ok(events) => events.lines().any(|l| l.trim() == "populated 0"),
            // Gone already, or unreadable: ask the list.
            Err(_) => self.procs().is_empty(),
        }
    }

    /// SIGKILL to every process in it at once (`cgroup.kill`, Linux 5.14); on older kernels,
    /// to each process listed. Returns how many there were.
    pub fn kill(&self) -> usize {
        let procs = self.procs();
        if procs.is_empty() {
            return 0;
        }
        let killed = fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.kill"))
            .and_then(|mut f| f.write_all(b"1"));
        if killed.is_err() {
            for &pid in &procs {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
        }
        procs.len()
    }

    /// Removes the (empty) cgroup; false while processes remain in it.
    pub fn remove(&self) -> bool {
        match fs::remove_dir(&self.dir) {
            Ok(()) => true,
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        }
    }
}

/// A cgroup2 mount: where it is, and which cgroup its root is.
struct Mount {
    point: PathBuf,
    root: String,
}

impl Mount {
    /// The folder of cgroup `path` (as `/proc/PID/cgroup` gives it) under this mount.
    fn dir_of(&self, path: &str) -> Option<PathBuf> {
        let rel = if self.root == "/" {
            path
        } else {
            path.strip_prefix(self.root.as_str())?
        };
        let rel = rel.trim_start_matches('/');
        Some(if rel.is_empty() {
            self.point.clone()
        } else {
            self.point.join(rel)
        })
    }
}

/// The first cgroup2 mount in `/proc/self/mountinfo`.
fn mount() -> Option<Mount> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    parse_mountinfo(&info)
}

fn parse_mountinfo(info: &str) -> Option<Mount> {
    info.lines().find_map(|line| {
        // `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER`
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let f: Vec<&str> = left.split_whitespace().collect();
        Some(Mount {
            root: unescape(f.get(3)?),
            point: PathBuf::from(unescape(f.get(4)?)),
        })
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\NNN` (octal).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The unified (v2) cgroup in a `/proc/PID/cgroup` text: its `0::PATH` line.
fn unified_path(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("0::"))
}

/// This process's own cgroup folder, when there is a cgroup2 mount that shows it.
fn own_dir() -> Option<PathBuf> {
    if !crate::platform::has_cgroups() {
        return None;
    }
    let text = fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = unified_path(&text)?;
    mount()?.dir_of(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cgroup2_mount_is_found_in_mountinfo_wherever_it_is() {
        let hybrid = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        let m = parse_mountinfo(hybrid).unwrap();
        assert_eq!(m.point, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(
            m.dir_of("/user.slice/x").unwrap(),
            Path::new("/sys/fs/cgroup/unified/user.slice/x")
        );
        assert_eq!(m.dir_of("/").unwrap(), Path::new("/sys/fs/cgroup/unified"));
        let pure =
            "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            parse_mountinfo(pure).unwrap().point,
            Path::new("/sys/fs/cgroup")
        );
        // A bind mount of a subtree: paths are taken below its root.
        let sub = "50 23 0:26 /lxc/c1 /mnt/cg\\040x rw - cgroup2 cgroup2 rw\n";
        let m = parse_mountinfo(sub).unwrap();
        assert_eq!(m.dir_of("/lxc/c1/a").unwrap(), Path::new("/mnt/cg x/a"));
        assert!(m.dir_of("/elsewhere").is_none());
        assert!(parse_mountinfo("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n").is_none());
    }

    #[test]
    fn only_a_cgroup_tpm_made_for_that_supervisor_is_taken_from_a_record() {
        let name = Name::parse("web-80").unwrap();
        // Not cgroups, or not named for this process and supervisor.
        for path in [
            "/tmp/tpm-1-2-web-80",
            "relative/tpm-1-2-web-80",
            "/sys/fs/cgroup/../tmp/tpm-1-2-web-80",
            "/sys/fs/cgroup",
            "",
        ] {
            assert!(Cgroup::of_record(&name, path, 1, 2).is_none(), "{path}");
        }
        if let Some(mount) = mount() {
            let other = mount.point.join("tpm-1-2-web-80");
            let path = other.to_str().unwrap();
            assert!(Cgroup::of_record(&name, path, 1, 3).is_none());
            assert!(Cgroup::of_record(&Name::parse("web-81").unwrap(), path, 1, 2).is_none());
        }
    }

    #[test]
    fn a_child_put_in_its_cgroup_before_exec_is_killed_with_everything_it_forks() {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let me = std::process::id();
        let name = Name::parse(&format!("unit-{me}")).unwrap();
        let Some(cg) = Cgroup::create(&name, me, 1) else {
            eprintln!("no writable cgroup2 hierarchy here: nothing to test");
            return;
        };
        let writer = cg.procs_writer().unwrap();
        let fd = writer.as_raw_fd();
        let mut cmd = std::process::Command::new("bash");
        cmd.args(["-c", "setsid sleep 30 & sleep 31 & wait"]);
        // SAFETY: write(2) is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                libc::write(fd, b"0".as_ptr().cast(), 1);
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        drop(writer);
        assert!(cg.contains(child.id()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while cg.procs().len() < 3 {
            assert!(std::time::Instant::now() < deadline, "{:?}", cg.procs());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!cg.is_empty());
        assert_eq!(cg.kill(), 3);
        let _ = child.wait();
        while !cg.is_empty() {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(cg.remove());
        assert!(!cg.path().exists());
    }
}
