//! What happened and what is, in the real `nu`: `tpm describe` of a real web server (its tree,
//! that it listens), `tpm events` rows a pipeline can filter and group (`--since`), and
//! `tpm events --follow` as a stream that ends when no longer read.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tpm_testkit::{all_processes, free_port, wait_for};

use crate::world::{finish_within, World};

#[test]
fn describe_shows_a_web_servers_tree_and_that_it_listens() {
    let world = World::running();
    let port = free_port();
    let web = format!("python3 -m http.server {port} --bind 127.0.0.1");
    world.sandbox.tpm(["start", &web, "--name", "web"]).ok();
    let name = format!("web-{port}");
    wait_for("the web server to listen", || {
        world.nu_json(&format!("(tpm describe {name}).listening")) == json!(true)
    });
    let d = world.nu_json(&format!("tpm describe {name}"));
    assert_eq!(d["name"], name);
    assert_eq!(d["status"], "online");
    let tree = d["tree"].as_array().expect("a table");
    let main = tree
        .iter()
        .find(|p| p["pid"] == d["pid"])
        .unwrap_or_else(|| panic!("the main process in {tree:?}"));
    assert_eq!(main["ppid"], d["supervisor"]);
    assert!(
        main["command"].as_str().unwrap().contains("http.server"),
        "{main}"
    );
    assert!(main["rss"].as_i64().unwrap() > 0, "{main}");
    let events: Vec<&str> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events[..2], ["start_requested", "spawned"]);

    // The CLI's `describe --json`, field for field, in Nushell's types.
    let cli = world.sandbox.tpm(["describe", &name, "--json"]).ok().json();
    for field in [
        "name",
        "id",
        "pid",
        "port",
        "cmd",
        "interpreter",
        "env",
        "max_restarts",
        "log_keep",
        "listening",
    ] {
        assert_eq!(d[field], cli[field], "{field}");
    }
    let ms = |v: &Value| v.as_i64().unwrap() * 1_000_000;
    assert_eq!(d["restart_delay"].as_i64(), Some(ms(&cli["restart_delay"])));
    assert_eq!(d["kill_timeout"].as_i64(), Some(ms(&cli["kill_timeout"])));
    assert_eq!(d["log_max_size"], cli["log_max_size"]);
    let types = world.nu(&format!(
        "tpm describe {name} | select restart_delay log_max_size listening created | describe"
    ));
    assert_eq!(
        types.ok().stdout.trim(),
        "record<restart_delay: duration, log_max_size: filesize, listening: bool, created: datetime>"
    );
    let tree_types = world.nu(&format!("(tpm describe {name}).tree | describe"));
    assert_eq!(
        tree_types.ok().stdout.trim(),
        "table<pid: int, ppid: int, command: string, rss: filesize>"
    );
    // The aliases, and a process by its id.
    let names = world.nu_json("[(tpm show 0).name (tpm info 1).name (tpm describe 2).name]");
    assert_eq!(names, json!(["server-3000", "api-8080", name]));
    // Nothing listens on backend.sh's PORT.
    assert_eq!(
        world.nu_json("(tpm describe api-8080).listening"),
        json!(false)
    );
}

#[test]
fn describe_names_one_process_and_says_which_argument_is_wrong() {
    let world = World::running();
    let run = world.nu("tpm describe nope-1");
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("no process named nope-1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no such process"), "{}", run.stderr);
    let run = world.nu("tpm describe \"*\"");
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("* names 2 processes; describe takes one name or id"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("more than one process"),
        "{}",
        run.stderr
    );
}

#[test]
fn events_after_a_crash_have_the_exit_code_and_group_by_name() {
    let world = World::running();
    world.sandbox.file(
        "crash.sh",
        "#!/usr/bin/env bash\necho boom\nexit 3\n",
        0o755,
    );
    world
        .sandbox
        .tpm(["start", "crash.sh", "--port", "9300"])
        .ok();
    wait_for("crash-9300 to exit twice", || {
        world
            .nu_json("tpm events crash-9300 | where event == exited | length")
            .as_i64()
            >= Some(2)
    });
    let exits = world.nu_json("tpm events | where event == exited");
    let exits = exits.as_array().expect("a table");
    assert!(exits.len() >= 2, "{exits:?}");
    for exit in exits {
        assert_eq!(exit["name"], "crash-9300");
        assert_eq!(exit["code"], 3);
        assert_eq!(exit["signal"], Value::Null);
        assert!(exit["pid"].as_i64().is_some(), "{exit}");
    }
    let grouped = world.nu_json("tpm events | where event == exited | group-by name | columns");
    assert_eq!(grouped, json!(["crash-9300"]));
    let types = world.nu("tpm events crash-9300 | where event == exited | first | describe");
    assert_eq!(
        types.ok().stdout.trim(),
        "record<time: datetime, name: string, event: string, pid: int, code: int, \
         signal: nothing, ran: duration, after: nothing, by: nothing, count: nothing, \
         reason: nothing>"
    );
    // The restart the policy scheduled after it, with its delay as a duration.
    let scheduled =
        world.nu_json("tpm events crash-9300 | where event == restart_scheduled | first");
    assert_eq!(scheduled["by"], "policy");
    assert!(scheduled["after"].as_i64().is_some(), "{scheduled}");
}

/// Puts an event two hours old at the start of `name`'s history.
fn add_an_old_event(world: &World, name: &str) {
    let path = world
        .sandbox
        .store()
        .join("events")
        .join(format!("{name}.jsonl"));
    let now = chrono::Utc::now().timestamp_millis();
    let old = format!(
        "{{\"time_ms\":{},\"name\":\"{name}\",\"event\":\"exited\",\"pid\":1,\"code\":1}}\n",
        now - 2 * 3_600_000
    );
    let history = std::fs::read_to_string(&path).expect("a history");
    std::fs::write(&path, old + &history).expect("write the history");
}

#[test]
fn since_keeps_the_events_after_a_duration_or_a_time() {
    let world = World::running();
    add_an_old_event(&world, "server-3000");
    let count = |flags: &str| world.nu_json(&format!("tpm events server-3000 {flags} | length"));
    assert_eq!(count(""), json!(3));
    assert_eq!(count("--since 1hr"), json!(2));
    assert_eq!(count("--since 1h"), json!(2), "the CLI's text");
    assert_eq!(count("--since 3hr"), json!(3));
    assert_eq!(count("--since ((date now) - 90min)"), json!(2));
    assert_eq!(count("--since ((date now) + 1hr)"), json!(0));
    let run = world.nu("tpm events --since soon");
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("--since \"soon\": expected a duration back or a time"),
        "{}",
        run.stderr
    );
}

/// Whether a child of `parent` (the plugin, under nu) has a file of `dir` open.
fn child_has_open_in(parent: u32, dir: &Path) -> bool {
    all_processes()
        .iter()
        .filter(|p| p.ppid == parent)
        .any(|p| {
            std::fs::read_dir(format!("/proc/{}/fd", p.pid))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .any(|target| target.starts_with(dir))
        })
}

#[test]
fn follow_streams_new_events_and_ends_after_the_first_two() {
    let world = World::running();
    let events_dir = world.sandbox.store().join("events");
    let follow = |script: &str, cause: &dyn Fn()| -> Value {
        let nu = world.nu_spawn(script);
        // The plugin follows once it holds the histories open; only then is the cause caused.
        wait_for("the plugin to follow the histories", || {
            child_has_open_in(nu.id(), &events_dir)
        });
        cause();
        finish_within(nu, script, Duration::from_secs(20))
            .ok()
            .json()
    };
    // Two new events, caused by a stop, end the stream; the past ones (--lines 0) are not
    // shown.
    let seen = follow(
        "tpm events server-3000 --follow --lines 0 | first 2 | to json -r",
        &|| {
            world.sandbox.tpm(["stop", "server-3000"]).ok();
        },
    );
    let seen = seen.as_array().expect("a table");
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|e| e["name"] == "server-3000"), "{seen:?}");
    assert_eq!(seen[0]["event"], "stop_requested");
    assert_eq!(seen[0]["by"], "user");

    // With no names, a process created while following is followed too (server-3000's last
    // events may still come: they are left out).
    let seen = follow(
        "tpm events --follow -n 0 | where name != server-3000 | first 2 | select name event | to json -r",
        &|| {
            world
                .sandbox
                .tpm(["start", "worker.sh", "--port", "9301"])
                .ok();
        },
    );
    assert_eq!(
        seen,
        json!([
            {"name": "worker-9301", "event": "start_requested"},
            {"name": "worker-9301", "event": "spawned"},
        ])
    );
}
