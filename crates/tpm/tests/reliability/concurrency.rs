//! Concurrent commands: one winner per name, all distinct names run, and racing list/stop
//! never panics or leaves a half-written record.

use std::thread;

use tpm_testkit::Sandbox;

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
