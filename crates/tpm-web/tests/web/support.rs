//! A `tpm serve` to test, and the plainest HTTP/1.1 client: raw requests over TCP, so a test
//! can send what no library would (a 10 MB body, a bad Host, broken bytes).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tpm_testkit::{Sandbox, DEADLINE};

/// A running `tpm serve`, stopped on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub token: String,
    /// Its stdout after the line that says where it listens.
    stdout: mpsc::Receiver<String>,
    /// Its stderr, for failures.
    stderr: mpsc::Receiver<String>,
}

impl Server {
    /// `tpm serve --port 0 ARGS` in the sandbox; waits until it says where it listens.
    pub fn start(s: &Sandbox, args: &[&str]) -> Server {
        let token = s.tpm(["serve", "--token"]).ok().stdout.trim().to_string();
        Server::start_without_token(s, args, token)
    }

    /// As [`Server::start`], without making the token first.
    pub fn start_without_token(s: &Sandbox, args: &[&str], token: String) -> Server {
        Server::spawn(s, args, token, None)
    }

    /// As [`Server::start`], able to open at most `open_files` descriptors (`ulimit -n`).
    pub fn start_with_open_files(s: &Sandbox, args: &[&str], open_files: u64) -> Server {
        let token = s.tpm(["serve", "--token"]).ok().stdout.trim().to_string();
        Server::spawn(s, args, token, Some(open_files))
    }

    fn spawn(s: &Sandbox, args: &[&str], token: String, open_files: Option<u64>) -> Server {
        let mut command = s.command();
        command
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(n) = open_files {
            use std::os::unix::process::CommandExt as _;
            // SAFETY: only a system call between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, n, n)
                        .map_err(std::io::Error::from)
                });
            }
        }
        let mut child = command.spawn().expect("spawn tpm serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let errors = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (etx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(errors).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        let line = rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
            panic!(
                "tpm serve said nothing: {:?}",
                stderr.try_iter().collect::<Vec<_>>()
            )
        });
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Server {
            child,
            addr,
            token,
            stdout: rx,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The next line it writes on stdout; panics at the deadline.
    pub fn next_line(&self) -> String {
        self.stdout
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("tpm serve said no more: {:?}", self.stderr()))
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Resident memory in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// The most resident memory it has had, in KiB (`VmHWM`).
    pub fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM")
    }

    fn status_kib(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/{}/status", self.pid()))
    }

    /// Descriptors it has open.
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    pub fn request(&self) -> Req {
        Req::new(self.addr)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request().path(path).send()
    }

    /// A request with the token.
    pub fn authed(&self, method: &str, path: &str) -> Req {
        self.request()
            .method(method)
            .path(path)
            .header("Authorization", &format!("Bearer {}", self.token))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request, built then sent on a connection of its own.
#[derive(Clone)]
pub struct Req {
    addr: SocketAddr,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    host: Option<String>,
}

impl Req {
    pub fn new(addr: SocketAddr) -> Req {
        Req {
            addr,
            method: "GET".into(),
            path: "/".into(),
            headers: Vec::new(),
            body: Vec::new(),
            host: None,
        }
    }

    pub fn method(mut self, m: &str) -> Req {
        self.method = m.into();
        self
    }

    pub fn path(mut self, p: &str) -> Req {
        self.path = p.into();
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn host(mut self, h: &str) -> Req {
        self.host = Some(h.into());
        self
    }

    pub fn json(self, v: &Value) -> Req {
        self.header("Content-Type", "application/json")
            .body(v.to_string().into_bytes())
    }

    pub fn body(mut self, b: Vec<u8>) -> Req {
        self.body = b;
        self
    }

    /// The request's head, as sent.
    pub fn head(&self) -> String {
        let host = self.host.clone().unwrap_or_else(|| self.addr.to_string());
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
            self.method, self.path
        );
        for (k, v) in &self.headers {
            head += &format!("{k}: {v}\r\n");
        }
        if !self.body.is_empty() || matches!(self.method.as_str(), "POST" | "DELETE") {
            head += &format!("Content-Length: {}\r\n", self.body.len());
        }
        head + "\r\n"
    }

    pub fn send(&self) -> Resp {
        let mut stream = connect(self.addr);
        stream
            .write_all(self.head().as_bytes())
            .expect("send the head");
        stream.write_all(&self.body).expect("send the body");
        read_response(&mut stream)
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to tpm serve");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream.set_write_timeout(Some(DEADLINE)).expect("timeout");
    stream
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn status(&self, expected: u16) -> &Resp {
        assert_eq!(self.status, expected, "status; body: {}", self.text());
        self
    }

    /// Asserts an error response: the status, and JSON with the message and a help line.
    #[track_caller]
    pub fn error(&self, expected: u16) -> Value {
        self.status(expected);
        assert_eq!(self.header("content-type"), Some("application/json"));
        let v = self.json();
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
        assert!(v["help"].as_str().is_some_and(|h| !h.is_empty()), "{v}");
        assert_eq!(v["status"], expected);
        v
    }
}

/// Reads a whole response: to its `Content-Length`, to its last chunk, or to the close
/// (a server that keeps the connection open after a sized answer is not waited for). The
/// head is parsed once, so a response of many megabytes is read in linear time.
pub fn read_response(stream: &mut TcpStream) -> Resp {
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let mut head: Option<(usize, Resp)> = None;
    loop {
        if head.is_none() {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                head = parse_response(&raw[..end + 4]).map(|r| (end + 4, r));
            }
        }
        if let Some((start, resp)) = &head {
            if complete(resp, &raw[*start..]) {
                break;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    parse_response(&raw)
        .unwrap_or_else(|| panic!("not an HTTP response: {:?}", String::from_utf8_lossy(&raw)))
}

/// Whether `body` is all of the body `resp`'s head announces.
fn complete(resp: &Resp, body: &[u8]) -> bool {
    match resp
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) => body.len() >= n,
        None if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked")) =>
        {
            body.ends_with(b"0\r\n\r\n")
        }
        None => resp.status == 304 || resp.status == 204,
    }
}

pub fn parse_response(raw: &[u8]) -> Option<Resp> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Some(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..nl])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .unwrap_or(0);
        raw = &raw[nl + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
    out
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub event: String,
    pub data: Value,
    /// When it was read.
    pub at: Instant,
}

/// An open event stream, read on a thread of its own; closed on drop.
pub struct EventStream {
    events: mpsc::Receiver<Sse>,
    stream: TcpStream,
    /// Events read so far, skipped or not.
    seen: std::cell::RefCell<Vec<Sse>>,
}

impl EventStream {
    pub fn open(server: &Server, query: &str) -> EventStream {
        let req = server.request().path(&format!("/api/events{query}"));
        let mut stream = connect(server.addr);
        stream.write_all(req.head().as_bytes()).expect("send");
        let reader = stream.try_clone().expect("clone the stream");
        reader.set_read_timeout(None).expect("no timeout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || read_events(reader, tx));
        EventStream {
            events,
            stream,
            seen: Default::default(),
        }
    }

    /// The next event of a kind (others are skipped); panics at the deadline.
    pub fn next(&self, kind: &str) -> Sse {
        self.next_where(kind, |_| true)
    }

    /// The next event of a kind whose data satisfies `pred`.
    pub fn next_where(&self, kind: &str, mut pred: impl FnMut(&Value) -> bool) -> Sse {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    self.seen.borrow_mut().push(e.clone());
                    if e.event == kind && pred(&e.data) {
                        return e;
                    }
                }
                Err(_) => panic!("no {kind} event before the deadline"),
            }
        }
    }

    /// An event of a kind read already, or the next one.
    pub fn seen_or_next(&self, kind: &str, mut pred: impl FnMut(&Value) -> bool) -> Sse {
        let earlier = self
            .seen
            .borrow()
            .iter()
            .find(|e| e.event == kind && pred(&e.data))
            .cloned();
        earlier.unwrap_or_else(|| self.next_where(kind, pred))
    }

    /// Every event read so far by `next`, `next_where` and `seen_or_next`.
    pub fn seen(&self) -> Vec<Sse> {
        self.seen.borrow().clone()
    }

    /// Every event that arrives within `wait`.
    pub fn drain(&self, wait: Duration) -> Vec<Sse> {
        let end = Instant::now() + wait;
        let mut got = Vec::new();
        while let Ok(e) = self
            .events
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            got.push(e);
        }
        got
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// Parses the response head, then the chunked body as it comes, into events.
fn read_events(stream: TcpStream, tx: mpsc::Sender<Sse>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut chunked = false;
    // Head.
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.starts_with("http/1.1") && !l.contains(" 200") {
            return;
        }
        if l.starts_with("transfer-encoding:") && l.contains("chunked") {
            chunked = true;
        }
        if l.is_empty() {
            break;
        }
    }
    let mut text = String::new();
    loop {
        let mut piece = Vec::new();
        if chunked {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let Ok(size) = usize::from_str_radix(line.trim(), 16) else {
                return;
            };
            if size == 0 {
                return;
            }
            piece.resize(size + 2, 0);
            if reader.read_exact(&mut piece).is_err() {
                return;
            }
            piece.truncate(size);
        } else {
            piece.resize(4096, 0);
            match reader.read(&mut piece) {
                Ok(0) | Err(_) => return,
                Ok(n) => piece.truncate(n),
            }
        }
        text.push_str(&String::from_utf8_lossy(&piece));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let mut event = String::from("message");
            let mut data = String::new();
            for l in block.lines() {
                if let Some(v) = l.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = l.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() {
                continue;
            }
            let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
            if tx
                .send(Sse {
                    event,
                    data,
                    at: Instant::now(),
                })
                .is_err()
            {
                return;
            }
        }
    }
}

/// A bash script that prints `lines` then a line every `every` seconds, with its PORT.
pub fn talker(s: &Sandbox, name: &str, port: u16, first: &str) -> String {
    s.file(
        &format!("{name}.sh"),
        &format!(
            "#!/usr/bin/env bash\nexport PORT={port}\nprintf '%s\\n' {}\ni=0\nwhile true; do i=$((i+1)); echo \"tick $i\"; sleep 0.2; done\n",
            shell_quote(first)
        ),
        0o755,
    );
    format!("{name}-{port}")
}

pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Starts `script` under tpm in the sandbox.
pub fn start(s: &Sandbox, script: &str) {
    s.tpm(["start", script]).ok();
}

/// Files under the store, for "changed nothing" checks (logs excluded: they grow).
pub fn store_files(s: &Sandbox) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["processes", "pids"] {
        if let Ok(dir) = std::fs::read_dir(s.store().join(sub)) {
            for e in dir.flatten() {
                out.push(format!("{sub}/{}", e.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

/// `tpm list --json` without the fields that move on their own (uptime, CPU, memory, the
/// share of the last 24 hours online, and listening, which the supervisor looks at).
pub fn steady(list: &[Value]) -> Vec<Value> {
    list.iter()
        .map(|p| {
            let mut p = p.clone();
            for k in ["uptime", "cpu", "mem", "uptime_pct_24h", "listening"] {
                p.as_object_mut().expect("an object").shift_remove(k);
            }
            p
        })
        .collect()
}
