//! A supervisor killed with SIGKILL: its process dies with it (within a second), the rest
//! of the tree goes no later than the next tpm command, the record says why, and a
//! restart brings it back.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tpm_testkit::{alive, wait_for, Sandbox};

#[test]
fn killing_the_supervisor_takes_the_whole_tree_down_by_the_next_command() {
    let s = Sandbox::new();
    // A main process with a background child and a daemonized grandchild.
    s.file(
        "tree.sh",
        "PORT=4800\nsleep 300 &\n( setsid bash -c 'sleep 301 & wait' & )\nwhile :; do sleep 0.2; done\n",
        0o644,
    );
    s.tpm(["start", "tree.sh"]).ok();
    let pid = s.wait_status("tree-4800", "online")["pid"]
        .as_u64()
        .unwrap() as u32;
    wait_for("the tree up", || s.processes().len() >= 6);
    let spid = s.record_field("tree-4800", "spid").unwrap() as u32;

    kill(Pid::from_raw(spid as i32), Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    while alive(pid) {
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "the main process outlived its supervisor by 1s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

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
