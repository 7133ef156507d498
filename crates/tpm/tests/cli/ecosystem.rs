//! Apps declared in ecosystem files: `tpm start|restart|stop|delete FILE`, `--only`,
//! `--env NAME`, `tpm dump` and `tpm init`, with real node for JavaScript files.

use serde_json::Value;
use tpm_testkit::{free_port, Sandbox};

/// A server script that says its PORT and a few variables, then waits.
fn server(s: &Sandbox, rel: &str) {
    s.file(
        rel,
        "echo \"up on $PORT greeting=$GREETING node_env=$NODE_ENV mode=$MODE\"\nexec sleep 100000\n",
        0o644,
    );
}

fn names(s: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = s
        .list()
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

/// The first line the process wrote, once it has written one.
fn first_line(s: &Sandbox, name: &str) -> String {
    let mut line = String::new();
    tpm_testkit::wait_for(&format!("{name} to write a line"), || {
        line = s
            .log(name, "out")
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        !line.is_empty()
    });
    line
}

#[test]
fn json_yaml_and_toml_files_start_the_same_apps() {
    for (file, body) in [
        (
            "ecosystem.json",
            r#"{"apps": [
                {"name": "api", "script": "srv/server.sh", "port": PORT_A, "env": {"GREETING": "hi"}},
                {"name": "devpages-PORT_B", "script": "server.sh", "cwd": "srv", "env": {"PORT": "PORT_B"}}
            ]}"#,
        ),
        (
            "ecosystem.yaml",
            "apps:\n  - name: api\n    script: srv/server.sh\n    port: PORT_A\n    env:\n      GREETING: hi\n  - name: devpages-PORT_B\n    script: server.sh\n    cwd: srv\n    env:\n      PORT: \"PORT_B\"\n",
        ),
        (
            "ecosystem.toml",
            "[[apps]]\nname = \"api\"\nscript = \"srv/server.sh\"\nport = PORT_A\nenv = { GREETING = \"hi\" }\n\n[[apps]]\nname = \"devpages-PORT_B\"\nscript = \"server.sh\"\ncwd = \"srv\"\nenv = { PORT = \"PORT_B\" }\n",
        ),
    ] {
        let s = Sandbox::new();
        server(&s, "srv/server.sh");
        let (a, b) = (free_port(), free_port());
        let body = body
            .replace("PORT_A", &a.to_string())
            .replace("PORT_B", &b.to_string());
        s.file(file, &body, 0o644);
        let out = s.tpm(["start", file]);
        out.ok();
        let api = format!("api-{a}");
        let pages = format!("devpages-{b}");
        assert!(out.stdout.contains(&format!("started {api}")), "{}", out.stdout);
        assert_eq!(names(&s), [api.clone(), pages.clone()], "{file}");
        let p = s.wait_status(&pages, "online");
        // A relative cwd is the file's folder's; the script is found from the app's cwd.
        assert_eq!(p["cwd"], s.path().join("srv").to_str().unwrap());
        assert_eq!(p["type"], "ecosystem");
        assert!(s.record(&api).contains("type=ecosystem"));
        assert_eq!(first_line(&s, &api).split_once(' ').unwrap().1.split_once(' ').unwrap().1,
            format!("up on {a} greeting=hi node_env= mode="));
    }
}

#[test]
fn js_configs_are_evaluated_by_node_with_the_callers_environment() {
    tpm_testkit::program("node");
    for (file, body) in [
        (
            "ecosystem.config.js",
            "const path = require('path');\nmodule.exports = { apps: [{ name: 'js', script: path.join(__dirname, 'server.sh'), port: Number(process.env.APP_PORT), env: { MODE: process.env.APP_MODE } }] };\n",
        ),
        (
            "ecosystem.config.cjs",
            "const path = require('path');\nmodule.exports = [{ name: 'js', script: path.join(__dirname, 'server.sh'), port: Number(process.env.APP_PORT), env: { MODE: process.env.APP_MODE } }];\n",
        ),
        (
            "ecosystem.config.mjs",
            "import path from 'node:path';\nconst dir = path.dirname(new URL(import.meta.url).pathname);\nexport default { apps: [{ name: 'js', script: path.join(dir, 'server.sh'), port: Number(process.env.APP_PORT), env: { MODE: process.env.APP_MODE } }] };\n",
        ),
    ] {
        let s = Sandbox::new();
        server(&s, "server.sh");
        s.file(file, body, 0o644);
        let port = free_port().to_string();
        s.tpm_env(&[("APP_PORT", &port), ("APP_MODE", "fast")], ["start", file])
            .ok();
        let name = format!("js-{port}");
        assert!(first_line(&s, &name).ends_with("mode=fast"), "{file}");
    }
}

#[test]
fn a_file_with_any_bad_app_starts_nothing_and_changes_no_record() {
    let s = Sandbox::new();
    server(&s, "server.sh");
    let port = free_port();
    // A process that exists already, under a name one of the files uses.
    s.tpm([
        "start",
        "server.sh",
        "--name",
        "api",
        "--port",
        &port.to_string(),
    ])
    .ok();
    let name = format!("api-{port}");
    s.wait_status(&name, "online");
    let record = s.record_as_commanded(&name);
    let running = s.processes().len();
    let good = format!(
        r#"{{"name": "api", "script": "server.sh", "port": {port}, "env": {{"NEW": "1"}}}}"#
    );
    for (why, body, code, says) in [
        (
            "a syntax error",
            // (A trailing comma is no error: pm2 read .json files as JavaScript.)
            "{\"apps\": [\n  {\"script\": \"server.sh\" \"port\": 1}\n]}".to_string(),
            64,
            "line 2",
        ),
        (
            "a wrong shape",
            "[1, 2]".into(),
            64,
            "an app must be an object",
        ),
        (
            "a missing script",
            format!("[{good}, {{\"script\": \"nope.sh\", \"port\": 1}}]"),
            66,
            "nope.sh",
        ),
        (
            "a PORT that is no number",
            format!("[{good}, {{\"script\": \"server.sh\", \"env\": {{\"PORT\": \"abc\"}}}}]"),
            65,
            "PORT",
        ),
        (
            "an exec_mode pm2 does not have",
            format!(
                "[{good}, {{\"script\": \"server.sh\", \"port\": 6, \"exec_mode\": \"turbo\"}}]"
            ),
            64,
            "exec_mode",
        ),
        (
            "instances that are no number",
            format!("[{good}, {{\"name\": \"x\", \"script\": \"server.sh\", \"port\": 2, \"instances\": \"lots\"}}]"),
            64,
            "instances",
        ),
        (
            "two apps of one name",
            format!("[{good}, {good}]"),
            64,
            "like api",
        ),
        (
            "a missing cwd",
            format!("[{good}, {{\"script\": \"server.sh\", \"port\": 3, \"cwd\": \"gone\"}}]"),
            66,
            "gone",
        ),
        (
            "a bad value",
            format!(
                "[{good}, {{\"script\": \"server.sh\", \"port\": 4, \"max_restarts\": \"many\"}}]"
            ),
            64,
            "max_restarts",
        ),
        (
            "no script",
            format!("[{good}, {{\"name\": \"x\", \"port\": 5}}]"),
            64,
            "no `script`",
        ),
    ] {
        s.file("bad.json", &body, 0o644);
        let out = s.tpm(["start", "bad.json"]);
        out.code(code);
        assert!(out.stderr.contains("bad.json"), "{why}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{why}: {}", out.stderr);
        assert!(out.stderr.contains("help:"), "{why}: {}", out.stderr);
        assert_eq!(names(&s), std::slice::from_ref(&name), "{why}");
        assert_eq!(
            s.record_as_commanded(&name),
            record,
            "{why}: the record is as it was"
        );
        assert_eq!(s.processes().len(), running, "{why}: no new process");
    }
}

#[test]
fn start_file_leaves_running_apps_as_they_are_and_starts_the_others() {
    let s = Sandbox::new();
    server(&s, "server.sh");
    let (a, b) = (free_port(), free_port());
    s.file(
        "apps.json",
        &format!(r#"[{{"name": "a", "script": "server.sh", "port": {a}}}, {{"name": "b", "script": "server.sh", "port": {b}}}]"#),
        0o644,
    );
    s.tpm(["start", "apps.json", "--only", "a"]).ok();
    assert_eq!(names(&s), [format!("a-{a}")]);
    let pid = s.wait_status(&format!("a-{a}"), "online")["pid"].clone();
    let out = s.tpm(["start", "apps.json"]);
    out.ok();
    assert!(
        out.stdout
            .contains(&format!("unchanged a-{a} (already online")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("started b-{b}")),
        "{}",
        out.stdout
    );
    assert_eq!(
        s.get(&format!("a-{a}")).unwrap()["pid"],
        pid,
        "a was not restarted"
    );
    // --only takes the full name too, and several names.
    s.tpm(["stop", "apps.json", "--only", &format!("a-{a},b")])
        .ok();
    assert!(s.list().iter().all(|p| p["status"] == "stopped"));
    let out = s.tpm(["start", "apps.json", "--only", "c"]);
    out.code(64);
    assert!(out.stderr.contains("the apps: a, b"), "{}", out.stderr);
}

#[test]
fn env_name_merges_env_name_over_env() {
    let s = Sandbox::new();
    server(&s, "server.sh");
    let port = free_port();
    s.file(
        "ecosystem.json",
        &format!(
            r#"{{"apps": [{{"name": "web", "script": "server.sh", "port": {port},
            "env": {{"GREETING": "hi", "NODE_ENV": "development"}},
            "env_production": {{"NODE_ENV": "production", "MODE": "fast"}}}}]}}"#
        ),
        0o644,
    );
    s.tpm(["start", "ecosystem.json", "--env", "production"])
        .ok();
    let name = format!("web-{port}");
    assert!(first_line(&s, &name).ends_with(&format!(
        "up on {port} greeting=hi node_env=production mode=fast"
    )));
    assert!(
        s.record(&name).contains("node_env=production"),
        "{}",
        s.record(&name)
    );
    // A name no app has changes nothing, and says so.
    let out = s.tpm(["restart", "ecosystem.json", "--env", "staging"]);
    out.ok();
    assert!(
        out.stderr.contains("no app has env_staging"),
        "{}",
        out.stderr
    );
}

#[test]
fn restart_file_reads_the_file_again() {
    let s = Sandbox::new();
    server(&s, "server.sh");
    let port = free_port();
    let app = |greeting: &str| {
        format!(
            r#"{{"name": "web", "script": "server.sh", "port": {port}, "env": {{"GREETING": "{greeting}"}}}}"#
        )
    };
    s.file("ecosystem.json", &app("before"), 0o644);
    s.tpm(["start", "ecosystem.json"]).ok();
    let name = format!("web-{port}");
    assert!(first_line(&s, &name).contains("greeting=before"));
    s.file("ecosystem.json", &app("after"), 0o644);
    let out = s.tpm(["restart", "ecosystem.json"]);
    out.ok();
    assert!(
        out.stdout.contains(&format!("restarted {name}")),
        "{}",
        out.stdout
    );
    let mut last = String::new();
    tpm_testkit::wait_for("the restarted process to say its greeting", || {
        last = s
            .log(&name, "out")
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        last.contains("greeting=after")
    });
    let p = s.get(&name).unwrap();
    assert_eq!(p["restarts"], 1);
    assert_eq!(p["id"], 0, "same id");
}

#[test]
fn dump_then_delete_then_start_restores_the_same_processes() {
    let s = Sandbox::new();
    server(&s, "srv/server.sh");
    let (a, b) = (free_port(), free_port());
    s.tpm([
        "start",
        "srv/server.sh",
        "--name",
        "api",
        "--port",
        &a.to_string(),
        "--env",
        "GREETING=hello world",
        "--kill-timeout",
        "500",
        "--no-autorestart",
        "--",
        "--flag",
        "two words",
    ])
    .ok();
    s.tpm([
        "start",
        &format!("python3 -m http.server {b} --bind 127.0.0.1"),
        "--cwd",
        "srv",
        "--max-restarts",
        "3",
    ])
    .ok();
    let before: Vec<Value> = s.list();
    let dump = s.tpm(["dump"]);
    dump.ok();
    s.file("restore.json", &dump.stdout, 0o644);
    s.tpm(["delete", "all"]).ok();
    assert!(s.list().is_empty());
    s.tpm(["start", "restore.json"]).ok();
    let after = s.list();
    let keep = |p: &Value| {
        (
            p["name"].clone(),
            p["port"].clone(),
            p["cmd"].clone(),
            p["cwd"].clone(),
            p["script"].clone(),
            p["autorestart"].clone(),
        )
    };
    assert_eq!(
        after.iter().map(keep).collect::<Vec<_>>(),
        before.iter().map(keep).collect::<Vec<_>>()
    );
    let api = format!("api-{a}");
    let record = s.record(&api);
    for key in [
        "'GREETING=hello world'",
        "kill_timeout=500",
        "autorestart=false",
    ] {
        assert!(record.contains(key), "{key} in {record}");
    }
    assert!(s.record(&format!("python3-{b}")).contains("max_restarts=3"));
    // The same document in YAML and TOML reads back too.
    for format in ["yaml", "toml"] {
        let out = s.tpm(["dump", "--format", format]);
        out.ok();
        let file = format!("again.{format}");
        s.file(&file, &out.stdout, 0o644);
        let again = s.tpm(["start", &file]);
        again.ok();
        assert_eq!(
            again.stdout.matches("unchanged").count(),
            2,
            "{}",
            again.stdout
        );
    }
}

#[test]
fn ids_and_all_select_processes_like_names() {
    let s = Sandbox::new();
    server(&s, "server.sh");
    let ports: Vec<String> = (0..3).map(|_| free_port().to_string()).collect();
    for p in &ports {
        s.tpm(["start", "server.sh", "--port", p]).ok();
    }
    let out = s.tpm(["stop", "1", "--json"]);
    out.ok();
    assert_eq!(out.json()[0]["name"], format!("server-{}", ports[1]));
    assert_eq!(
        s.get(&format!("server-{}", ports[1])).unwrap()["status"],
        "stopped"
    );
    let out = s.tpm(["logs", "0", "--lines", "1"]);
    out.ok();
    s.tpm(["restart", "all"]).ok();
    assert!(s.list().iter().all(|p| p["status"] == "online"));
    s.tpm(["stop", "9"]).code(1);
    // start takes them too: an id, `all`, a pattern; --wait, but no option that would
    // change what the process is.
    let name1 = format!("server-{}", ports[1]);
    s.tpm(["stop", "1"]).ok();
    let out = s.tpm(["start", "1", "--json"]);
    out.ok();
    assert_eq!(out.json()[0]["name"], name1.as_str());
    s.tpm(["stop", "all"]).ok();
    let out = s.tpm(["start", "all"]);
    out.ok();
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("started "))
            .count(),
        3
    );
    s.tpm(["stop", "server-*"]).ok();
    s.tpm(["start", "server-*"]).ok();
    assert!(s.list().iter().all(|p| p["status"] == "online"));
    s.tpm(["stop", "1"]).ok();
    let out = s.tpm(["start", "1", "--port", "1234"]);
    out.code(64);
    assert!(
        out.stderr.contains("--port would change that"),
        "{}",
        out.stderr
    );
    assert_eq!(s.get(&name1).unwrap()["status"], "stopped");
    // It listens on nothing: --wait waits the time given for it, then says so.
    let out = s.tpm(["start", &name1, "--wait", "--wait-timeout", "500ms"]);
    out.code(1);
    assert!(
        out.stderr.contains("not ready after 500ms"),
        "{}",
        out.stderr
    );
    s.tpm(["start", "9"]).code(1);
    let out = s.tpm(["dump", "2"]);
    assert!(out.stdout.contains(&format!("server-{}", ports[2])));
    s.tpm(["delete", "all"]).ok();
    assert!(s.list().is_empty());
    // With nothing left, `all` selects nothing, like "*".
    s.tpm(["stop", "all"]).ok();
}

#[test]
fn init_writes_a_starter_in_each_format_and_keeps_an_existing_file() {
    let s = Sandbox::new();
    for (args, file) in [
        (vec!["init"], "ecosystem.config.js"),
        (vec!["init", "--format", "json"], "ecosystem.json"),
        (vec!["init", "--format", "yaml"], "ecosystem.yaml"),
        (vec!["init", "apps.toml"], "apps.toml"),
    ] {
        let out = s.tpm(&args);
        out.ok();
        assert!(out.stdout.contains(file), "{}", out.stdout);
        assert!(s.path().join(file).is_file());
        // The starter names apps as pm2 users do: both are listed by --only's error.
        let out = s.tpm(["start", file, "--only", "nothing"]);
        out.code(64);
        assert!(
            out.stderr.contains("the apps: api, web"),
            "{file}: {}",
            out.stderr
        );
    }
    let out = s.tpm(["init"]);
    out.code(64);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    s.tpm(["init", "--force"]).ok();
}

#[test]
fn options_that_name_one_process_are_refused_with_a_file() {
    let s = Sandbox::new();
    server(&s, "server.sh");
    s.file(
        "ecosystem.json",
        r#"{"script": "server.sh", "port": 1234}"#,
        0o644,
    );
    for flag in [["--port", "99"], ["--name", "x"], ["--cwd", "."]] {
        let out = s.tpm(["start", "ecosystem.json", flag[0], flag[1]]);
        out.code(64);
        assert!(out.stderr.contains("for each app"), "{}", out.stderr);
    }
    let out = s.tpm(["start", "server.sh", "--only", "x", "--port", "5"]);
    out.code(64);
    assert!(s.list().is_empty());
}

#[test]
fn what_a_js_config_spawns_detached_is_gone_when_start_returns() {
    tpm_testkit::program("node");
    // Each config starts a child that leaves node's group and session, waits until it has
    // written its pid, and only then exports its apps: so the child is surely running
    // while the file is evaluated.
    let escapes = [
        (
            "detached",
            "const { spawn } = require('child_process');\n\
             spawn(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(PIDFILE)}, String(process.pid)); setInterval(() => {}, 1000)`],\n\
             \x20     { detached: true, stdio: 'ignore' }).unref();\n",
        ),
        (
            // Detached, then a fork that makes a session of its own again and whose parent
            // exits: not node's descendant, in no group or session of node's.
            "setsid",
            "const { spawn } = require('child_process');\n\
             spawn('sh', ['-c', `(setsid sleep 1000 & echo $! > ${JSON.stringify(PIDFILE)}) & exit 0`],\n\
             \x20     { detached: true, stdio: 'ignore' }).unref();\n",
        ),
    ];
    let mut left = Vec::new();
    for (cgroup, tracking) in [("on", "cgroup"), ("off", "marker")] {
        for (how, spawn) in escapes {
            let s = Sandbox::new();
            server(&s, "server.sh");
            let pidfile = s.path().join(format!("child-{how}.pid"));
            let port = free_port();
            s.file(
                "ecosystem.config.js",
                &format!(
                    "const PIDFILE = {pidfile:?};\n{spawn}\
                     const fs = require('fs'), path = require('path');\n\
                     module.exports = new Promise(done => {{\n\
                     \x20 const look = () => fs.existsSync(PIDFILE) && fs.readFileSync(PIDFILE, 'utf8').trim()\n\
                     \x20   ? done({{ apps: [{{ name: 'js', script: path.join(__dirname, 'server.sh'), port: {port} }}] }})\n\
                     \x20   : setTimeout(look, 10);\n\
                     \x20 look();\n\
                     }});\n",
                    pidfile = pidfile.display().to_string(),
                ),
                0o644,
            );
            s.tpm_env(&[("TPM_CGROUP", cgroup)], ["start", "ecosystem.config.js"])
                .ok();
            let pid: u32 = std::fs::read_to_string(&pidfile)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            if let Some(p) = tpm_testkit::Proc::read(pid) {
                // Not to be left for the next test either.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
                left.push(format!("{how} ({tracking}): {p:?}"));
            }
            s.wait_status(&format!("js-{port}"), "online");
        }
    }
    assert!(left.is_empty(), "outlived the evaluation: {left:#?}");
}

/// `--only` that names no app (blank, or commas alone) is a usage error, for `start` and
/// the commands that act on a file, as in Nushell: it never picks nothing, or everything.
#[test]
fn only_naming_no_app_is_a_usage_error() {
    let s = Sandbox::new();
    server(&s, "server.sh");
    let a = free_port();
    s.file(
        "apps.json",
        &format!(r#"[{{"name": "a", "script": "server.sh", "port": {a}}}]"#),
        0o644,
    );
    for only in [",", " , "] {
        let out = s.tpm(["start", "apps.json", "--only", only]);
        out.code(64);
        assert!(out.stderr.contains("names no app"), "{}", out.stderr);
        assert!(names(&s).is_empty(), "--only {only:?} started nothing");
    }
    s.tpm(["start", "apps.json"]).ok();
    s.wait_status(&format!("a-{a}"), "online");
    let out = s.tpm(["stop", "apps.json", "--only", ","]);
    out.code(64);
    assert!(out.stderr.contains("names no app"), "{}", out.stderr);
    assert_eq!(s.get(&format!("a-{a}")).unwrap()["status"], "online");
}
