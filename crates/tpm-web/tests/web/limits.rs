//! What one client can take from the server: connections (descriptors) and memory.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use tpm_testkit::{free_port, wait_for, Sandbox, DEADLINE};

use crate::support::{connect, read_response, start, EventStream, Server};

/// Whether the server closed `stream` (end of file, or reset) before the deadline.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Three kinds of connection that hold a descriptor with no request in flight: one that
/// sends nothing, one that sends half a request head, one idle after a request answered.
fn idle_connections(server: &Server, each: usize) -> Vec<TcpStream> {
    let head = server.request().path("/api/processes").head();
    let keep_alive = head.replace("Connection: close\r\n", "");
    let mut held = Vec::new();
    for _ in 0..each {
        held.push(connect(server.addr));
        let mut half = connect(server.addr);
        half.write_all(&head.as_bytes()[..head.len() / 2]).unwrap();
        held.push(half);
        let mut idle = connect(server.addr);
        idle.write_all(keep_alive.as_bytes()).unwrap();
        read_response(&mut idle).status(200);
        held.push(idle);
    }
    held
}

#[test]
fn idle_and_half_open_connections_past_the_cap_leave_a_real_request_answered_within_a_second() {
    let s = Sandbox::new();
    // 128 descriptors: without a cap, 150 idle connections would take them all.
    let server = Server::start_with_open_files(&s, &[], 128);
    let mut held = idle_connections(&server, 50);
    assert_eq!(held.len(), 150);
    // A real request, on a connection of its own, is answered within a second.
    let (tx, answered) = mpsc::channel();
    let req = server.request().path("/api/processes");
    std::thread::spawn(move || {
        let _ = tx.send(req.send());
    });
    let resp = answered
        .recv_timeout(Duration::from_secs(1))
        .expect("no answer within a second while 150 idle connections are held");
    resp.status(200);
    // The room came from the connections idle longest: the first ones are closed.
    assert!(
        closed_by_server(&mut held[0]),
        "the first silent connection is still open"
    );
    assert!(
        closed_by_server(&mut held[1]),
        "the first half-sent one is still open"
    );
    // The cap (64) and what the server holds besides (its listener, the runtime's, the
    // store's): far from the limit, so files can still be opened.
    let open = server.open_files();
    println!("150 connections held: the server has {open} descriptors open");
    assert!(open <= 64 + 32, "{open} descriptors");
    // And again, while all of them are still held by the client.
    server.get("/api/processes").status(200);
    server.next_line();
    let limits = server.next_line();
    assert!(
        limits.contains("at most 64 connections"),
        "half of 128: {limits}"
    );
}

#[test]
fn connections_all_in_requests_past_the_cap_get_503_and_a_closed_one_makes_room() {
    let s = Sandbox::new();
    let server = Server::start(&s, &["--max-connections", "8"]);
    server.next_line();
    assert!(server.next_line().contains("at most 8 connections"));
    // Event streams are requests in flight for as long as they are open: none is evicted.
    let mut streams: Vec<EventStream> = (0..8)
        .map(|_| {
            let stream = EventStream::open(&server, "?logs=false");
            stream.next("processes");
            stream
        })
        .collect();
    let busy = server.get("/api/processes");
    let e = busy.error(503);
    assert!(
        e["error"].as_str().unwrap().contains("8 connections"),
        "{e}"
    );
    assert_eq!(busy.header("retry-after"), Some("1"));
    // A stream closed: the server notices at its next event (within 2 s) and has room.
    drop(streams.pop());
    wait_for("room for a request", || {
        server.get("/api/processes").status == 200
    });
    for stream in &streams {
        stream.next("processes");
    }
}

#[test]
fn a_connection_without_a_request_in_flight_is_closed_after_the_idle_timeout() {
    let s = Sandbox::new();
    let server = Server::start(&s, &["--idle-timeout", "1s"]);
    server.next_line();
    assert!(
        server
            .next_line()
            .contains("one without a request for 1.0s is closed"),
        "the start-up message says the timeout"
    );
    let stream = EventStream::open(&server, "?logs=false");
    stream.next("processes");
    let held = idle_connections(&server, 1);
    for (mut conn, kind) in held.into_iter().zip(["silent", "half-sent", "idle"]) {
        assert!(closed_by_server(&mut conn), "the {kind} connection is open");
    }
    // An event stream is a request in flight, however long: it is not closed.
    let first = stream.next("processes");
    let later = stream.next("processes");
    assert!(later.at > first.at);
}

/// A script that writes `count` lines of 64 KB on stdout, then waits.
fn logger(s: &Sandbox, count: usize) -> String {
    let port = free_port();
    s.file(
        "big.sh",
        &format!(
            "#!/usr/bin/env bash\nexport PORT={port}\nline=$(head -c 65000 /dev/zero | tr '\\0' x)\nfor i in $(seq 1 {count}); do echo \"$i $line\"; done\nexec sleep 100000\n"
        ),
        0o755,
    );
    format!("big-{port}")
}

/// The number a logger's line starts with.
fn number(line: &serde_json::Value) -> usize {
    line["line"]
        .as_str()
        .and_then(|l| l.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("not a logger's line: {:.60}", line.to_string()))
}

#[test]
fn logs_of_64_kb_lines_are_cut_to_the_byte_cap_say_how_many_were_cut_and_keep_memory_bounded() {
    const COUNT: usize = 100;
    const CAP: usize = 2 * 1024 * 1024;
    let s = Sandbox::new();
    let name = logger(&s, COUNT);
    start(&s, "big.sh");
    let server = Server::start(&s, &[]);
    let last = format!("/api/processes/{name}/logs?lines=1");
    wait_for("every line written", || {
        server
            .get(&last)
            .json()
            .as_array()
            .and_then(|a| a.first().map(number))
            == Some(COUNT)
    });
    let before = server.peak_kib();
    let resp = server.get(&format!("/api/processes/{name}/logs?lines=10000"));
    let after = server.peak_kib();
    resp.status(200);
    let lines = resp.json();
    let lines = lines.as_array().expect("a list of lines");
    let cut = resp.header("tpm-lines-cut");
    println!(
        "logs?lines=10000 of {COUNT} lines of 64 KB: {} lines ({} bytes) answered, {cut:?} cut; the server's peak memory {before} KiB -> {after} KiB",
        lines.len(),
        resp.body.len()
    );
    // The newest lines, unbroken, within the cap; the next older one would not fit.
    let numbers: Vec<usize> = lines.iter().map(number).collect();
    let first = numbers[0];
    assert_eq!(numbers, (first..=COUNT).collect::<Vec<_>>());
    let bytes: usize = lines
        .iter()
        .map(|l| l["line"].as_str().unwrap().len() + "2026-12-07 10:00:00 ".len())
        .sum();
    assert!(bytes <= CAP, "{bytes} bytes answered");
    assert!(bytes + bytes / lines.len() > CAP, "room was left: {bytes}");
    // Every other line asked for is said to be cut.
    let cut: usize = cut
        .and_then(|v| v.parse().ok())
        .expect("a tpm-lines-cut header");
    assert_eq!(cut, COUNT - lines.len(), "{} lines answered", lines.len());
    // The 6.5 MB of lines were not held to answer 2 MB: a generous bound.
    let grew = after.saturating_sub(before);
    assert!(grew < 16 * 1024, "the server's peak memory grew {grew} KiB");
    // Fewer lines than the cap holds are not cut.
    let few = server.get(&format!("/api/processes/{name}/logs?lines=5"));
    assert_eq!(few.header("tpm-lines-cut"), Some("0"));
    assert_eq!(few.json().as_array().map(Vec::len), Some(5));
    s.tpm(["delete", "all"]).ok();
}
