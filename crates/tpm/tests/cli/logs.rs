//! `tpm logs`: the last N timestamped lines, stdout and stderr, one process or all.

use tpm_testkit::{wait_for, Sandbox};

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
fn follow_prints_new_lines_as_they_come() {
    use std::io::{BufRead, BufReader};
    let s = Sandbox::new();
    s.file(
        "tick.sh",
        "PORT=3405\nfor i in $(seq 1 1000); do echo tick $i; sleep 0.05; done\nsleep 300\n",
        0o644,
    );
    s.tpm(["start", "tick.sh"]).ok();
    let mut child = s
        .command()
        .args(["logs", "tick-3405", "-f", "--lines", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let ticks: Vec<String> = reader.lines().take(5).map(|l| l.unwrap()).collect();
    let _ = child.kill();
    let _ = child.wait();
    let numbers: Vec<u32> = ticks
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 5, "{ticks:?}");
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive: {numbers:?}"
    );
}
