//! Kubernetes: `tpm-apps.yaml`, with a Deployment and a Service per app (`kubectl apply -f
//! tpm-apps.yaml`), each in the image given with `--image`, which must hold the apps'
//! programs and files at the paths tpm ran them from.
//!
//! The mapping:
//! - argv → the container's `command` (the program) and `args`: exactly this argv, whatever
//!   the image's ENTRYPOINT and CMD. `workingDir` is the cwd.
//! - The environment, `PORT` included, as `env`; secrets as `valueFrom.secretKeyRef` into
//!   a Secret named `NAME-secrets` that the user creates (the notes say how).
//! - The port → `containerPort`, a Service on the same port, and the readiness check as a
//!   probe: `--ready-http PATH` an `httpGet` on PATH, `--no-ready-check` none (ready once
//!   running), otherwise a TCP probe on the port (`--ready-line` has no counterpart). A
//!   process without a PORT (a worker) has no `containerPort`, no Service and no probe.
//! - The restart policy does not map: a Deployment's pods always restart
//!   (`restartPolicy: Always` is the only one allowed), with Kubernetes' own backoff
//!   (CrashLoopBackOff: 10 s doubling to 5 min, reset after 10 min up), and never give
//!   up: `max_restarts`, `restart_delay` and `autorestart` off have no counterpart. They
//!   are kept as annotations, for the reader.
//! - Stopping: Kubernetes sends TERM to the container's first process, waits
//!   `terminationGracePeriodSeconds` (the kill timeout, in whole seconds, rounded up), then
//!   KILL. A shell script as process 1 ignores TERM: the image should run an init (tini).
//! - `replicas` is the number of instances (1).
//! - A liveness check → a `livenessProbe` (`httpGet`, `tcpSocket`, or `exec` of `sh -c`),
//!   its interval, timeout and start period in whole seconds (rounded up, at least 1), its
//!   retries as `failureThreshold`. Kubernetes restarts the container; `--health-action
//!   mark` has no counterpart (a note says so). The notify protocol has none either.
//! - `$` in values is written `$$` where Kubernetes expands `$(VAR)` (command, args and env
//!   values: `$$` reads back as `$`), and as it is in `workingDir`, which it does not expand.
//!
//! Names: Kubernetes wants lowercase DNS labels, so `api_v2.x-3000` becomes `api-v2-x-3000`
//! (prefixed `tpm-` when it would not begin with a letter); two apps that would get the
//! same name are an error. The tpm name is kept in the `tpm/name` annotation.

use serde_json::{json, Value as Json};

use super::{ExportFile, Prepared, MARKER, SET};
use crate::error::{Error, Result};
use crate::readiness::ReadyCheck;

pub(super) fn render(
    apps: &[Prepared],
    image: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<ExportFile>> {
    let mut names: Vec<(String, &str)> = Vec::new();
    let mut text = format!("# {MARKER}: running it again replaces this file.\n");
    for app in apps {
        let name = super::dns_name(app.name.as_str());
        if let Some((_, other)) = names.iter().find(|(n, _)| *n == name) {
            return Err(Error::Usage(format!(
                "{} and {other} would both be named {name} in Kubernetes (lowercase letters, digits and '-'); rename one",
                app.name
            )));
        }
        names.push((name.clone(), app.name.as_str()));
        // A process without a PORT (a worker) has no Service: nothing connects to it.
        let service = app.spec.port.map(|port| service(app, &name, port));
        if !app.depends_on.is_empty() {
            notes.push(format!(
                "{SET}.yaml: {} depends on {}; Kubernetes starts every Deployment at once (the annotation tpm/depends-on says the order): an initContainer that waits for each, or a readinessProbe on them and retries in {}, does what tpm's order did",
                app.name,
                super::said(&app.depends_on),
                app.name
            ));
        }
        for doc in std::iter::once(deployment(app, &name, image, notes)).chain(service) {
            let yaml = yaml_serde::to_string(&doc)
                .map_err(|e| Error::Usage(format!("cannot write the manifests: {e}")))?;
            text.push_str("---\n");
            text.push_str(&yaml);
        }
    }
    Ok(vec![ExportFile {
        path: format!("{SET}.yaml").into(),
        text,
    }])
}

fn labels(name: &str) -> Json {
    json!({ "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": SET })
}

fn deployment(app: &Prepared, name: &str, image: &str, notes: &mut Vec<String>) -> Json {
    let p = app.policy();
    let mut env: Vec<Json> = app
        .env
        .iter()
        .map(|(k, v)| json!({ "name": k, "value": literal(v) }))
        .collect();
    let secret = format!("{name}-secrets");
    for key in &app.secrets {
        env.push(json!({
            "name": key,
            "valueFrom": { "secretKeyRef": { "name": secret, "key": key } },
        }));
    }
    if !app.secrets.is_empty() {
        let from: Vec<String> = app
            .secrets
            .iter()
            .map(|k| format!("--from-literal={k}=..."))
            .collect();
        notes.push(format!(
            "{SET}.yaml: {} needs {}: kubectl create secret generic {secret} {}",
            app.name,
            app.secrets.join(", "),
            from.join(" ")
        ));
    }
    if p.stop_signal != nix::sys::signal::Signal::SIGTERM {
        notes.push(format!(
            "{SET}.yaml: {} stops on {} under tpm; a pod's containers get SIGTERM unless the image says otherwise (STOPSIGNAL {} in its Dockerfile)",
            app.name,
            p.stop_signal.as_str(),
            p.stop_signal.as_str()
        ));
    }
    let grace = p.kill_timeout.as_millis().div_ceil(1000) as u64;
    let policy_note = if !p.autorestart {
        "tpm: autorestart off (a Deployment always restarts its pods)".to_string()
    } else if p.max_restarts > 0 {
        format!(
            "tpm: errored after {} quick exits in a row; first delay {}ms, doubling to 15s (Kubernetes: CrashLoopBackOff, never gives up)",
            p.max_restarts,
            p.restart_delay.as_millis()
        )
    } else {
        format!(
            "tpm: never gives up; first delay {}ms, doubling to 15s (Kubernetes: CrashLoopBackOff)",
            p.restart_delay.as_millis()
        )
    };
    let mut annotations = json!({ "tpm/name": app.name.as_str(), "tpm/restart": policy_note });
    if !app.depends_on.is_empty() {
        annotations["tpm/depends-on"] = json!(super::said(&app.depends_on));
    }
    let mut deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "labels": labels(name),
            "annotations": annotations,
        },
        "spec": {
            "replicas": app.instances,
            "selector": { "matchLabels": { "app.kubernetes.io/name": name } },
            "template": {
                "metadata": { "labels": labels(name) },
                "spec": {
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": grace,
                    "containers": [{
                        "name": name,
                        "image": image,
                        "command": [literal(&app.argv[0])],
                        "args": app.argv[1..].iter().map(|a| literal(a)).collect::<Vec<_>>(),
                        // Not expanded by Kubernetes: written as it is.
                        "workingDir": app.spec.cwd,
                        "env": env,
                    }],
                },
            },
        },
    });
    if let Some(port) = app.spec.port {
        deployment["spec"]["template"]["spec"]["containers"][0]["ports"] =
            json!([{ "name": "app", "containerPort": port, "protocol": "TCP" }]);
    }
    if let Some(probe) = readiness_probe(app) {
        deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = probe;
    }
    if let Some(h) = &app.spec.health {
        deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] =
            liveness_probe(app, h);
        if h.action == crate::health::HealthAction::Mark {
            notes.push(format!(
                "{name}: its liveness check only marks it under tpm; a Kubernetes livenessProbe restarts the container"
            ));
        }
    }
    if app.spec.ready.check == ReadyCheck::Notify || app.spec.watchdog.is_some() {
        notes.push(format!(
            "{name}: it speaks systemd's notify protocol (READY=1, WATCHDOG=1), which Kubernetes does not: no probe stands for it"
        ));
    }
    deployment
}

/// The readiness check as a Kubernetes probe; none (ready once running) for
/// `--no-ready-check` or a process without a PORT.
fn readiness_probe(app: &Prepared) -> Option<Json> {
    let port = app.spec.port?;
    match &app.spec.ready.check {
        ReadyCheck::Http(path) => Some(json!({
            "httpGet": { "path": path, "port": port },
            "periodSeconds": 5,
        })),
        ReadyCheck::None => None,
        ReadyCheck::Notify | ReadyCheck::Port | ReadyCheck::Line(_) => Some(json!({
            "tcpSocket": { "port": port },
            "periodSeconds": 5,
        })),
    }
}

/// A liveness check as a Kubernetes probe.
fn liveness_probe(app: &Prepared, h: &crate::health::Health) -> Json {
    use crate::health::HealthCheck;
    // Whole seconds, rounded up: Kubernetes takes nothing finer.
    let secs = |d: std::time::Duration, min: u64| d.as_millis().div_ceil(1000).max(min.into());
    let port = app.spec.port.unwrap_or_default();
    let mut probe = match &h.check {
        HealthCheck::Http(path) => json!({ "httpGet": { "path": path, "port": port } }),
        HealthCheck::Tcp => json!({ "tcpSocket": { "port": port } }),
        HealthCheck::Cmd(cmd) => json!({ "exec": { "command": ["sh", "-c", cmd] } }),
    };
    probe["periodSeconds"] = json!(secs(h.interval, 1));
    probe["timeoutSeconds"] = json!(secs(h.timeout, 1));
    probe["failureThreshold"] = json!(h.retries);
    probe["initialDelaySeconds"] = json!(secs(h.start_period, 0));
    probe
}

fn service(app: &Prepared, name: &str, port: u16) -> Json {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "labels": labels(name),
            "annotations": { "tpm/name": app.name.as_str() },
        },
        "spec": {
            "selector": { "app.kubernetes.io/name": name },
            "ports": [{
                "name": "app",
                "port": port,
                "targetPort": port,
                "protocol": "TCP",
            }],
        },
    })
}

/// `value` as Kubernetes reads it back: `$` doubled, so no `$(VAR)` is expanded.
fn literal(value: &str) -> String {
    value.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::super::tests::app;
    use super::super::{dns_name, render, Engine, ExportOptions, MAX_NAME};

    #[test]
    fn names_become_dns_labels() {
        assert_eq!(dns_name("api_v2.X-3000"), "api-v2-x-3000");
        assert_eq!(dns_name("3000-x"), "tpm-3000-x");
        assert_eq!(dns_name(&"a".repeat(100)).len(), MAX_NAME);
    }

    #[test]
    fn two_apps_with_one_dns_name_are_refused() {
        let apps = [app("a.b-3000", &["sh"], &[]), app("a_b-3000", &["sh"], &[])];
        let options = ExportOptions {
            image: Some("busybox".into()),
            ..ExportOptions::default()
        };
        let err = render(Engine::Kubernetes, &apps, &options).unwrap_err();
        assert!(err.to_string().contains("a-b-3000"), "{err}");
    }
}
