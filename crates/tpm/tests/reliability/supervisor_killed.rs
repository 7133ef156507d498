//! A supervisor killed with SIGKILL: its process dies with it (within a second), the rest
//! of the tree goes no later than the next tpm command, the record says why, and a
//! restart brings it back. Killed in the middle of a stop, the stop finishes its job; a
//! supervisor that does not answer is named. Each holds with the process in a cgroup of its
//! own and without (`TPM_CGROUP=off`: the tree tracked by ancestry).

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tpm_testkit::{alive, posix_backend, wait_for, Proc, Sandbox};

/// Both ways a tree is tracked: `TPM_CGROUP` for the starts, and the tracking to expect.
const TRACKINGS: [(&str, &str); 2] = [("on", "cgroup"), ("off", "process-tree")];

/// Whether this machine gives processes cgroups (a writable cgroup2 hierarchy).
fn cgroups_here() -> bool {
    let s = Sandbox::new();
    s.file("probe.sh", "PORT=4899\nsleep 300\n", 0o644);
    s.tpm(["start", "probe.sh"]).ok();
    let tracking = s.get("probe-4899").unwrap()["tracking"].clone();
    s.tpm(["delete", "probe-4899"]).ok();
    tracking == "cgroup"
}

#[test]
fn killing_the_supervisor_takes_the_whole_tree_down_by_the_next_command() {
    for (cgroup, tracking) in TRACKINGS {
        if tracking == "cgroup" && !cgroups_here() {
            continue;
        }
        the_whole_tree_goes_by_the_next_command(cgroup);
    }
}

fn the_whole_tree_goes_by_the_next_command(cgroup: &str) {
    let s = Sandbox::new();
    // A main process with a background child and a daemonized grandchild.
    s.file(
        "tree.sh",
        "PORT=4800\nsleep 300 &\n( setsid bash -c 'sleep 301 & wait' & )\nwhile :; do sleep 0.2; done\n",
        0o644,
    );
    s.tpm_env(&[("TPM_CGROUP", cgroup)], ["start", "tree.sh"])
        .ok();
    let pid = s.wait_status("tree-4800", "online")["pid"]
        .as_u64()
        .unwrap() as u32;
    wait_for("the tree up", || s.processes().len() >= 6);
    let spid = s.record_field("tree-4800", "spid").unwrap() as u32;

    kill(Pid::from_raw(spid as i32), Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    // The POSIX backend has no parent-death signal: the main process lives until the next
    // command, which ends it with the rest (below).
    while alive(pid) && !posix_backend() {
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "the main process outlived its supervisor by 1s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // A supervisor is gone once dead: while it exits it still holds its lock (the main
    // process's death above comes after that, so only the POSIX backend can be here first).
    wait_for("the supervisor dead", || !alive(spid));

    // The next command, whatever it is, stops the rest and records why.
    let p = s.get("tree-4800").unwrap();
    assert_eq!(p["status"], "errored");
    assert!(
        p["reason"]
            .as_str()
            .unwrap()
            .contains("supervisor exited unexpectedly"),
        "{p}"
    );
    assert!(s.processes().is_empty(), "left: {:?}", s.processes());

    s.tpm(["restart", "tree-4800"]).ok();
    s.wait_status("tree-4800", "online");
}

#[test]
fn the_same_holds_when_the_next_command_is_a_start_or_a_stop() {
    for next in ["start", "stop"] {
        let s = Sandbox::new();
        s.file(
            "tree.sh",
            "PORT=4801\nsleep 300 &\nwhile :; do sleep 0.2; done\n",
            0o644,
        );
        s.tpm(["start", "tree.sh"]).ok();
        s.wait_status("tree-4801", "online");
        wait_for("the tree up", || s.processes().len() >= 3);
        let before = s.processes();
        let spid = s.record_field("tree-4801", "spid").unwrap() as i32;
        kill(Pid::from_raw(spid), Signal::SIGKILL).unwrap();
        wait_for("the supervisor gone", || !alive(spid as u32));
        match next {
            "start" => {
                s.tpm(["start", "tree.sh"]).ok();
                let old: Vec<_> = before.iter().filter(|p| p.is_alive()).collect();
                assert!(old.is_empty(), "the old tree is gone: {old:?}");
                s.tpm(["stop", "tree-4801"]).ok();
            }
            _ => {
                s.tpm(["stop", "tree-4801"]).ok();
                assert_eq!(s.get("tree-4801").unwrap()["status"], "stopped");
            }
        }
        assert!(
            s.processes().is_empty(),
            "after {next}: {:?}",
            s.processes()
        );
    }
}

#[test]
fn a_stop_whose_supervisor_is_killed_midway_ends_the_tree_before_it_reports_success() {
    for (cgroup, tracking) in TRACKINGS {
        if tracking == "cgroup" && !cgroups_here() {
            eprintln!("no writable cgroup2 hierarchy here: the cgroup case is skipped");
            continue;
        }
        let s = Sandbox::new();
        // A child that ignores TERM, under a main process that exits on TERM at once.
        s.file(
            "stubborn.sh",
            "PORT=4802\nbash -c \"trap '' TERM; while :; do sleep 0.2; done\" &\nwait\n",
            0o644,
        );
        s.tpm_env(
            &[("TPM_CGROUP", cgroup)],
            ["start", "stubborn.sh", "--kill-timeout", "2000"],
        )
        .ok();
        let p = s.wait_status("stubborn-4802", "online");
        assert_eq!(p["tracking"], tracking, "{p}");
        wait_for("the tree up", || s.managed().len() >= 3);
        let tree: Vec<Proc> = s.managed();
        let spid = s.record_field("stubborn-4802", "spid").unwrap() as i32;
        let stop = s.spawn(["stop", "stubborn-4802"]);
        wait_for("the supervisor to begin stopping", || {
            s.record("stubborn-4802").contains("status=stopping")
        });
        kill(Pid::from_raw(spid), Signal::SIGKILL).unwrap();
        let out = stop.wait_with_output().unwrap();
        let left: Vec<&Proc> = tree.iter().filter(|p| p.is_alive()).collect();
        assert!(
            left.is_empty(),
            "{tracking}: the stop returned ({:?}) while {left:?} lived",
            out.status
        );
        assert!(out.status.success(), "{tracking}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "stopped stubborn-4802\n"
        );
        assert_eq!(s.get("stubborn-4802").unwrap()["status"], "stopped");
        assert!(s.processes().is_empty(), "{tracking}: {:?}", s.processes());
    }
}

#[test]
fn a_daemon_that_clears_its_environment_and_calls_setsid_is_gone_after_the_next_command() {
    if !cgroups_here() {
        eprintln!(
            "no writable cgroup2 hierarchy here: such a daemon can only be found through its \
             cgroup (docs/guarantees.md says so); skipped"
        );
        return;
    }
    let s = Sandbox::new();
    let pidfile = s.path().join("daemon.pid");
    // Out of the group, the session and the environment: no marker to find it by.
    s.file(
        "escape.sh",
        &format!(
            "PORT=4803\nenv -i setsid bash -c 'echo $$ > {}; exec sleep 300' &\nwhile :; do sleep 0.2; done\n",
            pidfile.display()
        ),
        0o644,
    );
    s.tpm(["start", "escape.sh"]).ok();
    s.wait_status("escape-4803", "online");
    wait_for("the daemon up", || {
        std::fs::read_to_string(&pidfile).is_ok_and(|t| t.ends_with('\n'))
    });
    let daemon: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let daemon = Proc::read(daemon).expect("the daemon runs");
    assert!(!std::fs::read(format!("/proc/{}/environ", daemon.pid))
        .unwrap()
        .windows(tpm_testkit::MARKER.len())
        .any(|w| w == tpm_testkit::MARKER.as_bytes()));
    let spid = s.record_field("escape-4803", "spid").unwrap() as i32;
    kill(Pid::from_raw(spid), Signal::SIGKILL).unwrap();
    wait_for("the supervisor gone", || !alive(spid as u32));
    // The next command, whatever it is.
    assert_eq!(s.get("escape-4803").unwrap()["status"], "errored");
    assert!(!daemon.is_alive(), "the daemon outlived the next command");
}

#[test]
fn list_never_waits_out_the_kill_timeout_of_a_dead_supervisor() {
    for (cgroup, _) in TRACKINGS {
        let s = Sandbox::new();
        s.file(
            "deaf.sh",
            "PORT=4804\nbash -c \"trap '' TERM; while :; do sleep 0.2; done\" &\nwhile :; do sleep 0.2; done\n",
            0o644,
        );
        s.tpm_env(
            &[("TPM_CGROUP", cgroup)],
            ["start", "deaf.sh", "--kill-timeout", "10min"],
        )
        .ok();
        s.wait_status("deaf-4804", "online");
        wait_for("the tree up", || s.managed().len() >= 3);
        let spid = s.record_field("deaf-4804", "spid").unwrap() as i32;
        kill(Pid::from_raw(spid), Signal::SIGKILL).unwrap();
        wait_for("the supervisor gone", || !alive(spid as u32));
        let began = Instant::now();
        let p = s.get("deaf-4804").unwrap();
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "TPM_CGROUP={cgroup}: list took {:?}",
            began.elapsed()
        );
        assert_eq!(p["status"], "errored");
        assert!(s.processes().is_empty(), "{:?}", s.processes());
    }
}

#[test]
fn a_supervisor_that_does_not_answer_is_named_and_the_stop_goes_on_when_it_does() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=4805\nsleep 300\n", 0o644);
    s.tpm(["start", "worker.sh"]).ok();
    s.wait_status("worker-4805", "online");
    let spid = s.record_field("worker-4805", "spid").unwrap() as i32;
    kill(Pid::from_raw(spid), Signal::SIGSTOP).unwrap();
    let began = Instant::now();
    let run = s.tpm(["stop", "worker-4805"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("its supervisor (pid {spid}) does not answer")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("kill -CONT"), "{}", run.stderr);
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
    // Let go, it acts on the stop it was asked for.
    kill(Pid::from_raw(spid), Signal::SIGCONT).unwrap();
    wait_for("the supervisor gone", || !alive(spid as u32));
    s.tpm(["stop", "worker-4805"]).ok();
    assert_eq!(s.get("worker-4805").unwrap()["status"], "stopped");
    assert!(s.processes().is_empty());
}
