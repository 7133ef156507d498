//! The restart policy: unasked exits restart with backoff; a process that keeps dying at
//! once ends `errored` and is left alone.

use tpm_testkit::{alive, wait_for, Sandbox};

#[test]
fn a_process_that_exits_is_restarted_and_restarts_rise() {
    let s = Sandbox::new();
    s.file("flaky.sh", "PORT=3500\necho up\nsleep 0.3\nexit 1\n", 0o644);
    s.tpm(["start", "flaky.sh", "--restart-delay", "0"]).ok();
    let mut last = serde_json::Value::Null;
    wait_for("three restarts", || {
        last = s.get("flaky-3500").unwrap();
        last["restarts"].as_u64().unwrap_or(0) >= 3
    });
    assert_eq!(last["exit_code"], 1);
    assert!(s.log("flaky-3500", "err").contains("exited with code 1"));
}

#[test]
fn a_process_that_always_fails_ends_errored_and_is_not_restarted() {
    let s = Sandbox::new();
    s.file("broken.sh", "PORT=3501\necho trying\nexit 2\n", 0o644);
    // A long min_uptime keeps the time-based verdict (3 min_uptimes of crash loop) out of
    // reach on a loaded machine: this test is about the count.
    s.tpm([
        "start",
        "broken.sh",
        "--max-restarts",
        "4",
        "--min-uptime",
        "60s",
    ])
    .ok();
    let p = s.wait_status("broken-3501", "errored");
    assert_eq!(
        p["restarts"],
        3,
        "4 quick exits: the first run and 3 restarts: {p}\n{}",
        s.log("broken-3501", "err")
    );
    assert!(
        p["reason"].as_str().unwrap().contains("4 times in a row"),
        "{p}"
    );
    // No supervisor is left to restart it: the proof it stays down.
    let spid = s
        .record_field("broken-3501", "spid")
        .expect("spid in the record") as u32;
    wait_for("the supervisor to exit", || !alive(spid));
    assert!(p["supervisor"].is_null());
    assert_eq!(s.log("broken-3501", "out").matches("trying").count(), 4);
    // A user's restart brings it back for another round.
    s.tpm(["restart", "broken-3501"]).ok();
    wait_for("a fifth run", || {
        s.log("broken-3501", "out").matches("trying").count() >= 5
    });
    // 4, or more if the new run has already failed and been restarted by the policy.
    let restarts = s.get("broken-3501").unwrap()["restarts"].as_u64().unwrap();
    assert!(restarts >= 4, "restarts after a user's restart: {restarts}");
}

#[test]
fn no_autorestart_leaves_an_exited_process_stopped() {
    let s = Sandbox::new();
    s.file("once.sh", "PORT=3502\necho done\nexit 0\n", 0o644);
    s.file("fail.sh", "PORT=3503\nexit 7\n", 0o644);
    s.tpm(["start", "once.sh", "--no-autorestart"]).ok();
    s.tpm(["start", "fail.sh", "--no-autorestart"]).ok();
    let p = s.wait_status("once-3502", "stopped");
    assert_eq!(
        (p["restarts"].as_u64(), p["exit_code"].as_i64()),
        (Some(0), Some(0))
    );
    let p = s.wait_status("fail-3503", "errored");
    assert_eq!(p["exit_code"], 7);
}

#[test]
fn zero_delay_restarts_reach_errored_after_ten_quick_exits_by_default() {
    let s = Sandbox::new();
    s.file("crash.sh", "PORT=3504\nexit 1\n", 0o644);
    s.tpm(["start", "crash.sh", "--restart-delay", "0"]).ok();
    let p = s.wait_status("crash-3504", "errored");
    assert_eq!(p["restarts"], 9);
}

#[test]
fn a_program_gone_for_good_at_zero_delay_keeps_its_supervisor_responsive() {
    // Each restart fails to spawn (the program was removed) and is retried at once, for
    // ever: the supervisor must still answer a stop.
    let s = Sandbox::new();
    let program = s.file("vanish", "#!/bin/sh\nsleep 0.2\nexit 1\n", 0o755);
    s.tpm([
        "start",
        "./vanish",
        "--port",
        "3507",
        "--restart-delay",
        "0",
        "--max-restarts",
        "0",
    ])
    .ok();
    std::fs::remove_file(&program).unwrap();
    wait_for("failed restarts", || {
        s.log("vanish-3507", "err").matches("cannot run").count() >= 3
    });
    s.tpm(["stop", "vanish-3507"]).ok();
    assert_eq!(s.get("vanish-3507").unwrap()["status"], "stopped");
}

#[test]
fn stop_exit_codes_are_a_normal_end_and_not_restarted() {
    let s = Sandbox::new();
    s.file("job.sh", "PORT=3508\necho ran\nexit 3\n", 0o644);
    s.tpm(["start", "job.sh", "--stop-exit-codes", "0,3"]).ok();
    let p = s.wait_status("job-3508", "stopped");
    assert_eq!(
        (p["exit_code"].as_i64(), p["restarts"].as_u64()),
        (Some(3), Some(0))
    );
    assert!(p["reason"].as_str().unwrap().contains("normal end"), "{p}");
    assert_eq!(s.log("job-3508", "out").matches("ran").count(), 1);
    // Another code is still a crash.
    s.file("other.sh", "PORT=3509\nexit 4\n", 0o644);
    s.tpm([
        "start",
        "other.sh",
        "--stop-exit-codes",
        "3",
        "--max-restarts",
        "2",
    ])
    .ok();
    s.wait_status("other-3509", "errored");
}

#[test]
fn the_stop_signal_is_what_a_stop_sends() {
    let s = Sandbox::new();
    // Ignores TERM; ends cleanly on QUIT, saying so. One process (no child to dump core).
    s.file(
        "nginxish.py",
        "PORT = 3510\nimport signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n\
         def quit(*_):\n    print('got QUIT', flush=True)\n    sys.exit(0)\n\
         signal.signal(signal.SIGQUIT, quit)\nprint('up', flush=True)\nwhile True:\n    time.sleep(0.1)\n",
        0o644,
    );
    s.tpm([
        "start",
        "nginxish.py",
        "--stop-signal",
        "QUIT",
        "--kill-timeout",
        "20s",
    ])
    .ok();
    wait_for("it to be up", || {
        s.log("nginxish-3510", "out").contains("up")
    });
    let began = std::time::Instant::now();
    s.tpm(["stop", "nginxish-3510"]).ok();
    // Ended by QUIT, not by KILL after the 20 s timeout.
    assert!(began.elapsed() < std::time::Duration::from_secs(10));
    assert!(s.log("nginxish-3510", "out").contains("got QUIT"));
    assert!(s.record("nginxish-3510").contains("stop_signal=SIGQUIT"));
    let bad = s.tpm(["start", "nginxish.py", "--stop-signal", "LOUDLY"]);
    bad.code(64);
}

#[test]
fn a_process_past_max_memory_is_restarted_and_the_event_says_why() {
    let s = Sandbox::new();
    // Holds 100 MB of touched memory, for ever.
    s.file(
        "hog.py",
        "PORT = 3511\nimport time\nblob = bytearray(100 * 1024 * 1024)\nfor i in range(0, len(blob), 4096):\n    blob[i] = 1\nprint('holding', flush=True)\nwhile True:\n    time.sleep(1)\n",
        0o644,
    );
    s.tpm(["start", "hog.py", "--max-memory", "50M"]).ok();
    let mut last = serde_json::Value::Null;
    wait_for("a restart for memory", || {
        last = s.get("hog-3511").unwrap();
        last["restarts"].as_u64().unwrap_or(0) >= 1
    });
    let events = s.tpm(["events", "hog-3511", "--json"]);
    let restart = events
        .stdout
        .lines()
        .find(|l| l.contains("restart_scheduled"))
        .expect("a restart_scheduled event");
    assert!(restart.contains(r#""by":"max_memory""#), "{restart}");
    assert!(restart.contains("max_memory_restart (50M)"), "{restart}");
    // Not a crash: never errored, however often it happens.
    assert_ne!(last["status"], "errored", "{last}");
    assert!(s
        .log("hog-3511", "err")
        .contains("stayed over max_memory_restart"));
    s.tpm(["start", "hog.py", "--name", "x", "--max-memory", "lots"])
        .code(64);
}

#[test]
fn pm2s_policy_fields_in_an_ecosystem_file_are_read_and_dumped_back() {
    let s = Sandbox::new();
    s.file(
        "w.sh",
        "echo 'server ready'\nwhile true; do sleep 1; done\n",
        0o644,
    );
    s.file(
        "ecosystem.json",
        r#"{"apps": [{"name": "w", "script": "w.sh", "port": 3512,
            "min_uptime": "2s", "stop_signal": "SIGINT", "stop_exit_codes": [0, 143],
            "max_memory_restart": "300M", "cron_restart": "0 4 * * *",
            "watch": true, "ignore_watch": ["*.log"],
            "ready_line": "ready", "wait_ready": true, "listen_timeout": 5000}]}"#,
        0o644,
    );
    let out = s.tpm(["start", "ecosystem.json"]);
    out.ok();
    assert!(!out.stderr.contains("ignored"), "{}", out.stderr);
    let d = s.tpm(["describe", "w-3512", "--json"]).ok().json();
    assert_eq!(d["ready"], true, "waited for: {d}");
    for (key, want) in [
        ("min_uptime", serde_json::json!(2000)),
        ("stop_signal", serde_json::json!("SIGINT")),
        ("stop_exit_codes", serde_json::json!([0, 143])),
        ("max_memory", serde_json::json!(300 << 20)),
        ("cron_restart", serde_json::json!("0 4 * * *")),
        ("ignore_watch", serde_json::json!(["*.log"])),
        ("ready_check", serde_json::json!("line /ready/")),
        ("wait_ready", serde_json::json!(true)),
        ("wait_timeout", serde_json::json!(5000)),
    ] {
        assert_eq!(d[key], want, "{key}: {d}");
    }
    let dump = s.tpm(["dump", "--json"]).ok().stdout.clone();
    for field in [
        r#""min_uptime": 2000"#,
        r#""stop_signal": "SIGINT""#,
        r#""max_memory_restart": 314572800"#,
        r#""cron_restart": "0 4 * * *""#,
        r#""ignore_watch""#,
        r#""ready_line": "ready""#,
        r#""wait_ready": true"#,
        r#""listen_timeout": 5000"#,
    ] {
        assert!(dump.contains(field), "{field} in {dump}");
    }
}
