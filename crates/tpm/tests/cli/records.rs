//! What tpm writes it can read back: a spec too large for its record is refused before
//! anything is written, whichever way it comes (an ecosystem file, `--env`, an argument),
//! and the process it would have replaced goes on as it was; `tpm save` over a record it
//! cannot read keeps that process as the dump it replaces had it.

use serde_json::{json, Value};
use tpm_testkit::{free_port, Sandbox};

/// A script that says it started, then waits.
fn server(s: &Sandbox) {
    s.file("srv.sh", "echo started\nexec sleep 100000\n", 0o644);
}

/// The names of the apps of a dump.
fn dumped(s: &Sandbox, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(s.store().join(file)).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_spec_too_large_for_its_record_is_refused_and_the_process_goes_on_as_it_was() {
    let s = Sandbox::new();
    server(&s);
    let port = free_port();
    let name = format!("big-{port}");
    let file = |env: Value| {
        let doc = json!({"apps": [{
            "name": "big",
            "script": "srv.sh",
            "port": port,
            "env": env,
        }]});
        s.file("eco.json", &doc.to_string(), 0o644);
    };
    file(json!({"SMALL": "1"}));
    s.tpm(["start", "eco.json"]).ok();
    let first = s.wait_status(&name, "online");
    let record = s.record_as_commanded(&name);

    // A certificate's worth in the file's env: `restart FILE` refuses before it stops
    // anything, names the variable and the limit, and says where such values go.
    let cert = "x".repeat(70_000);
    file(json!({"SMALL": "1", "CERT": cert}));
    let out = s.tpm(["restart", "eco.json"]);
    out.code(64);
    for says in ["CERT: 70000 bytes", "61440", "envs/NAME.env"] {
        assert!(out.stderr.contains(says), "{says}: {}", out.stderr);
    }
    let now = s.get(&name).unwrap();
    assert_eq!(
        (&now["status"], &now["pid"]),
        (&first["status"], &first["pid"])
    );
    assert_eq!(s.record_as_commanded(&name), record);

    // A restart of it by name is a restart of what it was.
    s.tpm(["restart", &name]).ok();
    s.wait_status(&name, "online");
    s.tpm(["stop", &name]).ok();
    let stopped = s.record(&name);

    // The same through --env, over the stopped process and as a new one; quoting that makes
    // a value ten times larger as written (30 KB of ') is counted as written.
    let quotes = format!("Q={}", "'".repeat(30_000));
    let flag = format!("CERT={cert}");
    for env in [&flag, &quotes] {
        let out = s.tpm([
            "start",
            "srv.sh",
            "--name",
            "big",
            "--port",
            &port.to_string(),
            "--env",
            env,
        ]);
        out.code(64);
        assert!(
            out.stderr.contains("over the limit of 61440"),
            "{}",
            out.stderr
        );
        assert_eq!(s.record(&name), stopped);
        let other = free_port();
        s.tpm([
            "start",
            "srv.sh",
            "--port",
            &other.to_string(),
            "--env",
            env,
        ])
        .code(64);
        assert!(s.get(&format!("srv-{other}")).is_none());
        assert!(!s.store().join(format!("envs/srv-{other}.env")).exists());
    }

    // An argument that large: named by its place.
    let arg = "a".repeat(70_000);
    let out = s.tpm([
        "start",
        "srv.sh",
        "--name",
        "big",
        "--port",
        &port.to_string(),
        "--",
        &arg,
    ]);
    out.code(64);
    assert!(
        out.stderr.contains("argument 2: 70000 bytes"),
        "{}",
        out.stderr
    );
    assert_eq!(s.record(&name), stopped);

    s.tpm(["restart", &name]).ok();
    s.wait_status(&name, "online");
    assert!(s.list().len() == 1, "{:?}", s.list());
    // The way the help gives: the value in the environment tpm is run from.
    let other = free_port();
    let cli_name = format!("srv-{other}");
    s.tpm_env(
        &[("CERT", &cert)],
        ["start", "srv.sh", "--port", &other.to_string()],
    )
    .ok();
    s.wait_status(&cli_name, "online");
    let kept = std::fs::read_to_string(s.store().join(format!("envs/{cli_name}.env"))).unwrap();
    assert!(kept.contains(&format!("CERT={cert}\n")));
}

#[test]
fn save_over_a_record_it_cannot_read_keeps_that_process_as_the_dump_had_it() {
    let s = Sandbox::new();
    server(&s);
    let (a, b) = (free_port(), free_port());
    for port in [a, b] {
        s.tpm([
            "start",
            "srv.sh",
            "--port",
            &port.to_string(),
            "--env",
            "GREETING=hi",
        ])
        .ok();
    }
    let (a, b) = (format!("srv-{a}"), format!("srv-{b}"));
    s.tpm(["save"]).ok();
    let before: Value =
        serde_json::from_str(&std::fs::read_to_string(s.store().join("dump.json")).unwrap())
            .unwrap();
    let entry = before["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|app| app["name"] == b.as_str())
        .unwrap()
        .clone();
    // Its supervisor gone first (killed, as a crash would), so that nothing rewrites it.
    let spid = s.record_field(&b, "spid").unwrap() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(spid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    tpm_testkit::wait_for("its supervisor to be gone", || {
        !s.processes().iter().any(|p| p.pid == spid as u32)
    });
    std::fs::write(
        s.store().join(format!("processes/{b}.meta")),
        "script='unterminated",
    )
    .unwrap();
    // Twice: the second save replaces the first's dump, and its .bak is the first's.
    for _ in 0..2 {
        let out = s.tpm(["save"]);
        out.ok();
        assert!(
            out.stderr.contains("warning") && out.stderr.contains(&b),
            "{}",
            out.stderr
        );
        assert!(out.stdout.contains("kept 1 "), "{}", out.stdout);
        let mut names = dumped(&s, "dump.json");
        names.sort();
        let mut both = vec![a.clone(), b.clone()];
        both.sort();
        assert_eq!(names, both);
        assert_eq!(dumped(&s, "dump.json.bak").len(), 2);
    }
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(s.store().join("dump.json")).unwrap())
            .unwrap();
    let kept = after["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|app| app["name"] == b.as_str())
        .unwrap();
    assert_eq!(kept, &entry, "written as the dump had it");
    let json = s.tpm(["save", "--json"]).ok().json();
    assert_eq!(json["kept"], json!([b]));
    assert_eq!(json["names"], json!([a]));
}
