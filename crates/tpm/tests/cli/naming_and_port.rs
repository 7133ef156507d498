//! `basename-PORT` naming and PORT detection, as docs/commands.md shows them.

use tpm_testkit::{free_port, Sandbox};

fn started_name(run: &tpm_testkit::Run) -> String {
    run.ok();
    run.stdout
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no name in {:?}", run.stdout))
        .to_string()
}

#[test]
fn server_sh_with_export_port_is_server_3000() {
    let s = Sandbox::new();
    s.file(
        "server.sh",
        "#!/usr/bin/env bash\n# server.sh\nexport PORT=3000\n\necho \"Starting server on port $PORT\"\nwhile true; do\n  echo \"Server heartbeat at $(date)\"\n  sleep 5\ndone\n",
        0o755,
    );
    assert_eq!(started_name(&s.tpm(["start", "server.sh"])), "server-3000");
    let p = s.wait_status("server-3000", "online");
    assert_eq!(p["port"], 3000);
}

#[test]
fn a_custom_name_replaces_the_basename() {
    let s = Sandbox::new();
    s.file("api/backend.sh", "PORT=8080\nsleep 100\n", 0o644);
    s.file("api/web.sh", "PORT=8081\nsleep 100\n", 0o644);
    assert_eq!(
        started_name(&s.tpm(["start", "api/backend.sh", "api"])),
        "api-8080"
    );
    assert_eq!(
        started_name(&s.tpm(["start", "api/web.sh", "--name", "webapp"])),
        "webapp-8081"
    );
}

#[test]
fn env_port_names_worker_9000() {
    let s = Sandbox::new();
    s.file("worker.sh", "#!/bin/bash\nsleep 100\n", 0o755);
    assert_eq!(
        started_name(&s.tpm_env(&[("PORT", "9000")], ["start", "worker.sh"])),
        "worker-9000"
    );
}

#[test]
fn an_env_flag_port_names_the_process_and_reaches_it() {
    let s = Sandbox::new();
    s.file("worker.sh", "echo \"port=$PORT\"\nsleep 100\n", 0o644);
    let run = s.tpm_env(
        &[("PORT", "9000")],
        ["start", "worker.sh", "--env", "PORT=9100"],
    );
    assert_eq!(started_name(&run), "worker-9100");
    tpm_testkit::wait_for("the port in the log", || {
        s.log("worker-9100", "out").contains("port=9100")
    });
}

#[test]
fn env_port_beats_the_script_line_as_documented() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3000);
    assert_eq!(
        started_name(&s.tpm_env(&[("PORT", "9001")], ["start", "server.sh"])),
        "server-9001"
    );
}

#[test]
fn backend_js_is_backend_8080_run_with_node() {
    let s = Sandbox::new();
    tpm_testkit::program("node");
    s.file("api/backend.js", "setInterval(() => {}, 1000);\n", 0o644);
    assert_eq!(
        started_name(&s.tpm(["start", "api/backend.js", "--port", "8080"])),
        "backend-8080"
    );
    let p = s.wait_status("backend-8080", "online");
    assert_eq!(p["cmd"][0], "node");
}

#[test]
fn a_name_already_ending_in_its_port_is_not_suffixed_twice() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3000);
    assert_eq!(
        started_name(&s.tpm(["start", "server.sh", "web-3000"])),
        "web-3000"
    );
}

#[test]
fn command_strings_take_the_port_from_their_arguments() {
    let s = Sandbox::new();
    let port = free_port();
    let cmd = format!("python3 -m http.server {port} --bind 127.0.0.1");
    assert_eq!(
        started_name(&s.tpm(["start", &cmd, "--name", "web"])),
        format!("web-{port}")
    );
    // Unnamed commands take the program's name; --port N in the command counts too.
    assert_eq!(
        started_name(&s.tpm(["start", "sleep 100 --port 4444"])),
        "sleep-4444"
    );
}

#[test]
fn the_child_gets_port_env_args_and_cwd() {
    let s = Sandbox::new();
    std::fs::create_dir(s.path().join("work")).unwrap();
    s.file(
        "show.sh",
        "echo \"port=$PORT greet=$GREET name=$TPM_NAME args=$* pwd=$(pwd)\"\nsleep 100\n",
        0o644,
    );
    s.tpm([
        "start",
        "show.sh",
        "--port",
        "5555",
        "--env",
        "GREET=hello world",
        "--cwd",
        "work",
        "--",
        "a b",
        "c",
    ])
    .ok();
    let mut out = String::new();
    tpm_testkit::wait_for("the script's line in the log", || {
        out = s.log("show-5555", "out");
        out.contains("port=")
    });
    let expected = format!(
        "port=5555 greet=hello world name=show-5555 args=a b c pwd={}",
        s.path().join("work").canonicalize().unwrap().display()
    );
    assert!(out.contains(&expected), "{out}\nexpected: {expected}");
}

#[test]
fn commands_are_not_run_through_a_shell() {
    let s = Sandbox::new();
    let marker = s.path().join("pwned");
    // If a shell saw this, `touch` would run; exec'd directly, `;` is just an argument.
    let cmd = format!(
        "python3 -c 'import sys, time; print(sys.argv[1:]); time.sleep(100)' ; touch {}",
        marker.display()
    );
    s.tpm(["start", &cmd, "--port", "4100"]).ok();
    tpm_testkit::wait_for("python to print its arguments", || {
        s.log("python3-4100", "out").contains("touch")
    });
    assert!(
        s.log("python3-4100", "out").contains("[';', 'touch'"),
        "{}",
        s.log("python3-4100", "out")
    );
    assert!(!marker.exists());
}
