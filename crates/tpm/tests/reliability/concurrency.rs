//! Concurrent commands: one winner per name, all distinct names run, racing list/stop
//! never panics or leaves a half-written record, and commands acting on the same process
//! at once wait for each other instead of failing.

use std::thread;

use tpm_testkit::{wait_for, Sandbox};

#[test]
fn twenty_simultaneous_starts_of_one_name_run_it_exactly_once() {
    let s = Sandbox::new();
    s.server_script("server.sh", 5000);
    let runs: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| s.tpm(["start", "server.sh"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners = runs.iter().filter(|r| r.code == 0).count();
    assert_eq!(winners, 1, "{runs:?}");
    for r in runs.iter().filter(|r| r.code != 0) {
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains("already"), "a clean failure: {r:?}");
    }
    let tpm = s.tpm_binary().to_string_lossy().into_owned();
    let supervisors = s
        .processes()
        .into_iter()
        .filter(|p| p.cmdline.starts_with(&tpm))
        .count();
    assert_eq!(supervisors, 1);
}

#[test]
fn fifty_simultaneous_starts_of_distinct_names_all_run_with_distinct_ids() {
    let s = Sandbox::new();
    s.file("worker.sh", "sleep 300\n", 0o644);
    let runs: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let s = &s;
                scope
                    .spawn(move || s.tpm(["start", "worker.sh", "--port", &(5100 + i).to_string()]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &runs {
        r.ok();
    }
    let list = s.list();
    assert_eq!(list.len(), 50);
    assert!(list.iter().all(|p| p["status"] == "online"));
    let mut ids: Vec<u64> = list.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50, "ids are unique");
}

#[test]
fn list_and_stop_racing_with_starts_never_panic_or_corrupt_a_record() {
    let s = Sandbox::new();
    s.file("worker.sh", "sleep 300\n", 0o644);
    let runs: Vec<_> = thread::scope(|scope| {
        let mut handles = Vec::new();
        for i in 0..20u16 {
            let s = &s;
            handles.push(scope.spawn(move || {
                vec![s.tpm(["start", "worker.sh", "--port", &(5200 + i).to_string()])]
            }));
        }
        for _ in 0..3 {
            let s = &s;
            handles.push(scope.spawn(move || (0..10).map(|_| s.tpm(["list", "--json"])).collect()));
            handles.push(scope.spawn(move || (0..5).map(|_| s.tpm(["stop", "*"])).collect()));
        }
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for r in &runs {
        assert!(!r.stderr.contains("panicked"), "{r:?}");
        assert!(r.code == 0 || r.code == 1, "{r:?}");
        if r.stdout.starts_with('[') {
            serde_json::from_str::<serde_json::Value>(&r.stdout)
                .expect("list --json is whole JSON");
        }
    }
    // Every record parses: `list` reports no problem, and each one is there.
    let final_list = s.tpm(["list", "--json"]);
    final_list.ok();
    assert!(final_list.stderr.is_empty(), "{}", final_list.stderr);
    assert_eq!(final_list.json().as_array().unwrap().len(), 20);
    let leftovers: Vec<_> = std::fs::read_dir(s.store().join("processes"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temp files left: {leftovers:?}");
}

#[test]
fn ten_parallel_restarts_of_one_process_all_succeed_and_leave_it_running_once() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=5250\nsleep 300 &\nwait\n", 0o644);
    s.tpm(["start", "worker.sh"]).ok();
    let before = s.wait_status("worker-5250", "online")["pid"].as_u64();
    let runs: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|_| scope.spawn(|| s.tpm(["restart", "worker-5250"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &runs {
        assert_eq!(r.code, 0, "no false failure: {r:?}");
        // A restart whose new process another restart stopped before it could look says
        // so (on a loaded machine, about 1 round in 10, as with earlier builds); the others
        // name the pid they started.
        assert!(
            r.stdout.starts_with("restarted worker-5250 (pid ")
                || r.stdout == "worker-5250 was restarted, then stopped by another command\n",
            "{r:?}"
        );
    }
    let p = s.wait_status("worker-5250", "online");
    assert_ne!(p["pid"].as_u64(), before, "it was restarted");
    assert_eq!(s.supervisors().len(), 1, "{:?}", s.supervisors());
    // The script and its sleep: one copy of the tree.
    wait_for("one tree", || s.managed().len() == 2);
}

#[test]
fn a_stop_racing_a_restart_reports_what_it_found_and_never_fails() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=5251\nsleep 300\n", 0o644);
    s.tpm(["start", "worker.sh"]).ok();
    s.wait_status("worker-5251", "online");
    for _ in 0..5 {
        let (stop, restart) = thread::scope(|scope| {
            let stop = scope.spawn(|| s.tpm(["stop", "worker-5251"]));
            let restart = scope.spawn(|| s.tpm(["restart", "worker-5251"]));
            (stop.join().unwrap(), restart.join().unwrap())
        });
        stop.ok();
        restart.ok();
        let said = stop.stdout.trim();
        assert!(
            said == "stopped worker-5251"
                || said.starts_with("worker-5251 was restarted by another command"),
            "{stop:?}"
        );
        assert!(s.supervisors().len() <= 1);
        s.tpm(["start", "worker-5251"]);
        s.wait_status("worker-5251", "online");
    }
}

#[test]
fn delete_racing_restart_leaves_a_running_process_or_no_file_at_all() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=5252\nsleep 300\n", 0o644);
    let store = s.store();
    for round in 0..40 {
        if !store.join("processes/worker-5252.meta").exists() {
            s.tpm(["start", "worker.sh"]).ok();
        }
        let (delete, restart) = thread::scope(|scope| {
            let delete = scope.spawn(|| s.tpm(["delete", "worker-5252"]));
            let restart = scope.spawn(|| s.tpm(["restart", "worker-5252"]));
            (delete.join().unwrap(), restart.join().unwrap())
        });
        for r in [&delete, &restart] {
            assert!(!r.stderr.contains("panicked"), "{r:?}");
        }
        if store.join("processes/worker-5252.meta").exists() {
            // The restart came last: it runs, once.
            s.wait_status("worker-5252", "online");
            assert_eq!(s.supervisors().len(), 1, "round {round}");
        } else {
            for file in ["pids/worker-5252.lock", "pids/worker-5252.pid"] {
                assert!(!store.join(file).exists(), "round {round}: {file} left");
            }
            wait_for("nothing running", || s.processes().is_empty());
        }
    }
}
