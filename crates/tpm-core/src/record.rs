//! The process record: `processes/NAME.meta`, one line of `key=value` pairs.
//!
//! A record joins a process's [`Spec`] (what should run) and its [`State`] (what is
//! happening), with its id. Values are quoted with POSIX shell rules, so
//! `eval "$(cat NAME.meta)"` in bash sets one variable per key. The keys of the
//! file contract (docs/supervision.md) come first (`script pid port start_time type cwd node_env`, as the shell
//! version of tpm wrote them); tpm's own follow; keys this version does not know are kept,
//! in order, when the record is rewritten. Every known key is always written (empty when it
//! has no value), so a shell loop that evals several records never sees a stale value.

use std::time::Duration;

use crate::health::{Health, HealthCheck};
use crate::policy::{self, Policy};
use crate::readiness::{self, Readiness, ReadyCheck};
use crate::rotation::{self, LogLimits};
use crate::spec::{Spec, KIND_CLI};
use crate::state::State;
use crate::status::Status;

/// The most bytes a record may be: a larger file is corrupt, never read into memory. No
/// record over it is ever written (see [`Record::checked_line`]): what tpm writes, it can
/// read back.
pub const MAX_RECORD: usize = 64 * 1024;

/// Room a new spec leaves in its record for what supervisors add to it later (status,
/// pids, start times, a reason): a spec is refused above `MAX_RECORD - STATE_ROOM` bytes.
pub const STATE_ROOM: usize = 4 * 1024;

/// The most of a reason a record keeps, in bytes: a reason may quote a command, and the
/// record must stay readable whatever the command.
const MAX_REASON: usize = 512;

/// Fields at least this large are named when a record is too large.
const NAMED_FIELD: usize = 1024;

/// Every key tpm writes, in the order it writes them: the file contract's first.
pub const KEYS: [&str; 75] = [
    "script",
    "pid",
    "port",
    "start_time",
    "type",
    "cwd",
    "node_env",
    "name",
    "id",
    "status",
    "restarts",
    "exit_code",
    "reason",
    "cmd",
    "env",
    "wanted",
    "autorestart",
    "max_restarts",
    "restart_delay",
    "kill_timeout",
    "pid_start",
    "spid",
    "spid_start",
    "boot_id",
    "created_at",
    "log_dropped",
    "log_max_size",
    "log_keep",
    "log_compress",
    "log_rotate",
    "log_max_age",
    "log_max_total",
    "cgroup",
    "cpu",
    "mem",
    "listening",
    "min_uptime",
    "stop_signal",
    "stop_exit_codes",
    "ready_check",
    "ready_line",
    "ready_http",
    "wait_ready",
    "listen_timeout",
    "ready",
    "max_memory",
    "cron_restart",
    "watch",
    "ignore_watch",
    "instance",
    "port_step",
    "socket",
    "log_written",
    "exits",
    "cpu_time",
    "instance_var",
    "increment_var",
    "file",
    "app",
    "discard_out",
    "discard_err",
    "depends_on",
    "cpu_at",
    "health_check",
    "health_http",
    "health_cmd",
    "health_interval",
    "health_timeout",
    "health_retries",
    "health_start_period",
    "health_action",
    "watchdog",
    "health",
    "health_failures",
    "notify_status",
];

/// A record as stored. The name is the file name, not a field.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The number `tpm list` shows; commands take it in place of the name.
    pub id: Option<u32>,
    /// Unix time the record was first created.
    pub created_at: Option<i64>,
    pub spec: Spec,
    pub state: State,
    /// Keys this version does not know, kept as they were.
    pub extra: Vec<(String, String)>,
}

impl Record {
    /// A fresh record for a process about to be launched.
    pub fn new(spec: Spec) -> Record {
        Record {
            id: None,
            created_at: None,
            spec,
            state: State {
                status: Status::Launching,
                ..State::default()
            },
            extra: Vec::new(),
        }
    }

    /// Serializes to the one-line format, ending in a newline. See [`Record::checked_line`]
    /// for the line a store may write.
    pub fn to_line(&self, name: &str) -> String {
        let pairs = self.pairs(name);
        let mut out =
            String::with_capacity(512 + pairs.iter().map(|(_, v)| v.len()).sum::<usize>());
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
        out.push('\n');
        out
    }

    /// The line, when it is at most `limit` bytes; otherwise why not, for the user: how
    /// large it would be and which fields make it so (each variable and argument of a
    /// kilobyte or more by name).
    pub fn checked_line(&self, name: &str, limit: usize) -> Result<String, crate::error::Error> {
        let line = self.to_line(name);
        if line.len() <= limit {
            return Ok(line);
        }
        let mut fields: Vec<(usize, String)> = Vec::new();
        for (key, value) in self.pairs(name) {
            let size = key.len() + 1 + value.len();
            if size < NAMED_FIELD {
                continue;
            }
            let parts: Vec<String> = match key {
                "env" => self
                    .spec
                    .env
                    .iter()
                    .filter(|(_, v)| v.len() >= NAMED_FIELD)
                    .map(|(k, v)| format!("{k}: {} bytes", v.len()))
                    .collect(),
                "cmd" => self
                    .spec
                    .cmd
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.len() >= NAMED_FIELD)
                    .map(|(i, a)| match i {
                        0 => format!("the program: {} bytes", a.len()),
                        _ => format!("argument {i}: {} bytes", a.len()),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let detail = match parts.is_empty() {
                true => String::new(),
                false => format!(", of which {}", parts.join(", ")),
            };
            fields.push((size, format!("{key} takes {size} bytes as stored{detail}")));
        }
        fields.sort_by_key(|f| std::cmp::Reverse(f.0));
        Err(crate::error::Error::RecordTooLarge {
            name: name.to_string(),
            size: line.len(),
            limit,
            fields: fields.into_iter().map(|(_, f)| f).collect(),
        })
    }

    /// Each key and its value as written (quoted), in order: [`KEYS`], then `extra`.
    fn pairs(&self, name: &str) -> Vec<(&str, String)> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        // Set only when on: most records never have it.
        let flag = |on: bool| {
            if on {
                "true".to_string()
            } else {
                String::new()
            }
        };
        let (spec, state) = (&self.spec, &self.state);
        let health = spec.health.as_ref();
        let values: [String; KEYS.len()] = [
            // The file contract's keys, in its order.
            spec.script.clone(),
            opt(state.pid.map(|v| v.to_string())),
            opt(spec.port.map(|p| p.to_string())),
            opt(state.start_time.map(|v| v.to_string())),
            spec.kind.clone(),
            spec.cwd.clone(),
            spec.node_env().unwrap_or_default().to_string(),
            // tpm's.
            name.to_string(),
            opt(self.id.map(|v| v.to_string())),
            state.status.to_string(),
            state.restarts.to_string(),
            opt(state.exit_code.map(|v| v.to_string())),
            clip_bytes(one_line(state.reason.as_deref().unwrap_or("")), MAX_REASON),
            shell_words::join(&spec.cmd),
            shell_words::join(spec.env.iter().map(|(k, v)| format!("{k}={v}"))),
            spec.wanted.to_string(),
            spec.policy.autorestart.to_string(),
            spec.policy.max_restarts.to_string(),
            spec.policy.restart_delay.as_millis().to_string(),
            spec.policy.kill_timeout.as_millis().to_string(),
            opt(state.pid_start.map(|v| v.to_string())),
            opt(state.spid.map(|v| v.to_string())),
            opt(state.spid_start.map(|v| v.to_string())),
            opt(state.boot_id.clone()),
            opt(self.created_at.map(|v| v.to_string())),
            state.log_dropped.to_string(),
            spec.logs.max_size.to_string(),
            spec.logs.keep.to_string(),
            spec.logs.compress.to_string(),
            spec.logs.every.map_or("", |e| e.as_str()).to_string(),
            spec.logs.max_age.as_millis().to_string(),
            spec.logs.max_total.to_string(),
            opt(state.cgroup.clone()),
            opt(state.cpu.map(|v| format!("{v:.1}"))),
            opt(state.mem.map(|v| v.to_string())),
            opt(state.listening.map(|v| v.to_string())),
            spec.policy.min_uptime.as_millis().to_string(),
            spec.policy.stop_signal.as_str().to_string(),
            spec.policy.stop_exit_codes.to_text(),
            spec.ready.check.kind().to_string(),
            match &spec.ready.check {
                ReadyCheck::Line(re) => re.clone(),
                _ => String::new(),
            },
            match &spec.ready.check {
                ReadyCheck::Http(path) => path.clone(),
                _ => String::new(),
            },
            spec.ready.wait.to_string(),
            spec.ready.wait_timeout.as_millis().to_string(),
            opt(state.ready.map(|v| v.to_string())),
            spec.policy.max_memory.to_string(),
            opt(spec.cron_restart.clone()),
            spec.watch
                .as_ref()
                .map_or_else(String::new, |w| shell_words::join(&w.paths)),
            spec.watch
                .as_ref()
                .map_or_else(String::new, |w| shell_words::join(&w.ignore)),
            opt(spec.cluster.instance.map(|v| v.to_string())),
            spec.cluster.port_step.to_string(),
            spec.cluster.socket.to_string(),
            state.log_written.to_string(),
            state.exits.to_text(),
            state.cpu_time_ms.to_string(),
            opt(spec.cluster.instance_var.clone()),
            opt(spec.cluster.increment_var.clone()),
            opt(spec.file.clone()),
            opt(spec.app.clone()),
            flag(spec.discard.out),
            flag(spec.discard.err),
            crate::depends::to_text(&spec.depends_on),
            opt(state.cpu_at.map(|v| v.to_string())),
            // A liveness check's settings are written only with a check.
            health.map_or("", |h| h.check.kind()).to_string(),
            match health.map(|h| &h.check) {
                Some(HealthCheck::Http(path)) => path.clone(),
                _ => String::new(),
            },
            match health.map(|h| &h.check) {
                Some(HealthCheck::Cmd(cmd)) => cmd.clone(),
                _ => String::new(),
            },
            opt(health.map(|h| h.interval.as_millis().to_string())),
            opt(health.map(|h| h.timeout.as_millis().to_string())),
            opt(health.map(|h| h.retries.to_string())),
            opt(health.map(|h| h.start_period.as_millis().to_string())),
            health.map_or("", |h| h.action.as_str()).to_string(),
            opt(spec.watchdog.map(|w| w.as_millis().to_string())),
            state.health.map_or("", |h| h.as_str()).to_string(),
            match state.health_failures {
                0 => String::new(),
                n => n.to_string(),
            },
            clip_bytes(
                one_line(state.notify_status.as_deref().unwrap_or("")),
                MAX_REASON,
            ),
        ];
        let known = KEYS.iter().zip(&values).map(|(k, v)| (*k, v.as_str()));
        let extra = self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        known
            .chain(extra)
            .map(|(key, value)| (key, quote(value).into_owned()))
            .collect()
    }

    /// Parses the one-line format. The error says what is wrong, for the user.
    pub fn parse(text: &str) -> Result<Record, String> {
        let tokens = shell_words::split(text).map_err(|e| format!("unreadable quoting ({e})"))?;
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(tokens.len());
        for token in tokens {
            let (key, value) = token
                .split_once('=')
                .ok_or_else(|| format!("{:?} is not a key=value pair", clip(&token)))?;
            if !is_key(key) {
                return Err(format!("{:?} is not a valid key", clip(key)));
            }
            if pairs.iter().any(|(k, _)| k == key) {
                return Err(format!("key {key:?} appears twice"));
            }
            pairs.push((key.to_string(), value.to_string()));
        }
        let mut fields = Fields(pairs);

        let script = fields.take("script").ok_or("the script key is missing")?;
        // Empty (or absent): a process that listens on no PORT.
        let port = match fields.take("port").filter(|p| !p.is_empty()) {
            Some(text) => Some(
                crate::port::parse_port(&text)
                    .ok_or_else(|| format!("port {:?} is not a port number", clip(&text)))?,
            ),
            None => None,
        };
        let cmd = match fields.take("cmd").filter(|c| !c.is_empty()) {
            Some(c) => {
                shell_words::split(&c).map_err(|e| format!("cmd: unreadable quoting ({e})"))?
            }
            // Records written by the shell version of tpm have no cmd: run the script.
            None => vec![script.clone()],
        };
        let mut env = match fields.take("env") {
            Some(e) => shell_words::split(&e)
                .map_err(|e| format!("env: unreadable quoting ({e})"))?
                .into_iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                    _ => Err(format!("env: {:?} is not NAME=value", clip(&kv))),
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        // The shell version of tpm kept NODE_ENV only here: it was part of the environment.
        if let Some(node_env) = fields.take("node_env").filter(|v| !v.is_empty()) {
            if !env.iter().any(|(k, _)| k == "NODE_ENV") {
                env.push(("NODE_ENV".into(), node_env));
            }
        }
        let status = match fields.take("status").filter(|s| !s.is_empty()) {
            Some(s) => s
                .parse::<Status>()
                .map_err(|()| format!("status {:?} is not a status", clip(&s)))?,
            None => Status::Stopped,
        };
        // Values past the options' ranges (a record from an older tpm, or edited by hand)
        // are read as the largest allowed: a supervisor never waits for ever, nor allocates
        // for a billion rotated files.
        let defaults = Policy::default();
        let policy = Policy {
            autorestart: fields.parse("autorestart")?.unwrap_or(defaults.autorestart),
            max_restarts: fields
                .parse("max_restarts")?
                .unwrap_or(defaults.max_restarts)
                .min(policy::MAX_MAX_RESTARTS),
            restart_delay: fields
                .parse("restart_delay")?
                .map(Duration::from_millis)
                .unwrap_or(defaults.restart_delay)
                .min(policy::MAX_RESTART_DELAY),
            kill_timeout: fields
                .parse("kill_timeout")?
                .map(Duration::from_millis)
                .unwrap_or(defaults.kill_timeout)
                .min(policy::MAX_KILL_TIMEOUT),
            min_uptime: fields
                .parse("min_uptime")?
                .map(Duration::from_millis)
                .unwrap_or(defaults.min_uptime)
                .min(policy::MAX_MIN_UPTIME),
            stop_signal: match fields.take("stop_signal").filter(|s| !s.is_empty()) {
                Some(s) => policy::parse_signal(&s).map_err(|e| format!("stop_signal: {e}"))?,
                None => defaults.stop_signal,
            },
            stop_exit_codes: match fields.take("stop_exit_codes") {
                Some(s) => {
                    policy::ExitCodes::parse(&s).map_err(|e| format!("stop_exit_codes: {e}"))?
                }
                None => defaults.stop_exit_codes,
            },
            max_memory: fields
                .parse("max_memory")?
                .unwrap_or(0)
                .min(policy::MAX_MAX_MEMORY),
        };
        let log_defaults = LogLimits::default();
        let logs = LogLimits {
            max_size: fields
                .parse("log_max_size")?
                .unwrap_or(log_defaults.max_size)
                .min(rotation::MAX_SIZE),
            keep: fields
                .parse("log_keep")?
                .unwrap_or(log_defaults.keep)
                .min(rotation::MAX_KEEP),
            compress: fields
                .parse("log_compress")?
                .unwrap_or(log_defaults.compress),
            every: rotation::Every::parse(&fields.take("log_rotate").unwrap_or_default())
                .map_err(|e| format!("log_rotate: {e}"))?,
            max_age: fields
                .parse("log_max_age")?
                .map(Duration::from_millis)
                .unwrap_or(log_defaults.max_age)
                .min(rotation::MAX_AGE),
            max_total: fields
                .parse("log_max_total")?
                .unwrap_or(log_defaults.max_total)
                .min(rotation::MAX_SIZE),
        };
        let ready_line = fields.take("ready_line").unwrap_or_default();
        let ready_http = fields.take("ready_http").unwrap_or_default();
        let check = match fields.take("ready_check").as_deref() {
            None | Some("" | "port") => ReadyCheck::Port,
            Some("line") => ReadyCheck::Line(ready_line),
            Some("http") => ReadyCheck::Http(ready_http),
            Some("notify") => ReadyCheck::Notify,
            Some("none") => ReadyCheck::None,
            Some(other) => return Err(format!("ready_check {:?} is not valid", clip(other))),
        };
        let ready = Readiness {
            check,
            wait: fields.parse("wait_ready")?.unwrap_or(false),
            wait_timeout: fields
                .parse("listen_timeout")?
                .map(Duration::from_millis)
                .unwrap_or(readiness::DEFAULT_WAIT_TIMEOUT)
                .min(readiness::MAX_WAIT_TIMEOUT),
        };
        let health = read_health(&mut fields)?;
        let watchdog = fields
            .parse("watchdog")?
            .map(Duration::from_millis)
            .map(|w: Duration| w.min(crate::health::MAX_WATCHDOG));
        // The name is the file's; a `name` key is only for shell readers.
        fields.take("name");
        let spec = Spec {
            cmd,
            cwd: fields.take("cwd").unwrap_or_default(),
            env,
            port,
            kind: fields
                .take("type")
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| KIND_CLI.into()),
            policy,
            logs,
            ready,
            health,
            watchdog,
            cron_restart: fields.take("cron_restart").filter(|c| !c.is_empty()),
            watch: {
                let words = |key: &str, fields: &mut Fields| -> Result<Vec<String>, String> {
                    match fields.take(key) {
                        Some(v) => shell_words::split(&v)
                            .map_err(|e| format!("{key}: unreadable quoting ({e})")),
                        None => Ok(Vec::new()),
                    }
                };
                let paths = words("watch", &mut fields)?;
                let ignore = words("ignore_watch", &mut fields)?;
                (!paths.is_empty()).then_some(crate::watch::Watch { paths, ignore })
            },
            // Older records have no `wanted`: a process left running was wanted.
            wanted: fields.parse("wanted")?.unwrap_or(status.is_active()),
            cluster: crate::spec::Cluster {
                instance: fields.parse("instance")?,
                port_step: fields
                    .parse("port_step")?
                    .unwrap_or(0)
                    .min(crate::options::MAX_PORT_STEP),
                socket: fields.parse("socket")?.unwrap_or(false),
                instance_var: fields.parse("instance_var")?,
                increment_var: fields.parse("increment_var")?,
            },
            discard: crate::spec::Discard {
                out: fields.parse("discard_out")?.unwrap_or(false),
                err: fields.parse("discard_err")?.unwrap_or(false),
            },
            file: fields.take("file").filter(|f| !f.is_empty()),
            app: fields.take("app").filter(|a| !a.is_empty()),
            depends_on: match fields.take("depends_on") {
                Some(text) => crate::depends::from_text(&text)?,
                None => Vec::new(),
            },
            script,
        };
        let state = State {
            status,
            pid: fields.parse("pid")?,
            pid_start: fields.parse("pid_start")?,
            spid: fields.parse("spid")?,
            spid_start: fields.parse("spid_start")?,
            boot_id: fields.take("boot_id").filter(|b| !b.is_empty()),
            start_time: fields.parse("start_time")?,
            restarts: fields.parse("restarts")?.unwrap_or(0),
            exit_code: fields.parse("exit_code")?,
            reason: fields.take("reason").filter(|r| !r.is_empty()),
            log_dropped: fields.parse("log_dropped")?.unwrap_or(0),
            // Counters: a value that does not read counts from zero again, never makes the
            // record unreadable.
            log_written: fields.parse("log_written").unwrap_or(None).unwrap_or(0),
            exits: crate::state::Exits::parse(&fields.take("exits").unwrap_or_default()),
            cpu_time_ms: fields.parse("cpu_time").unwrap_or(None).unwrap_or(0),
            cgroup: fields.take("cgroup").filter(|c| !c.is_empty()),
            // What the supervisor last saw of its tree: a value that does not read is
            // treated as not seen yet, never as a damaged record.
            cpu: fields
                .parse::<f64>("cpu")
                .unwrap_or(None)
                .filter(|c| c.is_finite() && *c >= 0.0),
            cpu_at: fields.parse("cpu_at").unwrap_or(None),
            mem: fields.parse("mem").unwrap_or(None),
            listening: fields.parse("listening").unwrap_or(None),
            ready: fields.parse("ready").unwrap_or(None),
            health: fields
                .take("health")
                .and_then(|h| crate::health::HealthState::parse(&h)),
            health_failures: fields.parse("health_failures").unwrap_or(None).unwrap_or(0),
            notify_status: fields.take("notify_status").filter(|s| !s.is_empty()),
        };
        Ok(Record {
            id: fields.parse("id")?,
            created_at: fields.parse("created_at")?,
            spec,
            state,
            extra: fields.0,
        })
    }
}

/// A liveness check's keys; values past the options' ranges are read as the nearest
/// allowed (a supervisor never checks in a busy loop, nor waits for ever).
fn read_health(fields: &mut Fields) -> Result<Option<Health>, String> {
    use crate::health as h;
    let http = fields.take("health_http").unwrap_or_default();
    let cmd = fields.take("health_cmd").unwrap_or_default();
    let check = match fields.take("health_check").as_deref() {
        None | Some("") => None,
        Some("http") => Some(HealthCheck::Http(http)),
        Some("tcp") => Some(HealthCheck::Tcp),
        Some("cmd") => Some(HealthCheck::Cmd(cmd)),
        Some(other) => return Err(format!("health_check {:?} is not valid", clip(other))),
    };
    let ms = |v: Option<u64>| v.map(Duration::from_millis);
    let interval = ms(fields.parse("health_interval")?);
    let timeout = ms(fields.parse("health_timeout")?);
    let retries: Option<u32> = fields.parse("health_retries")?;
    let start_period = ms(fields.parse("health_start_period")?);
    let action = match fields.take("health_action").filter(|a| !a.is_empty()) {
        Some(a) => h::HealthAction::parse(&a).map_err(|e| format!("health_action: {e}"))?,
        None => h::HealthAction::Restart,
    };
    Ok(check.map(|check| Health {
        check,
        interval: interval
            .unwrap_or(h::DEFAULT_INTERVAL)
            .clamp(h::MIN_INTERVAL, h::MAX_INTERVAL),
        timeout: timeout
            .unwrap_or(h::DEFAULT_TIMEOUT)
            .clamp(Duration::from_millis(1), h::MAX_TIMEOUT),
        retries: retries
            .unwrap_or(h::DEFAULT_RETRIES)
            .clamp(1, h::MAX_RETRIES),
        start_period: start_period.unwrap_or_default().min(h::MAX_INTERVAL),
        action,
    }))
}

/// The key=value pairs not yet taken; what is left over is `extra`.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn take(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    /// An optional typed value: absent or empty is `None`, anything unparsable an error.
    fn parse<T: std::str::FromStr>(&mut self, key: &str) -> Result<Option<T>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("{key} {:?} is not valid", clip(&v))),
        }
    }
}

/// A shell variable name, so that `eval` of the record works.
fn is_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Quotes for POSIX shells; empty values become `''` so every key is visibly present.
fn quote(value: &str) -> std::borrow::Cow<'_, str> {
    shell_words::quote(value)
}

/// Free text (reasons) must not break the one-line format.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most `max` bytes of `text`, cut at a character's boundary.
fn clip_bytes(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Keeps error messages about hostile input short.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut r = Record::new(Spec::new(
            "/srv/my app/server.sh".into(),
            vec!["bash".into(), "/srv/my app/server.sh".into(), "it's".into()],
            "/srv/my app".into(),
            Some(3000),
        ));
        r.id = Some(7);
        r.spec.env = vec![
            ("GREETING".into(), "hello world".into()),
            ("EMPTY".into(), String::new()),
        ];
        r.state.status = Status::Online;
        r.state.pid = Some(1234);
        r.state.pid_start = Some(99);
        r.state.start_time = Some(1_694_123_456);
        r.state.reason = Some("line one\nline two".into());
        r.extra = vec![
            ("team".into(), "web".into()),
            ("zz".into(), "$(rm -rf /)".into()),
        ];
        r
    }

    #[test]
    fn round_trips_including_unknown_keys() {
        let r = sample();
        let line = r.to_line("server-3000");
        assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
        let back = Record::parse(&line).unwrap();
        let mut expected = r;
        expected.state.reason = Some("line one line two".into());
        assert_eq!(back, expected);
    }

    #[test]
    fn shell_tpm_records_are_read() {
        let cli = Record::parse(
            "script=/path/to/script.sh pid=12345 port=3000 start_time=1694123456 type=cli",
        )
        .unwrap();
        assert_eq!(
            (cli.spec.port, cli.state.pid, cli.spec.kind.as_str()),
            (Some(3000), Some(12345), "cli")
        );
        assert_eq!(cli.spec.cmd, ["/path/to/script.sh"]);
        // No pid_start: the pid can never be verified, so it is never signalled.
        assert_eq!(cli.state.pid_start, None);
        assert_eq!(cli.state.status, Status::Stopped);
        assert!(!cli.spec.wanted);
        let eco = Record::parse(
            "script=./server/server.js pid=12346 port=4000 start_time=1694123500 type=ecosystem cwd=/path/to/project node_env=production",
        )
        .unwrap();
        assert_eq!(eco.spec.cwd, "/path/to/project");
        assert_eq!(eco.spec.kind, "ecosystem");
        assert_eq!(eco.spec.node_env(), Some("production"));
        assert!(eco.extra.is_empty());
        // Written back, the file contract's keys lead, in its order.
        let line = eco.to_line("server-4000");
        assert!(
            line.starts_with("script=./server/server.js pid=12346 port=4000 start_time=1694123500 type=ecosystem cwd=/path/to/project node_env=production name=server-4000 "),
            "{line}"
        );
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        for (text, says) in [
            ("", "script key is missing"),
            ("script=x port=abc", "not a port"),
            ("script=x port=3000 pid=12x", "pid"),
            ("script=x port=3000 script=y", "twice"),
            ("script='x port=3000", "quoting"),
            ("script=x port=3000 junk", "not a key=value"),
            ("script=x port=3000 1a=b", "not a valid key"),
            ("script=x port=3000 status=running", "status"),
            ("script=x port=3000 env=NOEQUALS", "env"),
            ("\u{0}\u{1}\u{2}", "key=value"),
        ] {
            let err = Record::parse(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_process_without_a_port_has_the_port_key_empty() {
        let mut r = sample();
        r.spec.port = None;
        r.spec.file = Some("/srv/ecosystem.config.js".into());
        r.spec.app = Some("Test es6 modules".into());
        let line = r.to_line("worker");
        assert!(line.contains(" port='' "), "{line}");
        assert!(line.contains(" app='Test es6 modules'"), "{line}");
        let back = Record::parse(&line).unwrap();
        assert_eq!(back.spec.port, None);
        assert_eq!(back.spec.file, r.spec.file);
        assert_eq!(back.spec.app, r.spec.app);
        // Absent, as a hand-written record may have it: no PORT either.
        assert_eq!(Record::parse("script=x").unwrap().spec.port, None);
    }

    #[test]
    fn values_past_the_option_ranges_are_read_as_the_largest_allowed() {
        let r = Record::parse(
            "script=x port=1 kill_timeout=18446744073709551615 restart_delay=99999999999 max_restarts=4294967295 log_keep=4294967295 log_max_size=18446744073709551615",
        )
        .unwrap();
        assert_eq!(r.spec.policy.kill_timeout, policy::MAX_KILL_TIMEOUT);
        assert_eq!(r.spec.policy.restart_delay, policy::MAX_RESTART_DELAY);
        assert_eq!(r.spec.policy.max_restarts, policy::MAX_MAX_RESTARTS);
        assert_eq!(r.spec.logs.keep, rotation::MAX_KEEP);
        assert_eq!(r.spec.logs.max_size, rotation::MAX_SIZE);
    }

    /// A reason may quote a command of any length; the record keeps its start, so that a
    /// supervisor's last word is never too large to write.
    #[test]
    fn a_long_reason_is_clipped_at_a_character() {
        let mut r = sample();
        r.state.reason = Some(format!("cannot run {}", "é".repeat(100_000)));
        let back = Record::parse(&r.to_line("server-3000")).unwrap();
        let reason = back.state.reason.unwrap();
        assert!(
            reason.len() <= MAX_REASON && reason.len() > MAX_REASON - 2,
            "{}",
            reason.len()
        );
        assert!(reason.starts_with("cannot run é"));
        assert!(r.checked_line("server-3000", MAX_RECORD).is_ok());
    }

    #[test]
    fn bash_can_eval_a_record() {
        let line = sample().to_line("server-3000");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg("eval \"$1\"; printf '%s|%s|%s|%s' \"$script\" \"$port\" \"$zz\" \"$env\"")
            .arg("_")
            .arg(&line)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "/srv/my app/server.sh|3000|$(rm -rf /)|'GREETING=hello world' 'EMPTY='"
        );
    }
}
