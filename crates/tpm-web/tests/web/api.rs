//! The API answers as the CLI does: the same fields, the same processes, the same errors.

use serde_json::{json, Value};
use tpm_testkit::{free_port, Sandbox};

use crate::support::{start, steady, store_files, talker, Server};

#[test]
fn the_list_and_one_process_have_exactly_the_fields_and_values_of_list_json() {
    let s = Sandbox::new();
    let a = talker(&s, "alpha", free_port(), "hello");
    let b = talker(&s, "beta", free_port(), "hello");
    start(&s, "alpha.sh");
    start(&s, "beta.sh");
    let server = Server::start(&s, &[]);
    let api = server.get("/api/processes").status(200).json();
    let cli = Value::Array(s.list());
    assert_eq!(
        steady(api.as_array().unwrap()),
        steady(cli.as_array().unwrap())
    );
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&api[0]), keys(&cli[0]), "same fields, same order");
    // One process, by name or by id: `tpm describe --json`, which begins with the list's
    // fields.
    let one = server
        .get(&format!("/api/processes/{b}"))
        .status(200)
        .json();
    let described = s.tpm(["describe", &b, "--json"]).ok().json();
    assert_eq!(keys(&one), keys(&described));
    assert_eq!(keys(&one)[..keys(&cli[1]).len()], keys(&cli[1])[..]);
    for field in [
        "name",
        "id",
        "status",
        "pid",
        "port",
        "script",
        "cmd",
        "kill_timeout",
        "env",
    ] {
        assert_eq!(one[field], described[field], "{field}");
    }
    let by_id = server.get("/api/processes/0").status(200).json();
    assert_eq!(by_id["name"], a.as_str());
    assert_eq!(
        server.get("/api/ports").status(200).json(),
        s.tpm(["ports", "--json"]).ok().json()
    );
}

#[test]
fn stop_start_restart_and_delete_do_what_the_cli_does() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let server = Server::start(&s, &[]);
    let path = format!("/api/processes/{name}");

    let stopped = server
        .authed("POST", &format!("{path}/stop"))
        .send()
        .status(200)
        .json();
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(s.get(&name).unwrap()["status"], "stopped");
    // A list read after the stop answered shows it, however lists are shared.
    assert_eq!(
        server.get("/api/processes").status(200).json()[0]["status"],
        "stopped"
    );

    let started = server
        .authed("POST", &format!("{path}/start"))
        .send()
        .status(200)
        .json();
    assert_eq!(started["status"], "online");
    let pid = started["pid"].as_u64().unwrap();
    assert_eq!(s.get(&name).unwrap()["pid"], pid);

    let restarted = server
        .authed("POST", &format!("{path}/restart"))
        .send()
        .status(200)
        .json();
    assert_eq!(restarted["status"], "online");
    assert_ne!(restarted["pid"].as_u64().unwrap(), pid);
    assert_eq!(restarted["restarts"], 1);

    let deleted = server.authed("DELETE", &path).send().status(200).json();
    assert_eq!(deleted["name"], name.as_str());
    assert!(s.get(&name).is_none());
    assert!(store_files(&s).is_empty(), "{:?}", store_files(&s));
    server.get(&path).error(404);
}

#[test]
fn a_posted_app_spec_starts_a_process_and_the_same_again_is_409() {
    let s = Sandbox::new();
    let port = free_port();
    let server = Server::start(&s, &[]);
    let spec = json!({
        "script": format!("python3 -m http.server {port} --bind 127.0.0.1"),
        "name": "web",
        "env": {"GREETING": "hi"},
        "kill_timeout": "2s",
    });
    let created = server.authed("POST", "/api/processes").json(&spec).send();
    created.status(201);
    let name = format!("web-{port}");
    assert_eq!(
        created.header("location"),
        Some(format!("/api/processes/{name}").as_str())
    );
    let info = created.json();
    assert_eq!(
        (info["name"].as_str(), info["status"].as_str()),
        (Some(name.as_str()), Some("online"))
    );
    assert_eq!(s.get(&name).unwrap()["type"], "ecosystem");
    assert!(
        s.record(&name).contains("GREETING=hi"),
        "{}",
        s.record(&name)
    );

    let again = server
        .authed("POST", "/api/processes")
        .json(&spec)
        .send()
        .error(409);
    assert_eq!(again["exit_code"], 1);
    assert!(
        again["error"].as_str().unwrap().contains("already online"),
        "{again}"
    );
}

#[test]
fn a_posted_app_with_instances_starts_every_instance_and_answers_them_all() {
    let s = Sandbox::new();
    s.file("worker.sh", "#!/usr/bin/env bash\nsleep 100\n", 0o755);
    let port = free_port();
    let server = Server::start(&s, &[]);
    let spec = json!({
        "script": s.path().join("worker.sh"),
        "name": "w",
        "port": port,
        "instances": 3,
    });
    let created = server.authed("POST", "/api/processes").json(&spec).send();
    created.status(201);
    let names: Vec<String> = (0..3).map(|i| format!("w-{port}-{i}")).collect();
    let answered: Vec<String> = created
        .json()
        .as_array()
        .expect("a list of the instances")
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(answered, names);
    for name in &names {
        assert_eq!(s.get(name).unwrap()["status"], "online", "{name}");
    }
    // Some start, some do not: the one that can is started, and the answer is the first
    // failure's, naming each failure and what started.
    s.tpm(["delete", &names[1]]).ok();
    let e = server
        .authed("POST", "/api/processes")
        .json(&spec)
        .send()
        .error(409);
    let message = e["error"].as_str().unwrap();
    assert!(message.contains("2 of 3 instances did not start"), "{e}");
    assert!(
        message.contains(&names[0]) && message.contains(&names[2]),
        "{e}"
    );
    assert!(
        message.contains(&format!("started, and left running: {}", names[1])),
        "{e}"
    );
    assert_eq!(e["exit_code"], 1);
    assert_eq!(s.get(&names[1]).unwrap()["status"], "online");
}

#[test]
fn a_posted_app_without_a_port_starts_a_worker_named_by_its_name_alone() {
    let s = Sandbox::new();
    s.file("noport.sh", "#!/usr/bin/env bash\nsleep 100\n", 0o755);
    let server = Server::start(&s, &[]);
    // An app spec, as in a file: no PORT anywhere is a process without one.
    let created = server
        .authed("POST", "/api/processes")
        .json(&json!({"script": "noport.sh", "name": "Queue worker"}))
        .send();
    created.status(201);
    let info = created.json();
    assert_eq!(info["name"], "Queue-worker", "{info}");
    assert_eq!(info["port"], Value::Null, "{info}");
    let listed = server.get("/api/processes").status(200).json();
    assert_eq!(listed[0]["port"], Value::Null, "{listed}");
    let ports = server.get("/api/ports").status(200).json();
    assert_eq!(ports, json!([]));
}

#[test]
fn bad_app_specs_are_400_with_the_cli_message_and_help_and_start_nothing() {
    let s = Sandbox::new();
    s.file("noport.sh", "#!/usr/bin/env bash\nsleep 100\n", 0o755);
    let server = Server::start(&s, &[]);
    let post = |body: Value| server.authed("POST", "/api/processes").json(&body).send();
    // A PORT that is no number: the CLI's exit 65 and its help.
    let e = post(json!({"script": "noport.sh", "env": {"PORT": "abc"}})).error(400);
    assert_eq!(e["exit_code"], 65);
    let cli = s.tpm(["start", "noport.sh"]);
    assert_eq!(cli.code, 65);
    assert!(
        cli.stderr.contains(e["help"].as_str().unwrap()),
        "{}\n{e}",
        cli.stderr
    );
    // A script that is not there, a name that is not one, fields of the wrong type.
    assert_eq!(
        post(json!({"script": "missing.sh", "port": 3001})).error(400)["exit_code"],
        66
    );
    assert_eq!(
        post(json!({"script": "noport.sh", "port": 3001, "name": "../x"})).error(400)["exit_code"],
        64
    );
    post(json!({"script": "noport.sh", "port": "many"})).error(400);
    post(json!({"apps": []})).error(400);
    post(json!([{"script": "noport.sh", "port": 3001}, {"script": "noport.sh", "port": 3002}]))
        .error(400);
    post(json!("a string")).error(400);
    // Not JSON, or not said to be.
    server
        .authed("POST", "/api/processes")
        .header("Content-Type", "application/json")
        .body(b"{\"script\": ".to_vec())
        .send()
        .error(400);
    server
        .authed("POST", "/api/processes")
        .header("Content-Type", "text/plain")
        .body(b"{}".to_vec())
        .send()
        .error(415);
    // JSON nested far too deep is refused by the parser, not by a stack overflow.
    let deep = "[".repeat(50_000);
    server
        .authed("POST", "/api/processes")
        .header("Content-Type", "application/json")
        .body(deep.into_bytes())
        .send()
        .error(400);
    assert!(store_files(&s).is_empty(), "{:?}", store_files(&s));
    assert!(server
        .get("/api/processes")
        .status(200)
        .json()
        .as_array()
        .unwrap()
        .is_empty());
}

/// A posted app whose record would be too large to read back (60 KB of `'` is 780 KB as
/// quoted) is the caller's mistake: 400 with the CLI's exit code, the variable named, and
/// nothing written: the stopped process of that name restarts as it was.
#[test]
fn an_app_too_large_for_its_record_is_400_and_its_process_is_left_as_it_was() {
    let s = Sandbox::new();
    s.file(
        "srv.sh",
        "#!/usr/bin/env bash
sleep 100000
",
        0o755,
    );
    let port = free_port();
    let name = format!("big-{port}");
    s.tpm([
        "start",
        "srv.sh",
        "--name",
        "big",
        "--port",
        &port.to_string(),
    ])
    .ok();
    s.tpm(["stop", &name]).ok();
    let record = s.record(&name);
    let server = Server::start(&s, &[]);
    for (app, port) in [("big", port), ("fresh", free_port())] {
        let e = server
            .authed("POST", "/api/processes")
            .json(&json!({
                "script": s.path().join("srv.sh"),
                "name": app,
                "port": port,
                "env": {"Q": "'".repeat(60_000)},
            }))
            .send()
            .error(400);
        assert_eq!(e["exit_code"], 64, "{e}");
        let message = e["error"].as_str().unwrap();
        assert!(
            message.contains("Q: 60000 bytes") && message.contains("61440"),
            "{e}"
        );
    }
    assert_eq!(s.record(&name), record);
    let files = store_files(&s);
    assert!(files.iter().all(|f| !f.contains("fresh")), "{files:?}");
    s.tpm(["restart", &name]).ok();
    s.wait_status(&name, "online");
}

#[test]
fn errors_carry_the_cli_message_and_help_with_a_fitting_status() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let server = Server::start(&s, &[]);
    // 404: the CLI's words exactly.
    let e = server.get("/api/processes/nope-1").error(404);
    let cli = s.tpm(["stop", "nope-1"]);
    assert_eq!(cli.code, 1);
    assert!(
        cli.stderr.contains(e["error"].as_str().unwrap()),
        "{}",
        cli.stderr
    );
    assert!(cli
        .stderr
        .contains(&format!("help: {}", e["help"].as_str().unwrap())));
    server.get("/api/processes/99").error(404);
    server
        .authed("POST", "/api/processes/nope-1/stop")
        .send()
        .error(404);
    server
        .authed("DELETE", "/api/processes/nope-1")
        .send()
        .error(404);
    // 409: starting what runs.
    let e = server
        .authed("POST", &format!("/api/processes/{name}/start"))
        .send()
        .error(409);
    assert!(
        e["error"].as_str().unwrap().contains("already online"),
        "{e}"
    );
    // 400: names that are not names, paths out of the store among them.
    for bad in [
        "..",
        "%2e%2e",
        "..%2Fprocesses%2Fx",
        "a%2Fb",
        ".hidden",
        "%00",
        "%ff",
        "x%0Ay",
        "*",
        "all%2A",
    ] {
        let e = server.get(&format!("/api/processes/{bad}")).error(400);
        assert_eq!(e["status"], 400, "{bad}: {e}");
        server
            .authed("POST", &format!("/api/processes/{bad}/stop"))
            .send()
            .error(400);
    }
    let long = "a".repeat(10_000);
    server.get(&format!("/api/processes/{long}")).error(400);
    // Bad parameters.
    server
        .get(&format!("/api/processes/{name}/logs?lines=lots"))
        .error(400);
    server
        .get(&format!("/api/processes/{name}/logs?lines=100000000"))
        .error(400);
    server.get("/api/events?logs=maybe").error(400);
    server.get("/api/events?name=nope-1").error(404);
    // Routes: unknown ones, and changes asked with GET.
    server.get("/api/nothing").error(404);
    server.get("/assets/../Cargo.toml").error(404);
    server.get("/assets/passwd").error(404);
    let e = server
        .get(&format!("/api/processes/{name}/stop"))
        .error(405);
    assert!(e["help"].as_str().unwrap().contains("POST"), "{e}");
    server
        .authed("PUT", &format!("/api/processes/{name}"))
        .send()
        .error(405);
    assert_eq!(
        s.get(&name).unwrap()["status"],
        "online",
        "nothing was changed"
    );
}

#[test]
fn logs_are_the_last_lines_as_logs_json_prints_them() {
    let s = Sandbox::new();
    let name = talker(&s, "chatty", free_port(), "first line");
    start(&s, "chatty.sh");
    tpm_testkit::wait_for("a few lines", || s.log(&name, "out").lines().count() >= 4);
    let server = Server::start(&s, &[]);
    let lines = server
        .get(&format!("/api/processes/{name}/logs?lines=3"))
        .status(200)
        .json();
    let lines = lines.as_array().unwrap();
    assert_eq!(lines.len(), 3);
    for l in lines {
        let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name", "time", "stream", "line"]);
        assert_eq!(l["name"], name.as_str());
    }
    let all = server
        .get(&format!("/api/processes/{name}/logs?lines=10000"))
        .status(200)
        .json();
    assert_eq!(all[0]["line"], "first line");
    let none = server
        .get(&format!("/api/processes/{name}/logs?lines=0"))
        .status(200)
        .json();
    assert_eq!(none, json!([]));
}

#[test]
fn every_route_in_the_openapi_document_is_answered_and_others_are_404() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let server = Server::start(&s, &[]);
    let doc = server.get("/api/openapi.json").status(200).json();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut routes: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method != "parameters" {
                routes.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    // Reads first; then stop before start (starting what runs is a 409); deleting last, so
    // the other routes have a process to act on.
    let rank = |(m, p): &(String, String)| match (m.as_str(), p.rsplit('/').next()) {
        ("GET", _) => 0,
        (_, Some("stop")) => 1,
        (_, Some("start")) => 2,
        ("DELETE", _) => 9,
        _ => 5,
    };
    routes.sort_by_key(rank);
    assert_eq!(routes.len(), 15, "{routes:?}");
    let port = free_port();
    for (method, path) in &routes {
        let concrete = path.replace("{name}", &name).replace("{file}", "app.js");
        let req = server.authed(method, &concrete);
        let resp = if concrete == "/api/events" {
            // An endless stream: its head is enough.
            let mut stream = crate::support::connect(server.addr);
            use std::io::{Read, Write};
            stream.write_all(req.head().as_bytes()).unwrap();
            let mut head = [0u8; 12];
            stream.read_exact(&mut head).unwrap();
            assert_eq!(&head, b"HTTP/1.1 200", "{method} {path}");
            continue;
        } else if method == "POST" && concrete == "/api/processes" {
            req.json(&json!({"script": format!("python3 -m http.server {port} --bind 127.0.0.1"), "name": "doc"}))
                .send()
        } else {
            req.send()
        };
        assert!(
            (200..300).contains(&resp.status),
            "{method} {path}: {} {}",
            resp.status,
            resp.text()
        );
    }
    assert!(s.get(&name).is_none(), "DELETE ran");
}

#[test]
fn the_openapi_schemas_name_exactly_the_fields_the_cli_prints() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let server = Server::start(&s, &[]);
    let doc = server.get("/api/openapi.json").status(200).json();
    let schemas = &doc["components"]["schemas"];
    let documented = |schema: &Value| -> Vec<String> {
        let mut k: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    let printed = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let listed = &s.list()[0];
    assert_eq!(documented(&schemas["ProcessInfo"]), printed(listed));
    let described = s.tpm(["describe", &name, "--json"]).ok().json();
    let mut both = documented(&schemas["ProcessInfo"]);
    both.extend(documented(&schemas["Description"]["allOf"][1]));
    both.sort();
    assert_eq!(both, printed(&described));
    let ports = s.tpm(["ports", "--json"]).ok().json();
    assert_eq!(documented(&schemas["PortInfo"]), printed(&ports[0]));
    let line = server
        .get(&format!("/api/processes/{name}/logs?lines=1"))
        .status(200)
        .json();
    assert_eq!(documented(&schemas["LogLine"]), printed(&line[0]));
}
