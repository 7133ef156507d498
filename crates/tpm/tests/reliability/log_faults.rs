//! Faults while logging: a log that cannot be written never stops or blocks the service;
//! the bytes dropped are counted in the record.

use std::os::unix::process::CommandExt;

use nix::sys::resource::{setrlimit, Resource};
use tpm_testkit::{wait_for, Run, Sandbox};

#[test]
fn a_log_past_the_file_size_limit_drops_bytes_and_the_service_runs_on() {
    let s = Sandbox::new();
    let done = s.path().join("done");
    // ~1 MB of output; the supervisor may write only 64 KiB per file.
    s.file(
        "chatty.sh",
        &format!(
            "PORT=5400\nfor i in $(seq 1 20000); do echo \"line $i of a chatty service\"; done\ntouch {}\nsleep 300\n",
            done.display()
        ),
        0o644,
    );
    let mut c = s.command();
    c.args(["start", "chatty.sh"]);
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            setrlimit(Resource::RLIMIT_FSIZE, 64 * 1024, 64 * 1024)?;
            Ok(())
        });
    }
    Run::from_output(c.output().unwrap()).ok();
    wait_for(
        "the service to write everything (it was never blocked)",
        || done.exists(),
    );
    let mut p = serde_json::Value::Null;
    wait_for("the dropped bytes in the record", || {
        p = s.get("chatty-5400").unwrap();
        p["log_dropped"].as_u64().unwrap_or(0) > 0
    });
    assert_eq!(p["status"], "online", "{p}");
    let log = std::fs::metadata(s.store().join("logs/chatty-5400.out"))
        .unwrap()
        .len();
    assert!(log <= 64 * 1024, "{log}");
    let written_and_dropped = log + p["log_dropped"].as_u64().unwrap();
    assert!(
        written_and_dropped > 900_000,
        "every byte is either written or counted: {written_and_dropped}"
    );
    s.tpm(["stop", "chatty-5400"]).ok();
    assert!(s.processes().is_empty());
}
