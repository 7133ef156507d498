//! Dependencies between apps (`depends_on`): a file's apps started in order, each once
//! what it depends on meets its condition, stopped in reverse; a cycle or a missing
//! dependency refused before anything starts; a failing dependency stopping the start.

use serde_json::Value;
use tpm_testkit::{free_port, Sandbox};

/// The time (ms) of `name`'s first event of `kind` (its last when `last`).
fn event_time(s: &Sandbox, name: &str, kind: &str, last: bool) -> i64 {
    // One JSON object a line.
    let events = s
        .tpm(["events", name, "--json", "--lines", "1000"])
        .ok()
        .stdout
        .clone();
    let times: Vec<i64> = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("an event"))
        .filter(|e| e["event"] == kind)
        .map(|e| e["time_ms"].as_i64().expect("time_ms"))
        .collect();
    let found = if last { times.last() } else { times.first() };
    *found.unwrap_or_else(|| panic!("{name} has no {kind} event: {events}"))
}

/// A server that listens on its PORT only after a second, answering HTTP.
const SLOW_SERVER: &str = "sleep 1\nexec python3 -m http.server \"$PORT\" --bind 127.0.0.1\n";

/// A server that first checks `DB_PORT` accepts connections (exit 3 if not), says so,
/// then serves.
const NEEDS_DB: &str = "python3 -c \"import os, socket; socket.create_connection(('127.0.0.1', int(os.environ['DB_PORT'])), 2)\" || { echo 'db is down'; exit 3; }\necho 'db was up'\nexec python3 -m http.server \"$PORT\" --bind 127.0.0.1\n";

#[test]
fn a_stack_starts_in_dependency_order_and_stops_in_reverse() {
    let s = Sandbox::new();
    let (db, api, web) = (free_port(), free_port(), free_port());
    s.file("db.sh", SLOW_SERVER, 0o644);
    s.file("api.sh", NEEDS_DB, 0o644);
    s.file("web.sh", SLOW_SERVER, 0o644);
    // Written dependants first: file order is not start order.
    s.file(
        "stack.yaml",
        &format!(
            "apps:\n  - name: web\n    script: web.sh\n    port: {web}\n    depends_on:\n      api:\n        condition: service_healthy\n  - name: api\n    script: api.sh\n    port: {api}\n    env:\n      DB_PORT: \"{db}\"\n    depends_on: [db]\n  - name: db\n    script: db.sh\n    port: {db}\n"
        ),
        0o644,
    );
    let (db, api, web) = (
        format!("db-{db}"),
        format!("api-{api}"),
        format!("web-{web}"),
    );
    let out = s.tpm(["start", "stack.yaml"]);
    out.ok();
    assert!(!out.stderr.contains("unknown field"), "{}", out.stderr);
    // api started only once db listened, and found it up.
    assert!(
        event_time(&s, &db, "ready", false) <= event_time(&s, &api, "start_requested", false),
        "api was started before db was ready"
    );
    assert!(
        event_time(&s, &api, "ready", false) <= event_time(&s, &web, "start_requested", false),
        "web was started before api was ready"
    );
    assert!(
        s.log(&api, "out").contains("db was up"),
        "{}",
        s.log(&api, "out")
    );
    // The record keeps them; describe shows them, and the dependants.
    assert!(
        s.record(&api).contains(&format!("depends_on={db}:ready")),
        "{}",
        s.record(&api)
    );
    let d = s.tpm(["describe", &api, "--json"]).ok().json();
    assert_eq!(d["depends_on"][0]["name"], Value::from(db.clone()));
    assert_eq!(d["depends_on"][0]["condition"], "ready");
    assert_eq!(d["dependants"], serde_json::json!([web.clone()]));
    let shown = s.tpm(["describe", &web]).ok().stdout.clone();
    assert!(shown.contains(&format!("{api} (healthy)")), "{shown}");

    // A restart of db alone leaves its dependants as they are; --with-dependants restarts
    // them, once db is ready again.
    let pid = |name: &str| s.get(name).unwrap()["pid"].clone();
    let api_pid = pid(&api);
    s.tpm(["restart", &db]).ok();
    assert_eq!(pid(&api), api_pid, "api was restarted with db");
    let out = s.tpm(["restart", &db, "--with-dependants", "--json"]);
    out.ok();
    let restarted: Vec<String> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(restarted, [db.clone(), api.clone(), web.clone()]);
    assert_ne!(pid(&api), api_pid, "api was not restarted");
    assert!(
        event_time(&s, &db, "ready", true) <= event_time(&s, &api, "start_requested", true),
        "api was started again before db was ready again"
    );

    // `restart FILE`: stopped in reverse, started again in order.
    s.tpm(["restart", "stack.yaml"]).ok();
    assert!(
        event_time(&s, &web, "stopped", true) <= event_time(&s, &db, "stop_requested", true),
        "db was asked to stop before web had stopped"
    );
    assert!(
        event_time(&s, &db, "ready", true) <= event_time(&s, &api, "start_requested", true),
        "api was started again before db was ready again"
    );

    // Stopped in reverse: each asked to stop once what depends on it had stopped.
    s.tpm(["stop", "stack.yaml"]).ok();
    assert!(
        event_time(&s, &web, "stopped", true) <= event_time(&s, &api, "stop_requested", true),
        "api was asked to stop before web had stopped"
    );
    assert!(
        event_time(&s, &api, "stopped", true) <= event_time(&s, &db, "stop_requested", true),
        "db was asked to stop before api had stopped"
    );
}

#[test]
fn a_cycle_and_a_missing_dependency_are_refused_before_anything_starts() {
    let s = Sandbox::new();
    s.file("job.sh", "exec sleep 100000\n", 0o644);
    s.file(
        "cycle.json",
        r#"{"apps": [
            {"name": "a", "script": "job.sh", "depends_on": ["b"]},
            {"name": "b", "script": "job.sh", "depends_on": {"c": {"condition": "started"}}},
            {"name": "c", "script": "job.sh", "depends_on": ["a"]},
            {"name": "d", "script": "job.sh", "depends_on": ["nowhere"]},
            {"name": "e", "script": "job.sh"}
        ]}"#,
        0o644,
    );
    let out = s.tpm(["start", "cycle.json"]);
    out.code(64);
    assert!(out.stderr.contains("a → b → c → a"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("nowhere is neither an app of this file nor a process tpm runs"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("help:"), "{}", out.stderr);
    assert!(
        s.list().is_empty(),
        "nothing is in the store: {:?}",
        s.list()
    );
    assert!(s.managed().is_empty(), "nothing runs");

    // An unknown condition or key is listed with the file's other problems (TOML here).
    s.file(
        "bad.toml",
        "[[apps]]\nname = \"api\"\nscript = \"job.sh\"\ndepends_on = { db = { condition = \"up\", restart = true } }\n\n[[apps]]\nname = \"db\"\nscript = \"missing.sh\"\n",
        0o644,
    );
    let out = s.tpm(["start", "bad.toml"]);
    out.code(64);
    for says in [
        "unknown condition \"up\"",
        "unknown key `restart`",
        "missing.sh",
    ] {
        assert!(out.stderr.contains(says), "{says}: {}", out.stderr);
    }
    assert!(s.list().is_empty(), "nothing is in the store");
}

#[test]
fn a_failing_dependency_stops_the_start_there_and_leaves_the_rest_running() {
    let s = Sandbox::new();
    let api = free_port();
    s.file("migrate.sh", "echo migrating\nexit 3\n", 0o644);
    s.file("api.sh", "exec sleep 100000\n", 0o644);
    s.file("side.sh", "exec sleep 100000\n", 0o644);
    let file = |migrate: &str| {
        format!(
            r#"[
                {{"name": "migrate", "script": "{migrate}", "autorestart": false}},
                {{"name": "api", "script": "api.sh", "port": {api}, "ready_check": false,
                  "depends_on": {{"migrate": {{"condition": "service_completed_successfully"}}}}}},
                {{"name": "side", "script": "side.sh"}}
            ]"#
        )
    };
    s.file("apps.json", &file("migrate.sh"), 0o644);
    let out = s.tpm(["start", "apps.json"]);
    out.code(1);
    let api = format!("api-{api}");
    assert!(
        out.stderr.contains(&format!(
            "{api} was not started: it depends on migrate (completed), which exited with code 3"
        )),
        "{}",
        out.stderr
    );
    assert!(s.get(&api).is_none(), "api has no record: {:?}", s.list());
    assert_eq!(s.wait_status("side", "online")["status"], "online");

    // Once the migration succeeds, the same file starts api after it.
    s.file("migrate-ok.sh", "echo migrated\n", 0o644);
    s.file("apps.json", &file("migrate-ok.sh"), 0o644);
    s.tpm(["start", "apps.json"]).ok();
    s.wait_status(&api, "online");
    assert!(
        event_time(&s, "migrate", "exited", true) <= event_time(&s, &api, "start_requested", false),
        "api was started before the migration ended"
    );
}

/// `healthy` waits for the dependency's liveness check to pass, not only for it to be
/// ready: a check that never passes stops the start at the dependency's wait timeout, and
/// one that passes lets the dependant start after the check's `health` event.
#[test]
fn a_healthy_condition_waits_for_the_liveness_check() {
    let s = Sandbox::new();
    s.file("db.sh", "exec sleep 100000\n", 0o644);
    s.file("api.sh", "exec sleep 100000\n", 0o644);
    let file = |wanted: &str| {
        format!(
            r#"[
                {{"name": "db", "script": "db.sh", "health_cmd": "test -e {wanted}",
                  "health_interval": "200ms", "health_retries": 1, "health_action": "mark",
                  "wait_timeout": "3s"}},
                {{"name": "api", "script": "api.sh",
                  "depends_on": {{"db": {{"condition": "service_healthy"}}}}}}
            ]"#
        )
    };
    // Ready (running, no PORT to wait for) but never healthy.
    s.file("apps.json", &file("never-there"), 0o644);
    let out = s.tpm(["start", "apps.json"]);
    out.code(1);
    assert!(
        out.stderr
            .contains("api was not started: it depends on db (healthy), which was not healthy"),
        "{}",
        out.stderr
    );
    assert!(s.get("api").is_none(), "api has no record: {:?}", s.list());
    s.tpm(["delete", "db"]).ok();

    s.file("ok", "", 0o644);
    s.file("apps.json", &file("ok"), 0o644);
    s.tpm(["start", "apps.json"]).ok();
    s.wait_status("api", "online");
    assert!(
        event_time(&s, "db", "health", false) <= event_time(&s, "api", "start_requested", false),
        "api was started before db's check passed"
    );
}
