//! pm2 users' own files, unchanged: the fixtures in `tests/fixtures/pm2/` are written the
//! way pm2 users write them (no PORT, `cmd`, a folder for a script, `npm start`, JSON5,
//! instances as text, `max` and -1, `instance_var`, names with spaces and emoji, logs sent
//! to /dev/null). Each is started from a clean store with real processes; the processes
//! are counted and each one's environment is read from the line it prints.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tpm_testkit::{wait_for, Run, Sandbox};

/// `tests/fixtures/pm2/NAME`, copied into the sandbox as `NAME/`.
fn fixture(s: &Sandbox, name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pm2")
        .join(name);
    let to = s.path().join(name);
    copy_dir(&from, &to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `tpm start FILE` from the fixture's folder, as a pm2 user runs `pm2 start FILE`.
fn start(s: &Sandbox, dir: &Path, file: &str) -> Run {
    let mut c = s.command();
    c.current_dir(dir).args(["start", file]);
    Run::from_output(c.output().expect("run tpm"))
}

/// The processes tpm lists, by name, once every one is online.
fn online(s: &Sandbox, count: usize) -> Vec<String> {
    let mut names = Vec::new();
    wait_for(&format!("{count} processes online"), || {
        let list = s.list();
        names = list
            .iter()
            .map(|p| p["name"].as_str().unwrap_or_default().to_string())
            .collect();
        list.len() == count && list.iter().all(|p| p["status"] == "online")
    });
    assert_eq!(s.list().len(), count, "{names:?}");
    names.sort();
    names
}

/// The variables the process said it was given (its `env {...}` line).
fn env_of(s: &Sandbox, name: &str) -> Value {
    let mut found = Value::Null;
    wait_for(&format!("{name} to print its environment"), || {
        let log = s.log(name, "out");
        match log.lines().find_map(|l| l.split_once(" env ")) {
            Some((_, json)) => {
                found = serde_json::from_str(json).expect("an env line");
                true
            }
            None => false,
        }
    });
    found
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn a_worker_and_a_bot_with_no_port_start_named_by_their_names() {
    let s = Sandbox::new();
    let dir = fixture(&s, "no-port");
    start(&s, &dir, "ecosystem.config.js").ok();
    assert_eq!(online(&s, 2), ["bot", "worker"]);
    let worker = env_of(&s, "worker");
    assert_eq!(worker["QUEUE"], "jobs");
    // As pm2 gives it to a process started alone.
    assert_eq!(worker["NODE_APP_INSTANCE"], "0");
    assert_eq!(worker.get("PORT"), None, "no PORT is made up: {worker}");
}

#[test]
fn a_python_app_given_as_cmd_runs() {
    let s = Sandbox::new();
    let dir = fixture(&s, "cmd");
    start(&s, &dir, "ecosystem.json").ok();
    assert_eq!(online(&s, 1), ["echo-python"]);
    assert_eq!(env_of(&s, "echo-python")["GREETING"], "hello from python");
}

#[test]
fn a_folder_script_runs_its_index_js_and_exec_is_script() {
    let s = Sandbox::new();
    let dir = fixture(&s, "folder");
    start(&s, &dir, "ecosystem.config.js").ok();
    assert_eq!(online(&s, 2), ["api", "jobs"]);
    assert_eq!(env_of(&s, "api")["GREETING"], "from a folder");
    let api = s.get("api").unwrap();
    assert!(
        api["script"].as_str().unwrap().ends_with("api/index.js"),
        "{api}"
    );
    env_of(&s, "jobs");
}

#[test]
fn npm_start_runs_the_package_start_script() {
    let s = Sandbox::new();
    let dir = fixture(&s, "npm-start");
    start(&s, &dir, "ecosystem.config.js").ok();
    assert_eq!(online(&s, 1), ["front"]);
    let env = env_of(&s, "front");
    assert_eq!(env["npm_lifecycle_event"], "start", "{env}");
    assert_eq!(env["GREETING"], "via npm");
    // Stopping it stops npm's whole tree: the node server too.
    s.tpm(["stop", "front"]).ok();
    wait_for("npm and its server to be gone", || s.managed().is_empty());
}

#[test]
fn json5_and_json_with_comments_are_ecosystem_files() {
    let s = Sandbox::new();
    let dir = fixture(&s, "json5");
    start(&s, &dir, "ecosystem.json5").ok();
    assert_eq!(online(&s, 1), ["five"]);
    assert_eq!(env_of(&s, "five")["GREETING"], "from json5");
    start(&s, &dir, "ecosystem.json").ok();
    assert_eq!(online(&s, 2), ["commented", "five"]);
    assert_eq!(env_of(&s, "commented")["GREETING"], "from commented json");
}

#[test]
fn instances_as_text_max_and_minus_one_with_instance_var_and_increment_var() {
    let s = Sandbox::new();
    let dir = fixture(&s, "instances");
    start(&s, &dir, "ecosystem.json").ok();
    let all = cores();
    let all_but_one = all.saturating_sub(1).max(1);
    let names = online(&s, 2 + all + all_but_one + 2);
    let count = |app: &str| {
        names
            .iter()
            .filter(|n| {
                n.strip_prefix(app)
                    .and_then(|r| r.strip_prefix('-'))
                    .is_some_and(|i| i.parse::<u32>().is_ok())
            })
            .count()
    };
    assert_eq!(
        (
            count("two"),
            count("all"),
            count("all-but-one"),
            count("shards")
        ),
        (2, all, all_but_one, 2),
        "{names:?}"
    );
    for i in 0..2 {
        let env = env_of(&s, &format!("shards-{i}"));
        assert_eq!(env["INSTANCE_ID"], i.to_string(), "{env}");
        assert_eq!(env["NODE_APP_INSTANCE"], i.to_string(), "{env}");
        assert_eq!(env["SHARD"], (10 + i).to_string(), "{env}");
    }
    assert_eq!(env_of(&s, "two-1")["NODE_APP_INSTANCE"], "1");
}

#[test]
fn names_with_spaces_and_emoji_and_output_to_dev_null() {
    let s = Sandbox::new();
    let dir = fixture(&s, "names");
    let run = start(&s, &dir, "ecosystem.config.js");
    run.ok();
    let names = online(&s, 3);
    assert!(names.contains(&"Test-es6-modules".to_string()), "{names:?}");
    for name in &names {
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "{name} is a safe file name"
        );
    }
    assert_eq!(env_of(&s, "Test-es6-modules")["GREETING"], "es6");
    // `out_file: /dev/null`: its output is thrown away, its errors kept. It prints its
    // output line before its error line: once the error is logged, the output was read.
    let watchtower = names
        .iter()
        .find(|n| n.contains("Watchtower"))
        .expect("the watchtower");
    wait_for("its error line", || s.log(watchtower, "err").contains("up"));
    let out = s.log(watchtower, "out");
    assert!(!out.contains("env"), "{out}");
    assert!(s.log("Test-es6-modules", "out").contains("env"));
    assert!(!run.stderr.contains("out_file"), "{}", run.stderr);
}

#[test]
fn a_file_with_three_problems_reports_all_three_and_starts_nothing() {
    let s = Sandbox::new();
    let dir = fixture(&s, "three-problems");
    let run = start(&s, &dir, "ecosystem.json");
    let err = run.code(64).stderr.clone();
    assert!(err.contains("3 problems"), "{err}");
    for part in [
        "ecosystem.json, line 4: many: `instances`",
        "ecosystem.json: gone: script not found",
        "ecosystem.json, line 6: turbo: `exec_mode`",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert!(s.list().is_empty(), "nothing started");
    assert!(s.processes().is_empty(), "no process left");
}
