//! Liveness for a process's whole life: a check (`--health-http`, `--health-tcp`,
//! `--health-cmd`) that restarts a process that stays alive but stops answering, and
//! systemd's notify protocol (`--ready-notify`, `--watchdog`) for programs that speak it.

use std::time::Duration;

use serde_json::Value;
use tpm_testkit::{free_port, holds_within, wait_for, Sandbox};

/// A server whose `/healthz` answers 200 until a file `hang` exists; then it hangs in the
/// request, alive and listening, as a deadlocked server does.
const HANGING_SERVER: &str = r#"
import http.server, os, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        while os.path.exists('hang'):
            time.sleep(0.1)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'ok')
    def log_message(self, *a):
        pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
"#;

fn events(s: &Sandbox, name: &str) -> Vec<Value> {
    let out = s.tpm(["events", name, "--json"]);
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn has_event(events: &[Value], kind: &str, by: Option<&str>, reason: &str) -> bool {
    events.iter().any(|e| {
        e["event"] == kind
            && by.is_none_or(|b| e["by"] == b)
            && e["reason"].as_str().is_some_and(|r| r.contains(reason))
    })
}

#[test]
fn a_server_that_stops_answering_its_health_path_is_restarted_after_the_failures() {
    let s = Sandbox::new();
    let port = free_port();
    s.file("srv.py", HANGING_SERVER, 0o644);
    let name = format!("srv-{port}");
    s.tpm([
        "start",
        &format!("python3 srv.py {port}"),
        "--name",
        "srv",
        "--port",
        &port.to_string(),
        "--health-http",
        "/healthz",
        "--health-interval",
        "300ms",
        "--health-timeout",
        "300ms",
        "--health-retries",
        "2",
        "--wait",
    ])
    .ok();
    wait_for("healthy", || s.get(&name).unwrap()["health"] == "healthy");
    let first_pid = s.get(&name).unwrap()["pid"].as_u64();
    // Still alive and listening, answering nothing.
    s.file("hang", "", 0o644);
    wait_for("a restart by the health check", || {
        has_event(
            &events(&s, &name),
            "restart_scheduled",
            Some("health"),
            "liveness check",
        )
    });
    std::fs::remove_file(s.path().join("hang")).unwrap();
    wait_for("healthy again, in a new process", || {
        let p = s.get(&name).unwrap();
        p["health"] == "healthy" && p["pid"].as_u64() != first_pid && p["pid"].is_u64()
    });
    let p = s.get(&name).unwrap();
    assert!(p["restarts"].as_u64() >= Some(1), "{p}");
    let ev = events(&s, &name);
    assert!(
        has_event(&ev, "health", None, "unhealthy: 2 check(s) in a row failed"),
        "{ev:?}"
    );
    assert!(
        has_event(&ev, "health", None, "healthy: http://127.0.0.1"),
        "{ev:?}"
    );
    // Not a crash: the restart policy's count of quick exits is left alone.
    assert_eq!(p["status"], "online", "{p}");
    let d = s.tpm(["describe", &name, "--json"]);
    d.ok();
    assert!(
        d.json()["health_check"]
            .as_str()
            .is_some_and(|h| h.starts_with("http /healthz every 300ms")),
        "{}",
        d.stdout
    );
}

/// A server that accepts connections and never answers them (as a server stuck before it
/// reads a request), writing to its output all the while.
const SILENT_SERVER: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(16)
s.settimeout(0.05)
held = []
while True:
    try:
        c, _ = s.accept()
        held.append(c)
        open('accepted', 'w').close()
    except socket.timeout:
        pass
    if held:
        print('still writing while the check waits', flush=True)
"#;

#[test]
fn a_check_waiting_on_a_silent_server_holds_up_neither_the_log_nor_a_stop() {
    let s = Sandbox::new();
    let port = free_port();
    s.file("silent.py", SILENT_SERVER, 0o644);
    let name = format!("silent-{port}");
    s.tpm([
        "start",
        &format!("python3 silent.py {port}"),
        "--name",
        "silent",
        "--port",
        &port.to_string(),
        "--health-http",
        "/healthz",
        "--health-interval",
        "200ms",
        "--health-timeout",
        "5s",
        "--health-retries",
        "1",
        // Checks refused before the server listens do not count.
        "--health-start-period",
        "3s",
        "--wait",
    ])
    .ok();
    let timed_out = |s: &Sandbox| has_event(&events(s, &name), "health", None, "within 5.0s");
    wait_for("the check's connection", || {
        s.path().join("accepted").exists()
    });
    // What the server writes while the check waits reaches its log before the check's
    // timeout is recorded: the supervisor drains the pipe meanwhile.
    wait_for("output written during the check, in the log", || {
        s.log(&name, "out").contains("still writing")
    });
    assert!(!timed_out(&s), "{:?}", events(&s, &name));
    // A stop is answered while the check still waits: it ends the run, and the check
    // with it, so no timeout is ever recorded.
    s.tpm(["stop", &name]).ok();
    assert_eq!(s.get(&name).unwrap()["status"], "stopped");
    let ev = events(&s, &name);
    assert!(!timed_out(&s), "{ev:?}");
    assert!(
        !has_event(&ev, "restart_scheduled", Some("health"), ""),
        "{ev:?}"
    );
}

#[test]
fn health_mark_only_marks_and_a_command_check_sees_the_environment() {
    let s = Sandbox::new();
    s.file("work.sh", "while true; do sleep 1; done\n", 0o644);
    s.tpm([
        "start",
        "work.sh",
        "--no-port",
        "--env",
        "FLAG=up",
        "--health-cmd",
        "test \"$FLAG\" = up && test ! -e down",
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "--health-action",
        "mark",
    ])
    .ok();
    wait_for("healthy", || s.get("work").unwrap()["health"] == "healthy");
    s.file("down", "", 0o644);
    wait_for("unhealthy", || {
        s.get("work").unwrap()["health"] == "unhealthy"
    });
    let p = s.get("work").unwrap();
    assert_eq!(
        (p["restarts"].as_u64(), &p["status"]),
        (Some(0), &Value::from("online"))
    );
    let table = s.tpm(["list"]);
    assert!(table.stdout.contains("unhealthy"), "{}", table.stdout);
}

#[test]
fn health_options_without_a_check_or_a_port_are_refused_all_at_once() {
    let s = Sandbox::new();
    s.file("work.sh", "while true; do sleep 1; done\n", 0o644);
    let out = s.tpm([
        "start",
        "work.sh",
        "--no-port",
        "--health-http",
        "/h",
        "--health-tcp",
    ]);
    out.code(64);
    assert!(
        out.stderr.contains("give one liveness check"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--health-tcp checks the PORT"),
        "{}",
        out.stderr
    );
    let out = s.tpm(["start", "work.sh", "--no-port", "--health-retries", "2"]);
    out.code(64);
    assert!(out.stderr.contains("none was given"), "{}", out.stderr);
    assert!(s.list().is_empty());
}

/// A program of a few lines speaking the notify protocol: a status, READY=1, then a
/// watchdog ping every half second while no file `hang` exists; STOPPING=1 on SIGTERM.
const NOTIFYING: &str = r#"
import os, signal, socket, sys, time
addr = os.environ['NOTIFY_SOCKET']
if addr.startswith('@'):
    addr = '\0' + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def send(m):
    s.sendto(m.encode(), addr)
def stop(*a):
    send('STOPPING=1')
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print('WATCHDOG_USEC=' + os.environ.get('WATCHDOG_USEC', ''), flush=True)
send('STATUS=warming up')
time.sleep(0.3)
send('READY=1\nSTATUS=serving 3 queues')
send('MAINPID=1')
while True:
    if not os.path.exists('hang'):
        send('WATCHDOG=1')
    time.sleep(0.5)
"#;

#[test]
fn a_notify_program_is_ready_on_ready_1_shows_its_status_and_is_restarted_when_pings_stop() {
    let s = Sandbox::new();
    s.file("notifier.py", NOTIFYING, 0o644);
    let out = s.tpm([
        "start",
        "python3 notifier.py",
        "--name",
        "notifier",
        "--no-port",
        "--ready-notify",
        "--watchdog",
        "2s",
        "--wait",
        "--json",
    ]);
    out.ok();
    assert_eq!(out.json()["ready"], true, "{}", out.stdout);
    let d = s.tpm(["describe", "notifier", "--json"]);
    d.ok();
    let d = d.json();
    assert_eq!(d["ready_check"], "notify", "{d}");
    assert_eq!(d["watchdog"], 2000, "{d}");
    wait_for("its status", || {
        s.tpm(["describe", "notifier", "--json"]).json()["notify_status"] == "serving 3 queues"
    });
    assert!(s.log("notifier", "out").contains("WATCHDOG_USEC=2000000"));
    let ev = events(&s, "notifier");
    assert!(has_event(&ev, "ready", None, "notify"), "{ev:?}");
    assert!(
        has_event(&ev, "notify", None, "MAINPID=1 refused"),
        "{ev:?}"
    );
    // Pings stop; the process stays alive: the watchdog restarts it.
    s.file("hang", "", 0o644);
    wait_for("a restart by the watchdog", || {
        has_event(
            &events(&s, "notifier"),
            "restart_scheduled",
            Some("watchdog"),
            "no WATCHDOG=1",
        )
    });
    std::fs::remove_file(s.path().join("hang")).unwrap();
    wait_for("ready again", || {
        let p = s.get("notifier").unwrap();
        p["ready"] == true && p["restarts"].as_u64() >= Some(1)
    });
    let ev = events(&s, "notifier");
    assert!(has_event(&ev, "notify", None, "stopping"), "{ev:?}");
    s.tpm(["stop", "notifier"]).ok();
}

#[test]
fn only_the_process_tree_is_heard_on_notify_socket() {
    let s = Sandbox::new();
    // Never says READY=1 itself.
    s.file("mute.sh", "while true; do sleep 1; done\n", 0o644);
    s.tpm(["start", "mute.sh", "--no-port", "--ready-notify"])
        .ok();
    let pid = s.get("mute").unwrap()["pid"].as_u64().unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let socket = environ
        .split(|b| *b == 0)
        .filter_map(|v| std::str::from_utf8(v).ok())
        .find_map(|v| v.strip_prefix("NOTIFY_SOCKET="))
        .expect("NOTIFY_SOCKET is set")
        .to_string();
    assert!(socket.starts_with('@'), "{socket}");
    // The same user, outside the tree: not heard.
    let sent = std::process::Command::new("python3")
        .args([
            "-c",
            "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b'READY=1', '\\0'+sys.argv[1][1:])",
            &socket,
        ])
        .status()
        .unwrap();
    assert!(sent.success());
    assert!(
        !holds_within(Duration::from_secs(1), || s.get("mute").unwrap()["ready"]
            == true),
        "a stranger's READY=1 made it ready"
    );
    s.tpm(["stop", "mute"]).ok();
}

/// What a liveness check costs a supervisor at the default interval (30 s): two
/// supervisors side by side for 60 s, one of a server with `--health-http` and one of the
/// same server without; their wake-ups (context switches) and CPU time are printed.
/// Asserts nothing: `cargo test -p tpm --test cli health::cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn cost_of_a_health_check_at_the_default_interval() {
    let s = Sandbox::new();
    s.file("srv.py", HANGING_SERVER, 0o644);
    let mut names = Vec::new();
    for with in [true, false] {
        let port = free_port();
        let mut args = vec![
            "start".to_string(),
            format!("python3 srv.py {port}"),
            "--name".into(),
            if with { "checked" } else { "plain" }.into(),
            "--port".into(),
            port.to_string(),
            "--wait".into(),
        ];
        if with {
            args.extend(["--health-http".into(), "/healthz".into()]);
        }
        s.tpm(&args).ok();
        names.push(format!("{}-{port}", if with { "checked" } else { "plain" }));
    }
    // Past the start's fast sampling, so both are at rest.
    std::thread::sleep(Duration::from_secs(12));
    let look = |pid: u64| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let switches: u64 = status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        (switches, f[11] + f[12])
    };
    let spids: Vec<u64> = names
        .iter()
        .map(|n| s.get(n).unwrap()["supervisor"].as_u64().unwrap())
        .collect();
    let before: Vec<_> = spids.iter().map(|p| look(*p)).collect();
    std::thread::sleep(Duration::from_secs(60));
    let after: Vec<_> = spids.iter().map(|p| look(*p)).collect();
    for (i, name) in names.iter().enumerate() {
        println!(
            "{name}: {} wake-ups (context switches), {} ms CPU in 60 s; health {}",
            after[i].0 - before[i].0,
            (after[i].1 - before[i].1) * 10,
            s.get(name).unwrap()["health"]
        );
    }
}
