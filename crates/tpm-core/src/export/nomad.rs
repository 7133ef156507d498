//! Nomad: one job, `tpm-apps`, of type `service`, with one group per app and in it one
//! `raw_exec` task (the program runs on the client host, as under tpm: `raw_exec` must be
//! enabled on the clients, and runs tasks as the client's user unless `user` is set; its
//! `work_dir`, the app's cwd, needs Nomad 1.9.2 or later). As a
//! job file (`tpm-apps.nomad.hcl`), or as the HTTP API's JSON (`tpm-apps.nomad.json`:
//! PascalCase, durations in nanoseconds) for `nomad job run -json` or `POST /v1/jobs`.
//!
//! The policy, mapped (Nomad restarts at a constant `delay`: it has no backoff in place):
//! - The crash-loop verdict after N quick exits (`Policy::verdict`, the slowest loop) →
//!   `restart { attempts = N - 1, mode = "fail" }`, with `interval` the time they take
//!   (at least Nomad's minimum of 5 s): N exits within it fail
//!   the allocation, as N quick exits make tpm's process `errored`. Nomad counts every exit
//!   in the interval, quick or not: close, not exact. `delay` is tpm's first delay.
//! - No verdict (`max_restarts` 0: never give up) → `mode = "delay"`: `attempts` is the number of
//!   doublings tpm's delay takes to reach its 15 s cap, in an interval as long as those
//!   restarts take under tpm; then Nomad waits for the interval to end and goes on. The
//!   same number of restarts in the same time, spaced differently.
//! - `autorestart` off → `attempts = 0, mode = "fail"`.
//! - An app that failed stays down, as `errored` does under tpm: `reschedule { attempts =
//!   0, unlimited = false }` keeps Nomad from placing it again elsewhere.
//! - Stopping: `kill_signal` the stop signal (SIGTERM by default) and `kill_timeout` (Nomad caps it at the client's
//!   `max_kill_timeout`, 30 s by default); the signal goes to the task's process, and
//!   whatever is left is killed with the task.
//! - The port: a static port labelled `app` in the group's `network`, with the app's PORT
//!   (no `network` for a process without one).
//! - Logs: `logs { max_files max_file_size }` from tpm's rotation (the current file and
//!   the kept ones; sizes in whole MiB).
//! - Secrets: in the job file, each is an input variable (`variable` blocks without a
//!   default: `nomad job run` refuses to run until it is given, with `-var`, `-var-file` or
//!   `NOMAD_VAR_name`); the API's JSON has no variables, so it holds a placeholder to
//!   replace.
//!
//! - A liveness check → the task's `service` with one `check` (`http` on the path, `tcp`,
//!   or `script` running `sh -c`), `interval` and `timeout` as tpm's; `check_restart` with
//!   `limit` the retries and `grace` the start period restarts the task, unless the action
//!   is `mark`. HTTP and TCP checks use Nomad's own service provider; a script check needs
//!   Consul (`provider = "consul"`, a note says so). The notify protocol has no Nomad
//!   equivalent (a note).
//!
//! Values may hold `${...}`: HCL reads it literally (it is escaped), and Nomad then
//! interpolates its runtime variables (`${NOMAD_...}`, `${node...}`) in `config` and `env`;
//! other names are left as they are.

use serde_json::{json, Map, Value as Json};

use super::hcl::{Body, Value};
use super::{duration, ExportFile, ExportOptions, NomadFormat, Prepared, MARKER, SET};
use crate::error::Result;
use crate::health::{Health, HealthAction, HealthCheck};
use crate::policy::{Policy, STABLE_AFTER};

/// Nomad's shortest restart interval.
const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// A group's disk for logs and files unless it asks for more (`ephemeral_disk`).
const DEFAULT_DISK_MB: u64 = 300;
/// The port's label: `NOMAD_PORT_app` in the task's environment.
const PORT_LABEL: &str = "app";

/// tpm's restart policy as Nomad's `restart` block.
#[derive(Debug, Clone, PartialEq)]
struct Restart {
    attempts: u32,
    interval: std::time::Duration,
    delay: std::time::Duration,
    /// `fail` (give up), or `delay` (wait for the interval to end, then go on).
    mode: &'static str,
}

impl Restart {
    fn of(p: &Policy) -> Restart {
        let (attempts, interval, mode) = if !p.autorestart {
            (0, MIN_INTERVAL, "fail")
        } else if let Some((exits, span)) = p.verdict() {
            (exits - 1, span, "fail")
        } else {
            let attempts = p.steps_to_cap().max(1);
            (attempts, p.crash_loop_span(attempts + 1), "delay")
        };
        Restart {
            attempts,
            interval: interval.max(MIN_INTERVAL),
            delay: p.restart_delay,
            mode,
        }
    }

    fn gives_up(&self) -> bool {
        self.mode == "fail"
    }
}

/// tpm's log rotation as Nomad's `logs`: files kept (the current one included) and the
/// size of each in whole MiB; `None` when tpm never rotates (Nomad always does).
fn logs(app: &Prepared) -> Option<(u64, u64)> {
    let l = &app.spec.logs;
    if l.max_size == 0 {
        return None;
    }
    Some((
        u64::from(l.keep) + 1,
        l.max_size.div_ceil(1024 * 1024).max(1),
    ))
}

/// The input variable that holds secret `key` of `app`, as an HCL identifier.
fn variable(app: &Prepared, key: &str) -> String {
    let raw = format!("secret_{}_{key}", app.name);
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(super) fn render(
    apps: &[Prepared],
    options: &ExportOptions,
    notes: &mut Vec<String>,
) -> Result<Vec<ExportFile>> {
    let file = match options.nomad_format {
        NomadFormat::Hcl => ExportFile {
            path: format!("{SET}.nomad.hcl").into(),
            text: hcl(apps, notes),
        },
        NomadFormat::Json => {
            let mut text = serde_json::to_string_pretty(&api_json(apps, notes))
                .map_err(|e| crate::error::Error::Usage(format!("cannot write JSON: {e}")))?;
            text.push('\n');
            ExportFile {
                path: format!("{SET}.nomad.json").into(),
                text,
            }
        }
    };
    Ok(vec![file])
}

fn hcl(apps: &[Prepared], notes: &mut Vec<String>) -> String {
    let mut top = Body::new().comment(format!(
        "{MARKER}: running it again replaces this file.\nThe apps run with raw_exec, which must be enabled on the clients."
    ));
    let mut job = Body::new()
        .attr("type", Value::str("service"))
        .attr("datacenters", Value::List(vec![Value::str("*")]))
        .block("meta", &[], Body::new().attr("tpm", Value::str(MARKER)));
    for app in apps {
        let mut env: Vec<(String, Value)> = app
            .env
            .iter()
            .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
            .collect();
        for key in &app.secrets {
            let var = variable(app, key);
            top = top.block(
                "variable",
                &[&var],
                Body::new()
                    .attr("type", Value::Expr("string".into()))
                    .attr("sensitive", Value::Bool(true))
                    .attr("description", Value::str(format!("{key} of {}", app.name))),
            );
            env.push((key.clone(), Value::Expr(format!("var.{var}"))));
            notes.push(format!(
                "{SET}.nomad.hcl: {} needs {key}: give it with `nomad job run -var {var}=...` (or NOMAD_VAR_{var}, or a -var-file)",
                app.name
            ));
        }
        let r = Restart::of(app.policy());
        let mut config = Body::new().attr("command", Value::str(app.argv[0].as_str()));
        if app.argv.len() > 1 {
            config = config.attr(
                "args",
                Value::List(
                    app.argv[1..]
                        .iter()
                        .map(|a| Value::str(a.as_str()))
                        .collect(),
                ),
            );
        }
        config = config.attr("work_dir", Value::str(app.spec.cwd.as_str()));
        let mut task = Body::new()
            .attr("driver", Value::str("raw_exec"))
            .attr("kill_signal", Value::str(app.policy().stop_signal.as_str()))
            .attr(
                "kill_timeout",
                Value::str(duration(app.policy().kill_timeout)),
            )
            .block("config", &[], config)
            .attr("env", Value::Object(env));
        if let Some(h) = &app.spec.health {
            task = task.block("service", &[], service_hcl(app, h, notes));
        }
        notify_note(app, notes);
        if let Some((files, mb)) = logs(app) {
            task = task.block(
                "logs",
                &[],
                Body::new()
                    .attr("max_files", Value::Int(files as i64))
                    .attr("max_file_size", Value::Int(mb as i64)),
            );
        }
        let mut group = Body::new().attr("count", Value::Int(i64::from(app.instances)));
        // A process without a PORT (a worker) reserves none.
        if let Some(port) = app.spec.port {
            group = group.block(
                "network",
                &[],
                Body::new().block(
                    "port",
                    &[PORT_LABEL],
                    Body::new().attr("static", Value::Int(i64::from(port))),
                ),
            );
        }
        let mut group = group.comment(restart_comment(app.policy(), &r)).block(
            "restart",
            &[],
            Body::new()
                .attr("attempts", Value::Int(i64::from(r.attempts)))
                .attr("interval", Value::str(duration(r.interval)))
                .attr("delay", Value::str(duration(r.delay)))
                .attr("mode", Value::str(r.mode)),
        );
        if r.gives_up() {
            group = group.block(
                "reschedule",
                &[],
                Body::new()
                    .attr("attempts", Value::Int(0))
                    .attr("unlimited", Value::Bool(false)),
            );
        }
        if let Some(mb) = disk_mb(app) {
            group = group.block(
                "ephemeral_disk",
                &[],
                Body::new().attr("size", Value::Int(mb as i64)),
            );
        }
        if !app.depends_on.is_empty() {
            group = group.comment(depends_comment(app)).block(
                "meta",
                &[],
                Body::new().attr("tpm_depends_on", Value::str(depends_meta(app))),
            );
            notes.push(depends_note(app));
        }
        group = group.block("task", &[app.name.as_str()], task);
        job = job.block("group", &[app.name.as_str()], group);
    }
    top.block("job", &[SET], job).render()
}

/// `db-5432:ready,cache:started`, as the record keeps them.
fn depends_meta(app: &Prepared) -> String {
    app.depends_on
        .iter()
        .map(|(n, c)| format!("{n}:{c}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn depends_comment(app: &Prepared) -> String {
    format!(
        "tpm: starts once {} (meta tpm_depends_on); Nomad starts a job's groups at once",
        app.depends_on
            .iter()
            .map(|(n, c)| format!("{n} is {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn depends_note(app: &Prepared) -> String {
    format!(
        "{SET}.nomad: {} depends on {}; Nomad orders tasks only within a group (lifecycle prestart/poststart hooks), not groups: it starts them all at once, and {} must retry until they serve",
        app.name,
        super::said(&app.depends_on),
        app.name
    )
}

/// The service a liveness check is registered as: the app's name as Nomad wants one
/// (a DNS label, as Consul resolves it).
fn service_name(app: &Prepared) -> String {
    super::dns_name(app.name.as_str())
}

/// Nomad's own provider checks HTTP and TCP; a script check is Consul's.
fn provider(h: &Health) -> &'static str {
    match h.check {
        HealthCheck::Cmd(_) => "consul",
        _ => "nomad",
    }
}

fn service_hcl(app: &Prepared, h: &Health, notes: &mut Vec<String>) -> Body {
    let mut check = Body::new();
    check = match &h.check {
        HealthCheck::Http(path) => check
            .attr("type", Value::str("http"))
            .attr("path", Value::str(path.as_str())),
        HealthCheck::Tcp => check.attr("type", Value::str("tcp")),
        HealthCheck::Cmd(cmd) => {
            notes.push(format!(
                "{SET}.nomad.hcl: {}'s liveness command is a script check, which Nomad runs only with Consul (provider \"consul\")",
                app.name
            ));
            check
                .attr("type", Value::str("script"))
                .attr("command", Value::str("/bin/sh"))
                .attr(
                    "args",
                    Value::List(vec![Value::str("-c"), Value::str(cmd.as_str())]),
                )
        }
    };
    check = check
        .attr("interval", Value::str(duration(h.interval)))
        .attr("timeout", Value::str(duration(h.timeout)));
    if h.action == HealthAction::Restart {
        check = check.block(
            "check_restart",
            &[],
            Body::new()
                .attr("limit", Value::Int(i64::from(h.retries)))
                .attr("grace", Value::str(duration(h.start_period))),
        );
    }
    let mut service = Body::new()
        .attr("name", Value::str(service_name(app)))
        .attr("provider", Value::str(provider(h)));
    if app.spec.port.is_some() {
        service = service.attr("port", Value::str(PORT_LABEL));
    }
    service.block("check", &[], check)
}

fn service_json(app: &Prepared, h: &Health) -> Json {
    let mut check = match &h.check {
        HealthCheck::Http(path) => json!({ "Type": "http", "Path": path }),
        HealthCheck::Tcp => json!({ "Type": "tcp" }),
        HealthCheck::Cmd(cmd) => {
            json!({ "Type": "script", "Command": "/bin/sh", "Args": ["-c", cmd] })
        }
    };
    check["Name"] = json!(format!("{}-health", service_name(app)));
    check["Interval"] = ns(h.interval);
    check["Timeout"] = ns(h.timeout);
    if h.action == HealthAction::Restart {
        check["CheckRestart"] = json!({ "Limit": h.retries, "Grace": ns(h.start_period) });
    }
    let mut service = json!({
        "Name": service_name(app),
        "Provider": provider(h),
        "Checks": [check],
    });
    if app.spec.port.is_some() {
        service["PortLabel"] = json!(PORT_LABEL);
    }
    service
}

fn notify_note(app: &Prepared, notes: &mut Vec<String>) {
    if app.spec.ready.check == crate::readiness::ReadyCheck::Notify || app.spec.watchdog.is_some() {
        notes.push(format!(
            "{SET}.nomad.hcl: {} speaks systemd's notify protocol (READY=1, WATCHDOG=1), which Nomad does not: no check stands for it",
            app.name
        ));
    }
}

fn restart_comment(p: &Policy, r: &Restart) -> String {
    if !p.autorestart {
        "tpm: no restart (autorestart off); a failed app stays down".into()
    } else if r.gives_up() {
        format!(
            "tpm: errored after {} quick exits in a row; restarts begin {} apart and double up to 15s (Nomad's stay {} apart)",
            p.max_restarts,
            duration(p.restart_delay),
            duration(r.delay)
        )
    } else {
        format!(
            "tpm: never gives up; restarts begin {} apart, double up to 15s, and are {} apart again after {} up",
            duration(p.restart_delay),
            duration(p.restart_delay),
            duration(STABLE_AFTER)
        )
    }
}

/// A disk large enough for the logs, when Nomad's default is not.
fn disk_mb(app: &Prepared) -> Option<u64> {
    let (files, mb) = logs(app)?;
    let needed = files * mb;
    (needed > DEFAULT_DISK_MB).then_some(needed + DEFAULT_DISK_MB)
}

fn ns(d: std::time::Duration) -> Json {
    json!(d.as_nanos() as u64)
}

/// The job as the HTTP API reads it (`{"Job": {...}}`, as `nomad job run -output` prints).
fn api_json(apps: &[Prepared], notes: &mut Vec<String>) -> Json {
    let groups: Vec<Json> = apps
        .iter()
        .map(|app| {
            let mut env = Map::new();
            for (k, v) in &app.env {
                env.insert(k.clone(), json!(v));
            }
            for key in &app.secrets {
                env.insert(key.clone(), json!(placeholder(key)));
                notes.push(format!(
                    "{SET}.nomad.json: {} needs {key}: replace {:?} in the file with its value before submitting it",
                    app.name,
                    placeholder(key)
                ));
            }
            let r = Restart::of(app.policy());
            let mut config = Map::new();
            config.insert("command".into(), json!(app.argv[0]));
            if app.argv.len() > 1 {
                config.insert("args".into(), json!(app.argv[1..]));
            }
            config.insert("work_dir".into(), json!(app.spec.cwd));
            let mut task = json!({
                "Name": app.name.as_str(),
                "Driver": "raw_exec",
                "Config": config,
                "Env": env,
                "KillSignal": app.policy().stop_signal.as_str(),
                "KillTimeout": ns(app.policy().kill_timeout),
            });
            if let Some(h) = &app.spec.health {
                task["Services"] = json!([service_json(app, h)]);
            }
            if let Some((files, mb)) = logs(app) {
                task["LogConfig"] = json!({ "MaxFiles": files, "MaxFileSizeMB": mb });
            }
            let mut group = json!({
                "Name": app.name.as_str(),
                "Count": app.instances,
                "RestartPolicy": {
                    "Attempts": r.attempts,
                    "Interval": ns(r.interval),
                    "Delay": ns(r.delay),
                    "Mode": r.mode,
                },
                "Tasks": [task],
            });
            if let Some(port) = app.spec.port {
                group["Networks"] =
                    json!([{ "ReservedPorts": [{ "Label": PORT_LABEL, "Value": port }] }]);
            }
            if !app.depends_on.is_empty() {
                group["Meta"] = json!({ "tpm_depends_on": depends_meta(app) });
                notes.push(depends_note(app));
            }
            if r.gives_up() {
                group["ReschedulePolicy"] = json!({ "Attempts": 0, "Unlimited": false });
            }
            if let Some(mb) = disk_mb(app) {
                group["EphemeralDisk"] = json!({ "SizeMB": mb });
            }
            group
        })
        .collect();
    json!({
        "Job": {
            "ID": SET,
            "Name": SET,
            "Type": "service",
            "Datacenters": ["*"],
            "Meta": { "tpm": MARKER },
            "TaskGroups": groups,
        }
    })
}

fn placeholder(key: &str) -> String {
    format!("<fill in {key}>")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_restart_block_follows_the_policy() {
        let p = Policy::default();
        assert_eq!(
            Restart::of(&p),
            // The verdict on the slowest loop: 3 exits in 3.3 s, in Nomad's 5 s minimum.
            Restart {
                attempts: 2,
                interval: MIN_INTERVAL,
                delay: Duration::from_millis(100),
                mode: "fail"
            }
        );
        let forever = Policy {
            max_restarts: 0,
            ..p
        };
        let r = Restart::of(&forever);
        assert_eq!((r.attempts, r.mode), (8, "delay"));
        assert_eq!(r.interval, Duration::from_millis(8_991 + 25_500));
        let once = Policy {
            max_restarts: 1,
            ..p
        };
        assert_eq!(Restart::of(&once).attempts, 0);
        assert_eq!(Restart::of(&once).interval, MIN_INTERVAL);
        let off = Policy {
            autorestart: false,
            ..p
        };
        assert_eq!(
            (Restart::of(&off).attempts, Restart::of(&off).mode),
            (0, "fail")
        );
    }
}
