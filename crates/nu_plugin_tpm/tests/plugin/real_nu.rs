//! End to end: the real `nu` loads the built plugin; processes are real; the CLI is the
//! other front end on the same store.

use std::time::Duration;

use serde_json::{json, Value};
use tpm_testkit::{alive, free_port, wait_for};

use crate::world::World;

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|n| n.as_str().expect("a name").to_string())
        .collect()
}

#[test]
fn a_process_started_through_the_plugin_is_online_in_tpm_list() {
    let world = World::files();
    let started = world.nu_json("tpm start server.sh");
    assert_eq!(started["name"], "server-3000");
    assert_eq!(started["status"], "online");
    let online = world.nu_json("tpm list | where status == online | get name");
    assert_eq!(names(&online), ["server-3000"]);
    // The CLI sees it too, with the same pid.
    let cli = world.sandbox.wait_status("server-3000", "online");
    assert_eq!(cli["pid"], started["pid"]);
    assert!(alive(started["pid"].as_u64().expect("a pid") as u32));
}

#[test]
fn a_process_started_by_the_cli_is_seen_by_the_plugin() {
    let world = World::files();
    let cli = world
        .sandbox
        .tpm(["start", "api/backend.sh", "api", "--json"])
        .ok()
        .json();
    let seen = world.nu_json("tpm list | where name == api-8080 | first");
    for field in [
        "name", "id", "status", "pid", "port", "script", "cmd", "cwd", "type",
    ] {
        assert_eq!(seen[field], cli[field], "{field}");
    }
}

#[test]
fn plugin_rows_have_the_clis_json_fields_with_nushell_types() {
    let world = World::running();
    let cli = world.sandbox.list();
    let rows = world.nu_json("tpm list");
    let rows = rows.as_array().expect("a table");
    assert_eq!(rows.len(), cli.len());
    for (row, cli) in rows.iter().zip(&cli) {
        let (row, cli) = (row.as_object().unwrap(), cli.as_object().unwrap());
        let mut keys: Vec<&String> = row.keys().collect();
        let mut cli_keys: Vec<&String> = cli.keys().collect();
        keys.sort();
        cli_keys.sort();
        assert_eq!(keys, cli_keys);
        for (key, value) in cli {
            match key.as_str() {
                // Measured at different moments, or rendered from richer types.
                "uptime" | "cpu" | "mem" | "started" | "uptime_pct_24h" => {}
                // Unknown (null) until the supervisor's first look at its tree, which may
                // fall between the two reads.
                "listening" if row[key].is_null() || value.is_null() => {}
                _ => assert_eq!(&row[key], value, "{key}"),
            }
        }
    }
    // `to json` writes a duration in nanoseconds and a date in RFC 3339.
    let (nanos, secs) = (
        rows[0]["uptime"].as_i64().unwrap(),
        cli[0]["uptime"].as_i64().unwrap(),
    );
    assert!(
        (nanos / 1_000_000_000 - secs).abs() <= 2,
        "{nanos}ns against {secs}s"
    );
    let date = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(date(&rows[0]["started"]), date(&cli[0]["started"]));

    let types = world
        .nu("tpm list | first | describe")
        .ok()
        .stdout
        .trim()
        // Unknown until the supervisor's first look at its tree (every 2 s).
        .replace("listening: bool", "listening: nothing");
    assert_eq!(
        types,
        "record<name: string, id: int, status: string, pid: int, port: int, ready: bool, \
         listening: nothing, uptime: duration, \
         restarts: int, cpu: float, mem: filesize, started: datetime, script: string, \
         cmd: list<string>, cwd: string, type: string, exit_code: nothing, reason: nothing, \
         supervisor: int, autorestart: bool, log_dropped: filesize, wanted: bool, \
         restarts_24h: int, uptime_pct_24h: float, tracking: string, instance: nothing, \
         health: nothing>"
    );
}

#[test]
fn tpm_metrics_is_the_clis_series_as_typed_rows_and_writes_the_text() {
    let world = World::running();
    let up = world.nu_json(
        "tpm metrics | where metric == tpm_process_up | each {|r| [$r.labels.name $r.value] }",
    );
    assert_eq!(up, json!([["server-3000", 1], ["api-8080", 1]]));
    let types = world.nu_json("tpm metrics | where metric == tpm_process_cpu_seconds_total | get value | each {|v| $v | describe }");
    assert_eq!(types, json!(["float", "float"]));
    // The same series as the CLI's --json, row for row.
    let cli = world.sandbox.tpm(["metrics", "--json"]).ok().json();
    let plugin = world.nu_json("tpm metrics | where metric != tpm_scrape_duration_seconds and metric !~ 'cpu|memory|log_written' | get metric");
    let cli_metrics: Vec<&Value> = cli
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["metric"])
        .filter(|m| {
            let m = m.as_str().unwrap();
            m != "tpm_scrape_duration_seconds"
                && !["cpu", "memory", "log_written"]
                    .iter()
                    .any(|w| m.contains(w))
        })
        .collect();
    assert_eq!(plugin, json!(cli_metrics));
    world.nu("tpm metrics -o tpm.prom").ok();
    let text = std::fs::read_to_string(world.sandbox.path().join("tpm.prom"))
        .expect("the file --output wrote");
    assert!(text.contains("# TYPE tpm_process_up gauge"), "{text}");
    let refused = world.nu("tpm metrics --openmetrics");
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("--openmetrics needs --output"),
        "{}",
        refused.stderr
    );
}

#[test]
fn tpm_ports_agrees_with_the_clis_ports_json() {
    let world = World::running();
    let port = free_port();
    let web = format!("python3 -m http.server {port} --bind 127.0.0.1");
    world.sandbox.tpm(["start", &web, "--name", "web"]).ok();
    let listening = |ports: &Value| {
        ports
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["port"] == port && p["listening"] == true)
    };
    wait_for("the web server to listen", || {
        listening(&world.sandbox.tpm(["ports", "--json"]).ok().json())
    });
    let cli = world.sandbox.tpm(["ports", "--json"]).ok().json();
    let plugin = world.nu_json("tpm ports");
    assert_eq!(plugin, cli);
    assert!(listening(&plugin));
    let ports = world.nu_json("tpm ports | get port");
    assert_eq!(ports, json!([3000, 8080, port]));
}

#[test]
fn tpm_stop_returns_the_stopped_process_and_list_shows_it_stopped() {
    let world = World::running();
    let pid = world.sandbox.get("server-3000").unwrap()["pid"]
        .as_u64()
        .unwrap() as u32;
    let stopped = world.nu_json("tpm stop server-3000");
    assert_eq!(stopped[0]["name"], "server-3000");
    assert_eq!(stopped[0]["status"], "stopped");
    assert_eq!(stopped[0]["pid"], Value::Null);
    let names_stopped = world.nu_json("tpm list | where status == stopped | get name");
    assert_eq!(names(&names_stopped), ["server-3000"]);
    assert!(!alive(pid), "the process is gone");
    assert_eq!(
        world.sandbox.get("server-3000").unwrap()["status"],
        "stopped"
    );
    // A stopped process starts again by its name.
    let again = world.nu_json("tpm start server-3000");
    assert_eq!(again["status"], "online");
    assert_eq!(again["id"], 0);
}

#[test]
fn a_corrupt_record_is_a_warning_and_the_others_still_list() {
    let world = World::running();
    let bad = world.sandbox.store().join("processes/bad-1.meta");
    std::fs::write(&bad, "not a record\n").unwrap();
    let run = world.nu("tpm list | get name | to json -r");
    assert_eq!(run.ok().json(), json!(["server-3000", "api-8080"]));
    assert!(
        run.stderr.contains("tpm: warning: corrupt record"),
        "{}",
        run.stderr
    );
    let deleted = world.nu_json("tpm delete bad-1 | get name");
    assert_eq!(deleted, json!(["bad-1"]));
    assert!(!bad.exists());
}

#[test]
fn an_unknown_name_fails_with_a_labelled_error() {
    let world = World::running();
    for script in [
        "tpm stop nope-1",
        "tpm logs nope-1",
        "tpm restart server-3000 nope-1",
    ] {
        let run = world.nu(script);
        assert_ne!(run.code, 0, "{script} must fail");
        let err = &run.stderr;
        assert!(err.contains("tpm::not_found"), "{script}: {err}");
        assert!(err.contains("no process named nope-1"), "{script}: {err}");
        assert!(err.contains("no such process"), "{script}: {err}");
        assert!(
            err.contains("help: `tpm list` shows the processes tpm knows"),
            "{script}: {err}"
        );
        // The label is under the name.
        let column = script.find("nope-1").unwrap();
        let marks = err
            .lines()
            .find(|l| l.contains("^^^"))
            .unwrap_or_else(|| panic!("no label in {err}"));
        let at = marks.find('^').unwrap() - marks.find(':').unwrap() - 2;
        assert_eq!(at, column, "{script}: {err}");
    }
    // Nothing was restarted: the names are checked before acting.
    assert_eq!(world.sandbox.get("server-3000").unwrap()["restarts"], 0);
}

#[test]
fn start_errors_point_at_the_script_with_the_cores_help() {
    let world = World::files();
    let run = world.nu("tpm start worker.sh");
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("no PORT found for worker.sh"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("help: give one with --port N"),
        "{}",
        run.stderr
    );
    let run = world.nu("tpm start missing.sh");
    assert!(run.stderr.contains("script not found"), "{}", run.stderr);
    assert!(run.stderr.contains("no such script"), "{}", run.stderr);
    let run = world.nu("tpm start worker.sh --port 70000");
    assert!(run.stderr.contains("70000 is not a port"), "{}", run.stderr);
    let run = world.nu("tpm start worker.sh --port 9000 --cwd nowhere");
    assert!(
        run.stderr.contains("working directory not found"),
        "{}",
        run.stderr
    );
    let run = world.nu("tpm strat server.sh");
    assert!(
        run.stderr.contains("tpm has no command `strat`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `tpm start`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_relative_script_is_found_from_nushells_directory() {
    let world = World::files();
    let started = world.nu_json("cd api; tpm start backend.sh --name api");
    let api = world.path().join("api");
    assert_eq!(started["name"], "api-8080");
    assert_eq!(started["script"], api.join("backend.sh").to_str().unwrap());
    assert_eq!(started["cwd"], api.to_str().unwrap());
    let started = world.nu_json("cd api; tpm start ../server.sh");
    assert_eq!(
        started["script"],
        world.path().join("server.sh").to_str().unwrap()
    );
}

#[test]
fn start_takes_an_env_record_a_duration_and_arguments_after_double_dash() {
    let world = World::files();
    let started = world.nu_json(
        "tpm start worker.sh w --port 9000 --env {LOG_LEVEL: debug} --restart-delay 250ms -- --verbose x",
    );
    assert_eq!(started["name"], "w-9000");
    let line = || world.nu_json("tpm logs w-9000 | where stream == out | get line");
    wait_for("the worker's first line", || line() != json!([]));
    assert_eq!(
        line(),
        json!(["worker --verbose x LOG_LEVEL=debug PORT=9000"])
    );
    let record = world.sandbox.record("w-9000");
    assert!(record.contains("restart_delay=250"), "{record}");
    assert!(record.contains("LOG_LEVEL=debug"), "{record}");
}

#[test]
fn the_process_gets_nushells_environment() {
    let world = World::files();
    world.sandbox.file(
        "env.sh",
        "#!/usr/bin/env bash\necho \"GREETING=$GREETING\"\necho \"PATH=$PATH\"\nwhile true; do sleep 1; done\n",
        0o755,
    );
    // Set in Nushell only: the plugin process's own environment does not have them. PATH is
    // a list in Nushell; the process gets it joined with `:`.
    world
        .nu("$env.GREETING = 'hello nu'; $env.PORT = '9100'; $env.PATH = ($env.PATH | prepend /opt/none); tpm start env.sh")
        .ok();
    wait_for("the lines", || {
        world.sandbox.log("env-9100", "out").contains("PATH=")
    });
    let out = world.sandbox.log("env-9100", "out");
    assert!(out.contains(" GREETING=hello nu\n"), "{out}");
    assert!(out.contains(" PATH=/opt/none:/"), "{out}");
}

#[test]
fn logs_are_typed_rows_and_follow_streams_new_lines() {
    let world = World::files();
    world.sandbox.file(
        "ticker.sh",
        "#!/usr/bin/env bash\necho started\necho oops >&2\ni=0; while true; do i=$((i+1)); echo \"tick $i\"; sleep 0.1; done\n",
        0o755,
    );
    world
        .sandbox
        .tpm(["start", "ticker.sh", "--port", "9200"])
        .ok();
    wait_for("an error line", || {
        world.sandbox.log("ticker-9200", "err").contains("oops")
    });
    let run = world.nu("tpm logs ticker-9200 | first | describe");
    let types = &run.ok().stdout;
    assert_eq!(
        types.trim(),
        "record<name: string, time: datetime, stream: string, line: string>"
    );
    let errors = world.nu_json("tpm logs ticker-9200 | where stream == err | get line");
    assert_eq!(errors, json!(["oops"]));
    let last = world.nu_json("tpm logs ticker-9200 --lines 2 | length");
    assert_eq!(last, json!(2));
    // --follow streams: `first` ends it once enough lines came, even though the process
    // goes on writing; the lines are new ones, after the last line shown.
    let run = world.nu_within(
        "tpm logs ticker-9200 --lines 0 --follow | first 3 | get line | to json -r",
        Duration::from_secs(20),
    );
    let lines: Vec<String> = serde_json::from_str(run.ok().stdout.trim()).unwrap();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l.starts_with("tick ")), "{lines:?}");
}

#[test]
fn names_can_be_piped_in_from_tpm_list() {
    let world = World::running();
    let stopped = world.nu_json("tpm list | tpm stop | get status");
    assert_eq!(stopped, json!(["stopped", "stopped"]));
    let restarted = world.nu_json("tpm list | where name =~ api | tpm restart | get name");
    assert_eq!(restarted, json!(["api-8080"]));
    let deleted = world.nu_json("'server-3000' | tpm delete | get name");
    assert_eq!(deleted, json!(["server-3000"]));
    assert_eq!(world.nu_json("[] | tpm stop"), json!([]));
    let run = world.nu("tpm stop");
    assert!(run.stderr.contains("no process given"), "{}", run.stderr);
}

#[test]
fn tpm_completions_gives_the_clis_completion_scripts() {
    let world = World::files();
    for shell in ["bash", "zsh", "fish"] {
        let from_nu = world.nu(&format!("tpm completions {shell}"));
        from_nu.ok();
        let from_cli = world.sandbox.tpm(["completions", shell]);
        from_cli.ok();
        assert_eq!(
            from_nu.stdout.trim_end(),
            from_cli.stdout.trim_end(),
            "{shell}"
        );
    }
    let run = world.nu("tpm completions powershell");
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("not bash, zsh or fish"),
        "{}",
        run.stderr
    );
}

#[test]
fn logs_take_filters_as_dates_durations_and_text_and_flush_returns_file_sizes() {
    let world = World::files();
    world.sandbox.file(
        "mixed.sh",
        "#!/usr/bin/env bash\nfor i in 1 2 3; do echo \"out $i\"; echo \"err $i\" >&2; done\nwhile true; do sleep 1; done\n",
        0o755,
    );
    world
        .sandbox
        .tpm(["start", "mixed.sh", "--port", "9210"])
        .ok();
    wait_for("all lines", || {
        world.sandbox.log("mixed-9210", "err").contains("err 3")
            && world.sandbox.log("mixed-9210", "out").contains("out 3")
    });
    assert_eq!(
        world.nu_json("tpm logs mixed-9210 --err --since 10min | get line"),
        json!(["err 1", "err 2", "err 3"])
    );
    assert_eq!(
        world.nu_json(
            "tpm logs mixed-9210 --out --grep '[23]$' --since ((date now) - 1hr) | get line"
        ),
        json!(["out 2", "out 3"])
    );
    assert_eq!(
        world.nu_json("tpm logs mixed-9210 --until 1hr | length"),
        json!(0)
    );
    let run = world.nu("tpm logs mixed-9210 --since soon");
    assert!(
        run.stderr.contains("not a time or a duration"),
        "{}",
        run.stderr
    );
    let run = world.nu("tpm flush mixed-9210 | first | describe");
    assert_eq!(
        run.ok().stdout.trim(),
        "record<name: string, freed: filesize, removed: int>"
    );
    assert_eq!(world.sandbox.log("mixed-9210", "out"), "");
    assert_eq!(world.nu_json("tpm logs mixed-9210 | length"), json!(0));
}

#[test]
fn start_takes_an_id_and_all_like_stop() {
    let world = World::running();
    world.sandbox.tpm(["stop", "all"]).ok();
    let started = world.nu_json("tpm start 1 | get name");
    assert_eq!(started, json!(["api-8080"]));
    world.sandbox.tpm(["stop", "all"]).ok();
    let started = world.nu_json("tpm start all | get name");
    assert_eq!(started, json!(["api-8080", "server-3000"]));
}

#[test]
fn tpm_help_knows_every_command_of_the_plugin_reload_and_scale_too() {
    let world = World::files();
    for (command, says) in [
        ("reload", "Restart processes one at a time"),
        ("scale", "Run more or fewer instances of an app"),
    ] {
        let run = world.nu(&format!("tpm help {command}"));
        assert_eq!(run.code, 0, "tpm help {command}: {}", run.stderr);
        assert!(
            run.stdout.contains(says),
            "tpm help {command}: {}",
            run.stdout
        );
    }
}
