//! Shared helpers for end-to-end tests, so every suite drives real binaries the same way:
//! a scratch `TETRA_DIR`, real scripts, waits on conditions with deadlines (never bare
//! sleeps), and a safety net that stops every process a test started.

use std::ffi::OsStr;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod tmux;

/// How long a condition may take before a test fails. Generous: CI machines are slow,
/// and a passing test returns as soon as its condition holds.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A built binary of this workspace (`target/debug/NAME` beside the test executable).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/debug/deps/test-hash -> target/debug/NAME
    let dir = exe.parent().and_then(Path::parent).expect("target/debug");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built (cargo build --workspace)",
        path.display()
    );
    path
}

/// The path of a program the tests drive (zsh, fish, tmux...). A missing one fails the
/// test with how to get it, rather than skipping what it proves.
pub fn program(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .unwrap_or_else(|| panic!("{name} is not installed: `./test.sh` installs it"))
}

/// Waits until `cond` holds, polling with a short pause; panics with `what` at the deadline.
pub fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    wait_for_up_to(what, DEADLINE, cond)
}

/// [`wait_for`] with its own deadline, for what takes longer by nature (a schedule).
pub fn wait_for_up_to(what: &str, limit: Duration, cond: impl FnMut() -> bool) {
    assert!(holds_within(limit, cond), "timed out waiting for: {what}");
}

/// Whether `cond` comes to hold before `limit`, polling with a short pause.
pub fn holds_within(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(2);
    while !cond() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    true
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Whether the tests run as root (some faults can only be made by root: a tmpfs to fill,
/// a folder even root cannot write).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Whether the tests run against the POSIX backend (`TPM_PLATFORM=posix`, what macOS
/// runs): no cgroups, no subreaper, no parent-death signal. Tests of what only those give
/// skip there, saying why.
pub fn posix_backend() -> bool {
    std::env::var_os("TPM_PLATFORM").is_some_and(|v| v == "posix")
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    Proc::read(pid).is_some()
}

/// The pids of live processes in process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    all_processes()
        .into_iter()
        .filter(|p| p.pgrp == pgid)
        .map(|p| p.pid)
        .collect()
}

/// A running command whose output lines are read as they come, with a deadline (never a
/// read that can hang a test). The command is killed when this is dropped.
pub struct Follower {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Follower {
    pub fn spawn(mut command: Command) -> Follower {
        use std::io::BufRead;
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the follower");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follower { child, lines }
    }

    /// Lines until `last` says a line is the last one; panics at the deadline.
    pub fn until(&mut self, mut last: impl FnMut(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + DEADLINE;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = last(&line);
                    got.push(line);
                    if done {
                        return got;
                    }
                }
                Err(_) => panic!(
                    "no end line before the deadline; got {} lines: {got:?}",
                    got.len()
                ),
            }
        }
    }

    /// The next `n` lines; panics at the deadline.
    pub fn take(&mut self, n: usize) -> Vec<String> {
        let mut count = 0;
        self.until(|_| {
            count += 1;
            count == n
        })
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment variable that marks a sandbox's processes.
pub const MARKER: &str = "TPM_TEST_SANDBOX";

/// A live process, as `/proc` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub pgrp: u32,
    /// Start time in clock ticks after boot: with the pid, the process's identity.
    pub start: u64,
    pub cmdline: String,
}

impl Proc {
    pub fn read(pid: u32) -> Option<Proc> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, rest) = stat.rsplit_once(')')?;
        let f: Vec<&str> = rest.split_whitespace().collect();
        // After the name: state(0) ppid(1) pgrp(2) ... starttime(19).
        if matches!(*f.first()?, "Z" | "X") {
            return None;
        }
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        Some(Proc {
            pid,
            ppid: f.get(1)?.parse().ok()?,
            pgrp: f.get(2)?.parse().ok()?,
            start: f.get(19)?.parse().ok()?,
            cmdline: String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .trim_end()
                .to_string(),
        })
    }

    /// Still the same process (not exited, pid not reused).
    pub fn is_alive(&self) -> bool {
        Proc::read(self.pid).is_some_and(|p| p.start == self.start)
    }

    fn has_env(&self, entry: &[u8]) -> bool {
        fs::read(format!("/proc/{}/environ", self.pid))
            .map(|env| env.split(|&b| b == 0).any(|e| e == entry))
            .unwrap_or(false)
    }
}

/// Every live process.
pub fn all_processes() -> Vec<Proc> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(Proc::read)
        .collect()
}

/// The output of one command, with readable assertions.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}):\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A scratch home with its own `TETRA_DIR`, cleaned up (processes included) on drop.
pub struct Sandbox {
    dir: tempfile::TempDir,
    tpm: PathBuf,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("tpm-test-")
                .tempdir()
                .expect("a temp dir"),
            tpm: binary("tpm"),
        }
    }

    /// A sandbox whose `tpm` is `binary` (a copy or link elsewhere, with or without a
    /// `tpm-supervisor` beside it).
    pub fn with_tpm(binary: PathBuf) -> Sandbox {
        let mut s = Sandbox::new();
        s.tpm = binary;
        s
    }

    /// The scratch folder; commands run here.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `$TETRA_DIR`.
    pub fn tetra_dir(&self) -> PathBuf {
        self.path().join("tetra")
    }

    /// `$TETRA_DIR/tpm`.
    pub fn store(&self) -> PathBuf {
        self.tetra_dir().join("tpm")
    }

    pub fn tpm_binary(&self) -> &Path {
        &self.tpm
    }

    /// A `tpm` command with this sandbox's environment (no inherited PORT).
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.tpm);
        self.apply_env(&mut c);
        c
    }

    /// Points any command at this sandbox's store and folder, and marks it (and so every
    /// supervisor and process it starts) as this sandbox's.
    pub fn apply_env(&self, c: &mut Command) {
        c.current_dir(self.path())
            .env(MARKER, self.path())
            .env("TETRA_DIR", self.tetra_dir())
            .env("HOME", self.path())
            .env("NO_COLOR", "1")
            .env_remove("PORT")
            .stdin(Stdio::null());
    }

    /// Runs `tpm ARGS` and waits for it.
    pub fn tpm<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run::from_output(self.command().args(args).output().expect("run tpm"))
    }

    /// Runs `tpm ARGS` with extra environment variables.
    pub fn tpm_env<I, S>(&self, env: &[(&str, &str)], args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command();
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from_output(c.args(args).output().expect("run tpm"))
    }

    /// Starts `tpm ARGS` without waiting for it (output captured).
    pub fn spawn<I, S>(&self, args: I) -> std::process::Child
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tpm")
    }

    /// The supervisors among [`Sandbox::processes`].
    pub fn supervisors(&self) -> Vec<Proc> {
        let tpm = self.tpm.to_string_lossy().into_owned();
        self.processes()
            .into_iter()
            .filter(|p| p.cmdline.starts_with(&tpm))
            .collect()
    }

    /// The managed processes among [`Sandbox::processes`] (everything but supervisors).
    pub fn managed(&self) -> Vec<Proc> {
        let tpm = self.tpm.to_string_lossy().into_owned();
        self.processes()
            .into_iter()
            .filter(|p| !p.cmdline.starts_with(&tpm))
            .collect()
    }

    /// Writes a file (creating folders) with the given mode; returns its path.
    pub fn file(&self, rel: &str, body: &str, mode: u32) -> PathBuf {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create folders");
        }
        fs::write(&path, body).expect("write file");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    /// A bash script that announces itself and then sleeps, with `export PORT=port`.
    pub fn server_script(&self, rel: &str, port: u16) -> PathBuf {
        self.file(
            rel,
            &format!(
                "#!/usr/bin/env bash\nexport PORT={port}\necho \"Starting server on port $PORT\"\nwhile true; do sleep 1; done\n"
            ),
            0o755,
        )
    }

    /// `tpm list --json` as values.
    pub fn list(&self) -> Vec<Value> {
        match self.tpm(["list", "--json"]).ok().json() {
            Value::Array(items) => items,
            other => panic!("list --json is not an array: {other}"),
        }
    }

    /// One process from `tpm list --json`.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.list().into_iter().find(|p| p["name"] == name)
    }

    /// Waits until `name` has `status`; returns its entry.
    pub fn wait_status(&self, name: &str, status: &str) -> Value {
        let mut last = None;
        let reached = holds_within(DEADLINE, || {
            last = self.get(name);
            last.as_ref().is_some_and(|p| p["status"] == status)
        });
        // What it was instead tells a slow machine from a wrong state.
        match last {
            Some(p) if reached => p,
            last => panic!("timed out waiting for {name} to be {status}; last seen: {last:?}"),
        }
    }

    /// Every live process started through this sandbox (supervisors and their trees),
    /// found by the marker they inherited.
    pub fn processes(&self) -> Vec<Proc> {
        let mut entry = MARKER.as_bytes().to_vec();
        entry.push(b'=');
        entry.extend_from_slice(self.path().as_os_str().as_encoded_bytes());
        all_processes()
            .into_iter()
            .filter(|p| p.pid != std::process::id() && p.has_env(&entry))
            .collect()
    }

    /// One numeric field of a record (`spid`, `pid_start`, ...).
    pub fn record_field(&self, name: &str, key: &str) -> Option<u64> {
        let prefix = format!("{key}=");
        self.record(name)
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&prefix)?.parse().ok())
    }

    /// The record as commands wrote it: without what the supervisor writes on its own
    /// while the process runs (what it sees of the tree: `cpu`, `mem`, `listening`,
    /// `ready`), so "no command changed it" can be asserted while it runs.
    pub fn record_as_commanded(&self, name: &str) -> String {
        const SEEN: [&str; 7] = [
            "cpu=",
            "cpu_at=",
            "mem=",
            "listening=",
            "ready=",
            "cpu_time=",
            "log_written=",
        ];
        self.record(name)
            .split(' ')
            .filter(|kv| !SEEN.iter().any(|k| kv.starts_with(k)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The raw record file.
    pub fn record(&self, name: &str) -> String {
        fs::read_to_string(self.store().join("processes").join(format!("{name}.meta")))
            .unwrap_or_default()
    }

    pub fn log(&self, name: &str, stream: &str) -> String {
        fs::read_to_string(self.store().join("logs").join(format!("{name}.{stream}")))
            .unwrap_or_default()
    }
}

impl Drop for Sandbox {
    /// The safety net: whatever a test left running is stopped, even when it failed.
    fn drop(&mut self) {
        if self.store().join("processes").exists() {
            let _ = self
                .command()
                .args(["delete", "*"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
