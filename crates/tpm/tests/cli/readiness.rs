//! Readiness: `online` means it runs, *ready* means it serves. By default a process is
//! ready when its tree listens on its PORT; `--ready-line` and `--ready-http` are the other
//! ways, `--no-ready-check` none. `start --wait` and `restart --wait` return once it is
//! ready, and fail (exit 1, with its last log lines) when it exits or time runs out.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tpm_testkit::{free_port, wait_for, Sandbox};

fn http_status(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    reply.lines().next().map(str::to_string)
}

#[test]
fn start_wait_returns_once_a_python_server_answers() {
    let s = Sandbox::new();
    let port = free_port();
    // Slow to come up: it listens only after a second.
    let cmd = format!("sh -c 'sleep 1; exec python3 -m http.server {port} --bind 127.0.0.1'");
    let began = Instant::now();
    let out = s.tpm([
        "start",
        &cmd,
        "--name",
        "web",
        "--port",
        &port.to_string(),
        "--wait",
        "--json",
    ]);
    out.ok();
    assert!(began.elapsed() >= Duration::from_secs(1));
    // Answers at once: no wait needed after `start --wait`.
    let status = http_status(port, "/").expect("it answers once start returns");
    assert!(status.contains(" 200 "), "{status}");
    assert_eq!(out.json()["ready"], true, "{}", out.stdout);
    let p = s.get(&format!("web-{port}")).unwrap();
    assert_eq!(
        (p["ready"].as_bool(), p["listening"].as_bool()),
        (Some(true), Some(true)),
        "{p}"
    );
    let events = s.tpm(["events", &format!("web-{port}"), "--json"]);
    assert!(
        events.stdout.contains(r#""event":"ready""#),
        "{}",
        events.stdout
    );
    // As a line: how it was found ready.
    let text = s
        .tpm(["events", &format!("web-{port}")])
        .ok()
        .stdout
        .clone();
    assert!(text.contains(", its port listens"), "{text}");
}

#[test]
fn start_wait_of_a_script_that_dies_fails_at_once_with_its_code() {
    let s = Sandbox::new();
    s.file(
        "dies.sh",
        "PORT=3620\necho 'config missing' >&2\nexit 3\n",
        0o644,
    );
    let began = Instant::now();
    let out = s.tpm(["start", "dies.sh", "--wait"]);
    out.code(1);
    // At once: not after the 30 s timeout, nor after the crash-loop verdict.
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    assert!(out.stderr.contains("exited with code 3"), "{}", out.stderr);
    assert!(
        out.stderr.contains("config missing"),
        "its last log lines: {}",
        out.stderr
    );
}

#[test]
fn start_wait_of_a_server_that_never_listens_fails_at_the_timeout() {
    let s = Sandbox::new();
    s.file(
        "mute.sh",
        "PORT=3621\necho 'warming up'\nwhile true; do sleep 1; done\n",
        0o644,
    );
    let began = Instant::now();
    let out = s.tpm(["start", "mute.sh", "--wait", "--wait-timeout", "1500ms"]);
    out.code(1);
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(
        out.stderr.contains("not ready after 1.5s"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("port 3621"), "{}", out.stderr);
    assert!(out.stderr.contains("warming up"), "{}", out.stderr);
    // It goes on running: not ready, but online.
    let p = s.get("mute-3621").unwrap();
    assert_eq!(
        (p["status"].as_str(), p["ready"].as_bool()),
        (Some("online"), Some(false)),
        "{p}"
    );
    // A timeout given to restart (or start NAME) wins over the one it was started with.
    for args in [
        ["restart", "mute-3621", "--wait", "--wait-timeout", "500ms"],
        ["start", "mute-3621", "--wait", "--wait-timeout", "500ms"],
    ] {
        if args[0] == "start" {
            s.tpm(["stop", "mute-3621"]).ok();
        }
        let out = s.tpm(args);
        out.code(1);
        assert!(
            out.stderr.contains("not ready after 500ms"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_ready_line_makes_it_ready() {
    let s = Sandbox::new();
    s.file(
        "worker.sh",
        "PORT=3622\necho booting\nsleep 0.5\necho 'queue connected, ready'\nwhile true; do sleep 1; done\n",
        0o644,
    );
    s.tpm([
        "start",
        "worker.sh",
        "--ready-line",
        "^queue connected",
        "--wait",
    ])
    .ok();
    assert!(s.log("worker-3622", "out").contains("queue connected"));
    assert_eq!(s.get("worker-3622").unwrap()["ready"], true);
    let d = s.tpm(["describe", "worker-3622", "--json"]).ok().json();
    assert_eq!(d["ready_check"], "line /^queue connected/", "{d}");
    // A bad expression is a usage error.
    s.tpm([
        "start",
        "worker.sh",
        "--name",
        "x",
        "--ready-line",
        "(unclosed",
    ])
    .code(64);
}

#[test]
fn ready_http_waits_for_a_2xx() {
    let s = Sandbox::new();
    let port = free_port();
    // Listens at once, but /health answers 404 until the file appears a second later.
    s.file(
        "web.sh",
        &format!(
            "(sleep 1; echo ok > health) &\nexec python3 -m http.server {port} --bind 127.0.0.1\n"
        ),
        0o644,
    );
    s.tpm([
        "start",
        "web.sh",
        "--port",
        &port.to_string(),
        "--ready-http",
        "/health",
        "--wait",
    ])
    .ok();
    assert!(
        s.path().join("health").exists(),
        "it returned only after /health answered"
    );
    assert_eq!(s.get(&format!("web-{port}")).unwrap()["ready"], true);
    // The probes that got 404 read their answer to the end: the server saw no reset.
    let err = s.log(&format!("web-{port}"), "err");
    assert!(err.contains("\"GET /health HTTP/1.0\" 404"), "{err}");
    assert!(!err.contains("Traceback"), "{err}");
}

#[test]
fn without_a_check_it_is_ready_once_it_runs_and_not_running_is_not_ready() {
    let s = Sandbox::new();
    s.file("job.sh", "PORT=3623\nwhile true; do sleep 1; done\n", 0o644);
    s.tpm(["start", "job.sh", "--no-ready-check"]).ok();
    wait_for("ready", || s.get("job-3623").unwrap()["ready"] == true);
    s.tpm(["stop", "job-3623"]).ok();
    assert!(s.get("job-3623").unwrap()["ready"].is_null());
}

#[test]
fn restart_wait_waits_for_the_new_run() {
    let s = Sandbox::new();
    s.file(
        "slow.sh",
        "PORT=3624\nsleep 0.5\necho listening now\nwhile true; do sleep 1; done\n",
        0o644,
    );
    s.tpm(["start", "slow.sh", "--ready-line", "listening now"])
        .ok();
    wait_for("ready", || s.get("slow-3624").unwrap()["ready"] == true);
    let out = s.tpm(["restart", "slow-3624", "--wait", "--json"]);
    out.ok();
    let p = s.get("slow-3624").unwrap();
    assert_eq!(
        (p["ready"].as_bool(), p["restarts"].as_u64()),
        (Some(true), Some(1)),
        "{p}"
    );
    assert_eq!(
        s.log("slow-3624", "out").matches("listening now").count(),
        2
    );
    s.tpm(["restart", "slow-3624", "--wait-timeout", "soon"])
        .code(64);
}
