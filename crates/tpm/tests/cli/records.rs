//! What tpm writes it can read back: a spec too large for its record is refused before
//! anything is written, whichever way it comes (an ecosystem file, `--env`, an argument),
//! and the process it would have replaced goes on as it was.

use serde_json::{json, Value};
use tpm_testkit::{free_port, Sandbox};

/// A script that says it started, then waits.
fn server(s: &Sandbox) {
    s.file("srv.sh", "echo started\nexec sleep 100000\n", 0o644);
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
