//! The supervisor's promises: it is detached, it is the only one per name, its child does
//! not outlive it, and daemonizing grandchildren are still stopped.

use std::thread;

use tpm_testkit::{alive, wait_for, Sandbox};

fn field(record: &str, key: &str) -> Option<u32> {
    record
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}="))?.parse().ok())
}

#[test]
fn twenty_simultaneous_starts_of_one_name_run_it_exactly_once() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3700);
    let codes: Vec<i32> = thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| s.tpm(["start", "server.sh"]).code))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|&c| c == 0 || c == 1), "{codes:?}");
    let supervisors = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| {
                    c.split(|&b| b == 0).any(|a| a == b"server-3700")
                        && c.starts_with(s.tpm_binary().as_os_str().as_encoded_bytes())
                })
                .unwrap_or(false)
        })
        .count();
    assert_eq!(supervisors, 1);
}

#[test]
fn the_supervisor_is_detached_in_its_own_session() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3701);
    s.tpm(["start", "server.sh"]).ok();
    s.wait_status("server-3701", "online");
    let spid = field(&s.record("server-3701"), "spid").unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{spid}/stat")).unwrap();
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let (ppid, session, tty): (u32, u32, i64) = (
        f[1].parse().unwrap(),
        f[3].parse().unwrap(),
        f[4].parse().unwrap(),
    );
    assert_ne!(ppid, std::process::id(), "not our child");
    assert_ne!(session, spid, "not a session leader (double fork)");
    assert_eq!(tty, 0, "no controlling terminal");
}

#[test]
fn the_child_dies_with_its_supervisor_and_list_says_errored() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3702);
    s.tpm(["start", "server.sh"]).ok();
    let pid = s.wait_status("server-3702", "online")["pid"]
        .as_u64()
        .unwrap() as u32;
    let spid = field(&s.record("server-3702"), "spid").unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(spid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for("the child to die with its supervisor", || !alive(pid));
    let p = s.get("server-3702").unwrap();
    assert_eq!(p["status"], "errored");
    assert!(p["reason"].as_str().unwrap().contains("supervisor"), "{p}");
    s.tpm(["restart", "server-3702"]).ok();
    s.wait_status("server-3702", "online");
}

#[test]
fn a_daemonizing_grandchild_is_stopped_too() {
    let s = Sandbox::new();
    let pidfile = s.path().join("daemon.pid");
    // The grandchild leaves the group and the session: only the subreaper still has it.
    s.file(
        "daemon.sh",
        &format!(
            "PORT=3703\nsetsid bash -c 'echo $$ > {}; exec sleep 300' &\nsleep 300\n",
            pidfile.display()
        ),
        0o644,
    );
    s.tpm(["start", "daemon.sh"]).ok();
    wait_for("the daemon's pid file", || {
        std::fs::read_to_string(&pidfile).is_ok_and(|t| t.trim().parse::<u32>().is_ok())
    });
    let daemon: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(daemon));
    s.tpm(["stop", "daemon-3703"]).ok();
    assert!(!alive(daemon), "the setsid'd grandchild was stopped");
}

#[test]
fn a_forged_pid_in_a_record_is_never_signalled() {
    let s = Sandbox::new();
    // An unrelated live process of ours, whose pid a stale record claims.
    let victim = Victim(
        std::process::Command::new("sleep")
            .arg("300")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let dir = s.store().join("processes");
    std::fs::create_dir_all(&dir).unwrap();
    let line = format!(
        "script=/x pid={} port=3704 status=online pid_start=1 spid={} spid_start=1 boot_id=whatever\n",
        victim.0.id(),
        victim.0.id()
    );
    std::fs::write(dir.join("stale-3704.meta"), line).unwrap();
    let p = s.get("stale-3704").unwrap();
    assert!(p["pid"].is_null(), "{p}");
    assert_ne!(p["status"], "online");
    s.tpm(["stop", "stale-3704"]).ok();
    s.tpm(["restart", "stale-3704"]).code(66);
    s.tpm(["delete", "stale-3704"]).ok();
    assert!(
        alive(victim.0.id()),
        "the unrelated process was not signalled"
    );
}

/// A process of the test's own, killed when the test ends, pass or fail.
struct Victim(std::process::Child);

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
