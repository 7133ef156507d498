//! Scale: hundreds of processes, started one by one, then stopped, restarted and deleted
//! with `*`: every command exits 0, every process ends in the state asked for, and nothing
//! is left running. 300 processes here (CI); `TPM_SCALE_N=1000` runs it at 1 000, and
//! `bench/run` measures both 100 and 1 000 (see bench/README.md).

use std::collections::HashSet;

use serde_json::Value;
use tpm_testkit::Sandbox;

fn count() -> usize {
    std::env::var("TPM_SCALE_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

/// Asserts every process is listed with `status`, and returns their pids.
fn all_in(s: &Sandbox, n: usize, status: &str) -> Vec<u64> {
    let list = s.list();
    assert_eq!(list.len(), n);
    let wrong: Vec<&Value> = list.iter().filter(|p| p["status"] != status).collect();
    assert!(
        wrong.is_empty(),
        "not {status}: {} of {n}, e.g. {:?}",
        wrong.len(),
        wrong.first()
    );
    list.iter().filter_map(|p| p["pid"].as_u64()).collect()
}

#[test]
fn hundreds_of_processes_stop_restart_and_delete_with_a_star_without_a_false_error() {
    let n = count();
    let s = Sandbox::new();
    // Four at a time, as four shells would.
    std::thread::scope(|scope| {
        for part in 0..4 {
            let s = &s;
            scope.spawn(move || {
                for i in (part..n).step_by(4) {
                    let port = (20000 + i).to_string();
                    s.tpm(["start", "sleep 300", "--name", "w", "--port", &port])
                        .ok();
                }
            });
        }
    });
    all_in(&s, n, "online");
    let ids: HashSet<u64> = s.list().iter().filter_map(|p| p["id"].as_u64()).collect();
    assert_eq!(ids, (0..n as u64).collect(), "ids 0 to n-1, each once");
    assert_eq!(s.processes().len(), 2 * n, "a supervisor and a sleep each");

    let stop = s.tpm(["stop", "*"]);
    stop.ok();
    assert_eq!(
        stop.stdout
            .lines()
            .filter(|l| l.starts_with("stopped "))
            .count(),
        n
    );
    all_in(&s, n, "stopped");
    assert!(s.processes().is_empty(), "left: {:?}", s.processes().len());

    s.tpm(["restart", "*"]).ok();
    let first: HashSet<u64> = all_in(&s, n, "online").into_iter().collect();
    assert_eq!(first.len(), n);
    s.tpm(["restart", "*"]).ok();
    let second: HashSet<u64> = all_in(&s, n, "online").into_iter().collect();
    assert!(first.is_disjoint(&second), "every process has a new pid");
    assert_eq!(s.processes().len(), 2 * n, "one supervisor each, no more");

    let delete = s.tpm(["delete", "*"]);
    delete.ok();
    assert_eq!(delete.stdout.lines().count(), n);
    assert!(s.list().is_empty());
    assert!(s.processes().is_empty(), "left: {:?}", s.processes().len());
    for dir in ["processes", "pids"] {
        let files: Vec<_> = std::fs::read_dir(s.store().join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(files.is_empty(), "{dir}: {files:?}");
    }
}
