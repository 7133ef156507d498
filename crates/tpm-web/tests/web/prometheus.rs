//! Metrics for Prometheus, read by the real thing: Debian's `prometheus` (which `./test.sh`
//! installs) scrapes `tpm serve` on loopback with the token, and its HTTP API is asked what
//! it stored; `promtool check metrics` reads `tpm metrics`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tpm_testkit::{free_port, program, wait_for, Sandbox};

use crate::support::{talker, Req, Server};

/// A Prometheus on a free loopback port, its data in a scratch folder; killed on drop.
struct Prometheus {
    child: Child,
    addr: std::net::SocketAddr,
    log: std::path::PathBuf,
}

impl Prometheus {
    /// Checks `config` with `promtool check config`, then serves with it.
    fn start(dir: &Path, config: &str) -> Prometheus {
        let file = dir.join("prometheus.yml");
        std::fs::write(&file, config).expect("write prometheus.yml");
        let check = Command::new(program("promtool"))
            .args(["check", "config"])
            .arg(&file)
            .output()
            .expect("run promtool");
        assert!(
            check.status.success(),
            "promtool check config: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let port = free_port();
        let log = dir.join("prometheus.log");
        let child = Command::new(program("prometheus"))
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("prometheus.log"))
            .spawn()
            .expect("start prometheus");
        Prometheus {
            child,
            addr: ([127, 0, 0, 1], port).into(),
            log,
        }
    }

    /// The result vector of an instant query, `None` while Prometheus does not answer.
    fn query(&mut self, promql: &str) -> Option<Vec<Value>> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "prometheus exited ({status}): {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
        std::net::TcpStream::connect(self.addr).ok()?;
        let resp = Req::new(self.addr)
            .path(&format!("/api/v1/query?query={}", encode(promql)))
            .send();
        if resp.status != 200 {
            return None;
        }
        let body = resp.json();
        assert_eq!(body["status"], "success", "{body}");
        body["data"]["result"].as_array().cloned()
    }

    /// Waits until `promql` has exactly one series whose value is `value`.
    fn wait_value(&mut self, promql: &str, value: &str) {
        let mut last = None;
        let reached = tpm_testkit::holds_within(Duration::from_secs(60), || {
            last = self.query(promql);
            matches!(&last, Some(r) if r.len() == 1 && r[0]["value"][1] == value)
        });
        assert!(
            reached,
            "{promql} never was {value}; last answer: {last:?}\nprometheus said: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a query for a URL.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A script that fails at once (exit 3), every time.
fn crasher(s: &Sandbox, port: u16) -> String {
    s.file(
        "crash.sh",
        &format!("#!/usr/bin/env bash\nexport PORT={port}\necho 'about to fail'\nexit 3\n"),
        0o755,
    );
    s.tpm(["start", "crash.sh", "--max-restarts", "3"]).ok();
    let name = format!("crash-{port}");
    s.wait_status(&name, "errored");
    name
}

#[test]
fn a_real_prometheus_scrapes_tpm_serve_with_the_token_and_a_deleted_process_leaves_no_series() {
    let s = Sandbox::new();
    let svc = talker(&s, "svc", free_port(), "up");
    s.tpm(["start", "svc.sh"]).ok();
    let crash = crasher(&s, free_port());
    let restarts = s.get(&crash).expect("the crashed process")["restarts"]
        .as_u64()
        .expect("restarts");
    assert!(restarts > 0, "it was restarted before it errored");
    // Off loopback, every read needs the token: Prometheus must send it.
    let server = Server::start(&s, &["--bind", "0.0.0.0"]);
    let target = format!("127.0.0.1:{}", server.addr.port());
    server.get("/metrics").error(401);
    // The text format by default; OpenMetrics when the scraper prefers it, as Prometheus does.
    let plain = server.authed("GET", "/metrics").send();
    plain.status(200);
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!plain.text().contains("# EOF"), "{}", plain.text());
    let open = server
        .authed("GET", "/metrics")
        .header(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send();
    open.status(200);
    assert_eq!(
        open.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(open.text().ends_with("# EOF\n"), "{}", open.text());

    let dir = tempfile::tempdir().expect("a scratch folder");
    let token = dir.path().join("token");
    std::fs::File::create(&token)
        .and_then(|mut f| f.write_all(server.token.as_bytes()))
        .expect("write the token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = [
        "global:".to_string(),
        "  scrape_interval: 1s".into(),
        "  scrape_timeout: 1s".into(),
        "scrape_configs:".into(),
        "  - job_name: tpm".into(),
        "    authorization:".into(),
        format!("      credentials_file: {}", token.display()),
        "    static_configs:".into(),
        format!("      - targets: ['{target}']"),
        "  - job_name: tpm-no-token".into(),
        "    static_configs:".into(),
        format!("      - targets: ['{target}']"),
    ]
    .join("\n");
    let mut prometheus = Prometheus::start(dir.path(), &config);

    prometheus.wait_value("up{job=\"tpm\"}", "1");
    prometheus.wait_value(&format!("tpm_process_up{{name=\"{svc}\"}}"), "1");
    prometheus.wait_value(
        &format!("tpm_process_status{{name=\"{svc}\",status=\"online\"}}"),
        "1",
    );
    prometheus.wait_value(&format!("tpm_process_up{{name=\"{crash}\"}}"), "0");
    prometheus.wait_value(
        &format!("tpm_process_restarts_total{{name=\"{crash}\"}}"),
        &restarts.to_string(),
    );
    prometheus.wait_value(
        &format!("tpm_process_exits_total{{name=\"{crash}\",reason=\"failure\"}}"),
        &(restarts + 1).to_string(),
    );
    prometheus.wait_value(
        &format!("tpm_process_last_exit_code{{name=\"{crash}\"}}"),
        "3",
    );
    prometheus.wait_value("tpm_processes{status=\"errored\"}", "1");
    // The machine is Prometheus's `instance`; tpm's own labels never replace it.
    let up = prometheus
        .query(&format!("tpm_process_up{{name=\"{svc}\"}}"))
        .expect("an answer");
    assert_eq!(up[0]["metric"]["instance"], target.as_str(), "{up:?}");
    assert_eq!(up[0]["metric"]["app"], svc.as_str(), "{up:?}");
    // Every query of the Grafana dashboard is one Prometheus accepts, and those on a
    // process find it.
    let dashboard: Value = serde_json::from_str(include_str!("../../../../docs/grafana-tpm.json"))
        .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    for target in panels
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
    {
        let expr = target["expr"]
            .as_str()
            .expect("an expr")
            .replace("$instance", ".*")
            .replace("$app", ".*")
            .replace("$__rate_interval", "1m");
        let resp = Req::new(prometheus.addr)
            .path(&format!("/api/v1/query?query={}", encode(&expr)))
            .send();
        assert_eq!(resp.status, 200, "{expr}: {}", resp.text());
        assert_eq!(resp.json()["status"], "success", "{expr}");
    }
    // Without the token, the scrape is refused.
    prometheus.wait_value("up{job=\"tpm-no-token\"}", "0");

    s.tpm(["delete", &svc]).ok();
    assert!(
        !server
            .authed("GET", "/metrics")
            .send()
            .text()
            .contains(&svc),
        "the deleted process is gone from the next scrape"
    );
    // Its series go stale at the next scrape: an instant query finds none of them.
    let gone = format!("{{name=\"{svc}\",job=\"tpm\"}}");
    let mut left = None;
    let went = tpm_testkit::holds_within(Duration::from_secs(60), || {
        left = prometheus.query(&gone);
        left.as_ref().is_some_and(Vec::is_empty)
    });
    assert!(went, "series of the deleted process are left: {left:?}");
    prometheus.wait_value(&format!("tpm_process_up{{name=\"{crash}\"}}"), "0");
}

#[test]
fn tpm_metrics_passes_promtool_and_a_restart_resets_no_counter() {
    let s = Sandbox::new();
    let svc = talker(&s, "svc", free_port(), "up");
    s.tpm(["start", "svc.sh", "-i", "2"]).ok();
    let crash = crasher(&s, free_port());
    let text = s.tpm(["metrics"]).ok().stdout.clone();
    let check = |text: &str| {
        let mut promtool = Command::new(program("promtool"))
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run promtool");
        promtool
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("feed promtool");
        let out = promtool.wait_with_output().expect("promtool's answer");
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    check(&text);
    // An instance's number is `app_instance`; its app is the name without it.
    assert!(
        text.contains(&format!(
            "tpm_process_up{{name=\"{svc}-1\",app=\"{svc}\",app_instance=\"1\",port="
        )),
        "{text}"
    );
    // The JSON rows are the same series.
    let rows = s.tpm(["metrics", "--json"]).json();
    let series = |name: &str, metric: &str, reason: Option<&str>| -> u64 {
        let rows = s.tpm(["metrics", "--json"]).json();
        rows.as_array()
            .expect("rows")
            .iter()
            .find(|r| {
                r["metric"] == metric
                    && r["labels"]["name"] == name
                    && reason.is_none_or(|w| r["labels"]["reason"] == w)
            })
            .and_then(|r| r["value"].as_u64())
            .unwrap_or_else(|| panic!("no {metric} for {name}"))
    };
    assert_eq!(
        rows.as_array().map(Vec::len),
        Some(text.lines().filter(|l| !l.starts_with('#')).count()),
        "one row per series"
    );

    // A restart adds to the counters; none falls back.
    let before = (
        series(&crash, "tpm_process_restarts_total", None),
        series(&crash, "tpm_process_exits_total", Some("failure")),
    );
    s.tpm(["restart", &crash]).ok();
    wait_for("the restarted process to error again", || {
        series(&crash, "tpm_process_exits_total", Some("failure")) > before.1
            && s.get(&crash).is_some_and(|p| p["status"] == "errored")
    });
    assert!(series(&crash, "tpm_process_restarts_total", None) > before.0);
    // A stop is counted as tpm's doing.
    s.tpm(["stop", &format!("{svc}-0")]).ok();
    assert_eq!(
        series(
            &format!("{svc}-0"),
            "tpm_process_exits_total",
            Some("stopped")
        ),
        1
    );

    // -o writes the file whole, for node_exporter's textfile collector.
    let out = s.path().join("textfile").join("tpm.prom");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    s.tpm(["metrics", "-o", out.to_str().unwrap()]).ok();
    let written = std::fs::read_to_string(&out).expect("the file");
    check(&written);
    assert!(written.contains("# TYPE tpm_build_info gauge"), "{written}");
    let missing = s.tpm(["metrics", "-o", "/nonexistent/dir/tpm.prom"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("/nonexistent/dir/tpm.prom"),
        "{}",
        missing.stderr
    );
}
