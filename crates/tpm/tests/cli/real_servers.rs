//! Real servers under tpm: they answer on their port, and after stop the port is free and
//! nothing of their process group remains.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use tpm_testkit::{free_port, group_members, wait_for, Sandbox};

fn http_get(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    Some(reply)
}

#[test]
fn python_http_server_answers_and_stop_frees_its_port() {
    let s = Sandbox::new();
    let port = free_port();
    let cmd = format!("python3 -m http.server {port} --bind 127.0.0.1");
    s.tpm(["start", &cmd, "--name", "web"]).ok();
    let name = format!("web-{port}");
    let pid = s.wait_status(&name, "online")["pid"].as_u64().unwrap() as u32;

    let mut reply = None;
    wait_for("the server to answer", || {
        reply = http_get(port);
        reply.is_some()
    });
    assert!(reply.unwrap().starts_with("HTTP/1.0 200"), "an HTTP 200");
    let ports = s.tpm(["ports", "--json"]).ok().json();
    assert_eq!(ports[0]["listening"], true, "{ports}");

    s.tpm(["stop", &name]).ok();
    assert!(
        group_members(pid).is_empty(),
        "nothing of the group remains"
    );
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the port is free"
    );
    let ports = s.tpm(["ports", "--json"]).ok().json();
    assert_eq!(ports[0]["listening"], false);
}
