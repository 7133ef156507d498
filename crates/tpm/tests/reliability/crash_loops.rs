//! The crash-loop verdict: a process that can never start is `errored` within 5 s at the
//! defaults, one that needs a couple of seconds before it comes up is not, and one that
//! crashes now and then is restarted for ever; `max_restarts` quick exits end a fast loop
//! sooner, wherever in a process's life it begins; the backoff holds between restarts.

use std::time::{Duration, Instant};

use tpm_testkit::{wait_for, Sandbox};

/// Start times (seconds, with nanoseconds) the script appended to `starts`.
fn starts(s: &Sandbox) -> Vec<f64> {
    std::fs::read_to_string(s.path().join("starts"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn crash_script(s: &Sandbox, port: u16, body: &str) {
    let starts = s.path().join("starts");
    s.file(
        "crash.sh",
        &format!("PORT={port}\ndate +%s.%N >> {}\n{body}\n", starts.display()),
        0o644,
    );
}

#[test]
fn a_process_that_can_never_start_is_errored_within_5s_at_the_defaults() {
    for (port, body) in [(4904u16, "exit 1"), (4905, "sleep 0.9\nexit 1")] {
        let s = Sandbox::new();
        crash_script(&s, port, body);
        let began = Instant::now();
        s.tpm(["start", "crash.sh"]).ok();
        let p = s.wait_status(&format!("crash-{port}"), "errored");
        let took = began.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "{body:?}: errored after {took:?}"
        );
        // Not before 3 s of trying, and at least 3 tries.
        assert!(
            took >= Duration::from_secs(3),
            "{body:?}: errored after {took:?}"
        );
        assert!(starts(&s).len() >= 3, "{p}");
        assert!(p["reason"].as_str().unwrap().contains("in a row"), "{p}");
    }
}

#[test]
fn a_slow_starter_that_fails_for_its_first_2s_ends_online() {
    let s = Sandbox::new();
    let first = s.path().join("first");
    // Fails at once until 2 s after its first start (a database not up yet), then serves.
    crash_script(
        &s,
        4906,
        &format!(
            "now=$(date +%s%N)\n[ -e {f} ] || echo $now > {f}\n\
             if [ $(( (now - $(cat {f})) / 1000000 )) -lt 2000 ]; then echo 'db not ready' >&2; exit 1; fi\n\
             echo up\nwhile true; do sleep 1; done",
            f = first.display()
        ),
    );
    s.tpm(["start", "crash.sh"]).ok();
    wait_for("it to come up", || {
        s.log("crash-4906", "out").contains("up")
    });
    let p = s.get("crash-4906").unwrap();
    assert_eq!(p["status"], "online", "{p}");
    assert!(starts(&s).len() >= 3, "it failed a few times first: {p}");
    // And it stays up: past min_uptime, no verdict can fall on it.
    let mut last = p;
    wait_for("2 s up", || {
        last = s.get("crash-4906").unwrap();
        last["uptime"].as_u64().unwrap_or(0) >= 2
    });
    assert_eq!(last["status"], "online", "{last}");
}

#[test]
fn a_process_that_exits_at_once_is_errored_after_max_restarts_quick_exits() {
    for max in [1u64, 3, 6] {
        let s = Sandbox::new();
        crash_script(&s, 4900, "exit 1");
        s.tpm([
            "start",
            "crash.sh",
            "--restart-delay",
            "0",
            "--max-restarts",
            &max.to_string(),
        ])
        .ok();
        let p = s.wait_status("crash-4900", "errored");
        assert_eq!(p["restarts"].as_u64(), Some(max - 1), "{p}");
        assert_eq!(starts(&s).len() as u64, max);
    }
}

#[test]
fn a_crash_loop_that_starts_late_in_life_is_caught_too() {
    let s = Sandbox::new();
    let flag = s.path().join("broken");
    // Healthy runs of 1.2s (not quick) until the flag appears, then immediate exits.
    crash_script(
        &s,
        4901,
        &format!("[ -e {} ] && exit 1\nsleep 1.2\nexit 1", flag.display()),
    );
    s.tpm([
        "start",
        "crash.sh",
        "--restart-delay",
        "0",
        "--max-restarts",
        "4",
    ])
    .ok();
    wait_for("three healthy runs", || starts(&s).len() >= 3);
    assert_eq!(s.get("crash-4901").unwrap()["status"], "online");
    let healthy = starts(&s).len();
    std::fs::write(&flag, "").unwrap();
    let p = s.wait_status("crash-4901", "errored");
    // The run in progress ends (not quick), then 4 quick exits in a row.
    let quick = starts(&s).len() - healthy;
    assert!(
        (4..=5).contains(&quick),
        "{quick} runs after the loop began; {p}"
    );
}

#[test]
fn the_backoff_holds_between_restarts() {
    let s = Sandbox::new();
    crash_script(&s, 4902, "exit 1");
    // --max-restarts 0: never give up, so the backoff can be watched for 10 s.
    s.tpm(["start", "crash.sh", "--max-restarts", "0"]).ok();
    // The first 10 s of a crash loop, with the default 100 ms doubling delay: restarts at
    // 0.1, 0.3, 0.7, 1.5, 3.1 and 6.3 s; the next is due at 12.7 s.
    let began = Instant::now();
    wait_for("10 s of crash loop", || {
        began.elapsed() >= Duration::from_secs(10)
    });
    let times = starts(&s);
    let t0 = times[0];
    let in_window = times.iter().filter(|&&t| t - t0 <= 10.0).count() - 1;
    assert!(
        (5..=6).contains(&in_window),
        "{in_window} restarts in 10 s: {times:?}"
    );
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, (gap, want)) in gaps.iter().zip([0.1, 0.2, 0.4, 0.8, 1.6, 3.2]).enumerate() {
        assert!(
            *gap >= want * 0.95,
            "gap {i}: {gap:.3}s, want at least {want}s: {gaps:?}"
        );
    }
    assert_eq!(s.get("crash-4902").unwrap()["status"], "waiting");
}

#[test]
fn a_process_that_crashes_rarely_is_restarted_indefinitely() {
    let s = Sandbox::new();
    crash_script(&s, 4903, "sleep 1.1\nexit 1");
    // Far more crashes than --max-restarts: none of them quick, so it never gives up.
    s.tpm([
        "start",
        "crash.sh",
        "--restart-delay",
        "0",
        "--max-restarts",
        "2",
    ])
    .ok();
    wait_for("six crashes", || starts(&s).len() >= 7);
    let p = s.get("crash-4903").unwrap();
    assert_ne!(p["status"], "errored", "{p}");
    assert!(p["restarts"].as_u64().unwrap() >= 6);
}
