//! `--watch`: a change under the watched folder restarts the process once, a burst of
//! changes is one restart (or two), and what is left out (node_modules, .git, tpm's store,
//! `--watch-ignore` globs) restarts nothing. Each is a real file written in a real folder.

use serde_json::Value;
use tpm_testkit::{wait_for, Sandbox};

const NAME: &str = "server-3700";

fn app(s: &Sandbox) {
    s.file(
        "app/server.sh",
        "PORT=3700\necho up\nwhile true; do sleep 1; done\n",
        0o644,
    );
    s.file("app/config.json", "{}", 0o644);
    s.file("app/node_modules/dep/index.js", "", 0o644);
    s.tpm([
        "start",
        "app/server.sh",
        "--watch=app",
        "--watch-ignore",
        "*.log",
    ])
    .ok();
    wait_for("it to watch", || s.log(NAME, "err").contains("watching"));
}

fn restarts(s: &Sandbox) -> u64 {
    s.get(NAME).unwrap()["restarts"].as_u64().unwrap()
}

/// Waits until the current run has lasted `secs` seconds: long past the debounce (2 s at
/// most), so a restart still to come would have come.
fn settled(s: &Sandbox, secs: u64) -> Value {
    let mut last = Value::Null;
    wait_for("a settled run", || {
        last = s.get(NAME).unwrap();
        last["uptime"].as_u64().unwrap_or(0) >= secs
    });
    last
}

#[test]
fn one_write_is_one_restart() {
    let s = Sandbox::new();
    app(&s);
    std::fs::write(s.path().join("app/config.json"), r#"{"debug": true}"#).unwrap();
    wait_for("a restart", || restarts(&s) >= 1);
    let p = settled(&s, 3);
    assert_eq!(p["restarts"], 1, "{p}");
    let events = s.tpm(["events", NAME, "--json"]);
    assert!(
        events.stdout.contains(r#""by":"watch""#),
        "{}",
        events.stdout
    );
    assert!(
        events.stdout.contains("config.json changed"),
        "{}",
        events.stdout
    );
}

#[test]
fn fifty_quick_writes_are_one_or_two_restarts() {
    let s = Sandbox::new();
    app(&s);
    for i in 0..50 {
        std::fs::write(
            s.path().join(format!("app/file{}.js", i % 7)),
            i.to_string(),
        )
        .unwrap();
    }
    wait_for("a restart", || restarts(&s) >= 1);
    let p = settled(&s, 3);
    let n = p["restarts"].as_u64().unwrap();
    assert!((1..=2).contains(&n), "{n} restarts: {p}");
}

#[test]
fn writes_in_node_modules_git_or_ignored_files_restart_nothing() {
    let s = Sandbox::new();
    app(&s);
    s.file("app/node_modules/dep/index.js", "changed", 0o644);
    s.file("app/node_modules/new/deep/x.js", "new", 0o644);
    s.file("app/.git/HEAD", "ref", 0o644);
    s.file("app/server.log", "a log line", 0o644);
    let p = settled(&s, 3);
    assert_eq!(p["restarts"], 0, "{p}");
    // A folder made after the start is watched too.
    s.file("app/src/new.js", "x", 0o644);
    wait_for("a restart", || restarts(&s) >= 1);
}

#[test]
fn watch_needs_a_path_that_exists_and_ignore_needs_watch() {
    let s = Sandbox::new();
    s.file("w.sh", "PORT=3701\nsleep 100\n", 0o644);
    let out = s.tpm(["start", "w.sh", "--watch=nope"]);
    out.code(64);
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
    s.tpm(["start", "w.sh", "--watch-ignore", "*.log"]).code(64);
    // `--watch` alone watches the cwd; the next word is still the script.
    s.tpm(["start", "--watch", "w.sh"]).ok();
    let d = s.tpm(["describe", "w-3701", "--json"]).ok().json();
    assert_eq!(d["watch"][0], s.path().to_str().unwrap(), "{d}");
}
