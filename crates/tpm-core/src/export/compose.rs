//! Compose: one `compose.yaml` (project `tpm-apps`) with one service per app, each in the
//! image given with `--image`. The image must hold the apps' programs and files at the
//! paths tpm ran them from (the working directory, a script's absolute path); the program
//! is left for the image's PATH to find.
//!
//! The mapping:
//! - argv → `entrypoint` (the program) and `command` (its arguments): exactly this argv,
//!   whatever the image's own ENTRYPOINT and CMD (compose clears the image's CMD when the
//!   entrypoint is set).
//! - `autorestart` → `restart: unless-stopped` (any exit restarts it; one stopped by hand
//!   stays stopped, as `tpm stop` makes it), else `"no"`. The Docker daemon's own backoff
//!   stands in for tpm's: 100 ms doubling at each restart, reset once a container has run
//!   10 s. `max_restarts` has no counterpart: Docker counts retries only with `on-failure`,
//!   which does not restart after exit code 0, so a crash loop is restarted for ever (with
//!   that backoff), as under tpm with `max_restarts` 0. `deploy.restart_policy` is not
//!   written: plain `docker compose` lets it replace `restart:` and would turn its
//!   `max_attempts` into that `on-failure` count; Swarm, which reads it, then restarts on
//!   any exit after 5 s by default.
//! - Stopping: `stop_signal:` the stop signal (SIGTERM by default), `stop_grace_period:` the kill timeout, then KILL.
//!   Docker signals the container's first process only; `init: true` makes that an init
//!   which passes TERM on (a shell script as process 1 would ignore it), and KILL ends every
//!   process of the container.
//! - The port: published on the host at the same number (`PORT:PORT`); none for a process
//!   without a PORT. An app bound to
//!   127.0.0.1 is not reachable that way: it must listen on 0.0.0.0 in a container.
//! - Secrets: `${KEY:?...}`, which compose fills from the shell's environment or a `.env`
//!   file beside `compose.yaml`, and refuses to start without.
//! - `$` in values is written `$$` (compose interpolates `$VAR` in every value).
//! - A liveness check → `healthcheck:` (`test`, `interval`, `timeout`, `retries`,
//!   `start_period`): HTTP as `curl -fsS` and TCP as bash's `/dev/tcp` (the image needs
//!   curl or bash), a command as `CMD-SHELL`. Docker only marks a container `unhealthy`; it
//!   restarts none for it (Swarm does): a note says so where tpm would restart.
//! - The notify protocol (`--ready-notify`, `--watchdog`) has no compose equivalent: a note.

use serde_json::{json, Map, Value as Json};

use super::{duration, ExportFile, Prepared, MARKER, SET};
use crate::depends::Condition;
use crate::error::{Error, Result};

pub(super) fn render(
    apps: &[Prepared],
    image: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<ExportFile>> {
    let mut services = Map::new();
    for app in apps {
        services.insert(app.name.to_string(), service(app, image, notes));
    }
    // After every service exists: a condition on health needs the dependency's healthcheck.
    for app in apps {
        if app.depends_on.is_empty() {
            continue;
        }
        let mut depends = Map::new();
        for (dep, condition) in &app.depends_on {
            let checked = services
                .get(dep)
                .is_some_and(|s| s.get("healthcheck").is_some());
            let said = match condition {
                Condition::Started => "service_started",
                Condition::Completed => "service_completed_successfully",
                Condition::Ready | Condition::Healthy if checked => "service_healthy",
                Condition::Ready | Condition::Healthy => {
                    notes.push(format!(
                        "compose.yaml: {} waits for {dep} to be {condition} under tpm; compose has no healthcheck for {dep}, so it waits only until {dep} is started (give {dep} a healthcheck and the condition service_healthy)",
                        app.name
                    ));
                    "service_started"
                }
            };
            depends.insert(dep.clone(), json!({ "condition": said }));
        }
        if let Some(Json::Object(s)) = services.get_mut(app.name.as_str()) {
            s.insert("depends_on".into(), Json::Object(depends));
        }
    }
    let doc = json!({ "name": SET, "services": services });
    let yaml = yaml_serde::to_string(&doc)
        .map_err(|e| Error::Usage(format!("cannot write the compose file: {e}")))?;
    Ok(vec![ExportFile {
        path: "compose.yaml".into(),
        text: format!("# {MARKER}: running it again replaces this file.\n{yaml}"),
    }])
}

fn service(app: &Prepared, image: &str, notes: &mut Vec<String>) -> Json {
    let p = app.policy();
    let mut env = Map::new();
    for (k, v) in &app.env {
        env.insert(k.clone(), json!(literal(v)));
    }
    for key in &app.secrets {
        let var = variable(key);
        env.insert(
            key.clone(),
            json!(format!("${{{var}:?set {var} for {}}}", app.name)),
        );
        notes.push(format!(
            "compose.yaml: {} needs {key}: set {var} in the environment of `docker compose`, or in a .env file beside compose.yaml",
            app.name
        ));
    }
    let mut s = Map::new();
    s.insert("image".into(), json!(image));
    s.insert("init".into(), json!(true));
    s.insert("entrypoint".into(), json!([literal(&app.argv[0])]));
    s.insert(
        "command".into(),
        Json::Array(app.argv[1..].iter().map(|a| json!(literal(a))).collect()),
    );
    s.insert("working_dir".into(), json!(literal(&app.spec.cwd)));
    s.insert("environment".into(), Json::Object(env));
    // A process without a PORT (a worker) publishes none.
    if let Some(port) = app.spec.port {
        s.insert(
            "ports".into(),
            json!([{
                "target": port,
                "published": port.to_string(),
                "protocol": "tcp",
            }]),
        );
    }
    s.insert(
        "restart".into(),
        json!(if p.autorestart {
            "unless-stopped"
        } else {
            "no"
        }),
    );
    s.insert("stop_signal".into(), json!(p.stop_signal.as_str()));
    s.insert("stop_grace_period".into(), json!(duration(p.kill_timeout)));
    if let Some(h) = &app.spec.health {
        s.insert("healthcheck".into(), healthcheck(app, h));
        if h.action == crate::health::HealthAction::Restart {
            notes.push(format!(
                "compose.yaml: {} is marked unhealthy by its healthcheck, not restarted (Docker restarts for it only under Swarm; tpm restarts it)",
                app.name
            ));
        }
    }
    if app.spec.ready.check == crate::readiness::ReadyCheck::Notify || app.spec.watchdog.is_some() {
        notes.push(format!(
            "compose.yaml: {} speaks systemd's notify protocol (READY=1, WATCHDOG=1); compose has no NOTIFY_SOCKET, so it is ready once started and has no watchdog",
            app.name
        ));
    }
    Json::Object(s)
}

/// A liveness check as compose's `healthcheck`.
fn healthcheck(app: &Prepared, h: &crate::health::Health) -> Json {
    use crate::health::HealthCheck;
    let port = app.spec.port.unwrap_or_default();
    let test = match &h.check {
        HealthCheck::Http(path) => json!([
            "CMD",
            "curl",
            "-fsS",
            "-o",
            "/dev/null",
            literal(&format!("http://127.0.0.1:{port}{path}"))
        ]),
        HealthCheck::Tcp => json!([
            "CMD",
            "bash",
            "-c",
            format!("exec 3<>/dev/tcp/127.0.0.1/{port}")
        ]),
        HealthCheck::Cmd(cmd) => json!(["CMD-SHELL", literal(cmd)]),
    };
    json!({
        "test": test,
        "interval": duration(h.interval),
        "timeout": duration(h.timeout),
        "retries": h.retries,
        "start_period": duration(h.start_period),
    })
}

/// `value` as compose reads it back: `$` doubled, so nothing is interpolated.
fn literal(value: &str) -> String {
    value.replace('$', "$$")
}

/// The variable compose takes secret `key` from: the key, made a valid name.
fn variable(key: &str) -> String {
    let mut var: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if var.starts_with(|c: char| c.is_ascii_digit()) || var.is_empty() {
        var.insert(0, '_');
    }
    var
}

#[cfg(test)]
mod tests {
    use super::super::tests::app;
    use super::super::{render, Engine, ExportOptions};

    #[test]
    fn a_service_per_app_with_dollars_kept_literal() {
        let apps = [app(
            "web-7777",
            &["python3", "-m", "http.server", "$HOME"],
            &[("A", "x$y"), ("DB_PASSWORD", "s3cret")],
        )];
        let out = render(
            Engine::Compose,
            &apps,
            &ExportOptions {
                image: Some("python:3.11".into()),
                ..ExportOptions::default()
            },
        )
        .unwrap();
        let text = &out.files[0].text;
        assert!(text.starts_with("# written by tpm export"), "{text}");
        for part in [
            "image: python:3.11",
            "- python3",
            "- $$HOME",
            "A: x$$y",
            "DB_PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD for web-7777}",
            "restart: unless-stopped",
            "stop_grace_period: 3s",
            "working_dir: /srv/app dir",
        ] {
            assert!(text.contains(part), "{part} in:\n{text}");
        }
        assert!(!text.contains("s3cret"));
        assert!(out.notes.iter().any(|n| n.contains("DB_PASSWORD")));
    }
}
