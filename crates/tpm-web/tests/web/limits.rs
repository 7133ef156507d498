//! What one client can take from the server: connections (descriptors).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use tpm_testkit::{wait_for, Sandbox, DEADLINE};

use crate::support::{connect, read_response, EventStream, Server};

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
    assert!(
        server.open_files() <= 128,
        "{} descriptors",
        server.open_files()
    );
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
