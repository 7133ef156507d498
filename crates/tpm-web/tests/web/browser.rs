//! The dashboard in a real headless Chromium (Debian's `chromium`, which `./test.sh`
//! installs), driven over the Chrome DevTools protocol: the test sees the page's console and
//! uncaught exceptions, reads the live DOM while the page runs (so it can tell an update
//! from a reload), clicks, and takes screenshots. `--dump-dom` and `--screenshot` runs
//! would see neither the console nor a change that arrives while the page is open.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tpm_testkit::{free_port, program, wait_for, Sandbox, DEADLINE};
use tungstenite::{Message, WebSocket};

use crate::support::{connect, read_response, start, talker, Server};

/// A headless Chromium with one page, killed (with its profile) on drop.
struct Chromium {
    child: Child,
    _profile: tempfile::TempDir,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    /// Every event the page sent, in order.
    events: Vec<Value>,
}

impl Chromium {
    fn launch() -> Chromium {
        let profile = tempfile::tempdir().expect("a profile folder");
        let log = profile.path().join("chromium.log");
        let mut child = Command::new(program("chromium"))
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1440,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("chromium's log"))
            .spawn()
            .expect("start chromium");
        let port_file = profile.path().join("DevToolsActivePort");
        let mut port = 0u16;
        wait_for("chromium's DevToolsActivePort", || {
            if let Ok(Some(status)) = child.try_wait() {
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("chromium exited ({status}) before it listened:\n{said}");
            }
            port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.lines().next()?.trim().parse().ok())
                .unwrap_or(0);
            port != 0
        });
        let devtools = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        // The page Chromium opened, and its websocket.
        let mut page_ws = None;
        wait_for("chromium's page target", || {
            let mut stream = connect(devtools);
            let _ = stream.write_all(
                b"GET /json/list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let targets: Value =
                serde_json::from_slice(&read_response(&mut stream).body).unwrap_or(Value::Null);
            page_ws = targets.as_array().and_then(|t| {
                t.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(String::from))
            });
            page_ws.is_some()
        });
        let url = page_ws.expect("a page");
        let stream = connect(devtools);
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("the DevTools websocket");
        let mut chromium = Chromium {
            child,
            _profile: profile,
            ws,
            next_id: 0,
            events: Vec::new(),
        };
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            chromium.call(domain, json!({}));
        }
        chromium
    }

    /// Sends a command and returns its result; events that arrive meanwhile are kept.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(Message::text(msg)).expect("send to chromium");
        let deadline = Instant::now() + DEADLINE;
        loop {
            assert!(
                Instant::now() < deadline,
                "chromium did not answer {method}"
            );
            let msg = self.ws.read().expect("read from chromium");
            let Ok(text) = msg.to_text() else { continue };
            let v: Value = serde_json::from_str(text).expect("DevTools JSON");
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Evaluates JavaScript in the page (promises awaited); an exception fails the test.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expression}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page.
    fn wait(&mut self, what: &str, expression: &str) -> Duration {
        let started = Instant::now();
        let deadline = started + DEADLINE;
        let mut pause = Duration::from_millis(10);
        while self.eval(expression) != Value::Bool(true) {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
        started.elapsed()
    }

    fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait("the page to load", "document.readyState === 'complete'");
    }

    /// What the page said was wrong: console errors, uncaught exceptions, failed loads.
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.exceptionThrown" => Some(e["params"]["exceptionDetails"].to_string()),
                "Runtime.consoleAPICalled" if e["params"]["type"] == "error" => {
                    Some(e["params"]["args"].to_string())
                }
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"].to_string())
                }
                _ => None,
            })
            .collect()
    }

    fn screenshot(&mut self, path: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let bytes = data_encoding::BASE64
            .decode(shot["data"].as_str().expect("base64").as_bytes())
            .expect("a PNG");
        std::fs::write(path, bytes).expect("write the screenshot");
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the screenshots go: the test's output folder (`target/tmp/dashboard`).
fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir
}

/// JavaScript for "the row of NAME".
fn row(name: &str) -> String {
    format!("document.querySelector('tr[data-name=\"{name}\"]')")
}

const HOSTILE: &str =
    r#"<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> &amp; </pre>"#;

#[test]
fn the_dashboard_shows_the_processes_follows_a_cli_stop_without_reload_and_escapes_hostile_logs() {
    let s = Sandbox::new();
    let api = talker(&s, "api", free_port(), "api listening");
    let hostile = talker(&s, "hostile", free_port(), HOSTILE);
    let web_port = free_port();
    let web = format!("web-{web_port}");
    start(&s, "api.sh");
    start(&s, "hostile.sh");
    s.tpm([
        "start",
        &format!("python3 -m http.server {web_port} --bind 127.0.0.1"),
        "--name",
        "web",
    ])
    .ok();
    s.file(
        "crash.sh",
        "#!/usr/bin/env bash\necho 'cannot open config' >&2\nexit 1\n",
        0o755,
    );
    s.tpm([
        "start",
        "crash.sh",
        "--port",
        &free_port().to_string(),
        "--max-restarts",
        "2",
    ])
    .ok();
    let server = Server::start(&s, &[]);
    let mut chrome = Chromium::launch();
    chrome.call(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    // The token comes in the address's fragment, which the browser never sends.
    chrome.navigate(&format!("http://{}/#token={}", server.addr, server.token));
    chrome.wait(
        "four rows",
        "document.querySelectorAll('#rows tr').length === 4",
    );
    chrome.wait(
        "the stream to be live",
        "document.getElementById('conn').dataset.state === 'live'",
    );
    assert_eq!(
        chrome.eval("location.hash"),
        "",
        "the token left the address bar"
    );
    let names = chrome.eval("[...document.querySelectorAll('#rows tr')].map(r => r.dataset.name)");
    for name in [&api, &hostile, &web] {
        assert!(
            names.as_array().unwrap().contains(&json!(name)),
            "{name} in {names}"
        );
    }
    chrome.wait(
        "web to listen",
        &format!("{}.querySelector('.listen.on') !== null", row(&web)),
    );

    // A stop made in a shell shows without a reload.
    chrome.eval("window.__same_page = 42");
    s.tpm(["stop", &web]).ok();
    let took = chrome.wait(
        "the stop to show",
        &format!(
            "{}.querySelector('td.status').textContent === 'stopped'",
            row(&web)
        ),
    );
    assert!(
        took < Duration::from_secs(2),
        "the stop showed after {took:?}"
    );
    assert_eq!(
        chrome.eval("window.__same_page"),
        42,
        "the page was not reloaded"
    );
    assert_eq!(
        chrome.eval(&format!(
            "{}.querySelector('td.pid').textContent",
            row(&web)
        )),
        "–"
    );

    // A process that prints markup: shown as text, never run.
    chrome.eval(&format!("{}.click()", row(&hostile)));
    chrome.wait(
        "the hostile line in the log pane",
        &format!(
            "document.getElementById('log').textContent.includes({})",
            json!(HOSTILE)
        ),
    );
    assert_eq!(chrome.eval("typeof window.__pwned"), "undefined");
    assert_eq!(
        chrome.eval("document.querySelectorAll('#log script, #log img, #log pre').length"),
        0
    );
    assert_eq!(
        chrome.eval("document.getElementById('d-name').textContent"),
        hostile.as_str()
    );

    // The picture: the busy process selected, its logs following.
    chrome.eval(&format!("{}.click()", row(&api)));
    chrome.wait(
        "api's logs",
        "document.getElementById('log').textContent.includes('tick')",
    );
    chrome.wait(
        "a chart line",
        "document.querySelector('#chart-mem .line').getAttribute('d').length > 0",
    );
    if std::env::var_os("TPM_README_SCREENSHOT").is_some() {
        // For docs/web.md: a quarter of a minute of samples, so the charts show a shape.
        chrome.wait(
            "8 samples",
            "(state.history.get(state.selected) || []).length >= 8",
        );
    }
    let dir = output_dir();
    chrome.screenshot(&dir.join("laptop.png"));
    chrome.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true}),
    );
    chrome.wait(
        "the phone layout",
        "getComputedStyle(document.querySelector('#procs thead')).display === 'none'",
    );
    chrome.screenshot(&dir.join("phone.png"));
    chrome.call("Emulation.clearDeviceMetricsOverride", json!({}));
    eprintln!("screenshots: {}", dir.display());
    if std::env::var_os("TPM_README_SCREENSHOT").is_some() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        std::fs::create_dir_all(&repo).expect("docs/");
        std::fs::copy(dir.join("laptop.png"), repo.join("dashboard.png")).expect("copy");
        std::fs::copy(dir.join("phone.png"), repo.join("dashboard-phone.png")).expect("copy");
    }

    // Deleting asks first: cancelled, nothing happens; confirmed, the process goes.
    chrome.eval(&format!("{}.click()", row(&hostile)));
    chrome.eval("[...document.querySelectorAll('#d-actions button')].find(b => b.dataset.action === 'delete').click()");
    chrome.wait(
        "the question",
        "document.getElementById('confirm-dialog').open",
    );
    chrome.eval("document.querySelector('#confirm-dialog [data-close=cancel]').click()");
    chrome.wait(
        "the question to close",
        "!document.getElementById('confirm-dialog').open",
    );
    assert!(s.get(&hostile).is_some(), "cancelled: still there");
    chrome.eval("[...document.querySelectorAll('#d-actions button')].find(b => b.dataset.action === 'delete').click()");
    chrome.wait(
        "the question",
        "document.getElementById('confirm-dialog').open",
    );
    chrome.eval("document.getElementById('confirm-ok').click()");
    chrome.wait("the row to go", &format!("{} === null", row(&hostile)));
    assert!(s.get(&hostile).is_none(), "deleted from the store");

    // A button: restart web from the page.
    chrome.eval(&format!(
        "{}.querySelector('button[data-action=start]').click()",
        row(&web)
    ));
    chrome.wait(
        "web online again",
        &format!(
            "{}.querySelector('td.status').textContent === 'online'",
            row(&web)
        ),
    );
    assert_eq!(s.get(&web).unwrap()["status"], "online");

    let errors = chrome.errors();
    assert!(errors.is_empty(), "the page reported errors: {errors:#?}");
}
