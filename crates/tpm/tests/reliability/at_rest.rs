//! At rest, a supervisor costs nothing: it blocks until something happens to its process,
//! its files, or someone looks. Counted from the kernel's own count of the supervisor's
//! context switches (every thread's), so nothing here asserts a time.

use std::time::Duration;

use tpm_testkit::{wait_for, Sandbox};

/// The context switches (voluntary and not) of every thread of `pid` so far.
fn switches(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the supervisor lives");
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

#[test]
fn an_idle_supervisor_makes_no_wake_up_while_nothing_is_due() {
    let s = Sandbox::new();
    s.file("rest.sh", "exec sleep 600\n", 0o644);
    s.tpm(["start", "rest.sh", "--no-port"]).ok();
    // Read from the record file, not by `tpm list`: a listing is a look, and the
    // supervisors look at their trees for a while after one (by design).
    wait_for("the process online", || {
        s.record("rest").contains("status=online")
    });
    let spid = s
        .record_field("rest", "spid")
        .expect("the supervisor's pid") as u32;
    // The start's own deadlines (its readiness, its first seconds' looks) fall within the
    // first windows; a supervisor that wakes on its own wakes in every window. Measuring
    // windows, not waits for a condition.
    let window = Duration::from_secs(10);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let before = switches(spid);
        std::thread::sleep(window);
        let woke = switches(spid) - before;
        seen.push(woke);
        if woke == 0 {
            break;
        }
    }
    eprintln!("wake-ups of the idle supervisor per 10 s window: {seen:?}");
    assert_eq!(
        seen.last(),
        Some(&0),
        "an idle supervisor woke in every 10 s window: {seen:?}"
    );
    // And it still answers at once when someone asks.
    s.tpm(["stop", "rest"]).ok();
    assert!(s.processes().is_empty());
}
