//! `tpm logs`: the last N timestamped lines, stdout and stderr, one process or all.

use std::io::Read;

use tpm_testkit::{wait_for, Follower, Sandbox};

/// The text of a gzip file.
fn gunzip(path: &std::path::Path) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn is_stamped(line: &str) -> bool {
    line.len() > 20 && chrono_like(&line[..19]) && &line[19..20] == " "
}

/// `YYYY-MM-DD HH:MM:SS`
fn chrono_like(s: &str) -> bool {
    s.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b' ',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    })
}

fn counting_script(s: &Sandbox, port: u16, lines: usize) {
    s.file(
        "count.sh",
        &format!("PORT={port}\nfor i in $(seq 1 {lines}); do echo \"line $i\"; done\necho \"warn\" >&2\nsleep 300\n"),
        0o644,
    );
}

#[test]
fn logs_lines_returns_exactly_the_last_n_timestamped_lines() {
    let s = Sandbox::new();
    counting_script(&s, 3400, 120);
    s.tpm(["start", "count.sh"]).ok();
    wait_for("all lines logged", || {
        s.log("count-3400", "out").lines().count() == 120
    });
    wait_for("stderr logged", || {
        s.log("count-3400", "err").contains("warn")
    });
    let run = s.tpm(["logs", "count-3400", "--lines", "5", "--json"]);
    let lines: Vec<serde_json::Value> = run
        .ok()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    // stdout and stderr are both there, merged in time order.
    assert!(lines
        .iter()
        .any(|l| l["stream"] == "err" && l["line"] == "warn"));
    assert!(lines.iter().any(|l| l["line"] == "line 120"));

    let run = s.tpm(["logs", "count-3400", "-n", "3"]);
    let text: Vec<&str> = run.ok().stdout.lines().collect();
    assert_eq!(text.len(), 3, "{}", run.stdout);
    assert!(text.iter().all(|l| is_stamped(l)), "{text:?}");
}

#[test]
fn logs_default_to_50_lines() {
    let s = Sandbox::new();
    counting_script(&s, 3401, 80);
    s.tpm(["start", "count.sh"]).ok();
    wait_for("all lines logged", || {
        s.log("count-3401", "out").lines().count() == 80
    });
    wait_for("stderr logged", || {
        s.log("count-3401", "err").contains("warn")
    });
    let run = s.tpm(["logs", "count-3401"]);
    assert_eq!(run.ok().stdout.lines().count(), 50);
}

#[test]
fn logs_of_star_prefix_each_line_with_its_process() {
    let s = Sandbox::new();
    s.file("a.sh", "PORT=3402\necho from-a\nsleep 300\n", 0o644);
    s.file("b.sh", "PORT=3403\necho from-b\nsleep 300\n", 0o644);
    s.tpm(["start", "a.sh"]).ok();
    s.tpm(["start", "b.sh"]).ok();
    wait_for("both logged", || {
        s.log("a-3402", "out").contains("from-a") && s.log("b-3403", "out").contains("from-b")
    });
    let run = s.tpm(["logs", "*"]);
    let out = &run.ok().stdout;
    assert!(
        out.lines()
            .any(|l| l.starts_with("a-3402 | ") && l.ends_with("from-a")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("b-3403 | ") && l.ends_with("from-b")),
        "{out}"
    );
}

#[test]
fn every_line_in_the_log_files_is_timestamped() {
    let s = Sandbox::new();
    s.file(
        "mixed.sh",
        "PORT=3404\nprintf 'a\\nb\\npartial'\nsleep 0.2\nprintf ' end\\n'\necho e >&2\nsleep 300\n",
        0o644,
    );
    s.tpm(["start", "mixed.sh"]).ok();
    wait_for("the partial line completed", || {
        s.log("mixed-3404", "out").contains("end")
    });
    let out = s.log("mixed-3404", "out");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines.iter().all(|l| is_stamped(l)), "{out}");
    assert!(lines[2].ends_with("partial end"), "{out}");
}

#[test]
fn follow_prints_new_lines_as_they_come_with_none_lost_at_the_start() {
    let s = Sandbox::new();
    s.file(
        "tick.sh",
        "PORT=3405\nfor i in $(seq 1 1000); do echo tick $i; sleep 0.01; done\nsleep 300\n",
        0o644,
    );
    s.tpm(["start", "tick.sh"]).ok();
    wait_for("some ticks", || {
        s.log("tick-3405", "out").contains("tick 5")
    });
    let mut c = s.command();
    c.args(["logs", "tick-3405", "-f", "--lines", "3"]);
    let mut follower = Follower::spawn(c);
    // The last 3 lines written before it started, then the new ones: consecutive, with no
    // line lost or repeated where the backlog ends and following begins.
    let ticks: Vec<u32> = follower
        .take(30)
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(ticks.len(), 30, "{ticks:?}");
    assert!(
        ticks.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive: {ticks:?}"
    );
}

#[test]
fn logs_rotate_by_size_and_logs_reads_across_the_rotated_files() {
    let s = Sandbox::new();
    // 300 lines of about 32 bytes: ~9.6 KB through files of at most 2 KiB, 3 kept (and
    // 300 more once the test says `go`).
    s.file(
        "noisy.sh",
        "PORT=3406\nfor i in $(seq 1 300); do echo \"line $i\"; done\nwhile [ ! -e go ]; do sleep 0.05; done\nfor i in $(seq 301 600); do echo \"line $i\"; done\nsleep 300\n",
        0o644,
    );
    s.tpm([
        "start",
        "noisy.sh",
        "--max-log-size",
        "2K",
        "--log-keep",
        "3",
    ])
    .ok();
    wait_for("the last line", || {
        s.log("noisy-3406", "out").contains("line 300")
    });
    let logs = s.store().join("logs");
    // The newest rotated file stays plain; older ones are compressed, off the pump's path.
    wait_for("rotated files compressed", || {
        ["noisy-3406.out.2.gz", "noisy-3406.out.3.gz"]
            .iter()
            .all(|f| logs.join(f).exists())
    });
    let plain = std::fs::metadata(logs.join("noisy-3406.out.1")).map_or(0, |m| m.len());
    assert!(
        plain > 0 && plain <= 2048,
        "the newest rotated file: {plain} bytes"
    );
    for f in ["noisy-3406.out.2", "noisy-3406.out.3"] {
        assert!(!logs.join(f).exists(), "{f}: only its .gz is left");
        let text = gunzip(&logs.join(format!("{f}.gz")));
        assert!(
            !text.is_empty() && text.len() <= 2048,
            "{f}.gz holds a whole file"
        );
    }
    wait_for("only 3 kept", || {
        !logs.join("noisy-3406.out.4").exists() && !logs.join("noisy-3406.out.4.gz").exists()
    });
    // `logs --lines` reaches back into the rotated files, in order.
    let run = s.tpm(["logs", "noisy-3406", "--lines", "120", "--json"]);
    let lines: Vec<String> = run
        .ok()
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = (181..=300).map(|i| format!("line {i}")).collect();
    assert_eq!(lines, expected);
    // The history says it, once for the burst: rotations are told at most once a minute.
    let rotated = || -> Vec<serde_json::Value> {
        s.tpm(["events", "noisy-3406", "--json"])
            .ok()
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["event"] == "log_rotated")
            .collect()
    };
    wait_for("a log_rotated event", || !rotated().is_empty());
    let told = rotated();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["reason"], "out by size", "{told:?}");
    assert!(told[0]["count"].as_u64().unwrap() >= 1, "{told:?}");
    let text = s.tpm(["events", "noisy-3406"]).ok().stdout.clone();
    assert!(
        text.contains("log_rotated  ") && text.contains(" rotation(s), out by size"),
        "{text}"
    );
    // More rotations within the minute are told when the process stops, not lost.
    s.file("go", "", 0o644);
    wait_for("the second burst", || {
        s.log("noisy-3406", "out").contains("line 600")
    });
    s.tpm(["stop", "noisy-3406"]).ok();
    let told = rotated();
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[1]["reason"], "out by size", "{told:?}");
}

#[test]
fn follow_goes_on_across_a_rotation_without_losing_lines() {
    let s = Sandbox::new();
    s.file(
        "tick.sh",
        "PORT=3407\nfor i in $(seq 1 400); do echo \"tick $i\"; sleep 0.005; done\nsleep 300\n",
        0o644,
    );
    s.tpm([
        "start",
        "tick.sh",
        "--max-log-size",
        "1K",
        "--log-keep",
        "50",
    ])
    .ok();
    let mut c = s.command();
    c.args(["logs", "tick-3407", "-f", "--lines", "1000"]);
    let mut follower = Follower::spawn(c);
    let got: Vec<u32> = follower
        .until(|l| l.ends_with("tick 400"))
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(
        s.store().join("logs/tick-3407.out.3").exists()
            || s.store().join("logs/tick-3407.out.3.gz").exists(),
        "it rotated while followed"
    );
    assert_eq!(
        got,
        (1..=400).collect::<Vec<_>>(),
        "every line once, in order"
    );
}

#[test]
fn follow_keeps_every_line_through_rotations_faster_than_it_looks() {
    let s = Sandbox::new();
    // 20 000 numbered lines at full speed once told to go: files of 16 KiB rotate dozens
    // of times between two looks of the follower (it looks every 100 ms).
    s.file(
        "burst.sh",
        "PORT=3420\nwhile [ ! -e go ]; do sleep 0.05; done\nseq 1 20000 | sed 's/^/n /'\nsleep 300\n",
        0o644,
    );
    s.tpm([
        "start",
        "burst.sh",
        "--max-log-size",
        "16K",
        "--log-keep",
        "200",
    ])
    .ok();
    let mut c = s.command();
    c.args(["logs", "burst-3420", "-f", "--out", "--lines", "0"]);
    let mut follower = Follower::spawn(c);
    // The follower is reading when the burst begins (its first look is at the current end).
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.file("go", "", 0o644);
    let got: Vec<u32> = follower
        .until(|l| l.ends_with("n 20000"))
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(
        s.store().join("logs/burst-3420.out.10").exists()
            || s.store().join("logs/burst-3420.out.10.gz").exists(),
        "it rotated many times"
    );
    assert_eq!(got.len(), 20000, "every line once");
    assert_eq!(got, (1..=20000).collect::<Vec<_>>(), "in order");
}

/// The `line` fields of `tpm logs ... --json`.
fn json_lines(s: &Sandbox, args: &[&str]) -> Vec<String> {
    let mut all = vec!["logs"];
    all.extend_from_slice(args);
    all.push("--json");
    s.tpm(all)
        .ok()
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn logs_filters_by_stream_by_text_and_by_time() {
    let s = Sandbox::new();
    s.file(
        "mixed.sh",
        "PORT=3410\nfor i in 1 2 3; do echo \"out $i\"; echo \"err $i\" >&2; done\necho 'GET /health 200'\nsleep 300\n",
        0o644,
    );
    s.tpm(["start", "mixed.sh"]).ok();
    wait_for("all lines", || {
        s.log("mixed-3410", "out").contains("health")
    });
    wait_for("stderr", || s.log("mixed-3410", "err").contains("err 3"));
    assert_eq!(
        json_lines(&s, &["mixed-3410", "--err"]),
        ["err 1", "err 2", "err 3"]
    );
    assert_eq!(
        json_lines(&s, &["mixed-3410", "--out", "--grep", "^out [23]$"]),
        ["out 2", "out 3"]
    );
    assert_eq!(
        json_lines(&s, &["mixed-3410", "--grep", "health", "--since", "10m"]),
        ["GET /health 200"]
    );
    // Written just now: nothing up to an hour ago, nothing from an hour ahead.
    assert!(json_lines(&s, &["mixed-3410", "--until", "1h"]).is_empty());
    let later = (chrono::Local::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    assert!(json_lines(&s, &["mixed-3410", "--since", &later]).is_empty());
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    assert_eq!(json_lines(&s, &["mixed-3410", "--since", &today]).len(), 7);
    // --lines counts the lines shown, after filtering.
    assert_eq!(
        json_lines(&s, &["mixed-3410", "--out", "--grep", "[0-9]", "-n", "2"]),
        ["out 3", "GET /health 200"]
    );
    for bad in [
        &["mixed-3410", "--since", "yesterday-ish"][..],
        &["mixed-3410", "--grep", "(unclosed"],
        &["mixed-3410", "--out", "--err"],
    ] {
        let mut args = vec!["logs"];
        args.extend_from_slice(bad);
        let run = s.tpm(args);
        run.code(64);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[test]
fn logs_filters_reach_back_into_compressed_files() {
    let s = Sandbox::new();
    s.file(
        "many.sh",
        "PORT=3411\nfor i in $(seq 1 400); do echo \"line $i\"; done\nsleep 300\n",
        0o644,
    );
    s.tpm([
        "start",
        "many.sh",
        "--max-log-size",
        "1K",
        "--log-keep",
        "100",
    ])
    .ok();
    let logs = s.store().join("logs");
    wait_for("the last line and compressed files", || {
        s.log("many-3411", "out").contains("line 400") && logs.join("many-3411.out.5.gz").exists()
    });
    assert_eq!(
        json_lines(&s, &["many-3411", "--grep", "^line (7|77|377)$"]),
        ["line 7", "line 77", "line 377"]
    );
}

#[test]
fn flush_empties_the_logs_and_logging_goes_on() {
    let s = Sandbox::new();
    s.file(
        "chatty.sh",
        "PORT=3412\nfor i in $(seq 1 200); do echo \"line $i\"; done\nwhile :; do [ -e go ] && { read -r x < go; echo \"after $x\"; rm -f go; }; sleep 0.05; done\n",
        0o644,
    );
    s.file("quiet.sh", "PORT=3413\necho hello\nsleep 300\n", 0o644);
    s.tpm(["start", "chatty.sh", "--max-log-size", "1K"]).ok();
    s.tpm(["start", "quiet.sh"]).ok();
    let logs = s.store().join("logs");
    wait_for("rotated logs", || {
        s.log("chatty-3412", "out").contains("line 200")
            && logs.join("chatty-3412.out.2.gz").exists()
    });
    wait_for("hello", || s.log("quiet-3413", "out").contains("hello"));
    let run = s.tpm(["flush", "chatty-3412", "--json"]);
    let flushed = run.ok().json();
    assert_eq!(flushed[0]["name"], "chatty-3412");
    assert!(flushed[0]["freed"].as_u64().unwrap() > 1000, "{flushed}");
    assert!(flushed[0]["removed"].as_u64().unwrap() >= 2, "{flushed}");
    assert_eq!(s.log("chatty-3412", "out"), "");
    let left: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with("chatty-3412.out."))
        .collect();
    assert!(left.is_empty(), "rotated files removed: {left:?}");
    assert!(json_lines(&s, &["chatty-3412"]).is_empty());
    assert_eq!(
        json_lines(&s, &["quiet-3413"]),
        ["hello"],
        "others keep theirs"
    );
    // The running process logs on, into the emptied file, from its start.
    s.file("go", "1\n", 0o644);
    wait_for("a new line", || {
        s.log("chatty-3412", "out").contains("after 1")
    });
    assert_eq!(json_lines(&s, &["chatty-3412"]), ["after 1"]);
    // Without a name: every process.
    let run = s.tpm(["flush"]);
    assert!(
        run.ok().stdout.contains("flushed quiet-3413"),
        "{}",
        run.stdout
    );
    assert_eq!(s.log("quiet-3413", "out"), "");
    s.tpm(["flush", "nosuch-1"]).code(1);
}

#[test]
fn follow_of_star_picks_up_a_process_started_later() {
    let s = Sandbox::new();
    s.file("first.sh", "PORT=3414\necho first up\nsleep 300\n", 0o644);
    s.file(
        "later.sh",
        "PORT=3415\nfor i in 1 2 3; do echo \"later $i\"; done\nsleep 300\n",
        0o644,
    );
    s.tpm(["start", "first.sh"]).ok();
    wait_for("first", || s.log("first-3414", "out").contains("first up"));
    let mut c = s.command();
    c.args(["logs", "*", "-f", "--out"]);
    let mut follower = Follower::spawn(c);
    let got = follower.until(|l| l.ends_with("first up"));
    assert!(got.last().unwrap().starts_with("first-3414 | "), "{got:?}");
    s.tpm(["start", "later.sh"]).ok();
    // A process started after following began: from its first line.
    let got = follower.until(|l| l.ends_with("later 3"));
    let later: Vec<&String> = got
        .iter()
        .filter(|l| l.starts_with("later-3415 | "))
        .collect();
    assert_eq!(later.len(), 3, "{got:?}");
    assert!(later[0].ends_with("later 1"), "{got:?}");
    // One that has rotated its log before it is found: from its first line too.
    s.file(
        "fast.sh",
        "PORT=3417\nseq 1 5000 | sed 's/^/fast /'\nsleep 300\n",
        0o644,
    );
    s.tpm([
        "start",
        "fast.sh",
        "--max-log-size",
        "8K",
        "--log-keep",
        "100",
    ])
    .ok();
    let fast: Vec<u32> = follower
        .until(|l| l.ends_with("fast 5000"))
        .iter()
        .filter(|l| l.starts_with("fast-3417 | "))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(
        s.store().join("logs/fast-3417.out.2").exists()
            || s.store().join("logs/fast-3417.out.2.gz").exists()
    );
    assert_eq!(fast, (1..=5000).collect::<Vec<_>>());
}

#[test]
fn follow_of_star_with_no_process_yet_waits_for_one() {
    let s = Sandbox::new();
    s.file("late.sh", "PORT=3416\necho late line\nsleep 300\n", 0o644);
    let mut c = s.command();
    c.args(["logs", "*", "-f"]);
    let mut follower = Follower::spawn(c);
    s.tpm(["start", "late.sh"]).ok();
    let got = follower.until(|l| l.ends_with("late line"));
    assert!(got.last().unwrap().starts_with("late-3416 | "), "{got:?}");
}

#[test]
fn time_rotation_turns_at_the_hour_between_lines() {
    use chrono::{Local, TimeZone, Timelike};
    let s = Sandbox::new();
    s.file(
        "clock.sh",
        "PORT=3417\ni=0\nwhile [ $i -lt 60 ]; do echo \"tick $i\"; i=$((i+1)); sleep 0.1; done\nsleep 300\n",
        0o644,
    );
    // The log clock is moved to 2 s before the next local hour: no test waits an hour.
    let now = Local::now();
    let top = now.timestamp() - i64::from(now.minute()) * 60 - i64::from(now.second()) + 3600;
    let skew = (top - 2 - now.timestamp()).to_string();
    s.tpm_env(
        &[("TPM_LOG_CLOCK_SKEW", skew.as_str())],
        ["start", "clock.sh", "--log-rotate", "hourly"],
    )
    .ok();
    let logs = s.store().join("logs");
    wait_for("the last tick", || {
        s.log("clock-3417", "out").contains("tick 59")
    });
    let before = std::fs::read_to_string(logs.join("clock-3417.out.1")).unwrap();
    let after = s.log("clock-3417", "out");
    let hour = |line: &str| {
        let naive =
            chrono::NaiveDateTime::parse_from_str(&line[..19], "%Y-%m-%d %H:%M:%S").unwrap();
        Local
            .from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .timestamp()
    };
    assert!(
        before.lines().count() > 3 && after.lines().count() > 3,
        "{before}\n--\n{after}"
    );
    assert!(
        before.lines().all(|l| hour(l) < top),
        "all before the hour: {before}"
    );
    assert!(
        after.lines().all(|l| hour(l) >= top),
        "all from the hour on: {after}"
    );
    // Consecutive across the turn: no line lost or split.
    let ticks: Vec<u32> = before
        .lines()
        .chain(after.lines())
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ticks, (0..60).collect::<Vec<_>>());
    let p = s.get("clock-3417").unwrap();
    assert_eq!(p["status"], "online", "{p}");
}

#[test]
fn rotated_logs_past_their_age_or_the_total_are_removed_oldest_first() {
    let s = Sandbox::new();
    // Bursts of 100 lines (~3 KB), a file each KiB; `go` starts the next burst.
    s.file(
        "bursts.sh",
        "PORT=3418\nb=0\nwhile :; do if [ -e go ] || [ $b = 0 ]; then rm -f go; b=$((b+1)); for i in $(seq 1 100); do echo \"burst $b line $i\"; done; fi; sleep 0.05; done\n",
        0o644,
    );
    s.tpm([
        "start",
        "bursts.sh",
        "--max-log-size",
        "1K",
        "--log-keep",
        "100",
        "--log-max-age",
        "2s",
    ])
    .ok();
    let logs = s.store().join("logs");
    wait_for("the first burst", || {
        s.log("bursts-3418", "out").contains("burst 1 line 100")
    });
    let rotated = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| f.starts_with("bursts-3418.out."))
            })
            .collect()
    };
    assert!(rotated().len() >= 2, "{:?}", rotated());
    // The age of the files is the length of the wait, not a condition to poll for.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    s.file("go", "", 0o644);
    // Left of the first burst: only its end, in the file it shared with the second.
    wait_for("the old burst's files removed", || {
        s.log("bursts-3418", "out").contains("burst 2 line 100")
            && json_lines(&s, &["bursts-3418", "-n", "1000"])
                .iter()
                .filter(|l| l.starts_with("burst 1 "))
                .count()
                < 30
    });
    assert!(!rotated().is_empty(), "the second burst's files stay");

    // By total size: 6 KiB for everything; files of 1 KiB, plain.
    s.file(
        "total.sh",
        "PORT=3419\nfor i in $(seq 1 600); do echo \"total line $i\"; done\nsleep 300\n",
        0o644,
    );
    s.tpm([
        "start",
        "total.sh",
        "--max-log-size",
        "1K",
        "--log-keep",
        "100",
        "--log-max-total",
        "6K",
        "--no-log-compress",
    ])
    .ok();
    let total = || -> u64 {
        std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().starts_with("total-3419."))
            .map(|e| e.metadata().unwrap().len())
            .sum()
    };
    wait_for("under the total", || {
        s.log("total-3419", "out").contains("total line 600") && total() <= 6 * 1024
    });
    // What is left is the newest lines, whole and in order.
    let left = json_lines(&s, &["total-3419", "-n", "1000", "--out"]);
    assert!(left.len() > 50, "{}", left.len());
    let expected: Vec<String> = (601 - left.len()..=600)
        .map(|i| format!("total line {i}"))
        .collect();
    assert_eq!(left, expected);
}

#[test]
fn describe_shows_every_log_option_and_where_files_really_rotate() {
    let s = Sandbox::new();
    s.file("quiet.sh", "PORT=3421\nexec sleep 1000\n", 0o644);
    s.tpm([
        "start",
        "quiet.sh",
        "--max-log-size",
        "64K",
        "--log-max-total",
        "200K",
        "--log-max-age",
        "7d",
        "--log-rotate",
        "hourly",
    ])
    .ok();
    let d = s.tpm(["describe", "quiet-3421", "--json"]).ok().json();
    assert_eq!(d["log_max_size"], 64 * 1024);
    assert_eq!(d["log_rotate"], "hourly");
    assert_eq!(d["log_max_age"], 7 * 86_400_000u64);
    assert_eq!(d["log_max_total"], 200 * 1024);
    assert_eq!(d["log_compress"], true);
    // A quarter of the total, which is smaller than the size given.
    assert_eq!(d["log_rotate_size"], 50 * 1024);
    let text = s.tpm(["describe", "quiet-3421"]).ok().stdout.clone();
    assert!(
        text.contains(
            "rotated past 50kb, 5 kept, and hourly, older ones compressed, removed after 7d, all under 200kb"
        ),
        "{text}"
    );
}
