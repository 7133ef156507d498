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

/// Inotify descriptors held by `pid`.
fn inotify_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter(|target| target.to_string_lossy() == "anon_inode:inotify")
        .count()
}

/// Whether the machine's inotify instances are (nearly) all taken: the user's
/// `fs.inotify.max_user_instances`, 128 by default, is shared with every other program
/// (tests beside this one included), and a supervisor that gets none looks at its files
/// every second, as documented.
fn inotify_exhausted() -> bool {
    let max: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_instances")
        .ok()
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(usize::MAX);
    let held: usize = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .map(|pid| inotify_fds(&pid))
        .sum();
    held + 2 >= max
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
    if inotify_fds(&spid.to_string()) == 0 && inotify_exhausted() {
        eprintln!("skipped: no inotify instance was left for the supervisor");
        s.tpm(["stop", "rest"]).ok();
        return;
    }
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
