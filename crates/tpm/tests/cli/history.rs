//! Seeing what happened: the event history (`tpm events`), `tpm describe`, `tpm doctor`,
//! and the port check of `tpm start`.

use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tpm_testkit::{free_port, program, wait_for, Sandbox};

fn events(s: &Sandbox, name: &str) -> Vec<Value> {
    s.tpm(["events", name, "--json", "--lines", "1000"])
        .ok()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON event"))
        .collect()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A python HTTP server on `port`, not managed by tpm.
fn foreign_server(port: u16) -> Child {
    let child = Command::new(program("python3"))
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the foreign server to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    child
}

#[test]
fn a_crash_loop_and_a_stop_are_in_the_history_in_order_with_their_codes() {
    let s = Sandbox::new();
    s.file("crash.sh", "exit 3\n", 0o644);
    let port = free_port().to_string();
    s.tpm([
        "start",
        "crash.sh",
        "--port",
        &port,
        "--max-restarts",
        "2",
        "--restart-delay",
        "10",
    ])
    .ok();
    let name = format!("crash-{port}");
    s.wait_status(&name, "errored");
    let crash = events(&s, &name);
    assert_eq!(
        kinds(&crash),
        [
            "start_requested",
            "spawned",
            "exited",
            "restart_scheduled",
            "spawned",
            "exited",
            "errored"
        ]
    );
    assert!(crash
        .iter()
        .filter(|e| e["event"] == "exited")
        .all(|e| e["code"] == 3));
    assert_eq!(crash[3]["after_ms"], 10);
    assert!(crash
        .windows(2)
        .all(|w| w[0]["time_ms"].as_i64() <= w[1]["time_ms"].as_i64()));

    s.file("srv.sh", "exec sleep 1000\n", 0o644);
    let port = free_port().to_string();
    s.tpm(["start", "srv.sh", "--port", &port]).ok();
    let name = format!("srv-{port}");
    s.tpm(["stop", &name]).ok();
    let stop = events(&s, &name);
    assert_eq!(
        kinds(&stop),
        [
            "start_requested",
            "spawned",
            "stop_requested",
            "exited",
            "stopped"
        ]
    );
    assert_eq!(stop[2]["by"], "user");
    assert_eq!(stop[3]["signal"], "SIGTERM");
    // --since cuts the history; the list says what the last day was like.
    let out = s.tpm(["events", "--since", "1h", "--json"]);
    assert_eq!(out.ok().stdout.lines().count(), crash.len() + stop.len());
    assert!(s
        .tpm(["events", "--since", "soon"])
        .code(64)
        .stderr
        .contains("--since"));
    let p = s.get(&name).unwrap();
    assert_eq!(
        (p["wanted"].clone(), p["restarts_24h"].clone()),
        (Value::Bool(false), 0.into())
    );
    // Deleted with the process.
    s.tpm(["delete", &name]).ok();
    assert!(!s.store().join(format!("events/{name}.jsonl")).exists());
}

#[test]
fn events_follow_sees_a_process_started_after_it_began() {
    let s = Sandbox::new();
    s.file("srv.sh", "exec sleep 1000\n", 0o644);
    std::fs::create_dir_all(s.store().join("events")).unwrap();
    let mut follower = tpm_testkit::Follower::spawn({
        let mut c = s.command();
        c.args(["events", "-f"]);
        c
    });
    let port = free_port().to_string();
    s.tpm(["start", "srv.sh", "--port", &port]).ok();
    let lines = follower.until(|l| l.contains("spawned"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("srv-{port}  start_requested"))),
        "{lines:?}"
    );
}

#[test]
fn describe_shows_a_python_servers_tree_and_listening_port() {
    let s = Sandbox::new();
    let port = free_port();
    s.tpm([
        "start",
        &format!("python3 -m http.server {port} --bind 127.0.0.1"),
        "--env",
        "API_TOKEN=t0ken",
    ])
    .ok();
    let name = format!("python3-{port}");
    wait_for("the server to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    // The supervisor sees its tree listen: the list says so, and the history has when.
    wait_for("the list to say it listens", || {
        s.get(&name).is_some_and(|p| p["listening"] == true)
    });
    let listened: Vec<Value> = events(&s, &name)
        .into_iter()
        .filter(|e| e["event"] == "listening")
        .collect();
    assert_eq!(listened.len(), 1, "{listened:?}");
    assert_eq!(listened[0]["reason"], format!("port {port}"));
    let d = s.tpm(["describe", &name, "--json"]).ok().json();
    assert_eq!(listened[0]["pid"], d["pid"]);
    assert_eq!(d["listening"], true);
    assert_eq!(d["status"], "online");
    let tree = d["tree"].as_array().unwrap();
    assert_eq!(tree[0]["pid"], d["pid"]);
    assert!(tree[0]["command"].as_str().unwrap().contains("http.server"));
    assert!(tree[0]["rss"].as_u64().unwrap() > 1_000_000);
    assert_eq!(d["env"]["API_TOKEN"], "<hidden by tpm>");
    assert!(d["log_files"].as_array().unwrap().len() >= 2);
    assert_eq!(d["events"][1]["event"], "spawned");
    // The human form, by id; `show` and `info` are the same command.
    let text = s.tpm(["show", "0"]).ok().stdout.clone();
    assert!(text.contains(&format!("{port} (listening)")), "{text}");
    assert!(!text.contains("t0ken"));
    assert_eq!(
        s.tpm(["info", "0"]).ok().stdout.lines().count(),
        text.lines().count()
    );
}

#[test]
fn start_refuses_a_taken_port_and_names_its_holder() {
    let s = Sandbox::new();
    s.file("srv.sh", "exec sleep 1000\n", 0o644);
    let port = free_port();
    let mut foreign = foreign_server(port);
    let out = s.tpm(["start", "srv.sh", "--port", &port.to_string()]);
    out.code(1);
    assert!(
        out.stderr
            .contains(&format!("port {port} is taken by pid {}", foreign.id())),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("http.server"), "{}", out.stderr);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert!(s.list().is_empty(), "nothing started");
    // A managed holder is named by its tpm name.
    let port2 = free_port();
    s.tpm([
        "start",
        &format!("python3 -m http.server {port2} --bind 127.0.0.1"),
        "--name",
        "web",
    ])
    .ok();
    wait_for("web to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port2)).is_ok()
    });
    let out = s.tpm(["start", "srv.sh", "--port", &port2.to_string()]);
    out.code(1);
    assert!(
        out.stderr.contains(&format!("tpm's web-{port2}")),
        "{}",
        out.stderr
    );
    s.tpm(["start", "srv.sh", "--port", &port.to_string(), "--force"])
        .ok();
    let _ = foreign.kill();
    let _ = foreign.wait();
    // A stopped process started again by its name or id, after someone took its port.
    let port3 = free_port();
    s.tpm(["start", "srv.sh", "--port", &port3.to_string()])
        .ok();
    let name = format!("srv-{port3}");
    s.tpm(["stop", &name]).ok();
    let mut taker = foreign_server(port3);
    let id = s.get(&name).unwrap()["id"].to_string();
    for target in [name.as_str(), id.as_str()] {
        let out = s.tpm(["start", target]);
        out.code(1);
        assert!(
            out.stderr
                .contains(&format!("port {port3} is taken by pid {}", taker.id())),
            "{}",
            out.stderr
        );
        assert_eq!(s.get(&name).unwrap()["status"], "stopped");
    }
    s.tpm(["start", &name, "--force"]).ok();
    let _ = taker.kill();
    let _ = taker.wait();
}

#[test]
fn doctor_finds_a_corrupt_record_a_foreign_port_holder_and_an_orphan() {
    let s = Sandbox::new();
    s.file("srv.sh", "exec sleep 1000\n", 0o644);
    // A fresh store is well. (Orphans are looked for machine-wide, and other tests running
    // beside this one may leave some for a moment: only this store's checks count here.)
    let fresh = s.tpm(["doctor", "--json"]).json();
    assert!(
        fresh
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "problem" || f["check"] == "orphan"),
        "{fresh}"
    );
    let port = free_port();
    s.tpm(["start", "srv.sh", "--port", &port.to_string()]).ok();
    let mut foreign = foreign_server(port);
    s.file(
        "tetra/tpm/processes/broken-1.meta",
        "script=x port=1 junk",
        0o600,
    );
    // An orphan: a process with tpm's markers whose supervisor is long gone.
    let mut orphan = Command::new(program("sleep"))
        .arg("1000")
        .env("TPM_SUPERVISOR", "1.1")
        .env("TPM_NAME", "ghost-1")
        .spawn()
        .unwrap();
    let out = s.tpm(["doctor", "--json"]);
    out.code(1);
    let findings = out.json();
    let found = |check: &str, what: &str| {
        findings.as_array().unwrap().iter().any(|f| {
            f["check"] == check
                && f["severity"] == "problem"
                && f["message"].as_str().unwrap_or_default().contains(what)
        })
    };
    assert!(found("record", "broken-1.meta"), "{findings}");
    assert!(
        found("port", &format!("held by pid {}", foreign.id())),
        "{findings}"
    );
    assert!(
        found("orphan", &format!("pid {}", orphan.id())),
        "{findings}"
    );
    let text = s.tpm(["doctor"]).code(1).stdout.clone();
    assert!(
        text.contains(&format!("help: kill {}", orphan.id())),
        "{text}"
    );
    for child in [&mut foreign, &mut orphan] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A process's CPU time so far, user and system, in the kernel's ticks (1/100 s).
fn ticks_of(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    // After the name: state is field 3, utime 14, stime 15.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Reads `/proc/PID/stat`'s state letter.
fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

#[test]
fn cpu_is_the_whole_trees_over_the_last_seconds_and_mem_its_whole_memory() {
    let s = Sandbox::new();
    // In both, the main process is a shell that only waits: what counts is its child.
    s.file("busy.sh", "sh -c 'while :; do :; done' &\nwait\n", 0o644);
    s.file(
        "fat.sh",
        "python3 -c 'import time; b = b\"x\" * (64 << 20); time.sleep(1000)' &\nwait\n",
        0o644,
    );
    let (busy_port, fat_port) = (free_port().to_string(), free_port().to_string());
    s.tpm(["start", "busy.sh", "--port", &busy_port]).ok();
    s.tpm(["start", "fat.sh", "--port", &fat_port]).ok();
    let (busy, fat) = (format!("busy-{busy_port}"), format!("fat-{fat_port}"));
    let cpu = |name: &str| s.get(name).and_then(|p| p["cpu"].as_f64());
    // The loop's share of a core (others run on this machine too: more than 30 % is
    // a busy loop seen, where the shell alone would show 0).
    wait_for("the busy tree's CPU to show", || {
        cpu(&busy).is_some_and(|c| c > 30.0)
    });
    wait_for("the fat tree's memory to show", || {
        s.get(&fat)
            .and_then(|p| p["mem"].as_u64())
            .is_some_and(|m| m > 64 << 20)
    });
    // Idle: the python process sleeps.
    wait_for("the idle tree's CPU to read near 0", || {
        cpu(&fat).is_some_and(|c| c < 5.0)
    });
    let main = s.get(&busy).unwrap()["pid"].as_u64().unwrap() as u32;
    let looper = tpm_testkit::all_processes()
        .into_iter()
        .find(|p| p.ppid == main)
        .expect("the loop")
        .pid;
    // Near what the loop really had: its share of a core over a few seconds, by the
    // kernel's count of its ticks, against tpm's figure at the end of the same seconds
    // (a busy loop alone on a core is near 100 %; one sharing it with the other tests
    // less, and tpm must say so). Three windows, for the machine's load to settle.
    let agree = (0..3).any(|_| {
        let (t0, at0) = (ticks_of(looper), std::time::Instant::now());
        // A measuring window, not a wait for a condition.
        std::thread::sleep(std::time::Duration::from_secs(4));
        let real = (ticks_of(looper) - t0) as f64 / at0.elapsed().as_secs_f64();
        let shown = cpu(&busy).unwrap_or(0.0);
        eprintln!("the loop used {real:.0} % of a core; tpm says {shown:.0} %");
        (shown - real).abs() < 20.0
    });
    assert!(agree, "tpm's cpu is not the loop's recent share");
    // Recent, not averaged over the run: the loop paused, its CPU falls within seconds.
    let stop = |sig: &str| {
        Command::new("kill")
            .args([sig, &looper.to_string()])
            .status()
            .unwrap()
    };
    assert!(stop("-STOP").success());
    wait_for("the loop to pause", || state_of(looper) == Some('T'));
    wait_for("the paused tree's CPU to fall", || {
        cpu(&busy).is_some_and(|c| c < 5.0)
    });
    assert!(stop("-CONT").success());
    // `describe` shows the same figures; a stopped process has none.
    s.tpm(["stop", &busy]).ok();
    let p = s.get(&busy).unwrap();
    assert_eq!(
        (p["cpu"].clone(), p["mem"].clone()),
        (Value::Null, Value::Null)
    );
    let meta = std::fs::read_to_string(s.store().join(format!("processes/{busy}.meta"))).unwrap();
    assert!(meta.contains(" cpu='' mem='' listening=''"), "{meta}");
}

#[test]
fn a_process_with_a_port_that_does_not_listen_says_so() {
    let s = Sandbox::new();
    s.file("quiet.sh", "exec sleep 1000\n", 0o644);
    let port = free_port().to_string();
    s.tpm(["start", "quiet.sh", "--port", &port]).ok();
    let name = format!("quiet-{port}");
    wait_for("the first look", || {
        s.get(&name).is_some_and(|p| p["listening"] == false)
    });
    // Someone else listening on that port is not this process listening.
    let _other = std::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>().unwrap()));
    let d = s.tpm(["describe", &name, "--json"]).ok().json();
    assert_eq!(d["listening"], false);
    assert!(!kinds(&events(&s, &name)).contains(&"listening".to_string()));
}
