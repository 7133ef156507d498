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
    // without a port is refused, not named after the server.
    s.file("noport.sh", "#!/usr/bin/env bash\nsleep 100\n", 0o755);
    let token = s.tpm(["serve", "--token"]).ok().stdout.trim().to_string();
    let e = Req::new(addr)
        .method("POST")
        .path("/api/processes")
        .header("Authorization", &format!("Bearer {token}"))
        .json(&json!({"script": s.path().join("noport.sh")}))
        .send()
        .error(400);
    assert_eq!(e["exit_code"], 65);
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
