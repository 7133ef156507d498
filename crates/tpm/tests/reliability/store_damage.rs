//! Damage to the store while processes run: a wiped store, a junk record. A running
//! supervisor writes back what it knows within about a second, so every running process can
//! always be reached; starting a name whose supervisor runs is refused even when the store
//! is gone; nothing runs twice.

use tpm_testkit::{wait_for, Sandbox};

#[test]
fn a_wiped_store_is_written_again_by_its_supervisors_and_nothing_runs_twice() {
    let s = Sandbox::new();
    for port in [4900, 4901, 4902] {
        s.file(
            &format!("w{port}.sh"),
            &format!("PORT={port}\nexec sleep 300\n"),
            0o644,
        );
        s.tpm(["start", &format!("w{port}.sh")]).ok();
    }
    let before = s.list();
    // As `rm -rf` does; a supervisor writing back meanwhile makes one pass fail (a folder
    // not empty), so it is tried until it succeeds.
    wait_for("the store wiped", || {
        std::fs::remove_dir_all(s.store()).is_ok()
    });
    // Right away, before any supervisor noticed: a start of a running name is refused.
    let again = s.tpm(["start", "w4900.sh"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("already"), "{}", again.stderr);
    wait_for("every process listed again", || {
        let list = s.list();
        list.len() == 3 && list.iter().all(|p| p["status"] == "online")
    });
    let after = s.list();
    for (a, b) in before.iter().zip(&after) {
        for key in ["name", "id", "pid", "supervisor"] {
            assert_eq!(a[key], b[key], "{key}: {a} / {b}");
        }
    }
    for port in [4900, 4901, 4902] {
        let run = s.tpm(["start", &format!("w{port}.sh")]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("already online"), "{}", run.stderr);
    }
    assert_eq!(s.supervisors().len(), 3, "one supervisor each");
    assert_eq!(s.managed().len(), 3);
    // Every file is back: the lock is held, and commands reach the supervisors.
    for f in [
        "pids/w4901-4901.lock",
        "pids/w4901-4901.pid",
        "logs/w4901-4901.err",
    ] {
        assert!(s.store().join(f).exists(), "{f}");
    }
    s.tpm(["delete", "*"]).ok();
    assert!(s.processes().is_empty());
    assert!(s.list().is_empty(), "no record made again after delete");
}

#[test]
fn a_junk_record_of_a_running_process_is_repaired_and_commands_still_reach_it() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=4903\nsleep 300\n", 0o644);
    s.tpm(["start", "worker.sh"]).ok();
    let before = s.wait_status("worker-4903", "online");
    let meta = s.store().join("processes/worker-4903.meta");
    std::fs::write(&meta, "\u{1}\u{2} this is not a record '\n").unwrap();
    // A start of the same name says it runs (not that a command holds it).
    let run = s.tpm(["start", "worker.sh"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is already"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("another tpm command"),
        "{}",
        run.stderr
    );
    wait_for("the record repaired", || {
        s.get("worker-4903")
            .is_some_and(|p| p["status"] == "online")
    });
    let after = s.get("worker-4903").unwrap();
    assert_eq!(
        (&before["pid"], &before["id"]),
        (&after["pid"], &after["id"])
    );
    // Junk again, and at once a stop: it waits for the repair, then stops.
    std::fs::write(&meta, "garbage").unwrap();
    s.tpm(["stop", "worker-4903"]).ok();
    assert_eq!(s.get("worker-4903").unwrap()["status"], "stopped");
    assert!(s.processes().is_empty());
}

#[test]
fn a_lock_file_removed_while_running_is_made_and_held_again() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=4904\nsleep 300\n", 0o644);
    s.tpm(["start", "worker.sh"]).ok();
    s.wait_status("worker-4904", "online");
    let lock = s.store().join("pids/worker-4904.lock");
    std::fs::remove_file(&lock).unwrap();
    wait_for("the lock file back", || lock.exists());
    let run = s.tpm(["start", "worker.sh"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(s.supervisors().len(), 1);
    s.tpm(["stop", "worker-4904"]).ok();
    assert!(!lock.exists(), "a lock file exists only while held");
}
