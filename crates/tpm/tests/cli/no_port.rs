//! Processes without a PORT (workers, bots, cron jobs, `npm start` front ends): named by
//! their name alone, through every command; names as pm2 users write them; and
//! `stop|restart|delete FILE` finding a file's apps by what started them.

use std::process::Command;

use serde_json::Value;
use tpm_testkit::{free_port, program, wait_for, Sandbox};

const WORKER: &str =
    "#!/usr/bin/env bash\necho \"worker up PORT=${PORT:-none}\"\nwhile true; do sleep 1; done\n";

fn names(s: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = s
        .list()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn a_script_without_a_port_exits_65_and_the_help_names_no_port() {
    let s = Sandbox::new();
    s.file("worker.sh", WORKER, 0o755);
    let run = s.tpm(["start", "worker.sh"]);
    run.code(65);
    assert!(run.stderr.contains("--no-port"), "{}", run.stderr);
    assert!(s.list().is_empty());
    let help = s.tpm(["start", "--help"]);
    help.ok();
    assert!(help.stdout.contains("--no-port"), "{}", help.stdout);
    // A PORT and none at once is a contradiction.
    s.tpm(["start", "worker.sh", "--no-port", "--port", "3000"])
        .code(64);
}

#[test]
fn a_worker_runs_through_list_ports_describe_reload_and_events() {
    let s = Sandbox::new();
    s.file("worker.sh", WORKER, 0o755);
    let run = s.tpm(["start", "worker.sh", "--no-port"]);
    run.ok();
    assert!(run.stdout.starts_with("started worker "), "{}", run.stdout);
    let p = s.wait_status("worker", "online");
    assert_eq!(p["port"], Value::Null, "{p}");
    wait_for("worker's first line", || {
        s.log("worker", "out").contains("worker up PORT=none")
    });
    // Ready once it runs: nothing to listen on.
    wait_for("worker ready", || s.get("worker").unwrap()["ready"] == true);
    assert!(
        s.record("worker").contains(" port='' "),
        "{}",
        s.record("worker")
    );
    // tpm ports lists ports: a worker has none, so no line.
    let ports = s.tpm(["ports", "--json"]).ok().json();
    assert_eq!(ports, serde_json::json!([]));
    let d = s.tpm(["describe", "worker", "--json"]).ok().json();
    assert_eq!(d["port"], Value::Null, "{d}");
    let text = s.tpm(["describe", "worker"]);
    assert!(text.ok().stdout.contains("none"), "{}", text.stdout);
    let table = s.tpm(["list"]);
    assert!(table.ok().stdout.contains("worker"), "{}", table.stdout);
    let reloaded = s.tpm(["reload", "worker", "--json"]);
    reloaded.ok();
    let after = s.wait_status("worker", "online");
    assert_eq!(after["restarts"], 1, "{after}");
    let events = s.tpm(["events", "worker", "--json"]);
    assert!(events.ok().stdout.contains("ready"), "{}", events.stdout);
    // Its environment names no PORT of tpm's.
    s.tpm(["stop", "worker"]).ok();
    s.tpm(["start", "worker"]).ok();
    s.wait_status("worker", "online");
}

#[test]
fn worker_and_worker_3000_are_two_processes() {
    let s = Sandbox::new();
    s.file("worker.sh", WORKER, 0o755);
    s.tpm(["start", "worker.sh", "--no-port"]).ok();
    let port = free_port().to_string();
    s.tpm(["start", "worker.sh", "--port", &port, "--force"])
        .ok();
    let with_port = format!("worker-{port}");
    assert_eq!(names(&s), [String::from("worker"), with_port.clone()]);
    s.wait_status("worker", "online");
    s.wait_status(&with_port, "online");
    // Each is reached by its own name: stopping one leaves the other.
    s.tpm(["stop", "worker"]).ok();
    assert_eq!(s.get("worker").unwrap()["status"], "stopped");
    assert_eq!(s.get(&with_port).unwrap()["status"], "online");
    s.tpm(["stop", &with_port]).ok();
    s.tpm(["start", "worker"]).ok();
    assert_eq!(s.get("worker").unwrap()["port"], Value::Null);
    assert_eq!(s.get(&with_port).unwrap()["status"], "stopped");
}

#[test]
fn ecosystem_apps_without_a_port_start_without_one_and_scale() {
    let s = Sandbox::new();
    s.file("worker.sh", WORKER, 0o755);
    s.file(
        "ecosystem.json",
        r#"{"apps": [
            {"name": "queue", "script": "worker.sh", "instances": 2},
            {"name": "bot", "script": "worker.sh", "port": false},
            {"name": "cron", "script": "worker.sh", "port": null}
        ]}"#,
        0o644,
    );
    s.tpm(["start", "ecosystem.json"]).ok();
    assert_eq!(names(&s), ["bot", "cron", "queue-0", "queue-1"]);
    for name in ["bot", "cron", "queue-0", "queue-1"] {
        let p = s.wait_status(name, "online");
        assert_eq!(p["port"], Value::Null, "{p}");
    }
    wait_for("queue-1's line", || {
        s.log("queue-1", "out").contains("worker up PORT=none")
    });
    let out = s.tpm(["scale", "queue", "3", "--json"]).ok().json();
    assert_eq!(
        (out["from"].as_u64(), out["to"].as_u64()),
        (Some(2), Some(3))
    );
    let added = s.wait_status("queue-2", "online");
    assert_eq!(
        (added["port"].clone(), added["instance"].clone()),
        (Value::Null, 2.into())
    );
    let reload = s.tpm(["reload", "queue", "--json"]);
    reload.ok();
    // tpm dump writes it as pm2 files say it.
    let dump = s.tpm(["dump", "bot"]).ok().json();
    assert_eq!(dump["apps"][0]["port"], false, "{dump}");
    assert_eq!(dump["apps"][0]["name"], "bot");
}

#[test]
fn a_worker_is_resurrected_from_its_record_and_from_the_dump() {
    let s = Sandbox::new();
    s.file("worker.sh", WORKER, 0o755);
    s.tpm(["start", "worker.sh", "--no-port"]).ok();
    let first = s.wait_status("worker", "online");
    // Its supervisor killed: the process goes with it, the record says it was wanted.
    let spid = first["supervisor"].as_u64().unwrap().to_string();
    Command::new("kill")
        .args(["-KILL", &spid])
        .status()
        .unwrap();
    wait_for("the worker to be down", || {
        s.get("worker").unwrap()["status"] != "online"
    });
    let out = s.tpm(["resurrect"]);
    out.ok();
    let back = s.wait_status("worker", "online");
    assert_eq!(
        (back["port"].clone(), back["id"].clone()),
        (Value::Null, first["id"].clone())
    );
    // From the dump, into an empty store.
    s.tpm(["save"]).ok();
    s.tpm(["delete", "all"]).ok();
    assert!(s.list().is_empty());
    s.tpm(["resurrect"]).ok();
    assert_eq!(names(&s), ["worker"]);
    assert_eq!(s.wait_status("worker", "online")["port"], Value::Null);
}

#[test]
fn pm2_names_with_spaces_and_emoji_are_made_safe_and_still_pick_their_apps() {
    let s = Sandbox::new();
    s.file("worker.sh", WORKER, 0o755);
    s.file(
        "ecosystem.json",
        r#"{"apps": [
            {"name": "Test es6 modules", "script": "worker.sh"},
            {"name": "🏰 Watchtower", "script": "worker.sh"},
            {"name": "Server - Node.js", "script": "worker.sh"}
        ]}"#,
        0o644,
    );
    let run = s.tpm(["start", "ecosystem.json", "--only", "Test es6 modules"]);
    run.ok();
    assert!(
        run.stderr.contains("\"Test es6 modules\"") && run.stderr.contains("Test-es6-modules"),
        "{}",
        run.stderr
    );
    assert_eq!(names(&s), ["Test-es6-modules"]);
    assert!(
        s.record("Test-es6-modules")
            .contains("app='Test es6 modules'"),
        "{}",
        s.record("Test-es6-modules")
    );
    let run = s.tpm(["start", "ecosystem.json"]);
    run.ok();
    assert!(
        run.stderr.contains("🏰 Watchtower") && run.stderr.contains(" Watchtower "),
        "{}",
        run.stderr
    );
    assert_eq!(
        names(&s),
        ["Server-Node.js", "Test-es6-modules", "Watchtower"]
    );
    // --only takes the name as written or as made safe, with the file's commands too.
    s.tpm(["stop", "ecosystem.json", "--only", "🏰 Watchtower"])
        .ok();
    assert_eq!(s.get("Watchtower").unwrap()["status"], "stopped");
    assert_eq!(s.get("Test-es6-modules").unwrap()["status"], "online");
    s.tpm(["stop", "ecosystem.json", "--only", "Server-Node.js"])
        .ok();
    assert_eq!(s.get("Server-Node.js").unwrap()["status"], "stopped");
    let run = s.tpm(["stop", "ecosystem.json"]);
    run.ok();
    assert!(!run.stderr.contains("not started"), "{}", run.stderr);
    for p in s.list() {
        assert_eq!(p["status"], "stopped", "{p}");
    }
    s.tpm(["delete", "ecosystem.json"]).ok();
    assert!(s.list().is_empty());
}

#[test]
fn stop_file_finds_what_the_file_started_whatever_the_environment_says_now() {
    program("node");
    let s = Sandbox::new();
    s.file("api.sh", WORKER, 0o755);
    s.file("worker.sh", WORKER, 0o755);
    s.file(
        "ecosystem.config.js",
        "module.exports = { apps: [\n  { name: 'api', script: 'api.sh', env: { PORT: process.env.API_PORT || 5000 } },\n  { name: 'jobs', script: 'worker.sh' },\n] };\n",
        0o644,
    );
    let port = free_port().to_string();
    let api = format!("api-{port}");
    s.tpm_env(
        &[("API_PORT", &port)],
        ["start", "ecosystem.config.js", "--force"],
    )
    .ok();
    s.wait_status(&api, "online");
    s.wait_status("jobs", "online");
    // A shell without API_PORT: the file now names it api-5000, yet stops what it started.
    let run = s.tpm(["stop", "ecosystem.config.js"]);
    run.ok();
    assert!(!run.stderr.contains("api-5000"), "{}", run.stderr);
    assert_eq!(s.get(&api).unwrap()["status"], "stopped");
    assert_eq!(s.get("jobs").unwrap()["status"], "stopped");
    s.tpm_env(
        &[("API_PORT", &port)],
        ["start", "ecosystem.config.js", "--force"],
    )
    .ok();
    s.wait_status(&api, "online");
    // An app the file no longer has is named, and left alone.
    s.file(
        "ecosystem.config.js",
        "module.exports = { apps: [\n  { name: 'api', script: 'api.sh', env: { PORT: process.env.API_PORT || 5000 } },\n] };\n",
        0o644,
    );
    let run = s.tpm(["stop", "ecosystem.config.js"]);
    run.ok();
    assert!(
        run.stderr.contains("jobs") && run.stderr.contains("no longer has"),
        "{}",
        run.stderr
    );
    assert_eq!(s.get(&api).unwrap()["status"], "stopped");
    assert_eq!(s.get("jobs").unwrap()["status"], "online");
    s.tpm(["delete", "ecosystem.config.js"]).ok();
    assert_eq!(names(&s), ["jobs"]);
}
