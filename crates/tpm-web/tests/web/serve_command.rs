//! `tpm serve` as a command, and as a process tpm itself supervises (`tetra-4444`).

use std::path::PathBuf;

use serde_json::json;
use tpm_testkit::{free_port, wait_for, Sandbox};

use crate::support::{Req, Server};

/// PATH with the tpm under test first, so `tpm serve` as a command string finds it.
fn path_with_tpm(s: &Sandbox) -> String {
    let dir: PathBuf = s.tpm_binary().parent().unwrap().to_path_buf();
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn tpm_start_tpm_serve_names_it_tetra_port_and_the_api_answers_there() {
    let s = Sandbox::new();
    let port = free_port();
    let path = path_with_tpm(&s);
    let started = s.tpm_env(
        &[("PATH", &path)],
        [
            "start",
            &format!("tpm serve --port {port}"),
            "--name",
            "tetra",
            "--json",
        ],
    );
    let name = format!("tetra-{port}");
    assert_eq!(started.ok().json()["name"], name.as_str());
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut listing = None;
    wait_for("tetra to answer", || {
        std::net::TcpStream::connect(addr).is_ok() && {
            listing = Some(Req::new(addr).path("/api/processes").send());
            true
        }
    });
    let listing = listing.unwrap().status(200).json();
    assert_eq!(listing[0]["name"], name.as_str());
    assert_eq!(listing[0]["status"], "online");
    // It starts processes with its caller's environment, not its own PORT and name: an app
    // without a port has none, and is not named after the server.
    s.file("noport.sh", "#!/usr/bin/env bash\nsleep 100\n", 0o755);
    let token = s.tpm(["serve", "--token"]).ok().stdout.trim().to_string();
    let e = Req::new(addr)
        .method("POST")
        .path("/api/processes")
        .header("Authorization", &format!("Bearer {token}"))
        .json(&json!({"script": s.path().join("noport.sh")}))
        .send();
    e.status(201);
    let e = e.json();
    assert_eq!(
        (e["name"].as_str(), e["port"].as_u64()),
        (Some("noport"), None),
        "{e}"
    );
    // The port tpm gave it by --port reaches it as PORT.
    let port2 = free_port();
    let again = s.tpm_env(
        &[("PATH", &path)],
        [
            "start",
            "tpm serve",
            "--name",
            "tetra",
            "--port",
            &port2.to_string(),
            "--json",
        ],
    );
    assert_eq!(again.ok().json()["name"], format!("tetra-{port2}").as_str());
    let addr2 = std::net::SocketAddr::from(([127, 0, 0, 1], port2));
    wait_for("the second server to answer", || {
        std::net::TcpStream::connect(addr2).is_ok()
    });
    Req::new(addr2).path("/api/ports").send().status(200);
    s.tpm(["delete", "all"]).ok();
}

#[test]
fn the_server_run_by_tpm_is_restarted_by_its_supervisor_and_refuses_to_stop_itself() {
    let s = Sandbox::new();
    let port = free_port();
    let path = path_with_tpm(&s);
    s.tpm_env(
        &[("PATH", &path)],
        [
            "start",
            &format!("tpm serve --port {port}"),
            "--name",
            "tetra",
        ],
    )
    .ok();
    let name = format!("tetra-{port}");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let answers = || {
        std::net::TcpStream::connect(addr).is_ok()
            && Req::new(addr).path("/api/processes").send().status == 200
    };
    wait_for("tetra to answer", answers);
    let token = s.tpm(["serve", "--token"]).ok().stdout.trim().to_string();
    let authed = |method: &str, path: &str| {
        Req::new(addr)
            .method(method)
            .path(path)
            .header("Authorization", &format!("Bearer {token}"))
    };
    let before = s.get(&name).unwrap();
    // A stop or a delete would end the server before it answered: refused, with the
    // command that does it.
    for (method, path, verb) in [
        ("POST", format!("/api/processes/{name}/stop"), "stop"),
        ("DELETE", format!("/api/processes/{name}"), "delete"),
    ] {
        let e = authed(method, &path).send().error(409);
        assert!(
            e["help"]
                .as_str()
                .unwrap()
                .contains(&format!("`tpm {verb} {name}`")),
            "{e}"
        );
    }
    assert_eq!(s.get(&name).unwrap()["pid"], before["pid"]);
    // A restart is handed to its supervisor: answered at once, then a new server.
    let restarting = authed("POST", &format!("/api/processes/{name}/restart")).send();
    restarting.status(202);
    let body = restarting.json();
    assert_eq!(body["name"], name.as_str());
    assert_eq!(body["restarts"], before["restarts"]);
    assert!(
        body["message"].as_str().unwrap().contains("supervisor"),
        "{body}"
    );
    let restarts = before["restarts"].as_u64().unwrap();
    wait_for("the server to run again, restarted", || {
        let now = s.get(&name).unwrap();
        now["status"] == "online"
            && now["pid"] != before["pid"]
            && now["restarts"].as_u64() == Some(restarts + 1)
    });
    wait_for("the restarted server to answer", answers);
    s.tpm(["delete", "all"]).ok();
}

#[test]
fn the_start_up_message_says_which_requests_need_the_token() {
    let s = Sandbox::new();
    let local = Server::start(&s, &[]);
    let line = local.next_line();
    assert!(
        line.contains("requests that change something need the token"),
        "{line}"
    );
    let open = Server::start(&s, &["--bind", "0.0.0.0"]);
    let line = open.next_line();
    assert!(line.contains("every API request needs the token"), "{line}");
}

#[test]
fn a_port_in_use_is_an_error_with_help() {
    let s = Sandbox::new();
    let server = Server::start(&s, &[]);
    let port = server.addr.port().to_string();
    let busy = s.tpm(["serve", "--port", &port]);
    assert_eq!(busy.code, 1, "{}", busy.stderr);
    assert!(busy.stderr.contains("cannot listen on"), "{}", busy.stderr);
    assert!(
        busy.stderr.contains("help: something already listens"),
        "{}",
        busy.stderr
    );
    let bad = s.tpm(["serve", "--bind", "not-an-address"]);
    assert_eq!(bad.code, 64, "{}", bad.stderr);
}

#[test]
fn an_app_whose_instances_include_the_server_is_not_stopped_restarted_or_deleted_by_its_name() {
    let s = Sandbox::new();
    let port = free_port();
    let path = path_with_tpm(&s);
    // Two servers, on PORT and PORT+1; instance 0 is asked about the app of both.
    s.tpm_env(
        &[("PATH", &path)],
        [
            "start",
            "tpm serve",
            "--name",
            "tetra",
            "--port",
            &port.to_string(),
            "-i",
            "2",
            "--port-step",
            "1",
        ],
    )
    .ok();
    let app = format!("tetra-{port}");
    let (own, other) = (format!("{app}-0"), format!("{app}-1"));
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let answers = || {
        std::net::TcpStream::connect(addr).is_ok()
            && Req::new(addr).path("/api/processes").send().status == 200
    };
    wait_for("tetra to answer", answers);
    let token = s.tpm(["serve", "--token"]).ok().stdout.trim().to_string();
    let authed = |method: &str, path: &str| {
        Req::new(addr)
            .method(method)
            .path(path)
            .header("Authorization", &format!("Bearer {token}"))
    };
    let before: Vec<_> = [&own, &other].map(|n| s.get(n).unwrap()).into();
    for (method, path, verb) in [
        ("POST", format!("/api/processes/{app}/stop"), "stop"),
        ("POST", format!("/api/processes/{app}/restart"), "restart"),
        ("DELETE", format!("/api/processes/{app}"), "delete"),
    ] {
        let e = authed(method, &path).send().error(409);
        let message = e["error"].as_str().unwrap();
        assert!(
            message.contains(&own) && message.contains("nothing was done"),
            "{e}"
        );
        assert!(
            e["help"]
                .as_str()
                .unwrap()
                .contains(&format!("`tpm {verb} {app}`")),
            "{e}"
        );
    }
    // Nothing was done to either instance.
    for (i, name) in [&own, &other].into_iter().enumerate() {
        let now = s.get(name).unwrap();
        assert_eq!(now["pid"], before[i]["pid"], "{name}");
        assert_eq!(now["restarts"], before[i]["restarts"], "{name}");
    }
    // Reads of the app answer as for any other.
    let described = Req::new(addr)
        .path(&format!("/api/processes/{app}"))
        .send()
        .status(200)
        .json();
    assert_eq!(described.as_array().map(Vec::len), Some(2), "{described}");
    assert!(answers());
    s.tpm(["delete", "all"]).ok();
}
