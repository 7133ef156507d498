//! stop, restart, delete, one process and "*".

use tpm_testkit::{alive, group_members, wait_for, Sandbox};

fn pid_of(s: &Sandbox, name: &str) -> u32 {
    s.wait_status(name, "online")["pid"]
        .as_u64()
        .expect("a pid") as u32
}

#[test]
fn stop_terminates_the_whole_group_and_marks_it_stopped() {
    let s = Sandbox::new();
    // A script with children of its own: all of them must go.
    s.file(
        "tree.sh",
        "PORT=3300\nsleep 300 &\nsleep 301 &\nwait\n",
        0o644,
    );
    s.tpm(["start", "tree.sh"]).ok();
    let pid = pid_of(&s, "tree-3300");
    wait_for("the children to start", || group_members(pid).len() >= 3);
    s.tpm(["stop", "tree-3300"]).ok();
    assert!(
        group_members(pid).is_empty(),
        "left: {:?}",
        group_members(pid)
    );
    let p = s.get("tree-3300").unwrap();
    assert_eq!(p["status"], "stopped");
    assert!(p["pid"].is_null());
    assert!(!s.store().join("pids/tree-3300.pid").exists());
}

#[test]
fn stop_kills_a_child_that_ignores_term_after_the_kill_timeout() {
    let s = Sandbox::new();
    s.file(
        "stubborn.sh",
        "PORT=3301\ntrap '' TERM\nwhile true; do sleep 0.1; done\n",
        0o644,
    );
    s.tpm(["start", "stubborn.sh", "--kill-timeout", "300"])
        .ok();
    let pid = pid_of(&s, "stubborn-3301");
    s.tpm(["stop", "stubborn-3301"]).ok();
    assert!(!alive(pid));
    assert!(group_members(pid).is_empty());
    assert!(s.log("stubborn-3301", "err").contains("SIGKILL"));
}

#[test]
fn restart_gives_a_new_pid_and_keeps_the_name_and_id() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3302);
    s.tpm(["start", "server.sh"]).ok();
    let before = s.wait_status("server-3302", "online");
    let run = s.tpm(["restart", "server-3302"]);
    run.ok();
    assert!(
        run.stdout.contains("restarted server-3302"),
        "{}",
        run.stdout
    );
    let after = s.wait_status("server-3302", "online");
    assert_ne!(before["pid"], after["pid"]);
    assert_eq!(before["id"], after["id"]);
    assert_eq!(after["restarts"], 1);
    assert!(!alive(before["pid"].as_u64().unwrap() as u32));
}

#[test]
fn restart_starts_a_stopped_process_and_start_by_name_does_too() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3303);
    s.tpm(["start", "server.sh"]).ok();
    s.tpm(["stop", "server-3303"]).ok();
    s.tpm(["restart", "server-3303"]).ok();
    s.wait_status("server-3303", "online");
    s.tpm(["stop", "server-3303"]).ok();
    s.tpm(["start", "server-3303"]).ok();
    s.wait_status("server-3303", "online");
}

#[test]
fn delete_removes_the_record_pid_file_and_logs() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3304);
    s.tpm(["start", "server.sh"]).ok();
    let pid = pid_of(&s, "server-3304");
    for f in [
        "processes/server-3304.meta",
        "pids/server-3304.pid",
        "logs/server-3304.out",
        "logs/server-3304.err",
    ] {
        assert!(s.store().join(f).exists(), "{f} before delete");
    }
    s.tpm(["delete", "server-3304"]).ok();
    assert!(!alive(pid));
    for f in [
        "processes/server-3304.meta",
        "pids/server-3304.pid",
        "pids/server-3304.lock",
        "logs/server-3304.out",
        "logs/server-3304.err",
    ] {
        assert!(!s.store().join(f).exists(), "{f} after delete");
    }
    assert!(s.list().is_empty());
    // `del` is the documented alias of `delete`.
    s.tpm(["start", "server.sh"]).ok();
    s.tpm(["del", "server-3304"]).ok();
    assert!(s.list().is_empty());
}

#[test]
fn star_acts_on_every_process() {
    let s = Sandbox::new();
    for (i, port) in [3310u16, 3311, 3312].iter().enumerate() {
        s.server_script(&format!("s{i}.sh"), *port);
        s.tpm(["start", &format!("s{i}.sh")]).ok();
    }
    assert_eq!(s.list().len(), 3);
    let pids: Vec<u32> = s
        .list()
        .iter()
        .map(|p| p["pid"].as_u64().unwrap() as u32)
        .collect();
    let run = s.tpm(["stop", "*"]);
    run.ok();
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    assert!(s.list().iter().all(|p| p["status"] == "stopped"));
    assert!(pids.iter().all(|&p| !alive(p)));
    s.tpm(["restart", "*"]).ok();
    assert!(s.list().iter().all(|p| p["status"] == "online"));
    s.tpm(["stop", "s1-*"]).ok();
    assert_eq!(s.get("s1-3311").unwrap()["status"], "stopped");
    assert_eq!(s.get("s0-3310").unwrap()["status"], "online");
    s.tpm(["delete", "*"]).ok();
    assert!(s.list().is_empty());
    // Nothing left to act on is not an error.
    s.tpm(["stop", "*"]).ok();
}

#[test]
fn mutating_commands_print_the_affected_records_as_json() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3320);
    let started = s.tpm(["start", "server.sh", "--json"]).ok().json();
    assert_eq!(started["name"], "server-3320");
    assert_eq!(started["status"], "online");
    let stopped = s.tpm(["stop", "server-3320", "--json"]).ok().json();
    assert_eq!(stopped[0]["status"], "stopped");
}
