//! `tpm logs`: the last N timestamped lines, stdout and stderr, one process or all.

use tpm_testkit::{wait_for, Follower, Sandbox};

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
    // 300 lines of about 32 bytes: ~9.6 KB through files of at most 2 KiB, 3 kept.
    s.file(
        "noisy.sh",
        "PORT=3406\nfor i in $(seq 1 300); do echo \"line $i\"; done\nsleep 300\n",
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
    let sizes: Vec<u64> = [
        "noisy-3406.out",
        "noisy-3406.out.1",
        "noisy-3406.out.2",
        "noisy-3406.out.3",
    ]
    .iter()
    .map(|f| {
        std::fs::metadata(logs.join(f))
            .map(|m| m.len())
            .unwrap_or(0)
    })
    .collect();
    assert!(
        sizes[1..].iter().all(|&n| n > 0 && n <= 2048),
        "rotated files: {sizes:?}"
    );
    assert!(!logs.join("noisy-3406.out.4").exists(), "only 3 kept");
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
        s.store().join("logs/tick-3407.out.3").exists(),
        "it rotated while followed"
    );
    assert_eq!(
        got,
        (1..=400).collect::<Vec<_>>(),
        "every line once, in order"
    );
}
