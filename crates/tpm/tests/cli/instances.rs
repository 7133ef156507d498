//! Instances: `-i N|max|0|-N`, names `NAME-PORT-i`, their number in the record and the
//! environment, `--port-step`, the app's name selecting every instance, `tpm scale`.

use serde_json::{json, Value};
use tpm_testkit::{free_port, wait_for, Sandbox};

/// A script that prints what tpm told it, then sleeps.
fn reporter(s: &Sandbox) -> std::path::PathBuf {
    s.file(
        "app.sh",
        "#!/usr/bin/env bash\necho \"instance=$TPM_INSTANCE node=$NODE_APP_INSTANCE port=$PORT name=$TPM_NAME\"\nwhile true; do sleep 1; done\n",
        0o755,
    )
}

/// How each process of `tpm reload --json` was reloaded.
fn reload_kinds(reloaded: &Value) -> Vec<&str> {
    reloaded
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reload"].as_str().unwrap())
        .collect()
}

fn names(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn instances_are_named_numbered_and_told_their_number() {
    let s = Sandbox::new();
    let port = free_port();
    let script = reporter(&s);
    let out = s
        .tpm([
            "start",
            script.to_str().unwrap(),
            "-p",
            &port.to_string(),
            "-i",
            "3",
            "--json",
        ])
        .ok()
        .json();
    let started: Vec<&str> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let app = format!("app-{port}");
    let expected: Vec<String> = (0..3).map(|i| format!("{app}-{i}")).collect();
    assert_eq!(started, expected);
    for (i, name) in expected.iter().enumerate() {
        let p = s.wait_status(name, "online");
        assert_eq!(p["instance"], i);
        assert_eq!(p["port"], port, "they share the PORT");
        assert!(s.record(name).contains(&format!(" instance={i} ")));
        wait_for("the instance to report", || {
            s.log(name, "out")
                .contains(&format!("instance={i} node={i} port={port} name={name}"))
        });
    }
    // One start of the app name with nothing else is not a new app: its instances exist.
    assert_eq!(names(&s.list()), expected, "listed together, in order");
}

#[test]
fn port_step_gives_each_instance_its_own_port() {
    let s = Sandbox::new();
    let port = free_port();
    let script = reporter(&s);
    s.tpm([
        "start",
        script.to_str().unwrap(),
        "--name",
        "api",
        "-p",
        &port.to_string(),
        "-i",
        "2",
        "--port-step",
        "7",
    ])
    .ok();
    let second = s.wait_status(&format!("api-{port}-1"), "online");
    assert_eq!(second["port"], port + 7);
    wait_for("instance 1 to see its PORT", || {
        s.log(&format!("api-{port}-1"), "out")
            .contains(&format!("port={}", port + 7))
    });
    // Each alone on its port: a reload is a restart of each, and says so.
    let reloaded = s
        .tpm(["reload", &format!("api-{port}"), "--json"])
        .ok()
        .json();
    let kinds = reload_kinds(&reloaded);
    assert_eq!(kinds, ["restart", "restart"], "{reloaded}");
    // Without instances, a step means nothing: a usage error.
    let err = s
        .tpm([
            "start",
            script.to_str().unwrap(),
            "--name",
            "x",
            "-p",
            "1",
            "--port-step",
            "2",
        ])
        .code(64)
        .stderr
        .clone();
    assert!(err.contains("--instances"), "{err}");
}

/// As pm2 reads them: `max` and `0` are one per core, `-N` one per core but N (at least
/// one), on the command line and in a file; the help and the range error say so.
#[test]
fn max_and_0_are_one_per_core_and_minus_n_one_per_core_but_n() {
    let s = Sandbox::new();
    let script = reporter(&s);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (given, count) in [
        ("max", cores),
        ("0", cores),
        ("-1", cores.saturating_sub(1).max(1)),
        ("-256", 1),
    ] {
        let port = free_port().to_string();
        s.tpm(["start", script.to_str().unwrap(), "-p", &port, "-i", given])
            .ok();
        assert_eq!(s.list().len(), count, "-i {given}");
        s.tpm(["delete", "all"]).ok();
    }
    for (given, count) in [
        (json!(0), cores),
        (json!(-1), cores.saturating_sub(1).max(1)),
    ] {
        let port = free_port();
        let app = json!({"apps": [{"script": "app.sh", "port": port, "instances": given}]});
        s.file("eco.json", &app.to_string(), 0o644);
        s.tpm(["start", "eco.json"]).ok();
        assert_eq!(s.list().len(), count, "instances: {given}");
        s.tpm(["delete", "all"]).ok();
    }
    for bad in ["0.5", "many", "257", "5000", "-257"] {
        let err = s
            .tpm(["start", script.to_str().unwrap(), "-p", "9", "-i", bad])
            .code(64)
            .stderr
            .clone();
        assert!(
            err.contains("1 to 256; max or 0: one per core; -N: one per core but N"),
            "{bad}: {err}"
        );
    }
    // Read as words: the help is wrapped at a width that moves where the lines break.
    let help = s.tpm(["start", "--help"]).ok().stdout.clone();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("max or 0: one per core") && help.contains("-N: one per core but N"),
        "{help}"
    );
}

#[test]
fn the_app_name_ids_and_instance_names_select_in_stop_restart_logs_and_delete() {
    let s = Sandbox::new();
    let port = free_port();
    let script = reporter(&s);
    let p = port.to_string();
    s.tpm(["start", script.to_str().unwrap(), "-p", &p, "-i", "3"])
        .ok();
    let app = format!("app-{port}");
    let all: Vec<String> = (0..3).map(|i| format!("{app}-{i}")).collect();
    for name in &all {
        s.wait_status(name, "online");
        wait_for("its first line", || !s.log(name, "out").is_empty());
    }
    // Tab completes the app's name, before its instances.
    let completed = s
        .tpm_env(&[("COMPLETE", "fish")], ["--", "tpm", "scale", "app-"])
        .ok()
        .stdout
        .clone();
    let words: Vec<&str> = completed
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    assert_eq!(words[..2], [app.as_str(), all[0].as_str()], "{completed}");
    // The app's name: every instance.
    let logs = s.tpm(["logs", &app, "-n", "5"]).ok().stdout.clone();
    for name in &all {
        assert!(logs.contains(name.as_str()), "{logs}");
    }
    let stopped = s.tpm(["stop", &app, "--json"]).ok().json();
    assert_eq!(stopped.as_array().unwrap().len(), 3);
    assert!(s.list().iter().all(|p| p["status"] == "stopped"));
    let started = s.tpm(["start", &app, "--json"]).ok().json();
    assert_eq!(
        started.as_array().unwrap().len(),
        3,
        "start APP starts them all"
    );
    let restarted = s.tpm(["restart", &app, "--json"]).ok().json();
    assert_eq!(restarted.as_array().unwrap().len(), 3);
    // One instance by name, one by id.
    s.tpm(["stop", &all[1]]).ok();
    let id2 = s.get(&all[2]).unwrap()["id"].to_string();
    s.tpm(["stop", &id2]).ok();
    let status: Vec<String> = s
        .list()
        .iter()
        .map(|p| p["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(status, ["online", "stopped", "stopped"]);
    s.tpm(["restart", &all[1]]).ok();
    s.wait_status(&all[1], "online");
    s.tpm(["restart", &id2]).ok();
    s.wait_status(&all[2], "online");
    let logs = s.tpm(["logs", &id2, "-n", "5"]).ok().stdout.clone();
    assert!(
        logs.contains(all[2].as_str()) && !logs.contains(all[1].as_str()),
        "{logs}"
    );
    // describe: one instance, or each of the app's.
    s.tpm(["describe", &all[1]]).ok();
    let described = s.tpm(["describe", &app, "--json"]).ok().json();
    assert_eq!(described.as_array().map(Vec::len), Some(3), "{described}");
    let id0 = s.get(&all[0]).unwrap()["id"].to_string();
    s.tpm(["delete", &id0]).ok();
    assert_eq!(names(&s.list()), all[1..]);
    let deleted = s.tpm(["delete", &app, "--json"]).ok().json();
    assert_eq!(deleted.as_array().unwrap().len(), 2);
    assert!(s.list().is_empty());
    // A process whose name merely ends in digits is no instance: `app` selects nothing.
    s.tpm(["stop", "app"]).code(1);
}

#[test]
fn scale_adds_the_lowest_free_numbers_and_removes_the_highest() {
    let s = Sandbox::new();
    let port = free_port();
    let script = reporter(&s);
    let p = port.to_string();
    s.tpm([
        "start",
        script.to_str().unwrap(),
        "-p",
        &p,
        "-i",
        "2",
        "-e",
        "GREETING=hi",
    ])
    .ok();
    let app = format!("app-{port}");
    let out = s.tpm(["scale", &app, "4", "--json"]).ok().json();
    assert_eq!(
        (out["from"].as_u64(), out["to"].as_u64()),
        (Some(2), Some(4))
    );
    let expected: Vec<String> = (0..4).map(|i| format!("{app}-{i}")).collect();
    assert_eq!(names(&s.list()), expected);
    let added = s.wait_status(&expected[3], "online");
    assert_eq!(added["instance"], 3);
    assert!(
        s.record(&expected[3]).contains("GREETING=hi"),
        "a copy of the app's spec"
    );
    wait_for("the new instance to report", || {
        s.log(&expected[3], "out").contains("instance=3 node=3")
    });
    s.tpm(["scale", &app, "-3"]).ok();
    assert_eq!(names(&s.list()), expected[..1]);
    s.tpm(["scale", &app, "+1"]).ok();
    assert_eq!(names(&s.list()), expected[..2]);
    // An instance's name stands for its app.
    s.tpm(["scale", &expected[0], "3"]).ok();
    assert_eq!(names(&s.list()), expected[..3]);
    // Down to none is a delete; a count is a number.
    s.tpm(["scale", &app, "0"]).code(64);
    s.tpm(["scale", &app, "lots"]).code(64);
    s.tpm(["scale", "nothing-1", "2"]).code(1);
    // A process started without instances cannot be scaled: it says how.
    let single = s.server_script("single.sh", port + 1);
    s.tpm(["start", single.to_str().unwrap()]).ok();
    let err = s
        .tpm(["scale", &format!("single-{}", port + 1), "2"])
        .code(64)
        .stderr
        .clone();
    assert!(err.contains("--instances"), "{err}");
    // An instance added after another process is listed with its app, not after it.
    s.tpm(["scale", &app, "+1"]).ok();
    let mut grouped = expected.clone();
    grouped.push(format!("single-{}", port + 1));
    assert_eq!(names(&s.list()), grouped);
}

#[test]
fn an_ecosystem_app_has_instances_and_pm2s_increment_var() {
    let s = Sandbox::new();
    let port = free_port();
    reporter(&s);
    s.file(
        "ecosystem.json",
        &format!(
            r#"{{"apps": [{{"name": "eco", "script": "./app.sh", "port": {port}, "instances": 2, "exec_mode": "cluster", "increment_var": "PORT"}}]}}"#
        ),
        0o644,
    );
    let run = s.tpm(["start", "ecosystem.json"]).ok().stderr.clone();
    assert!(
        !run.contains("exec_mode"),
        "no warning for pm2's cluster mode: {run}"
    );
    let second = s.wait_status(&format!("eco-{port}-1"), "online");
    assert_eq!(second["port"], port + 1);
    // The file reloads its app's instances, one at a time (they do not listen: each is
    // ready once it has stayed up a moment); each alone on its port, a restart each.
    let reloaded = s.tpm(["reload", "ecosystem.json", "--json"]).ok().json();
    let kinds = reload_kinds(&reloaded);
    assert_eq!(kinds, ["restart", "restart"]);
    assert_eq!(s.get(&format!("eco-{port}-1")).unwrap()["restarts"], 1);
    // The file stops what it started: both instances.
    s.tpm(["stop", "ecosystem.json"]).ok();
    assert!(s.list().iter().all(|p| p["status"] == "stopped"));
    // Another variable than PORT: each instance gets its value plus its number, as pm2
    // gives it; a value that is no number is refused, with what is wrong.
    s.file(
        "other.sh",
        "#!/usr/bin/env bash\necho \"http=$HTTP_PORT\"\nwhile true; do sleep 1; done\n",
        0o755,
    );
    let other = free_port();
    s.file(
        "other.json",
        &format!(
            r#"{{"apps": [{{"name": "http", "script": "./other.sh", "port": {other}, "instances": 2, "increment_var": "HTTP_PORT", "env": {{"HTTP_PORT": "8000"}}}}]}}"#
        ),
        0o644,
    );
    s.tpm(["start", "other.json"]).ok();
    for i in 0..2 {
        let name = format!("http-{other}-{i}");
        s.wait_status(&name, "online");
        wait_for("its line", || !s.log(&name, "out").is_empty());
        assert!(
            s.log(&name, "out").contains(&format!("http={}", 8000 + i)),
            "{}",
            s.log(&name, "out")
        );
    }
    s.file(
        "bad.json",
        r#"{"apps": [{"script": "./app.sh", "port": 1, "instances": 2, "increment_var": "HTTP_PORT", "env": {"HTTP_PORT": "web"}}]}"#,
        0o644,
    );
    let err = s.tpm(["start", "bad.json"]).code(64).stderr.clone();
    assert!(
        err.contains("HTTP_PORT") && err.contains("\"web\""),
        "{err}"
    );
}

#[test]
fn dump_and_export_write_an_apps_instances_as_one_app_with_a_count() {
    let s = Sandbox::new();
    let port = free_port();
    let script = reporter(&s);
    s.tpm([
        "start",
        script.to_str().unwrap(),
        "--name",
        "api",
        "-p",
        &port.to_string(),
        "-i",
        "3",
        "--port-step",
        "2",
    ])
    .ok();
    let app = format!("api-{port}");
    let dump = s.tpm(["dump"]).ok().json();
    let apps = dump["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 1, "{dump}");
    assert_eq!(apps[0]["name"], app.as_str());
    assert_eq!(apps[0]["instances"], 3);
    assert_eq!(apps[0]["port"], port, "the app's PORT, instance 0's");
    assert_eq!(apps[0]["port_step"], 2);
    // Read back, it makes the same processes.
    std::fs::write(s.path().join("dump.json"), dump.to_string()).unwrap();
    s.tpm(["delete", "all"]).ok();
    s.tpm(["start", "dump.json"]).ok();
    let expected: Vec<String> = (0..3).map(|i| format!("{app}-{i}")).collect();
    assert_eq!(names(&s.list()), expected);
    assert_eq!(s.get(&expected[2]).unwrap()["port"], port + 4);

    let k8s = s
        .tpm(["export", "kubernetes", &app, "--image", "x:1"])
        .ok()
        .stdout
        .clone();
    assert!(k8s.contains("replicas: 3"), "{k8s}");
    assert_eq!(k8s.matches("kind: Deployment").count(), 1, "{k8s}");
    let nomad = s.tpm(["export", "nomad", &app]);
    assert!(nomad.ok().stdout.contains("count = 3"), "{}", nomad.stdout);
    // Their ports 2 apart under tpm: each engine's copies share one; said, with what to do.
    assert!(
        nomad.stderr.contains("ports 2 apart") && nomad.stderr.contains("allocation"),
        "{}",
        nomad.stderr
    );
    let systemd = s.tpm(["export", "systemd", &app]);
    assert!(
        systemd.ok().stderr.contains(&format!(
            "3 instances under tpm, on ports {port} and on, 2 apart"
        )),
        "{}",
        systemd.stderr
    );
}
