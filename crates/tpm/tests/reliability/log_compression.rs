//! Rotation with compression at full speed: no line lost or repeated across hundreds of
//! rotations; the writer never waits for a compression (the pump keeps draining while a
//! 100 MB file is compressed); a compression killed half-way leaves the plain file or a
//! whole `.gz`, never a truncated one, and is finished at the next start.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tpm_testkit::{wait_for, Sandbox};

/// The text of a gzip file; panics if it is not a whole one.
fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{} is not a whole gzip file: {e}", path.display()));
    text
}

/// The log files of `prefix` (`NAME.out`), oldest first: `.N.gz` or `.N`, then the current.
fn files_in_order(logs: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut numbered: Vec<(u32, PathBuf)> = std::fs::read_dir(logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let f = p.file_name()?.to_str()?.to_string();
            let rest = f.strip_prefix(&format!("{prefix}."))?;
            let k: u32 = rest.strip_suffix(".gz").unwrap_or(rest).parse().ok()?;
            Some((k, p))
        })
        .collect();
    numbered.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
    let mut all: Vec<PathBuf> = numbered.into_iter().map(|(_, p)| p).collect();
    all.push(logs.join(prefix));
    all
}

/// The numbers of `N`-lines (stamped), across all the files of `prefix`, in order.
fn numbers(logs: &Path, prefix: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for path in files_in_order(logs, prefix) {
        let text = if path.extension().is_some_and(|e| e == "gz") {
            gunzip(&path)
        } else {
            std::fs::read_to_string(&path).unwrap_or_default()
        };
        for line in text.lines() {
            let n = line
                .get(20..)
                .and_then(|rest| rest.split(' ').next()?.parse().ok())
                .unwrap_or_else(|| panic!("not a stamped number: {line:?}"));
            out.push(n);
        }
    }
    out
}

/// Whether every rotated file from `.2` on is compressed and no compression is under way.
fn all_compressed(logs: &Path, prefix: &str) -> bool {
    !logs.join(format!("{prefix}.gz.tmp")).exists()
        && files_in_order(logs, prefix).iter().all(|p| {
            let f = p.file_name().unwrap().to_str().unwrap();
            f == prefix || f.ends_with(".gz") || f == format!("{prefix}.1")
        })
}

#[test]
fn numbered_lines_at_full_speed_survive_hundreds_of_rotations_with_compression_once_each_in_order()
{
    let s = Sandbox::new();
    let n = 300_000;
    s.file(
        "count.sh",
        &format!("PORT=5520\nseq 1 {n}\nsleep 300\n"),
        0o644,
    );
    s.tpm([
        "start",
        "count.sh",
        "--max-log-size",
        "16K",
        "--log-keep",
        "1000",
    ])
    .ok();
    let logs = s.store().join("logs");
    wait_for("the last line", || {
        s.log("count-5520", "out").ends_with(&format!(" {n}\n"))
    });
    wait_for("every rotated file compressed", || {
        all_compressed(&logs, "count-5520.out")
    });
    let files = files_in_order(&logs, "count-5520.out");
    let gz = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "gz"))
        .count();
    assert!(gz >= 100, "at least 100 rotations, compressed: {gz}");
    let got = numbers(&logs, "count-5520.out");
    assert_eq!(got.len(), n as usize, "every line once");
    assert!(
        got.iter().zip(1..).all(|(&a, b)| a == b),
        "in order, none lost or repeated"
    );
    // `tpm logs` reads the same across the plain and the compressed files.
    let run = s.tpm(["logs", "count-5520", "--out", "-n", "1000000"]);
    let shown: Vec<u64> = run
        .ok()
        .stdout
        .lines()
        .map(|l| l[20..].parse().unwrap())
        .collect();
    assert_eq!(shown, got);
    let p = s.get("count-5520").unwrap();
    assert_eq!(p["log_dropped"], 0, "{p}");
}

/// A writer that times each of its writes, and prints the longest to `stall` at its end.
const STALL_WRITER: &str = r#"
import os, sys, time
total = int(sys.argv[1])
line = b"x" * 99 + b"\n"
chunk = line * 655
longest = 0.0
written = 0
while written < total:
    t = time.perf_counter()
    n = os.write(1, chunk)
    longest = max(longest, time.perf_counter() - t)
    written += n
open("stall.tmp", "w").write("%.6f\n" % longest)
os.rename("stall.tmp", "stall")
time.sleep(300)
"#;

#[test]
fn the_writer_never_waits_while_a_100_mb_file_is_compressed() {
    let s = Sandbox::new();
    s.file("writer.py", STALL_WRITER, 0o644);
    // 100 MiB files: after the second rotation, 100 MiB is compressed while 100 MiB more
    // is written.
    s.file(
        "big.sh",
        "PORT=5521\nexec python3 writer.py 314572800\n",
        0o644,
    );
    s.tpm([
        "start",
        "big.sh",
        "--max-log-size",
        "100M",
        "--log-keep",
        "3",
    ])
    .ok();
    let logs = s.store().join("logs");
    let stall = s.path().join("stall");
    let mut compressing_seen = false;
    wait_for_long("the writer's end", || {
        compressing_seen |= logs.join("big-5521.out.gz.tmp").exists();
        stall.exists()
    });
    let longest: f64 = std::fs::read_to_string(&stall)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_for_long("the compression", || {
        logs.join("big-5521.out.2.gz").exists() && !logs.join("big-5521.out.gz.tmp").exists()
    });
    eprintln!(
        "longest write stall: {:.1} ms (compression seen under way: {compressing_seen})",
        longest * 1e3
    );
    // Not a timing target (those are bench/run's): a bound that only a pump waiting for a
    // compression of 100 MB (a second or more) would pass.
    assert!(
        longest < 0.25,
        "the writer waited {:.0} ms in one write",
        longest * 1e3
    );
    let p = s.get("big-5521").unwrap();
    assert_eq!(p["log_dropped"], 0, "{p}");
    let gz = std::fs::metadata(logs.join("big-5521.out.2.gz"))
        .unwrap()
        .len();
    assert!(
        gz < 10 << 20,
        "100 MiB of one repeated line compresses: {gz} bytes"
    );
    s.tpm(["delete", "big-5521"]).ok();
}

/// [`wait_for`] with more time: hundreds of megabytes go through a debug build.
fn wait_for_long(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes `lines` numbered lines of 100 bytes as fast as it can, once: a restart finds
/// `written` and writes nothing.
const ONCE_WRITER: &str = r#"
import os, sys, time
if not os.path.exists("written"):
    open("written", "w").close()
    lines = int(sys.argv[1])
    pad = b"y" * 90
    i = 1
    while i <= lines:
        end = min(i + 10000, lines + 1)
        os.write(1, b"".join(b"%09d %s\n" % (k, pad) for k in range(i, end)))
        i = end
time.sleep(300)
"#;

#[test]
fn a_compression_killed_half_way_leaves_no_broken_file_and_is_finished_at_the_next_start() {
    let s = Sandbox::new();
    s.file("once.py", ONCE_WRITER, 0o644);
    // 220 MB through 64 MiB files: the second rotation starts compressing 64 MiB.
    s.file(
        "once.sh",
        "PORT=5522
exec python3 once.py 2200000
",
        0o644,
    );
    s.tpm([
        "start",
        "once.sh",
        "--max-log-size",
        "64M",
        "--log-keep",
        "20",
    ])
    .ok();
    let logs = s.store().join("logs");
    let tmp = logs.join("once-5522.out.gz.tmp");
    // The compression runs on the supervisor's `tpm-compress` thread: killing the
    // supervisor while the `.tmp` grows kills the compression half-way.
    wait_for_long("a compression under way", || {
        std::fs::metadata(&tmp).is_ok_and(|m| m.len() > 0)
    });
    let spid = s.record_field("once-5522", "spid").unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(spid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for("the supervisor gone", || !tpm_testkit::alive(spid as u32));
    // Every `.gz` is whole; the file being compressed is still there, plain.
    for p in files_in_order(&logs, "once-5522.out") {
        if p.extension().is_some_and(|e| e == "gz") {
            gunzip(&p);
        }
    }
    assert!(
        logs.join("once-5522.out.2").exists(),
        "the plain file stays until its .gz is whole"
    );
    // Whatever was logged before the kill is there once, in order.
    let before = numbers(&logs, "once-5522.out");
    assert!(before.len() > 1_000_000, "{}", before.len());
    assert!(
        before.iter().zip(1..).all(|(&a, b)| a == b),
        "in order, none lost or repeated"
    );
    // The next supervisor clears the leftover and finishes the compression.
    s.tpm(["restart", "once-5522"]).ok();
    wait_for_long("compressed again", || {
        all_compressed(&logs, "once-5522.out")
    });
    assert!(!tmp.exists());
    assert!(logs.join("once-5522.out.2.gz").exists());
    let after: Vec<u64> = numbers(&logs, "once-5522.out");
    assert_eq!(after, before, "nothing lost to the kill");
    s.tpm(["delete", "once-5522"]).ok();
    assert!(!tmp.exists());
}
