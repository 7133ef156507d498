//! Restarts on a schedule (`--cron-restart`): a cron of every minute restarts the process
//! at the next minute, and again at the one after; these are not crashes.

use std::time::Duration;

use tpm_testkit::{wait_for_up_to, Sandbox};

#[test]
fn a_cron_restart_every_minute_is_observed() {
    let s = Sandbox::new();
    s.file(
        "tick.sh",
        "PORT=4950\necho started at $(date +%S)\nwhile true; do sleep 1; done\n",
        0o644,
    );
    s.tpm(["start", "tick.sh", "--cron-restart", "* * * * *"])
        .ok();
    let mut last = serde_json::Value::Null;
    // The next minute comes within 60 s.
    wait_for_up_to("a scheduled restart", Duration::from_secs(75), || {
        last = s.get("tick-4950").unwrap();
        last["restarts"].as_u64().unwrap_or(0) >= 1
    });
    assert_eq!(last["status"], "online", "{last}");
    let events = s.tpm(["events", "tick-4950", "--json"]);
    let restart = events
        .stdout
        .lines()
        .find(|l| l.contains("restart_scheduled"))
        .expect("a restart_scheduled event");
    assert!(restart.contains(r#""by":"cron""#), "{restart}");
    // At the top of a minute: the restart was scheduled at second 0 (or 1, when busy).
    // (When the new run gets to print is up to the machine's load: the suite runs a
    // scale test beside this one, and a start then took 10 s once.)
    let event: serde_json::Value = serde_json::from_str(restart).unwrap();
    let second = (event["time_ms"].as_i64().unwrap() / 1000) % 60;
    assert!(second <= 2, "restarted at second {second}: {restart}");
    let d = s.tpm(["describe", "tick-4950", "--json"]).ok().json();
    assert_eq!(d["cron_restart"], "* * * * *");
    s.tpm([
        "start",
        "tick.sh",
        "--name",
        "x",
        "--cron-restart",
        "every day",
    ])
    .code(64);
}
