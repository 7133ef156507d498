//! An app's base name (`worker-3000` for `worker-3000-0` and `worker-3000-1`) on every
//! route that takes a name, as the CLI takes it: a list of what each instance answers.

use std::time::Duration;

use serde_json::Value;
use tpm_testkit::{free_port, wait_for, Sandbox};

use crate::support::{start, talker, EventStream, Server};

/// Starts `worker.sh` (a line at start, then a tick every 0.2 s) with 2 instances; returns
/// the app's name and its instances' names.
fn two_instances(s: &Sandbox) -> (String, Vec<String>) {
    s.file(
        "worker.sh",
        "#!/usr/bin/env bash\necho \"hello from $TPM_NAME\"\nwhile true; do echo tick; sleep 0.2; done\n",
        0o755,
    );
    let port = free_port();
    s.tpm(["start", "worker.sh", "-i", "2", "--port", &port.to_string()])
        .ok();
    let app = format!("worker-{port}");
    (app.clone(), vec![format!("{app}-0"), format!("{app}-1")])
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn reads_of_an_apps_name_answer_a_list_of_its_instances_and_one_name_an_object() {
    let s = Sandbox::new();
    let (app, instances) = two_instances(&s);
    let other = talker(&s, "other", free_port(), "other starts");
    start(&s, "other.sh");
    for name in &instances {
        wait_for("a few lines", || s.log(name, "out").lines().count() >= 3);
    }
    let server = Server::start(&s, &[]);

    // Described: each instance, as `tpm describe APP --json` prints them.
    let described = server
        .get(&format!("/api/processes/{app}"))
        .status(200)
        .json();
    assert_eq!(names(&described), instances);
    let cli = s.tpm(["describe", &app, "--json"]).ok().json();
    assert_eq!(names(&cli), instances);
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&described[0]), keys(&cli[0]));
    // One instance, by name or by id: an object, as before.
    let one = server
        .get(&format!("/api/processes/{}", instances[1]))
        .status(200)
        .json();
    assert!(one.is_object(), "{one}");
    assert_eq!(one["name"], instances[1].as_str());
    let id = one["id"].as_u64().unwrap();
    let by_id = server
        .get(&format!("/api/processes/{id}"))
        .status(200)
        .json();
    assert_eq!(by_id["name"], instances[1].as_str());

    // Logs: the last lines of each instance, one after the other, as `tpm logs APP`.
    let lines = server
        .get(&format!("/api/processes/{app}/logs?lines=2"))
        .status(200)
        .json();
    let whose: Vec<String> = names(&lines);
    assert_eq!(
        whose,
        [
            instances[0].as_str(),
            &instances[0],
            &instances[1],
            &instances[1]
        ]
    );
    let first = server
        .get(&format!("/api/processes/{app}/logs?lines=10000"))
        .status(200)
        .json();
    let hellos: Vec<&str> = first
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["line"].as_str().filter(|t| t.starts_with("hello")))
        .collect();
    assert_eq!(
        hellos,
        [
            format!("hello from {}", instances[0]),
            format!("hello from {}", instances[1])
        ]
    );
    // One instance's logs are its own.
    let own = server
        .get(&format!("/api/processes/{}/logs?lines=3", instances[0]))
        .status(200)
        .json();
    assert_eq!(names(&own), [instances[0].as_str(); 3]);

    // Metrics: each instance's name and points.
    let metrics = server
        .get(&format!("/api/processes/{app}/metrics"))
        .status(200)
        .json();
    assert_eq!(names(&metrics), instances);
    assert!(metrics[0]["points"].is_array(), "{metrics}");
    assert!(server
        .get(&format!("/api/processes/{}/metrics", instances[0]))
        .status(200)
        .json()
        .is_array());

    // A name that is neither a process nor an app is still a 404, a bad one a 400.
    for missing in ["worker", &format!("{app}-2"), &format!("{app}-0-0")] {
        server.get(&format!("/api/processes/{missing}")).error(404);
        server
            .get(&format!("/api/processes/{missing}/logs"))
            .error(404);
    }
    for bad in [
        format!("{app}%2A"),
        format!("..%2F{app}"),
        format!("{app}%2F.."),
    ] {
        server.get(&format!("/api/processes/{bad}")).error(400);
        server
            .authed("POST", &format!("/api/processes/{bad}/stop"))
            .send()
            .error(400);
    }
    server.get(&format!("/api/events?name={app}%2A")).error(400);
    server.get("/api/events?name=worker").error(404);
    assert_eq!(s.get(&other).unwrap()["status"], "online");
}

#[test]
fn stop_start_restart_and_delete_of_an_apps_name_act_on_every_instance() {
    let s = Sandbox::new();
    let (app, instances) = two_instances(&s);
    let other = talker(&s, "other", free_port(), "other starts");
    start(&s, "other.sh");
    let server = Server::start(&s, &[]);
    let path = format!("/api/processes/{app}");
    let status = |name: &str| s.get(name).unwrap()["status"].as_str().unwrap().to_string();

    let stopped = server
        .authed("POST", &format!("{path}/stop"))
        .send()
        .status(200)
        .json();
    assert_eq!(names(&stopped), instances);
    for (i, name) in instances.iter().enumerate() {
        assert_eq!(stopped[i]["status"], "stopped", "{stopped}");
        assert_eq!(status(name), "stopped");
    }
    assert_eq!(status(&other), "online", "only the app's processes");

    let started = server
        .authed("POST", &format!("{path}/start"))
        .send()
        .status(200)
        .json();
    assert_eq!(names(&started), instances);
    let pids: Vec<u64> = (0..2)
        .map(|i| {
            assert_eq!(started[i]["status"], "online", "{started}");
            started[i]["pid"].as_u64().unwrap()
        })
        .collect();

    // Some cannot start (they run), one can: it is started, and the answer is the first
    // failure's, naming it and what was started, as a posted app with instances answers.
    s.tpm(["stop", &instances[1]]).ok();
    let e = server
        .authed("POST", &format!("{path}/start"))
        .send()
        .error(409);
    let message = e["error"].as_str().unwrap();
    assert!(message.contains("1 of 2 instances did not start"), "{e}");
    assert!(message.contains(&instances[0]), "{e}");
    assert!(message.contains("already online"), "{e}");
    assert!(
        message.contains(&format!("started, and left running: {}", instances[1])),
        "{e}"
    );
    assert_eq!(e["exit_code"], 1);
    assert_eq!(status(&instances[1]), "online");
    let e = server
        .authed("POST", &format!("{path}/start"))
        .send()
        .error(409);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("2 of 2 instances did not start"),
        "{e}"
    );
    assert!(
        e["error"].as_str().unwrap().ends_with("none started"),
        "{e}"
    );

    let restarted = server
        .authed("POST", &format!("{path}/restart"))
        .send()
        .status(200)
        .json();
    assert_eq!(names(&restarted), instances);
    assert_eq!(restarted[0]["status"], "online");
    assert_eq!(restarted[1]["status"], "online");
    assert_ne!(restarted[0]["pid"].as_u64().unwrap(), pids[0]);
    assert_eq!(restarted[0]["restarts"], 1);

    // A single instance still answers an object.
    let one = server
        .authed("POST", &format!("/api/processes/{}/stop", instances[0]))
        .send()
        .status(200)
        .json();
    assert_eq!(one["name"], instances[0].as_str());
    assert_eq!(status(&instances[1]), "online");

    let deleted = server.authed("DELETE", &path).send().status(200).json();
    assert_eq!(names(&deleted), instances);
    for name in &instances {
        assert!(s.get(name).is_none(), "{name} deleted");
    }
    // Gone: the name names nothing now.
    server.get(&path).error(404);
    server.authed("DELETE", &path).send().error(404);
    server
        .authed("POST", &format!("{path}/restart"))
        .send()
        .error(404);
    assert_eq!(status(&other), "online");
}

#[test]
fn an_event_stream_for_an_apps_name_carries_every_instance_and_nothing_else() {
    let s = Sandbox::new();
    let (app, instances) = two_instances(&s);
    let other = talker(&s, "other", free_port(), "other starts");
    start(&s, "other.sh");
    let server = Server::start(&s, &[]);
    let events = EventStream::open(&server, &format!("?name={app}"));
    let first = events.next_where("processes", |p| {
        p["processes"].as_array().is_some_and(|a| a.len() == 2)
    });
    assert_eq!(names(&first.data["processes"]), instances);
    // Log lines of both instances.
    for name in &instances {
        let line = events.seen_or_next("log", |l| l["name"] == name.as_str());
        assert_eq!(line.data["stream"], "out");
    }
    // Status changes and history events of each.
    s.tpm(["stop", &instances[1]]).ok();
    let change = events.next_where("status", |c| c["status"] == "stopped");
    assert_eq!(change.data["name"], instances[1].as_str());
    let asked = events.seen_or_next("event", |e| e["event"] == "stop_requested");
    assert_eq!(asked.data["name"], instances[1].as_str());
    // Nothing of the other process.
    s.tpm(["stop", &other]).ok();
    let more = events.drain(Duration::from_millis(800));
    assert!(more.iter().any(|e| e.event == "log"), "{more:?}");
    for e in events.seen().iter().chain(&more) {
        assert_ne!(e.data["name"], other.as_str(), "{e:?}");
        if e.event == "processes" {
            assert!(
                names(&e.data["processes"])
                    .iter()
                    .all(|n| instances.contains(n)),
                "{e:?}"
            );
        }
    }
}

#[test]
fn restart_with_dependants_restarts_what_depends_on_it_and_answers_a_list() {
    let s = Sandbox::new();
    s.file("job.sh", "exec sleep 100000\n", 0o644);
    s.file(
        "apps.json",
        r#"[{"name": "b", "script": "job.sh", "depends_on": {"a": {"condition": "started"}}},
            {"name": "a", "script": "job.sh"}]"#,
        0o644,
    );
    s.tpm(["start", "apps.json"]).ok();
    let server = Server::start(&s, &[]);
    let described = server.get("/api/processes/a").status(200).json();
    assert_eq!(described["dependants"], serde_json::json!(["b"]));
    let b_pid = s.get("b").unwrap()["pid"].clone();
    // Without it, a alone, as an object.
    let one = server
        .authed("POST", "/api/processes/a/restart")
        .send()
        .status(200)
        .json();
    assert_eq!(one["name"], "a");
    assert_eq!(s.get("b").unwrap()["pid"], b_pid);
    let both = server
        .authed("POST", "/api/processes/a/restart?with_dependants=true")
        .send()
        .status(200)
        .json();
    assert_eq!(names(&both), ["a", "b"]);
    assert_ne!(s.get("b").unwrap()["pid"], b_pid);
    server
        .authed("POST", "/api/processes/a/restart?with_dependants=maybe")
        .send()
        .error(400);
}
