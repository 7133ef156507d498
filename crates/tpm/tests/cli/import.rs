//! Moving from pm2: the real pm2 (the version bench/run pins) starts apps and saves its list
//! (`dump.pm2`); `tpm import pm2` reads it with `PM2_HOME` set and creates the same apps,
//! checked by `tpm list --json` and by the processes' real environments (`/proc/PID/environ`).
//!
//! pm2 comes from npm into `.ci/cache` (`./test.sh` installs it; `TPM_TEST_PM2` names
//! another copy); without it these tests fail and say how to get it.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tpm_testkit::{free_port, wait_for, Run, Sandbox};

/// The secret: never printed, kept in the store's private files.
const SECRET: &str = "tok-3f9a-never-printed";

/// The pm2 launcher, or a failure that says how to get it.
fn pm2_bin() -> PathBuf {
    let pm2 = std::env::var_os("TPM_TEST_PM2")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/cache/node_modules/.bin/pm2")
        });
    assert!(
        pm2.is_file(),
        "{} is missing: ./test.sh installs pm2, or run\n  npm install --prefix .ci/cache --no-audit --no-fund --loglevel=error pm2@7.0.4",
        pm2.display()
    );
    pm2
}

/// pm2 with its home in the sandbox; its daemon is killed when this is dropped, whatever
/// the test did.
struct Pm2<'a> {
    s: &'a Sandbox,
    bin: PathBuf,
    home: PathBuf,
}

impl<'a> Pm2<'a> {
    fn new(s: &'a Sandbox) -> Pm2<'a> {
        Pm2 {
            s,
            bin: pm2_bin(),
            home: s.path().join("pm2-home"),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut c = Command::new(&self.bin);
        self.s.apply_env(&mut c);
        c.env("PM2_HOME", &self.home).args(args);
        Run::from_output(c.output().expect("run pm2"))
    }

    fn dump(&self) -> PathBuf {
        self.home.join("dump.pm2")
    }
}

impl Drop for Pm2<'_> {
    fn drop(&mut self) {
        if self.home.join("pm2.pid").exists() {
            let _ = self.run(&["kill"]);
        }
    }
}

/// `tpm ARGS` with `PM2_HOME` pointing at `pm2`'s.
fn tpm(s: &Sandbox, pm2: &Pm2, args: &[&str]) -> Run {
    s.tpm_env(&[("PM2_HOME", pm2.home.to_str().unwrap())], args)
}

struct Ports {
    web: u16,
    worker: u16,
    py: u16,
}

/// Four apps as a pm2 user writes them, started by pm2, saved, and pm2 killed: `web` (two
/// instances in cluster mode, a PORT in its env), `worker` (a bash script with a secret),
/// `py` (python3 with interpreter arguments and arguments, in its own cwd), and `Mail
/// Queue` (no PORT, a name with a space, as pm2 users write them).
fn saved_by_pm2(s: &Sandbox, pm2: &Pm2) -> Ports {
    let ports = Ports {
        web: free_port(),
        worker: free_port(),
        py: free_port(),
    };
    s.file("app/web.js", "setInterval(() => {}, 1000);\n", 0o644);
    s.file(
        "app/worker.sh",
        "#!/usr/bin/env bash\nexec sleep 100000\n",
        0o755,
    );
    s.file(
        "app/srv.py",
        "import sys, time\nprint('argv', sys.argv[1:], flush=True)\ntime.sleep(100000)\n",
        0o644,
    );
    fs::create_dir_all(s.path().join("py-home")).unwrap();
    let apps = serde_json::json!({"apps": [
        {"name": "web", "script": "app/web.js", "instances": 2, "exec_mode": "cluster",
         "env": {"PORT": ports.web, "NODE_ENV": "production"}},
        {"name": "worker", "script": "app/worker.sh", "max_restarts": 5, "min_uptime": 2000,
         "kill_timeout": 4000, "cron_restart": "0 3 * * *",
         "env": {"PORT": ports.worker, "API_TOKEN": SECRET, "QUEUE": "mail"}},
        {"name": "py", "script": s.path().join("app/srv.py"), "interpreter": "python3",
         "interpreter_args": "-u", "args": "--flag value", "cwd": s.path().join("py-home"),
         "env": {"PORT": ports.py, "GREETING": "hi there"}},
        {"name": "Mail Queue", "script": "app/worker.sh", "env": {"QUEUE": "outbox"}},
    ]});
    s.file("ecosystem.json", &apps.to_string(), 0o644);
    pm2.run(&["start", "ecosystem.json"]).ok();
    let online = pm2.run(&["jlist"]).ok().json();
    let statuses: Vec<&str> = online
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pm2_env"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.len(),
        5,
        "pm2 runs web twice, worker, py and Mail Queue"
    );
    pm2.run(&["save"]).ok();
    pm2.run(&["kill"]).ok();
    assert!(pm2.dump().is_file());
    ports
}

/// A process's real environment.
fn environ(pid: u64) -> BTreeMap<String, String> {
    let raw = fs::read(format!("/proc/{pid}/environ")).unwrap();
    raw.split(|&b| b == 0)
        .filter_map(|e| {
            let e = String::from_utf8_lossy(e);
            let (k, v) = e.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

fn by_name(list: &Value) -> BTreeMap<String, Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p.clone()))
        .collect()
}

#[test]
fn a_list_saved_by_pm2_is_imported_and_started_as_pm2_ran_it() {
    let s = Sandbox::new();
    let pm2 = Pm2::new(&s);
    let p = saved_by_pm2(&s, &pm2);
    let web = format!("web-{}", p.web);
    let worker = format!("worker-{}", p.worker);
    let py = format!("py-{}", p.py);

    let out = tpm(&s, &pm2, &["import", "pm2", "--start"]);
    out.ok();
    for name in [&web, &worker, &py] {
        assert!(out.stdout.contains(name.as_str()), "{}", out.stdout);
    }
    // Said once, for the app whose instances shared a port through Node's cluster module.
    assert!(out.stderr.contains("cluster mode"), "{}", out.stderr);
    // And for the name made into a file name.
    assert!(out.stderr.contains("Mail-Queue"), "{}", out.stderr);
    assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET));

    let list = by_name(&s.tpm(["list", "--json"]).ok().json());
    let names: Vec<&str> = list.keys().map(String::as_str).collect();
    let web0 = format!("{web}-0");
    let web1 = format!("{web}-1");
    let queue = "Mail-Queue".to_string();
    assert_eq!(names, [&queue, &py, &web0, &web1, &worker]);
    assert_eq!(list[&queue]["port"], Value::Null);
    for p in list.values() {
        assert_eq!(p["status"], "online", "{p}");
        assert_eq!(p["type"], "pm2", "{p}");
    }
    let dir = s.path().to_str().unwrap().to_string();
    // Scripts, interpreters, arguments and folders as pm2 resolved them.
    assert_eq!(
        list[&py]["cmd"],
        serde_json::json!([
            "python3",
            "-u",
            format!("{dir}/app/srv.py"),
            "--flag",
            "value"
        ])
    );
    assert_eq!(list[&py]["cwd"], format!("{dir}/py-home"));
    assert_eq!(
        list[&worker]["cmd"],
        serde_json::json!(["bash", format!("{dir}/app/worker.sh")])
    );
    assert_eq!(list[&worker]["cwd"], dir);
    assert_eq!(
        list[&web0]["cmd"],
        serde_json::json!(["node", format!("{dir}/app/web.js")])
    );
    assert_eq!(
        (
            list[&web0]["instance"].clone(),
            list[&web1]["instance"].clone()
        ),
        (0.into(), 1.into())
    );
    wait_for("py to print its arguments", || {
        s.log(&py, "out").contains("argv ['--flag', 'value']")
    });

    // The environments the processes really have: the app's own variables.
    let env = |name: &str| environ(list[name]["pid"].as_u64().unwrap());
    let w = env(&worker);
    assert_eq!(w.get("API_TOKEN").map(String::as_str), Some(SECRET));
    assert_eq!(w.get("QUEUE").map(String::as_str), Some("mail"));
    assert_eq!(w.get("PORT"), Some(&p.worker.to_string()));
    assert_eq!(env(&queue).get("QUEUE").map(String::as_str), Some("outbox"));
    let y = env(&py);
    assert_eq!(y.get("GREETING").map(String::as_str), Some("hi there"));
    for name in [&web0, &web1] {
        let e = env(name);
        assert_eq!(e.get("NODE_ENV").map(String::as_str), Some("production"));
        assert_eq!(e.get("PORT"), Some(&p.web.to_string()));
        // pm2's own variables are not carried over (PM2_HOME is the caller's here).
        for key in ["PM2_USAGE", "PM2_JSON_PROCESSING", "unique_id", "web"] {
            assert!(!e.contains_key(key), "{key}: {e:?}");
        }
    }
    // The restart options.
    let spec = s.tpm(["dump", &worker]).ok().json();
    let app = &spec["apps"][0];
    assert_eq!(
        (app["max_restarts"].clone(), app["min_uptime"].clone()),
        (5.into(), 2000.into())
    );
    assert_eq!(app["kill_timeout"], 4000);
    assert_eq!(app["cron_restart"], "0 3 * * *");
    // Of the environment pm2 recorded, what this shell does not have the same.
    let mut keys: Vec<&String> = app["env"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["API_TOKEN", "PORT", "QUEUE"]);
    // The secret: masked where it is shown, kept in a private file.
    assert_eq!(app["env"]["API_TOKEN"], "<hidden by tpm>");
    let describe = s.tpm(["describe", &worker]);
    assert!(!describe.stdout.contains(SECRET), "{}", describe.stdout);
    let meta = s.store().join(format!("processes/{worker}.meta"));
    assert!(fs::read_to_string(&meta).unwrap().contains(SECRET));
    assert_eq!(
        fs::metadata(&meta).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Again: nothing changes, and it says so.
    let pids: Vec<Value> = list.values().map(|p| p["pid"].clone()).collect();
    let again = tpm(&s, &pm2, &["import", "pm2", "--start", "--json"]);
    again.ok();
    let rows = again.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r["action"] == "exists"), "{rows:?}");
    let after = by_name(&s.tpm(["list", "--json"]).ok().json());
    let pids_after: Vec<Value> = after.values().map(|p| p["pid"].clone()).collect();
    assert_eq!(pids, pids_after);
}

#[test]
fn without_start_the_apps_are_created_stopped_and_start_by_name() {
    let s = Sandbox::new();
    let pm2 = Pm2::new(&s);
    let p = saved_by_pm2(&s, &pm2);
    let worker = format!("worker-{}", p.worker);

    let out = tpm(&s, &pm2, &["import", "pm2", "--json"]);
    out.ok();
    let rows = out.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        assert_eq!(row["action"], "created", "{row}");
        assert_eq!(row["status"], "stopped", "{row}");
    }
    assert!(s.processes().is_empty(), "nothing runs");
    let list = by_name(&s.tpm(["list", "--json"]).ok().json());
    assert_eq!(list.len(), 5);
    assert!(list.values().all(|p| p["status"] == "stopped"));

    // Started later, from a shell that lacks the app's variables: they are its own.
    s.tpm(["start", &worker]).ok();
    let info = s.wait_status(&worker, "online");
    let env = environ(info["pid"].as_u64().unwrap());
    assert_eq!(env.get("API_TOKEN").map(String::as_str), Some(SECRET));
    assert_eq!(env.get("QUEUE").map(String::as_str), Some("mail"));

    // `--start` now starts what the first import created, and leaves the running one be.
    let rows = tpm(&s, &pm2, &["import", "pm2", "--start", "--json"])
        .ok()
        .json();
    let actions: BTreeMap<String, String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(actions[&worker], "exists");
    assert_eq!(actions.values().filter(|a| *a == "started").count(), 4);
}

#[test]
fn a_missing_list_names_pm2_save_and_a_damaged_one_creates_nothing() {
    let s = Sandbox::new();
    let pm2 = Pm2::new(&s);
    fs::create_dir_all(&pm2.home).unwrap();
    let out = tpm(&s, &pm2, &["import", "pm2"]);
    out.code(66);
    assert!(
        out.stderr.contains("no pm2 process list at"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("pm2 save"), "{}", out.stderr);
    // Without PM2_HOME: ~/.pm2/dump.pm2.
    let out = s.tpm(["import", "pm2"]);
    out.code(66);
    let home_dump = s.path().join(".pm2/dump.pm2");
    assert!(
        out.stderr.contains(home_dump.to_str().unwrap()),
        "{}",
        out.stderr
    );

    // pm2's list cut short (a full disk during `pm2 save`), and lists that are not pm2's.
    saved_by_pm2(&s, &pm2);
    let whole = fs::read_to_string(pm2.dump()).unwrap();
    let cut = s.file("cut.pm2", &whole[..whole.len() / 2], 0o644);
    let no_script = s.file(
        "odd.pm2",
        r#"[{"name": "a", "pm_exec_path": "/bin/true"}, {"name": "b"}]"#,
        0o644,
    );
    let ecosystem = s.path().join("ecosystem.json");
    for (file, says) in [
        (&cut, "not JSON"),
        (&no_script, "process #2 has no `pm_exec_path`"),
        (&ecosystem, "expected a list of processes"),
    ] {
        let out = s.tpm(["import", "pm2", file.to_str().unwrap()]);
        out.code(1);
        assert!(
            out.stderr.contains("not pm2's saved process list"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(says), "{says}: {}", out.stderr);
        assert!(
            out.stderr.contains("dump.pm2.bak") || out.stderr.contains(".bak`"),
            "{}",
            out.stderr
        );
        let list = s.tpm(["list", "--json"]).ok().json();
        assert_eq!(
            list,
            serde_json::json!([]),
            "nothing created from {}",
            file.display()
        );
    }
}
