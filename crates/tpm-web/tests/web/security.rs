//! Who may do what: the token, other sites, other hosts, big and broken requests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::json;
use tpm_testkit::{free_port, Sandbox};

use crate::support::{connect, parse_response, start, steady, store_files, talker, Server};

#[test]
fn the_token_is_made_once_kept_private_and_printed_by_serve_token() {
    let s = Sandbox::new();
    let first = s.tpm(["serve", "--token"]);
    first.ok();
    let token = first.stdout.trim();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let file = s.store().join("web.token");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(s.tpm(["serve", "--token"]).ok().stdout.trim(), token);
    // A token others could read is not used.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = s.tpm(["serve", "--token"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("help: delete it"),
        "{}",
        refused.stderr
    );
}

#[test]
fn reads_need_no_token_on_loopback_and_every_change_does() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let server = Server::start(&s, &[]);
    server.get("/api/processes").status(200);
    server
        .get(&format!("/api/processes/{name}/logs"))
        .status(200);
    let changes = [
        ("POST", format!("/api/processes/{name}/stop")),
        ("POST", format!("/api/processes/{name}/restart")),
        ("POST", format!("/api/processes/{name}/start")),
        ("DELETE", format!("/api/processes/{name}")),
        ("POST", "/api/processes".to_string()),
    ];
    for (method, path) in &changes {
        let none = server.request().method(method).path(path).send();
        let e = none.error(401);
        assert_eq!(
            none.header("www-authenticate"),
            Some("Bearer realm=\"tpm\"")
        );
        assert!(
            e["help"].as_str().unwrap().contains("tpm serve --token"),
            "{e}"
        );
        let wrong = server
            .request()
            .method(method)
            .path(path)
            .header("Authorization", &format!("Bearer {}x", server.token))
            .send();
        wrong.error(401);
        let basic = server
            .request()
            .method(method)
            .path(path)
            .header("Authorization", &format!("Basic {}", server.token))
            .send();
        basic.error(401);
    }
    assert_eq!(s.get(&name).unwrap()["status"], "online", "nothing changed");
}

#[test]
fn the_authorization_scheme_is_case_insensitive() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let server = Server::start(&s, &[]);
    // RFC 7235: the scheme is a token compared without case; clients send `bearer`.
    for (scheme, action, status) in [("bearer", "stop", "stopped"), ("BEARER", "start", "online")] {
        let done = server
            .request()
            .method("POST")
            .path(&format!("/api/processes/{name}/{action}"))
            .header("Authorization", &format!("{scheme} {}", server.token))
            .send()
            .status(200)
            .json();
        assert_eq!(done["status"], status, "{scheme}");
    }
}

#[test]
fn other_sites_and_other_host_names_are_refused_and_no_cors_is_offered() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let server = Server::start(&s, &[]);
    let stop = format!("/api/processes/{name}/stop");
    // A page elsewhere that knew the token still cannot act: its Origin gives it away.
    server
        .authed("POST", &stop)
        .header("Origin", "http://evil.example")
        .send()
        .error(403);
    server
        .authed("POST", &stop)
        .header("Origin", "http://localhost:3000")
        .send()
        .error(403);
    server
        .request()
        .path("/api/processes")
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .error(403);
    server
        .request()
        .path("/api/processes")
        .header("Sec-Fetch-Site", "same-site")
        .send()
        .error(403);
    // A CORS preflight gets no permission.
    let preflight = server
        .request()
        .method("OPTIONS")
        .path(&stop)
        .header("Origin", "http://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send();
    assert!(preflight.status >= 400, "{}", preflight.status);
    // DNS rebinding: a foreign name pointed at 127.0.0.1 reads nothing.
    server
        .request()
        .path("/api/processes")
        .host("evil.example:4444")
        .send()
        .error(403);
    server
        .request()
        .path("/")
        .host("evil.example")
        .send()
        .error(403);
    // The same origin is fine, and so are loopback names.
    let own = format!("http://{}", server.addr);
    server
        .authed("GET", "/api/processes")
        .header("Origin", &own)
        .send()
        .status(200);
    server
        .request()
        .path("/api/processes")
        .host("localhost:1")
        .send()
        .status(200);
    server
        .request()
        .path("/api/processes")
        .host("[::1]")
        .send()
        .status(200);
    for path in ["/", "/api/processes", "/api/openapi.json", "/assets/app.js"] {
        let r = server
            .request()
            .path(path)
            .header("Origin", "http://evil.example")
            .send();
        assert!(r.header("access-control-allow-origin").is_none(), "{path}");
        let page = server.get(path);
        assert!(
            page.header("access-control-allow-origin").is_none(),
            "{path}"
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert!(page
            .header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'"));
    }
    assert_eq!(s.get(&name).unwrap()["status"], "online", "nothing changed");
}

#[test]
fn off_loopback_every_api_request_needs_the_token_and_without_one_nothing_is_served() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    // No token yet: refused before binding, and no token is made behind the user's back.
    let refused = s.tpm(["serve", "--bind", "0.0.0.0", "--port", "0"]);
    assert_eq!(refused.code, 64, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("refusing to serve on 0.0.0.0"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("help: run `tpm serve --token`"),
        "{}",
        refused.stderr
    );
    assert!(!s.store().join("web.token").exists());
    // With a token (made first, on purpose), every API request needs it. Requests go to
    // loopback only: the server listens on every address, the test talks to 127.0.0.1.
    let token = s.tpm(["serve", "--token"]).ok().stdout.trim().to_string();
    let mut server = Server::start_without_token(&s, &["--bind", "0.0.0.0"], token);
    let addr = server.addr;
    server.addr = std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()));
    for path in [
        "/api/processes".to_string(),
        format!("/api/processes/{name}"),
        format!("/api/processes/{name}/logs"),
        "/api/ports".to_string(),
        "/api/events".to_string(),
        "/api/openapi.json".to_string(),
    ] {
        server.get(&path).error(401);
        if path != "/api/events" {
            server.authed("GET", &path).send().status(200);
        }
    }
    // Other host names are fine off loopback (the token guards it); the page's files hold
    // no data and load, so a browser can ask for the token.
    server
        .authed("GET", "/api/processes")
        .host("tpm.lan:4444")
        .send()
        .status(200);
    server.get("/").status(200);
    server.get("/assets/app.js").status(200);
}

#[test]
fn a_10_mb_body_is_refused_before_it_is_read_and_changes_nothing() {
    let s = Sandbox::new();
    talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let server = Server::start(&s, &[]);
    let before = steady(&s.list());
    let rss = server.rss_kib();
    let big = 10 * 1024 * 1024;
    let head = |expect: bool| {
        format!(
            "POST /api/processes HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {big}\r\n{}Connection: close\r\n\r\n",
            server.addr,
            server.token,
            if expect { "Expect: 100-continue\r\n" } else { "" }
        )
    };
    // As curl sends it: the head, then the body only if the server wants it. It does not.
    let mut stream = connect(server.addr);
    stream.write_all(head(true).as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let resp = parse_response(&raw).expect("a response");
    let e = resp.error(413);
    assert!(e["error"].as_str().unwrap().contains("10485760"), "{e}");
    // As an impatient client sends it: everything at once. The server answers 413 and
    // closes; the client may see the answer or a reset, never a start.
    let mut stream = connect(server.addr);
    stream.write_all(head(false).as_bytes()).unwrap();
    let chunk = vec![b'{'; 64 * 1024];
    for _ in 0..(big / chunk.len()) {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    if let Some(resp) = parse_response(&raw) {
        resp.error(413);
    }
    // A body with no length, cut at the limit while it is read.
    let mut stream = connect(server.addr);
    let chunked = format!(
        "POST /api/processes HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr, server.token
    );
    stream.write_all(chunked.as_bytes()).unwrap();
    for _ in 0..40 {
        if stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|()| stream.write_all(&chunk))
            .and_then(|()| stream.write_all(b"\r\n"))
            .is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    if let Some(resp) = parse_response(&raw) {
        resp.error(413);
    }
    // Nothing changed, nothing was kept, and the server goes on.
    assert_eq!(steady(&s.list()), before);
    assert!(
        server.rss_kib() < rss + 8 * 1024,
        "the body was not read into memory: {} KiB before, {} KiB after",
        rss,
        server.rss_kib()
    );
    server.get("/api/processes").status(200);
}

#[test]
fn broken_and_hostile_requests_get_4xx_and_the_server_keeps_serving() {
    let s = Sandbox::new();
    talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    let mut server = Server::start(&s, &[]);
    let files = store_files(&s);
    let raw_requests: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02garbage\r\n\r\n".to_vec(),
        b"GET\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"GET /api/processes HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n".to_vec(),
        format!(
            "GET /api/processes HTTP/1.1\r\nHost: 127.0.0.1\r\nX: {}\r\n\r\n",
            "a".repeat(200_000)
        )
        .into_bytes(),
        b"GET /api/processes HTTP/1.1\r\nHost: 127.0.0.1\r\nX: \xff\xfe\r\n\r\n".to_vec(),
        b"GET /api/processes/\xff\xfe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
        b"POST /api/processes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: nope\r\n\r\n".to_vec(),
        b"POST /api/processes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"scr"
            .to_vec(),
        b"GET /api/processes HTTP/1.1\r\nHost: \xff\r\n\r\n".to_vec(),
    ];
    for raw in &raw_requests {
        let mut stream = connect(server.addr);
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = stream.write_all(raw);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        // A header value of bytes past ASCII is obs-text, which HTTP still allows: that one
        // may be answered as usual. Every other request here is malformed.
        let legal = raw.starts_with(b"GET /api/processes HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ");
        if let Some(resp) = parse_response(&answer) {
            assert!(
                (400..500).contains(&resp.status) || (legal && resp.status == 200),
                "{:?} got {}: {}",
                String::from_utf8_lossy(&raw[..raw.len().min(80)]),
                resp.status,
                resp.text()
            );
        }
        assert!(
            server.alive(),
            "the server died on {:?}",
            String::from_utf8_lossy(raw)
        );
    }
    // A hundred connections opened and dropped half-way.
    for _ in 0..100 {
        let mut stream = connect(server.addr);
        let _ = stream.write_all(b"POST /api/processes HTTP/1.1\r\nContent-Le");
    }
    server.get("/api/processes").status(200);
    assert_eq!(store_files(&s), files, "nothing was created or removed");
    let stderr = server.stderr().join("\n");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = json!(null);
}

#[test]
fn event_streams_beyond_256_are_refused_with_503_and_a_closed_one_makes_room() {
    let s = Sandbox::new();
    let server = Server::start(&s, &[]);
    let open = || {
        let mut stream = connect(server.addr);
        let head = server.request().path("/api/events?logs=false").head();
        stream.write_all(head.as_bytes()).unwrap();
        let mut status = [0u8; 12];
        stream.read_exact(&mut status).unwrap();
        (stream, status)
    };
    let mut streams: Vec<TcpStream> = (0..256)
        .map(|i| {
            let (stream, status) = open();
            assert_eq!(&status, b"HTTP/1.1 200", "stream {i}");
            stream
        })
        .collect();
    let e = server.get("/api/events").error(503);
    assert!(e["error"].as_str().unwrap().contains("256"), "{e}");
    server.get("/api/processes").status(200);
    // A dashboard closed: the server notices at its next event (within 2 s) and has room.
    let closed = streams.pop().unwrap();
    let _ = closed.shutdown(std::net::Shutdown::Both);
    drop(closed);
    let mut reopened = None;
    tpm_testkit::wait_for("room for a stream", || {
        let (stream, status) = open();
        let room = &status == b"HTTP/1.1 200";
        if room {
            reopened = Some(stream);
        }
        room
    });
}

#[test]
fn a_corrupt_record_is_a_500_with_the_cli_message_and_the_others_still_answer() {
    let s = Sandbox::new();
    let name = talker(&s, "svc", free_port(), "up");
    start(&s, "svc.sh");
    std::fs::write(
        s.store().join("processes/bad-1.meta"),
        b"\x00\x01 not a record",
    )
    .unwrap();
    let server = Server::start(&s, &[]);
    let e = server.get("/api/processes/bad-1").error(500);
    assert!(
        e["error"].as_str().unwrap().contains("corrupt record"),
        "{e}"
    );
    assert!(e["help"].as_str().unwrap().contains("tpm delete"), "{e}");
    let list = server.get("/api/processes").status(200).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], name.as_str());
    // And it can be deleted through the API, as with the CLI.
    server
        .authed("DELETE", "/api/processes/bad-1")
        .send()
        .status(200);
    assert!(!s.store().join("processes/bad-1.meta").exists());
}
