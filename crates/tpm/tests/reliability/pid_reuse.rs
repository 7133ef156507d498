//! A pid is never signalled on faith: a record whose pid (or supervisor pid) now belongs to
//! an unrelated live process shows it as not running, and no command signals it.

use std::process::{Child, Command, Stdio};

use tpm_testkit::{alive, Sandbox};

/// An unrelated process of the test's own, in its own process group (so its pid is also
/// a group id a careless cleanup could signal), killed when the test ends.
struct Victim(Child);

impl Victim {
    fn spawn() -> Victim {
        use std::os::unix::process::CommandExt;
        Victim(
            Command::new("sleep")
                .arg("300")
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sleep"),
        )
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap()
        .trim()
        .to_string()
}

/// Writes a record claiming `pid` (and `spid`) with a start time that is not theirs.
fn forge(s: &Sandbox, name: &str, status: &str, pid: u32, spid: u32, boot: &str) {
    let dir = s.store().join("processes");
    std::fs::create_dir_all(&dir).unwrap();
    let line = format!(
        "script=/bin/sleep cmd='sleep 300' port=4700 status={status} pid={pid} pid_start=1 spid={spid} spid_start=1 boot_id={boot}\n"
    );
    std::fs::write(dir.join(format!("{name}.meta")), line).unwrap();
}

#[test]
fn a_reused_pid_in_any_status_is_shown_not_running_and_never_signalled() {
    let s = Sandbox::new();
    let victim = Victim::spawn();
    let boot = boot_id();
    let statuses = [
        "online",
        "launching",
        "waiting",
        "stopping",
        "stopped",
        "errored",
    ];
    for (i, status) in statuses.iter().enumerate() {
        // Both pids forged: the process and its supervisor.
        forge(
            &s,
            &format!("forged{i}-4700"),
            status,
            victim.pid(),
            victim.pid(),
            &boot,
        );
    }
    for p in s.list() {
        assert!(p["pid"].is_null(), "{p}");
        assert!(p["supervisor"].is_null(), "{p}");
        assert_ne!(p["status"], "online", "{p}");
    }
    assert!(alive(victim.pid()), "listing signalled nothing");
    s.tpm(["stop", "forged0-4700"]).ok();
    s.tpm(["stop", "*"]).ok();
    assert!(alive(victim.pid()), "stop signalled nothing");
    // Restart launches a new, real process; it must not touch the victim on the way.
    s.tpm(["restart", "forged1-4700"]).ok();
    s.tpm(["delete", "*"]).ok();
    assert!(alive(victim.pid()), "restart and delete signalled nothing");
}

#[test]
fn a_pid_from_another_boot_is_never_signalled() {
    let s = Sandbox::new();
    let victim = Victim::spawn();
    forge(
        &s,
        "oldboot-4701",
        "online",
        victim.pid(),
        victim.pid(),
        "00000000-0000-0000-0000-000000000000",
    );
    let p = s.get("oldboot-4701").unwrap();
    assert_eq!(
        p["status"], "stopped",
        "after a reboot a process reads as stopped: {p}"
    );
    assert!(p["pid"].is_null());
    s.tpm(["restart", "oldboot-4701"]).ok();
    s.tpm(["delete", "oldboot-4701"]).ok();
    assert!(alive(victim.pid()));
}

#[test]
fn a_stale_supervisor_pid_is_never_signalled() {
    let s = Sandbox::new();
    let victim = Victim::spawn();
    // The process pid is unset; only the supervisor's pid points at the victim.
    let dir = s.store().join("processes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("stale-4702.meta"),
        format!("script=/bin/sleep cmd='sleep 300' port=4702 status=online spid={} spid_start=1 boot_id={}\n", victim.pid(), boot_id()),
    )
    .unwrap();
    let p = s.get("stale-4702").unwrap();
    assert_eq!(p["status"], "errored");
    assert!(p["supervisor"].is_null());
    s.tpm(["stop", "stale-4702"]).ok();
    s.tpm(["delete", "stale-4702"]).ok();
    assert!(alive(victim.pid()));
}
