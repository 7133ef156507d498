//! The event stream: what happens reaches a listener fast, and only what it asked for.

use std::time::{Duration, Instant};

use tpm_testkit::{free_port, Sandbox};

use crate::support::{start, talker, EventStream, Server};

#[test]
fn a_stop_in_another_shell_arrives_on_the_stream_within_a_second() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let server = Server::start(&s, &[]);
    let events = EventStream::open(&server, "?logs=false");
    let first = events.next("processes");
    assert_eq!(first.data["processes"][0]["name"], name.as_str());
    assert_eq!(first.data["processes"][0]["status"], "online");
    s.tpm(["stop", &name]).ok();
    let stopped_at = Instant::now();
    let change = events.next_where("status", |c| c["status"] == "stopped");
    let late = change.at.saturating_duration_since(stopped_at);
    assert!(
        late < Duration::from_secs(1),
        "the event came {late:?} after the stop"
    );
    assert_eq!(change.data["name"], name.as_str());
    // Seen online, or on its way down (the history wakes the poller, which may catch it).
    assert!(
        ["online", "stopping"].contains(&change.data["previous"].as_str().unwrap_or("")),
        "{}",
        change.data
    );
    assert!(change.data["pid"].is_null());
    // The store's history says who asked.
    let asked = events.seen_or_next("event", |e| e["event"] == "stop_requested");
    assert_eq!(asked.data["name"], name.as_str());
    assert_eq!(asked.data["by"], "user");
    // A start, a restart and a deletion are events too.
    s.tpm(["start", &name]).ok();
    let up = events.next_where("status", |c| c["status"] == "online");
    s.tpm(["restart", &name]).ok();
    let again = events.next_where("status", |c| {
        c["status"] == "online" && c["pid"] != up.data["pid"]
    });
    assert_eq!(again.data["restarts"], 1);
    s.tpm(["delete", &name]).ok();
    let gone = events.next_where("status", |c| c["status"].is_null());
    assert_eq!(gone.data["name"], name.as_str());
    let empty = events.next_where("processes", |p| {
        p["processes"].as_array().is_some_and(|a| a.is_empty())
    });
    assert!(empty.data["listening"].is_array());
}

#[test]
fn a_stream_for_one_process_carries_its_log_lines_and_nothing_of_the_others() {
    let s = Sandbox::new();
    let a = talker(&s, "alpha", free_port(), "a starts");
    let b = talker(&s, "beta", free_port(), "b starts");
    start(&s, "alpha.sh");
    start(&s, "beta.sh");
    let server = Server::start(&s, &[]);
    let events = EventStream::open(&server, &format!("?name={a}"));
    let first = events.next("processes");
    let listed: Vec<&str> = first.data["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [a.as_str()]);
    let line = events.next("log");
    assert_eq!(line.data["name"], a.as_str());
    assert!(
        line.data["line"].as_str().unwrap().starts_with("tick"),
        "{}",
        line.data
    );
    assert_eq!(line.data["stream"], "out");
    let more = events.drain(Duration::from_millis(800));
    assert!(more.iter().any(|e| e.event == "log"));
    for e in &more {
        assert_ne!(e.data["name"], b.as_str(), "{e:?}");
    }
    // Without logs, a stream of everything carries no log line.
    let quiet = EventStream::open(&server, "?logs=false");
    quiet.next("processes");
    assert!(quiet
        .drain(Duration::from_millis(800))
        .iter()
        .all(|e| e.event != "log"));
}
