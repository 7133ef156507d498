//! Apps as declarations, in the real `nu`: `tpm start FILE` and records piped into
//! `tpm start` return a table of the apps; `--only`, `--env NAME`; a bad file starts
//! nothing; `stop|restart|delete` take ids, `all` and files; `tpm dump` and `tpm init`.

use serde_json::{json, Value};
use tpm_testkit::wait_for;

use crate::world::{World, ECOSYSTEM_JSON};

/// The examples' ecosystem file in YAML: the same apps.
const ECOSYSTEM_YAML: &str = "apps:
  - name: web
    script: server.sh
    port: 4000
    env: { GREETING: hi, LOG_LEVEL: info }
    env_production: { LOG_LEVEL: warn }
  - name: worker
    script: worker.sh
    port: 4001
    args: [--queue, jobs]
    env: { LOG_LEVEL: info }
    env_production: { LOG_LEVEL: warn }
";

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not text: {s}"))
                .to_string()
        })
        .collect()
}

/// The names of the processes the CLI lists, sorted.
fn cli_names(world: &World) -> Vec<String> {
    let mut names: Vec<String> = world
        .sandbox
        .list()
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

/// The column in the script where nu's first error label starts: its `^^^` marks, or the
/// `|` alone under a one-character argument.
fn label_column(stderr: &str) -> usize {
    let marks = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(':') && l.contains(['^', '|']))
        .unwrap_or_else(|| panic!("no label in {stderr}"));
    let colon = marks.find(':').unwrap();
    let mark = marks[colon..].find(['^', '|']).unwrap() + colon;
    mark - colon - 2
}

/// nu's error output with its wrapped lines joined: `x`, `|` and indentation gone, so a
/// message can be looked for whole, wherever nu broke it.
fn said(stderr: &str) -> String {
    let words: Vec<&str> = stderr
        .lines()
        .map(|l| {
            let l = l.trim_start();
            l.strip_prefix("x ")
                .or_else(|| l.strip_prefix("| "))
                .unwrap_or(l)
        })
        .flat_map(str::split_whitespace)
        .collect();
    words.join(" ")
}

/// The last line process `name` wrote to stdout, once one contains `part`.
fn line_with(world: &World, name: &str, part: &str) -> String {
    let mut found = String::new();
    wait_for(&format!("{name} to write {part:?}"), || {
        found = world
            .sandbox
            .log(name, "out")
            .lines()
            .rev()
            .find(|l| l.contains(part))
            .unwrap_or_default()
            .to_string();
        !found.is_empty()
    });
    found
}

#[test]
fn json_and_yaml_files_start_a_table_of_their_apps() {
    for file in ["ecosystem.json", "ecosystem.yaml"] {
        let world = World::files();
        world.sandbox.file("ecosystem.yaml", ECOSYSTEM_YAML, 0o644);
        let started = world.nu_json(&format!("tpm start {file}"));
        let rows = started.as_array().expect("a table");
        assert_eq!(rows.len(), 2, "{file}: {started}");
        assert_eq!(rows[0]["name"], "web-4000", "{file}");
        assert_eq!(rows[1]["name"], "worker-4001", "{file}");
        for row in rows {
            assert_eq!(row["status"], "online", "{file}: {row}");
            assert_eq!(row["unchanged"], false, "{file}: {row}");
            assert_eq!(row["type"], "ecosystem", "{file}: {row}");
            assert_eq!(row["cwd"], world.path().to_str().unwrap(), "{file}");
        }
        assert_eq!(cli_names(&world), ["web-4000", "worker-4001"], "{file}");
        // The `tpm list` columns, then `unchanged`, with Nushell's types.
        let types = world
            .nu(&format!("tpm start {file} | first | describe"))
            .ok()
            .stdout
            .trim()
            .to_string();
        assert!(
            types.starts_with("record<name: string, id: int, status: string, pid: int,"),
            "{types}"
        );
        assert!(
            types.contains("log_dropped: filesize,") && types.ends_with(", unchanged: bool>"),
            "{types}"
        );
        // Started again: the running apps are left as they are, and say so.
        let again = world.nu_json(&format!("tpm start {file} | select name pid unchanged"));
        assert_eq!(again[0]["unchanged"], true, "{again}");
        assert_eq!(again[1]["unchanged"], true, "{again}");
        assert_eq!(again[0]["pid"], rows[0]["pid"], "not restarted");
        let line = line_with(&world, "worker-4001", "worker");
        assert!(
            line.ends_with("worker --queue jobs LOG_LEVEL=info PORT=4001"),
            "{line}"
        );
    }
}

#[test]
fn only_takes_app_names_as_a_list_or_comma_separated_text() {
    let world = World::files();
    let started = world.nu_json("tpm start ecosystem.json --only worker | get name");
    assert_eq!(strings(&started), ["worker-4001"]);
    assert_eq!(cli_names(&world), ["worker-4001"]);
    let both =
        world.nu_json("tpm start ecosystem.json --only [web worker] | select name unchanged");
    assert_eq!(
        both,
        json!([
            {"name": "web-4000", "unchanged": false},
            {"name": "worker-4001", "unchanged": true}
        ])
    );
    let stopped = world.nu_json("tpm stop ecosystem.json --only 'web,worker-4001' | get status");
    assert_eq!(stopped, json!(["stopped", "stopped"]));
    // A name no app has: an error listing the apps, under the file; nothing starts.
    let script = "tpm start ecosystem.json --only nothing";
    let run = world.nu(script);
    assert_ne!(run.code, 0);
    assert!(
        said(&run.stderr).contains("--only nothing: no app of that name (the apps: web, worker)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        label_column(&run.stderr),
        script.find("ecosystem.json").unwrap()
    );
    assert!(world
        .sandbox
        .list()
        .iter()
        .all(|p| p["status"] == "stopped"));
    // --only without a file is a usage error under the flag.
    let run = world.nu("tpm start worker.sh --port 9000 --only web");
    assert!(
        said(&run.stderr)
            .contains("--only picks apps of an ecosystem file, and worker.sh is not one"),
        "{}",
        run.stderr
    );
}

#[test]
fn env_name_applies_env_name_over_env_and_a_record_sets_variables() {
    let world = World::files();
    world
        .nu("tpm start ecosystem.json --only worker --env production")
        .ok();
    let line = line_with(&world, "worker-4001", "worker");
    assert!(line.ends_with("LOG_LEVEL=warn PORT=4001"), "{line}");
    let record = world.sandbox.record("worker-4001");
    assert!(record.contains("LOG_LEVEL=warn"), "{record}");
    // A record sets variables for every app, over the file's env.
    world.nu("tpm delete all").ok();
    world
        .nu("tpm start ecosystem.json --only worker --env {LOG_LEVEL: trace}")
        .ok();
    let line = line_with(&world, "worker-4001", "worker");
    assert!(line.ends_with("LOG_LEVEL=trace PORT=4001"), "{line}");
    // A name no app has changes nothing, and says so on stderr.
    let run = world.nu("tpm start ecosystem.json --env staging | length");
    assert_eq!(run.ok().stdout.trim(), "2");
    assert!(
        run.stderr.contains("tpm: warning: ")
            && run
                .stderr
                .contains("no app has env_staging; --env staging changed nothing"),
        "{}",
        run.stderr
    );
}

#[test]
fn records_piped_in_start_apps_with_durations_and_file_sizes() {
    let world = World::files();
    let started = world.nu_json(
        "[{name: w, script: worker.sh, port: 4100, restart_delay: 2sec, kill_timeout: 500ms, \
         max_log_size: 1MiB, env: {LOG_LEVEL: debug}, args: [a 'b c']}] | tpm start",
    );
    assert_eq!(started[0]["name"], "w-4100");
    assert_eq!(started[0]["status"], "online");
    assert_eq!(started[0]["unchanged"], false);
    let record = world.sandbox.record("w-4100");
    for key in [
        "restart_delay=2000",
        "kill_timeout=500",
        "log_max_size=1048576",
    ] {
        assert!(record.contains(key), "{key} in {record}");
    }
    let line = line_with(&world, "w-4100", "worker");
    assert!(
        line.ends_with("worker a b c LOG_LEVEL=debug PORT=4100"),
        "{line}"
    );
    // One record is one app; relative paths are taken from Nushell's directory.
    let one = world.nu_json("cd api; {script: backend.sh, name: api} | tpm start");
    assert_eq!(one[0]["name"], "api-8080");
    assert_eq!(one[0]["cwd"], world.path().join("api").to_str().unwrap());
    // Fields tpm does not know are warnings on stderr, as with a file.
    let run = world.nu("[{script: worker.sh, port: 4200, colour: blue}] | tpm start | get name");
    assert!(run.ok().stdout.contains("worker-4200"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("tpm: warning: <input>: app #1: unknown field `colour`; ignored"),
        "{}",
        run.stderr
    );
}

#[test]
fn open_ecosystem_json_piped_into_start_works_in_each_shape() {
    let world = World::files();
    // A record with an `apps` list.
    let all = world.nu_json("open ecosystem.json | tpm start | select name unchanged");
    assert_eq!(
        all,
        json!([
            {"name": "web-4000", "unchanged": false},
            {"name": "worker-4001", "unchanged": false}
        ])
    );
    world.nu("tpm delete all").ok();
    // A list of apps, with --only and --env NAME as for a file.
    let list = world.nu_json(
        "open ecosystem.json | get apps | tpm start --only worker --env production | get name",
    );
    assert_eq!(strings(&list), ["worker-4001"]);
    let line = line_with(&world, "worker-4001", "worker");
    assert!(line.ends_with("LOG_LEVEL=warn PORT=4001"), "{line}");
    // A single app.
    let one = world.nu_json("open ecosystem.json | get apps.0 | tpm start | get name");
    assert_eq!(strings(&one), ["web-4000"]);
    // The YAML file's data is the same apps.
    world.sandbox.file("ecosystem.yaml", ECOSYSTEM_YAML, 0o644);
    let yaml = world.nu_json("open ecosystem.yaml | tpm start | get unchanged");
    assert_eq!(yaml, json!([true, true]));
}

#[test]
fn a_bad_file_or_bad_records_start_nothing_and_the_error_is_labelled_on_them() {
    let world = World::running();
    let before = world.sandbox.list();
    let record = world.sandbox.record_as_commanded("server-3000");
    let good = r#"{"name": "new", "script": "worker.sh", "port": 5000}"#;
    for (why, body, code, says) in [
        (
            "a syntax error",
            // (A trailing comma is no error: pm2 read .json files as JavaScript.)
            "{\"apps\": [\n  {\"script\": \"server.sh\" \"port\": 1}\n]}".to_string(),
            "tpm::ecosystem",
            "line 2",
        ),
        (
            "a missing script",
            format!(r#"[{good}, {{"script": "nope.sh", "port": 5001}}]"#),
            "tpm::script_not_found",
            "nope.sh",
        ),
        (
            "a PORT that is no number",
            format!(r#"[{good}, {{"script": "worker.sh", "env": {{"PORT": "abc"}}}}]"#),
            "tpm::no_port",
            "no PORT found",
        ),
        (
            "an exec_mode pm2 does not have",
            format!(r#"[{good}, {{"script": "worker.sh", "port": 5003, "exec_mode": "turbo"}}]"#),
            "tpm::ecosystem",
            "exec_mode",
        ),
        (
            "two apps of one name",
            format!("[{good}, {good}]"),
            "tpm::ecosystem",
            "like new",
        ),
        (
            "a bad value",
            format!(r#"[{good}, {{"script": "worker.sh", "port": 5002, "max_restarts": "many"}}]"#),
            "tpm::ecosystem",
            "max_restarts",
        ),
    ] {
        world.sandbox.file("bad.json", &body, 0o644);
        let script = "tpm start bad.json";
        let run = world.nu(script);
        assert_ne!(run.code, 0, "{why}");
        assert!(run.stderr.contains(code), "{why}: {}", run.stderr);
        assert!(run.stderr.contains("bad.json"), "{why}: {}", run.stderr);
        assert!(said(&run.stderr).contains(says), "{why}: {}", run.stderr);
        assert!(run.stderr.contains("help:"), "{why}: {}", run.stderr);
        assert_eq!(
            label_column(&run.stderr),
            script.find("bad.json").unwrap(),
            "{why}"
        );
        // The same apps piped in: the same verdict, under the input.
        let piped = "open bad.json --raw | from json | tpm start";
        if why != "a syntax error" {
            let run = world.nu(piped);
            assert!(run.stderr.contains(code), "{why} piped: {}", run.stderr);
            assert!(
                run.stderr.contains("<input>"),
                "{why} piped: {}",
                run.stderr
            );
            assert_eq!(label_column(&run.stderr), 0, "{why} piped");
        }
        let count = world.nu_json("tpm list | length");
        assert_eq!(count, json!(before.len()), "{why}: nothing started");
        assert_eq!(
            world.sandbox.record_as_commanded("server-3000"),
            record,
            "{why}: no record changed"
        );
    }
}

#[test]
fn apps_piped_in_with_a_script_is_a_usage_error() {
    let world = World::files();
    let script = "[{script: worker.sh, port: 4300}] | tpm start server.sh";
    let run = world.nu(script);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("tpm::usage"), "{}", run.stderr);
    assert!(
        said(&run.stderr).contains("apps piped in and a script given"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("a script given"), "{}", run.stderr);
    assert!(world.sandbox.list().is_empty(), "nothing started");
    let run = world.nu("open --raw ecosystem.json | tpm start");
    assert!(
        run.stderr.contains("text piped into tpm start"),
        "{}",
        run.stderr
    );
}

#[test]
fn ids_and_all_select_processes_for_stop_restart_and_logs() {
    let world = World::running();
    let stopped = world.nu_json("tpm stop 1 | select name status");
    assert_eq!(stopped, json!([{"name": "api-8080", "status": "stopped"}]));
    let last = world.nu_json("tpm logs 0 --lines 1 | get line");
    assert_eq!(last, json!(["Starting server on port 3000"]));
    let restarted = world.nu_json("tpm restart all | get name");
    assert_eq!(strings(&restarted), ["api-8080", "server-3000"]);
    assert!(world.sandbox.list().iter().all(|p| p["status"] == "online"));
    let logs = world.nu_json("tpm logs all --lines 1 | get name | uniq | sort");
    assert_eq!(strings(&logs), ["api-8080", "server-3000"]);
    // An id no process has is an unknown name, under the id.
    let script = "tpm stop 0 9";
    let run = world.nu(script);
    assert!(run.stderr.contains("no process named 9"), "{}", run.stderr);
    assert_eq!(label_column(&run.stderr), script.find('9').unwrap());
    assert_eq!(
        world.sandbox.get("server-3000").unwrap()["status"],
        "online"
    );
    let stopped = world.nu_json("tpm stop all | get status");
    assert_eq!(stopped, json!(["stopped", "stopped"]));
    world.nu("tpm delete all").ok();
    assert!(world.sandbox.list().is_empty());
    // With nothing left, `all` selects nothing, like "*".
    assert_eq!(world.nu_json("tpm stop all"), json!([]));
}

#[test]
fn stop_restart_and_delete_take_a_file_with_only_and_env() {
    let world = World::files();
    world.nu("tpm start ecosystem.json").ok();
    let stopped = world.nu_json("tpm stop ecosystem.json --only web | select name status");
    assert_eq!(stopped, json!([{"name": "web-4000", "status": "stopped"}]));
    assert_eq!(
        world.sandbox.get("worker-4001").unwrap()["status"],
        "online"
    );
    // restart FILE reads the file again: the edited args and --env production take effect.
    world.sandbox.file(
        "ecosystem.json",
        &ECOSYSTEM_JSON.replace("\"jobs\"", "\"mail\""),
        0o644,
    );
    let restarted = world.nu_json("tpm restart ecosystem.json --env production | get name");
    assert_eq!(strings(&restarted), ["web-4000", "worker-4001"]);
    let line = line_with(&world, "worker-4001", "mail");
    assert!(
        line.ends_with("worker --queue mail LOG_LEVEL=warn PORT=4001"),
        "{line}"
    );
    assert_eq!(world.sandbox.get("worker-4001").unwrap()["restarts"], 1);
    let deleted = world.nu_json("tpm delete ecosystem.json --only [worker] | get name");
    assert_eq!(strings(&deleted), ["worker-4001"]);
    assert_eq!(cli_names(&world), ["web-4000"]);
    // Apps of the file that were never started are a warning, not an error.
    let run = world.nu("tpm stop ecosystem.json | get name | to json -r");
    assert_eq!(run.ok().json(), json!(["web-4000"]));
    assert!(
        run.stderr.contains("tpm: warning: ")
            && run.stderr.contains("(worker-4001) is not started"),
        "{}",
        run.stderr
    );
    // --only and --env need a file among the names, and --env here takes a name.
    let run = world.nu("tpm stop web-4000 --only web");
    assert!(
        said(&run.stderr).contains("--only and --env choose apps of an ecosystem file"),
        "{}",
        run.stderr
    );
    let run = world.nu("tpm restart ecosystem.json --env A=1");
    assert!(
        said(&run.stderr).contains("--env here takes a NAME"),
        "{}",
        run.stderr
    );
}

#[test]
fn reload_with_only_or_env_and_no_file_is_the_clis_usage_error() {
    let world = World::running();
    let before = world.sandbox.get("server-3000").unwrap()["pid"].clone();
    let message = "--only and --env choose apps of an ecosystem file, and none was given";
    for flag in [["--only", "x"], ["--env", "production"]] {
        let cli = world
            .sandbox
            .tpm(["reload", "server-3000", flag[0], flag[1]]);
        cli.code(64);
        assert!(cli.stderr.contains(message), "{}", cli.stderr);
        let plugin = world.nu(&format!("tpm reload server-3000 {} {}", flag[0], flag[1]));
        assert_ne!(plugin.code, 0, "{flag:?} was taken: {}", plugin.stdout);
        assert!(said(&plugin.stderr).contains(message), "{}", plugin.stderr);
        assert!(plugin.stderr.contains("tpm::usage"), "{}", plugin.stderr);
    }
    // Nothing was reloaded.
    assert_eq!(world.sandbox.get("server-3000").unwrap()["pid"], before);
}

#[test]
fn dump_saved_then_delete_all_then_start_restores_the_same_processes() {
    let world = World::running();
    world
        .nu("tpm start worker.sh w --port 9300 --env {LOG_LEVEL: debug} --kill-timeout 500ms --max-log-size 2MiB -- --verbose 'two words'")
        .ok();
    // (`type` is not kept: what is started from a file is of type ecosystem.)
    let keep = "select name port cmd cwd script autorestart | sort-by name";
    let before = world.nu_json(&format!("tpm list | {keep}"));
    // The document is data in the file's units: plain ints for milliseconds and bytes.
    let types = world
        .nu("(tpm dump w-9300).apps.0 | select kill_timeout max_log_size | describe")
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(types, "record<kill_timeout: int, max_log_size: int>");
    world.nu("tpm dump | save apps.json").ok();
    let deleted = world.nu_json("tpm delete all | length");
    assert_eq!(deleted, json!(3));
    let started = world.nu_json("tpm start apps.json | get unchanged");
    assert_eq!(started, json!([false, false, false]));
    let after = world.nu_json(&format!("tpm list | {keep}"));
    assert_eq!(after, before);
    let record = world.sandbox.record("w-9300");
    for key in [
        "LOG_LEVEL=debug",
        "kill_timeout=500",
        "log_max_size=2097152",
    ] {
        assert!(record.contains(key), "{key} in {record}");
    }
    let line = line_with(&world, "w-9300", "worker");
    assert!(
        line.contains("worker --verbose two words LOG_LEVEL=debug"),
        "{line}"
    );
    // Saved as YAML or TOML by Nushell, or as the CLI's text: the same apps, all running.
    for save in [
        "tpm dump | save again.yaml; tpm start again.yaml",
        "tpm dump | save again.toml; tpm start again.toml",
        "tpm dump --format js | save again.config.js; tpm start again.config.js",
        "tpm dump | tpm start",
    ] {
        let unchanged = world.nu_json(&format!("{save} | get unchanged"));
        assert_eq!(unchanged, json!([true, true, true]), "{save}");
    }
}

#[test]
fn init_format_yaml_writes_a_starter_that_start_only_web_reads_as_the_cli_does() {
    let world = World::files();
    let written = world.nu_json("tpm init --format yaml");
    let file = world.path().join("ecosystem.yaml");
    assert_eq!(
        written,
        json!({"file": file.to_str().unwrap(), "format": "yaml"})
    );
    assert!(file.is_file());
    let run = world.nu("tpm init --format yaml");
    assert!(
        said(&run.stderr).contains("exists already; give --force"),
        "{}",
        run.stderr
    );
    world.nu("tpm init --format yaml --force").ok();
    // An app it does not have: the plugin says what the CLI says.
    let plugin = world.nu("tpm start ecosystem.yaml --only nothing");
    let cli = world
        .sandbox
        .tpm(["start", "ecosystem.yaml", "--only", "nothing"]);
    cli.code(64);
    let message = "--only nothing: no app of that name (the apps: api, web)";
    assert!(cli.stderr.contains(message), "{}", cli.stderr);
    assert!(said(&plugin.stderr).contains(message), "{}", plugin.stderr);
    // Its web app is a command string; it starts as the CLI would start it.
    let web = world.nu_json("tpm start ecosystem.yaml --only web | select name cmd type");
    assert_eq!(
        web,
        json!([{"name": "web-8080", "cmd": ["python3", "-m", "http.server", "8080"], "type": "ecosystem"}])
    );
    world.nu("tpm delete web-8080").ok();
    let toml = world.nu_json("tpm init apps.toml");
    assert_eq!(toml["format"], "toml");
    let run = world.nu("tpm init --format xml");
    assert!(
        run.stderr.contains("not js, json, yaml or toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn records_and_the_no_port_flag_start_workers_without_a_port() {
    let world = World::files();
    // A record naming no PORT is an app without one, as in a file; null says so too.
    let started = world.nu_json(
        "[{name: bg, script: worker.sh}, {name: cron, script: worker.sh, port: null}] | tpm start",
    );
    assert_eq!(started[0]["name"], "bg");
    assert_eq!(started[1]["name"], "cron");
    assert_eq!(started[0]["port"], Value::Null);
    // The flag, derived from the same option as the CLI's.
    let one = world.nu_json("tpm start worker.sh --no-port --name solo");
    assert_eq!(one["name"], "solo", "{one}");
    assert_eq!(one["port"], Value::Null);
    // Without it, a script with no PORT anywhere is refused, naming the way.
    let refused = world.nu("tpm start worker.sh");
    assert!(refused.stderr.contains("--no-port"), "{}", refused.stderr);
    let listed = world.nu_json("tpm list | where port == null | get name | sort");
    assert_eq!(listed, json!(["bg", "cron", "solo"]));
    wait_for("bg's line", || {
        world.sandbox.log("bg", "out").contains("worker")
    });
    let ports = world.nu_json("tpm ports | length");
    assert_eq!(ports, json!(0));
    assert_eq!(cli_names(&world), ["bg", "cron", "solo"]);
}

#[test]
fn records_piped_in_start_in_dependency_order_and_restart_with_their_dependants() {
    let world = World::files();
    // Written dependant first; started after what it depends on.
    let started = world.nu_json(
        "[{name: b, script: worker.sh, port: false, depends_on: {a: {condition: started}}}, \
         {name: a, script: worker.sh, port: false}] | tpm start | get name",
    );
    assert_eq!(strings(&started), ["a", "b"]);
    let deps = world.nu_json("tpm describe b | get depends_on");
    assert_eq!(deps, json!([{"name": "a", "condition": "started"}]));
    let dependants = world.nu_json("tpm describe a | get dependants");
    assert_eq!(strings(&dependants), ["b"]);
    let restarted = world.nu_json("tpm restart a --with-dependants | get name");
    assert_eq!(strings(&restarted), ["a", "b"]);
    // A cycle is refused before anything starts.
    let run = world.nu(
        "[{name: c, script: worker.sh, port: false, depends_on: [d]}, \
         {name: d, script: worker.sh, port: false, depends_on: [c]}] | tpm start",
    );
    assert!(run.stderr.contains("c → d → c"), "{}", run.stderr);
    assert!(world.sandbox.get("c").is_none(), "c has no record");
}
