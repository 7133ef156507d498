//! Faults while logging: a log that cannot be written never stops or blocks the service;
//! lines are written whole or dropped whole, and what is dropped is counted in the record,
//! for the whole life of the process; a full store still stops and deletes cleanly; a
//! logs folder that cannot be written for a while delays a rotation, and logging goes on
//! by itself.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::resource::{setrlimit, Resource};
use tpm_testkit::{is_root, wait_for, Run, Sandbox};

#[test]
fn a_log_past_the_file_size_limit_drops_bytes_and_the_service_runs_on() {
    let s = Sandbox::new();
    let done = s.path().join("done");
    // ~1 MB of output; the supervisor may write only 64 KiB per file.
    s.file(
        "chatty.sh",
        &format!(
            "PORT=5400\nfor i in $(seq 1 20000); do echo \"line $i of a chatty service\"; done\ntouch {}\nsleep 300\n",
            done.display()
        ),
        0o644,
    );
    let mut c = s.command();
    c.args(["start", "chatty.sh"]);
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            setrlimit(Resource::RLIMIT_FSIZE, 64 * 1024, 64 * 1024)?;
            Ok(())
        });
    }
    Run::from_output(c.output().unwrap()).ok();
    wait_for(
        "the service to write everything (it was never blocked)",
        || done.exists(),
    );
    // Every line as the log would hold it: the stamp, then the line.
    let expected: u64 = (1..=20000)
        .map(|i| (STAMP + format!("line {i} of a chatty service\n").len()) as u64)
        .sum();
    let log_size = || {
        std::fs::metadata(s.store().join("logs/chatty-5400.out"))
            .unwrap()
            .len()
    };
    // The record's count is saved within a second of the last drop: wait for all of it.
    let mut p = serde_json::Value::Null;
    wait_for("every byte written or counted", || {
        p = s.get("chatty-5400").unwrap();
        log_size() + p["log_dropped"].as_u64().unwrap_or(0) >= expected
    });
    assert_eq!(p["status"], "online", "{p}");
    let log = log_size();
    assert!(log <= 64 * 1024, "{log}");
    assert_eq!(
        log + p["log_dropped"].as_u64().unwrap(),
        expected,
        "every byte is either written or counted, once"
    );
    s.tpm(["stop", "chatty-5400"]).ok();
    assert!(s.processes().is_empty());
    // The count is the record's whole life's: a restart adds to it, never resets it.
    let dropped = p["log_dropped"].as_u64().unwrap();
    s.tpm(["restart", "chatty-5400"]).ok();
    let again = s.wait_status("chatty-5400", "online");
    assert!(again["log_dropped"].as_u64().unwrap() >= dropped, "{again}");
}

/// `YYYY-MM-DD HH:MM:SS ` before every line.
const STAMP: usize = 20;

/// The text after the stamp of every line of `text`; panics on a line that is not stamped
/// (two lines glued together, or one cut in two).
fn unstamped(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| {
            let (stamp, rest) = line.split_at_checked(STAMP).unwrap_or(("", line));
            let ok = stamp.len() == STAMP
                && stamp.bytes().enumerate().all(|(i, b)| match i {
                    4 | 7 => b == b'-',
                    10 | 19 => b == b' ',
                    13 | 16 => b == b':',
                    _ => b.is_ascii_digit(),
                });
            assert!(ok, "not a whole stamped line: {line:?}");
            rest
        })
        .collect()
}

/// A tmpfs mounted at a folder while this lives (root only).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tpm-test",
            ])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount a tmpfs at {}", dir.display());
        Tmpfs(dir.to_path_buf())
    }

    /// Fills it: a file grown until the disk refuses, its path returned.
    fn fill(&self, name: &str) -> PathBuf {
        let path = self.0.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        while f.write(&chunk).is_ok_and(|n| n > 0) {}
        while f.write(&chunk[..1]).is_ok_and(|n| n > 0) {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A sandbox whose store is a small tmpfs. The sandbox goes first (stopping everything),
/// then the mount.
struct SmallStore {
    s: Sandbox,
    disk: Tmpfs,
}

impl SmallStore {
    fn new() -> Option<SmallStore> {
        if !is_root() {
            eprintln!("needs root to mount a small tmpfs for the store; skipped");
            return None;
        }
        let s = Sandbox::new();
        let disk = Tmpfs::mount(&s.tetra_dir(), "1m");
        Some(SmallStore { s, disk })
    }
}

/// Bytes waiting in the pipe on `fd` of process `pid`.
fn unread(pid: u64, fd: u32) -> usize {
    let Ok(pipe) = std::fs::File::options()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(format!("/proc/{pid}/fd/{fd}"))
    else {
        return 0;
    };
    let mut n: nix::libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    unsafe {
        nix::libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&pipe),
            nix::libc::FIONREAD,
            &mut n,
        )
    };
    n.max(0) as usize
}

#[test]
fn a_full_store_drops_whole_lines_and_counts_every_one_then_logging_resumes() {
    let Some(SmallStore { s, disk }) = SmallStore::new() else {
        return;
    };
    let step = |name: &str| s.path().join(name);
    // Numbered lines in three bursts; the test fills and frees the disk between them.
    s.file(
        "numbers.sh",
        &format!(
            "PORT=5410\ni=0\nsay() {{ while [ $i -lt $1 ]; do echo $i; i=$((i+1)); done; }}\n\
             say 1000; touch {p1}; while [ ! -e {go2} ]; do sleep 0.01; done\n\
             say 3000; touch {p2}; while [ ! -e {go3} ]; do sleep 0.01; done\n\
             say 4000; touch {done}; exec sleep 300\n",
            p1 = step("p1").display(),
            go2 = step("go2").display(),
            p2 = step("p2").display(),
            go3 = step("go3").display(),
            done = step("done").display(),
        ),
        0o644,
    );
    s.tpm(["start", "numbers.sh"]).ok();
    let pid = s.wait_status("numbers-5410", "online")["pid"]
        .as_u64()
        .unwrap();
    wait_for("the first burst", || step("p1").exists());
    // Full, but for one page: the next burst's first lines fit, one is cut by the disk,
    // and the rest find no room.
    let filler = disk.fill("filler");
    let len = std::fs::metadata(&filler).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len - 4096 - 100)
        .unwrap();
    std::fs::write(step("go2"), "").unwrap();
    wait_for("the second burst", || step("p2").exists());
    wait_for("the supervisor to read it all", || unread(pid, 1) == 0);
    std::fs::remove_file(&filler).unwrap();
    std::fs::write(step("go3"), "").unwrap();
    wait_for("the last burst", || step("done").exists());
    wait_for("the supervisor to read it all", || unread(pid, 1) == 0);

    let log = s.log("numbers-5410", "out");
    let numbers: Vec<u64> = unstamped(&log)
        .into_iter()
        .map(|n| n.parse().unwrap_or_else(|_| panic!("not a number: {n:?}")))
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "in order, once each"
    );
    let missing: Vec<u64> = (0..4000)
        .filter(|n| numbers.binary_search(n).is_err())
        .collect();
    assert!(
        !missing.is_empty(),
        "the disk was full: some lines were dropped"
    );
    assert!(
        missing.iter().all(|&n| (1000..3000).contains(&n)),
        "only while it was full"
    );
    assert!(numbers.contains(&3999), "logging resumed by itself");
    // Every number is in the log or in the count (a dropped line is its stamp, its
    // digits and its newline).
    let dropped: u64 = missing
        .iter()
        .map(|n| (STAMP + n.to_string().len() + 1) as u64)
        .sum();
    wait_for("the count in the record", || {
        s.get("numbers-5410").unwrap()["log_dropped"] == dropped
    });
    assert!(
        s.log("numbers-5410", "err").is_empty(),
        "nothing else was logged"
    );

    // A stop on a full store is a stop, not a crash; a delete frees the room it needs.
    let filler = disk.fill("filler");
    s.tpm(["stop", "numbers-5410"]).ok();
    let p = s.get("numbers-5410").unwrap();
    assert_eq!(p["status"], "stopped", "{p}");
    assert!(p["reason"].is_null(), "{p}");
    s.tpm(["delete", "numbers-5410"]).ok();
    assert!(s.list().is_empty());
    assert!(s.processes().is_empty());
    std::fs::remove_file(filler).unwrap();
}

#[test]
fn a_logs_folder_unwritable_for_two_seconds_delays_a_rotation_and_logging_goes_on() {
    let s = Sandbox::new();
    s.file(
        "ticker.sh",
        "PORT=5411\ni=0\nwhile :; do echo \"tick $i\"; i=$((i+1)); [ $((i % 20)) = 0 ] && sleep 0.02; done\n",
        0o644,
    );
    s.tpm([
        "start",
        "ticker.sh",
        "--max-log-size",
        "8K",
        "--log-keep",
        "2",
    ])
    .ok();
    s.wait_status("ticker-5411", "online");
    let logs = s.store().join("logs");
    let (current, first) = (logs.join("ticker-5411.out"), logs.join("ticker-5411.out.1"));
    wait_for("a first rotation", || first.exists());
    // Unwritable even for root: immutable (ext4, xfs, tmpfs); else, for others, 0500.
    let frozen = Command::new("chattr")
        .arg("+i")
        .arg(&logs)
        .status()
        .is_ok_and(|s| s.success());
    if !frozen {
        if is_root() {
            eprintln!("chattr +i does not work here and root ignores modes; skipped");
            return;
        }
        std::fs::set_permissions(&logs, std::os::unix::fs::PermissionsExt::from_mode(0o500))
            .unwrap();
    }
    // The fault lasts 2 s: the length of the fault, not a wait for a condition.
    std::thread::sleep(Duration::from_secs(2));
    let past = std::fs::metadata(&current).unwrap().len();
    if frozen {
        Command::new("chattr")
            .arg("-i")
            .arg(&logs)
            .status()
            .unwrap();
    } else {
        std::fs::set_permissions(&logs, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
    }
    assert!(
        past > 8 * 1024,
        "lines went on into the current file: {past} bytes"
    );
    let thawed = Instant::now();
    wait_for("rotation to resume", || {
        std::fs::metadata(&current).is_ok_and(|m| m.len() < 8 * 1024)
            && std::fs::metadata(&first).is_ok_and(|m| {
                m.modified().unwrap() > std::time::SystemTime::now() - thawed.elapsed()
            })
    });
    let p = s.get("ticker-5411").unwrap();
    assert_eq!(
        (p["status"].as_str(), p["restarts"].as_u64()),
        (Some("online"), Some(0))
    );
    assert_eq!(p["log_dropped"], 0, "nothing was lost: {p}");
    // Every line whole, and in order across the files.
    let mut ticks = Vec::new();
    for file in ["ticker-5411.out.2", "ticker-5411.out.1", "ticker-5411.out"] {
        // `.2` may be compressed by now (`.2.gz`).
        let gz = logs.join(format!("{file}.gz"));
        let text = match std::fs::File::open(&gz) {
            Ok(f) => {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(f), &mut text)
                    .unwrap();
                text
            }
            Err(_) => std::fs::read_to_string(logs.join(file)).unwrap_or_default(),
        };
        for rest in unstamped(&text) {
            let n: u64 = rest
                .strip_prefix("tick ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{rest:?}"));
            ticks.push(n);
        }
    }
    assert!(
        ticks.windows(2).all(|w| w[1] == w[0] + 1),
        "no line lost or repeated"
    );
    s.tpm(["stop", "ticker-5411"]).ok();
}
