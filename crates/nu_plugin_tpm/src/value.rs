//! The core's records as Nushell values: the one place where a `ProcessInfo`, a `PortInfo`, a
//! `LogLine`, an `Event`, a `Description` or `tpm dump`'s document becomes a row.
//!
//! Columns are the CLI's `--json` fields, in the same order and with the same meanings; only
//! the types are richer: `uptime` is a duration, `mem` and `log_dropped` are file sizes,
//! `started` and `time` are dates, and a missing value is `nothing`. Where a JSON field names
//! its unit (`time_ms`, `ran_ms`, `bytes`), the column drops it (`time`, `ran`, `size`): the
//! type says it.

use chrono::{DateTime, FixedOffset, Local, TimeZone};
use nu_protocol::{Record, Span, Value};
use tpm_core::events::Event;
use tpm_core::logs::LogLine;
use tpm_core::ops::{AppStart, Description, LogFile, PortInfo, TreeProcess};
use tpm_core::ProcessInfo;

/// The columns of a process row, in order: the CLI's `--json` fields, which the rows are
/// made from (kept here for the tests and the docs that check them).
pub const PROCESS_COLUMNS: [&str; 27] = [
    "name",
    "id",
    "status",
    "pid",
    "port",
    "ready",
    "listening",
    "uptime",
    "restarts",
    "cpu",
    "mem",
    "started",
    "script",
    "cmd",
    "cwd",
    "type",
    "exit_code",
    "reason",
    "supervisor",
    "autorestart",
    "log_dropped",
    "wanted",
    "restarts_24h",
    "uptime_pct_24h",
    "tracking",
    "instance",
    "health",
];

/// A process as a record.
pub fn process(p: &ProcessInfo, span: Span) -> Value {
    Value::record(process_record(p, span), span)
}

/// The row is the core's serde fields, in their order, so a field the core adds is a column
/// at once; only the columns with a richer type than JSON's are typed here.
fn process_record(p: &ProcessInfo, span: Span) -> Record {
    let mut record = match serde_json::to_value(p).map(|json| from_json(&json, span)) {
        Ok(Value::Record { val, .. }) => val.into_owned(),
        // A struct of plain fields always serializes to an object.
        _ => Record::new(),
    };
    let or_nothing = |v: Option<Value>| v.unwrap_or_else(|| Value::nothing(span));
    let typed = [
        (
            "uptime",
            or_nothing(p.uptime.map(|secs| Value::duration(nanos(secs), span))),
        ),
        ("mem", or_nothing(p.mem.map(|b| bytes(b, span)))),
        (
            "started",
            or_nothing(p.started.map(|t| Value::date(t, span))),
        ),
        ("log_dropped", bytes(p.log_dropped, span)),
    ];
    for (column, value) in typed {
        if let Some(slot) = record.get_mut(column) {
            *slot = value;
        }
    }
    record
}

/// The column `tpm start FILE` adds to each process row: true when the app was running
/// already and was left as it was (the CLI says `unchanged NAME`; the core's
/// `AppStart::unchanged`).
pub const UNCHANGED_COLUMN: &str = "unchanged";

/// An app of a file or of the apps piped in, as `tpm start` returns it: its process row,
/// and whether it was left unchanged.
pub fn app_start(a: &AppStart, span: Span) -> Value {
    let mut record = process_record(&a.info, span);
    record.push(UNCHANGED_COLUMN, Value::bool(a.unchanged, span));
    Value::record(record, span)
}

/// JSON as Nushell data, kept in the JSON's units: `tpm dump`'s document is an ecosystem
/// file's (milliseconds and bytes as plain ints), so that saving it writes a file that
/// `tpm start` reads back as it was.
pub fn from_json(json: &serde_json::Value, span: Span) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::nothing(span),
        J::Bool(b) => Value::bool(*b, span),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::int(i, span),
            (None, Some(f)) => Value::float(f, span),
            (None, None) => Value::string(n.to_string(), span),
        },
        J::String(s) => Value::string(s, span),
        J::Array(items) => Value::list(items.iter().map(|i| from_json(i, span)).collect(), span),
        J::Object(fields) => Value::record(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), from_json(v, span)))
                .collect(),
            span,
        ),
    }
}

/// The columns of a `tpm ports` row (the CLI's `tpm ports --json` fields).
pub const PORT_COLUMNS: [&str; 4] = ["name", "port", "status", "listening"];

pub fn port(p: &PortInfo, span: Span) -> Value {
    let values = [
        Value::string(&p.name, span),
        Value::int(i64::from(p.port), span),
        Value::string(p.status.as_str(), span),
        Value::bool(p.listening, span),
    ];
    row(&PORT_COLUMNS, values, span)
}

/// The columns of a `tpm metrics` row (the CLI's `tpm metrics --json` fields).
pub const METRIC_COLUMNS: [&str; 4] = ["metric", "type", "labels", "value"];

pub fn metric(r: &tpm_core::metrics::Row, span: Span) -> Value {
    let labels: Record = r
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::string(v, span)))
        .collect();
    let kind = match r.kind {
        tpm_core::metrics::Kind::Gauge => "gauge",
        tpm_core::metrics::Kind::Counter => "counter",
        tpm_core::metrics::Kind::Info => "info",
    };
    let values = [
        Value::string(&r.metric, span),
        Value::string(kind, span),
        Value::record(labels, span),
        match r.value {
            tpm_core::metrics::Number::Int(n) => Value::int(n, span),
            tpm_core::metrics::Number::Float(f) => Value::float(f, span),
        },
    ];
    row(&METRIC_COLUMNS, values, span)
}

/// The columns of a `tpm logs` row (the CLI's `tpm logs --json` fields).
pub const LOG_COLUMNS: [&str; 4] = ["name", "time", "stream", "line"];

pub fn log_line(l: &LogLine, span: Span) -> Value {
    let values = [
        Value::string(&l.name, span),
        l.time
            .map_or_else(|| Value::nothing(span), |t| Value::date(t, span)),
        Value::string(l.stream.as_str(), span),
        Value::string(&l.line, span),
    ];
    row(&LOG_COLUMNS, values, span)
}

/// The columns of a `tpm events` row: the CLI's `tpm events --json` fields, `time_ms`,
/// `ran_ms` and `after_ms` as `time` (a date), `ran` and `after` (durations). A field an
/// event does not have (the JSON leaves it out) is `nothing`.
pub const EVENT_COLUMNS: [&str; 11] = [
    "time", "name", "event", "pid", "code", "signal", "ran", "after", "by", "count", "reason",
];

pub fn event(e: &Event, span: Span) -> Value {
    let nothing = || Value::nothing(span);
    let int = |v: Option<i64>| v.map_or_else(nothing, |v| Value::int(v, span));
    let text = |v: &Option<String>| v.as_ref().map_or_else(nothing, |v| Value::string(v, span));
    let millis = |v: Option<u64>| v.map_or_else(nothing, |ms| duration_ms(ms, span));
    let values = [
        date_ms(e.time_ms, span),
        Value::string(&e.name, span),
        Value::string(e.event.as_str(), span),
        int(e.pid.map(i64::from)),
        int(e.code.map(i64::from)),
        text(&e.signal),
        millis(e.ran_ms),
        millis(e.after_ms),
        text(&e.by),
        int(e.count.map(i64::from)),
        text(&e.reason),
    ];
    row(&EVENT_COLUMNS, values, span)
}

/// The columns `tpm describe` adds after the process's row (the CLI's `describe --json`).
pub const DESCRIBE_COLUMNS: [&str; 31] = [
    "interpreter",
    "env",
    "max_restarts",
    "restart_delay",
    "kill_timeout",
    "min_uptime",
    "stop_signal",
    "stop_exit_codes",
    "ready_check",
    "wait_ready",
    "wait_timeout",
    "health_check",
    "watchdog",
    "notify_status",
    "max_memory",
    "cron_restart",
    "watch",
    "ignore_watch",
    "log_max_size",
    "log_keep",
    "log_rotate",
    "log_max_age",
    "log_max_total",
    "log_compress",
    "log_rotate_size",
    "log_files",
    "tree",
    "events",
    "depends_on",
    "dependants",
    "created",
];

/// The columns of a `tpm describe` log file (`bytes` as `size`, a file size).
pub const LOG_FILE_COLUMNS: [&str; 3] = ["path", "stream", "size"];
/// The columns of a process of `tpm describe`'s tree (`rss` a file size).
pub const TREE_COLUMNS: [&str; 4] = ["pid", "ppid", "command", "rss"];

/// A process described: its `tpm list` row, then the spec and the state around it. The
/// restart delay and kill timeout are durations, the log size a file size (0: never
/// rotated), `env` a record (secrets masked by the core), and `log_files`, `tree` and
/// `events` tables.
pub fn describe(d: &Description, span: Span) -> Value {
    let mut record = process_record(&d.process, span);
    let env: Record = d
        .env
        .iter()
        .map(|(k, v)| (k.clone(), Value::string(v, span)))
        .collect();
    let values = [
        d.interpreter
            .as_ref()
            .map_or_else(|| Value::nothing(span), |i| Value::string(i, span)),
        Value::record(env, span),
        Value::int(i64::from(d.max_restarts), span),
        duration_ms(d.restart_delay, span),
        duration_ms(d.kill_timeout, span),
        duration_ms(d.min_uptime, span),
        Value::string(&d.stop_signal, span),
        Value::list(
            d.stop_exit_codes
                .iter()
                .map(|&c| Value::int(i64::from(c), span))
                .collect(),
            span,
        ),
        Value::string(&d.ready_check, span),
        Value::bool(d.wait_ready, span),
        duration_ms(d.wait_timeout, span),
        d.health_check
            .as_ref()
            .map_or_else(|| Value::nothing(span), |h| Value::string(h, span)),
        d.watchdog
            .map_or_else(|| Value::nothing(span), |w| duration_ms(w, span)),
        d.notify_status
            .as_ref()
            .map_or_else(|| Value::nothing(span), |s| Value::string(s, span)),
        bytes(d.max_memory, span),
        d.cron_restart
            .as_ref()
            .map_or_else(|| Value::nothing(span), |c| Value::string(c, span)),
        Value::list(
            d.watch.iter().map(|p| Value::string(p, span)).collect(),
            span,
        ),
        Value::list(
            d.ignore_watch
                .iter()
                .map(|p| Value::string(p, span))
                .collect(),
            span,
        ),
        bytes(d.log_max_size, span),
        Value::int(i64::from(d.log_keep), span),
        d.log_rotate
            .as_ref()
            .map_or_else(|| Value::nothing(span), |r| Value::string(r, span)),
        duration_ms(d.log_max_age, span),
        bytes(d.log_max_total, span),
        Value::bool(d.log_compress, span),
        bytes(d.log_rotate_size, span),
        Value::list(
            d.log_files.iter().map(|f| log_file(f, span)).collect(),
            span,
        ),
        Value::list(d.tree.iter().map(|t| tree_process(t, span)).collect(), span),
        Value::list(d.events.iter().map(|e| event(e, span)).collect(), span),
        Value::list(
            d.depends_on
                .iter()
                .map(|dep| {
                    let mut r = Record::new();
                    r.push("name", Value::string(&dep.name, span));
                    r.push("condition", Value::string(dep.condition.as_str(), span));
                    Value::record(r, span)
                })
                .collect(),
            span,
        ),
        Value::list(
            d.dependants
                .iter()
                .map(|n| Value::string(n, span))
                .collect(),
            span,
        ),
        d.created
            .map_or_else(|| Value::nothing(span), |t| Value::date(t, span)),
    ];
    for (column, value) in DESCRIBE_COLUMNS.iter().zip(values) {
        record.push(*column, value);
    }
    Value::record(record, span)
}

fn log_file(f: &LogFile, span: Span) -> Value {
    let values = [
        Value::string(f.path.to_string_lossy(), span),
        Value::string(f.stream.as_str(), span),
        bytes(f.bytes, span),
    ];
    row(&LOG_FILE_COLUMNS, values, span)
}

fn tree_process(t: &TreeProcess, span: Span) -> Value {
    let values = [
        Value::int(i64::from(t.pid), span),
        Value::int(i64::from(t.ppid), span),
        Value::string(&t.command, span),
        bytes(t.rss, span),
    ];
    row(&TREE_COLUMNS, values, span)
}

/// A time in milliseconds since the Unix epoch, as a date in the local time zone.
pub fn local_date(ms: i64) -> Option<DateTime<FixedOffset>> {
    Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.fixed_offset())
}

fn date_ms(ms: i64, span: Span) -> Value {
    local_date(ms).map_or_else(|| Value::nothing(span), |t| Value::date(t, span))
}

fn duration_ms(ms: u64, span: Span) -> Value {
    let nanos = i64::try_from(ms)
        .ok()
        .and_then(|ms| ms.checked_mul(1_000_000))
        .unwrap_or(i64::MAX);
    Value::duration(nanos, span)
}

fn row<const N: usize>(columns: &[&str; N], values: [Value; N], span: Span) -> Value {
    let record: Record = columns.iter().map(|c| c.to_string()).zip(values).collect();
    Value::record(record, span)
}

fn nanos(secs: u64) -> i64 {
    i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .unwrap_or(i64::MAX)
}

fn bytes(n: u64, span: Span) -> Value {
    Value::filesize(i64::try_from(n).unwrap_or(i64::MAX), span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};
    use tpm_core::{Status, Stream};

    fn sample() -> ProcessInfo {
        ProcessInfo {
            name: "web-8080".into(),
            id: Some(3),
            status: Status::Online,
            pid: Some(4242),
            port: Some(8080),
            ready: Some(true),
            listening: Some(true),
            uptime: Some(90),
            restarts: 2,
            cpu: Some(1.5),
            mem: Some(3 * 1024 * 1024),
            started: FixedOffset::east_opt(3600)
                .and_then(|tz| tz.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).single()),
            script: "/srv/web.sh".into(),
            cmd: vec!["/srv/web.sh".into(), "--verbose".into()],
            cwd: "/srv".into(),
            kind: "cli".into(),
            exit_code: None,
            reason: None,
            supervisor: Some(4241),
            autorestart: true,
            log_dropped: 0,
            wanted: true,
            restarts_24h: 1,
            uptime_pct_24h: Some(99.5),
            tracking: tpm_core::cgroup::Tracking::Cgroup,
            instance: None,
            health: None,
        }
    }

    fn columns(value: &Value) -> Vec<String> {
        value.as_record().unwrap().columns().cloned().collect()
    }

    fn json_keys<T: serde::Serialize>(v: &T) -> Vec<String> {
        // serde_json's map keeps insertion order only with a feature; compare as sets and
        // check the order against the declared list separately.
        let mut keys: Vec<String> = match serde_json::to_value(v).unwrap() {
            serde_json::Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        };
        keys.sort();
        keys
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn process_columns_are_exactly_the_json_fields() {
        let p = sample();
        let value = process(&p, Span::test_data());
        assert_eq!(columns(&value), PROCESS_COLUMNS.map(String::from).to_vec());
        assert_eq!(sorted(columns(&value)), json_keys(&p));
    }

    #[test]
    fn process_values_are_typed() {
        let v = process(&sample(), Span::test_data());
        let r = v.as_record().unwrap();
        assert_eq!(
            r.get("uptime").unwrap().as_duration().unwrap(),
            90_000_000_000
        );
        assert_eq!(
            r.get("mem").unwrap().as_filesize().unwrap().get(),
            3 * 1024 * 1024
        );
        assert_eq!(r.get("cpu").unwrap().as_float().unwrap(), 1.5);
        assert_eq!(r.get("pid").unwrap().as_int().unwrap(), 4242);
        assert_eq!(r.get("id").unwrap().as_int().unwrap(), 3);
        assert_eq!(r.get("status").unwrap().as_str().unwrap(), "online");
        let started = r.get("started").unwrap().as_date().unwrap();
        assert_eq!(started.to_rfc3339(), "2024-01-15T10:30:00+01:00");
        assert!(r.get("exit_code").unwrap().is_nothing());
        assert!(r.get("reason").unwrap().is_nothing());
        let cmd = r.get("cmd").unwrap().as_list().unwrap();
        assert_eq!(cmd[1].as_str().unwrap(), "--verbose");
    }

    #[test]
    fn a_process_that_is_not_running_has_nothing_where_the_cli_has_null() {
        let mut p = sample();
        (p.pid, p.uptime, p.cpu, p.mem, p.supervisor) = (None, None, None, None, None);
        p.status = Status::Errored;
        p.exit_code = Some(1);
        p.reason = Some("it crashed".into());
        let v = process(&p, Span::test_data());
        let r = v.as_record().unwrap();
        for column in ["pid", "uptime", "cpu", "mem", "supervisor"] {
            assert!(r.get(column).unwrap().is_nothing(), "{column}");
        }
        assert_eq!(r.get("exit_code").unwrap().as_int().unwrap(), 1);
        assert_eq!(r.get("reason").unwrap().as_str().unwrap(), "it crashed");
    }

    #[test]
    fn a_started_app_is_its_process_row_and_whether_it_was_left_unchanged() {
        let a = AppStart {
            info: sample(),
            unchanged: true,
        };
        let v = app_start(&a, Span::test_data());
        let mut want = PROCESS_COLUMNS.map(String::from).to_vec();
        want.push(UNCHANGED_COLUMN.into());
        assert_eq!(columns(&v), want);
        let r = v.as_record().unwrap();
        assert!(r.get("unchanged").unwrap().as_bool().unwrap());
    }

    #[test]
    fn json_becomes_data_in_the_same_units() {
        let json = serde_json::json!({"apps": [
            {"name": "api-3000", "port": 3000, "kill_timeout": 500, "autorestart": false,
             "env": {"A": "1"}, "args": ["--x"], "ratio": 0.5, "gone": null}
        ]});
        let v = from_json(&json, Span::test_data());
        let app = v
            .as_record()
            .unwrap()
            .get("apps")
            .unwrap()
            .as_list()
            .unwrap()[0]
            .as_record()
            .unwrap()
            .clone();
        assert_eq!(app.get("kill_timeout").unwrap().as_int().unwrap(), 500);
        assert!(!app.get("autorestart").unwrap().as_bool().unwrap());
        assert_eq!(app.get("ratio").unwrap().as_float().unwrap(), 0.5);
        assert!(app.get("gone").unwrap().is_nothing());
        let env = app.get("env").unwrap().as_record().unwrap();
        assert_eq!(env.get("A").unwrap().as_str().unwrap(), "1");
        // And back: the plugin's conversion of piped records gives the same JSON.
        assert_eq!(crate::start_options::to_json(&v).unwrap(), json);
    }

    #[test]
    fn port_and_log_columns_are_exactly_the_json_fields() {
        let p = PortInfo {
            name: "web-8080".into(),
            port: 8080,
            status: Status::Stopped,
            listening: false,
        };
        let v = port(&p, Span::test_data());
        assert_eq!(columns(&v), PORT_COLUMNS.map(String::from).to_vec());
        assert_eq!(sorted(columns(&v)), json_keys(&p));

        let l = LogLine {
            name: "web-8080".into(),
            time: None,
            stream: Stream::Err,
            line: "boom".into(),
        };
        let v = log_line(&l, Span::test_data());
        assert_eq!(columns(&v), LOG_COLUMNS.map(String::from).to_vec());
        assert_eq!(sorted(columns(&v)), json_keys(&l));
        let r = v.as_record().unwrap();
        assert_eq!(r.get("stream").unwrap().as_str().unwrap(), "err");
        assert!(r.get("time").unwrap().is_nothing());
    }

    /// A JSON field name as the column that holds it: the unit goes, the type says it.
    fn column_of(field: &str) -> String {
        match field {
            "time_ms" => "time".into(),
            "ran_ms" => "ran".into(),
            "after_ms" => "after".into(),
            "bytes" => "size".into(),
            other => other.into(),
        }
    }

    fn full_event() -> Event {
        Event {
            time_ms: 1_700_000_000_123,
            name: "web-8080".into(),
            event: tpm_core::events::Kind::Exited,
            pid: Some(4242),
            code: Some(137),
            signal: Some("SIGKILL".into()),
            ran_ms: Some(1500),
            after_ms: Some(200),
            by: Some("policy".into()),
            count: Some(2),
            reason: Some("it crashed".into()),
        }
    }

    #[test]
    fn event_columns_are_the_json_fields_with_typed_units() {
        let e = full_event();
        let v = event(&e, Span::test_data());
        assert_eq!(columns(&v), EVENT_COLUMNS.map(String::from).to_vec());
        let json: Vec<String> = json_keys(&e).iter().map(|k| column_of(k)).collect();
        assert_eq!(sorted(columns(&v)), sorted(json));
        let r = v.as_record().unwrap();
        assert_eq!(
            r.get("time").unwrap().as_date().unwrap().timestamp_millis(),
            1_700_000_000_123
        );
        assert_eq!(r.get("ran").unwrap().as_duration().unwrap(), 1_500_000_000);
        assert_eq!(r.get("after").unwrap().as_duration().unwrap(), 200_000_000);
        assert_eq!(r.get("event").unwrap().as_str().unwrap(), "exited");
        assert_eq!(r.get("code").unwrap().as_int().unwrap(), 137);

        // What an event does not have is nothing, where the JSON leaves the field out.
        let bare = Event::now(
            &tpm_core::Name::parse("web-8080").unwrap(),
            tpm_core::events::Kind::Stopped,
        );
        let v = event(&bare, Span::test_data());
        let r = v.as_record().unwrap();
        for column in [
            "pid", "code", "signal", "ran", "after", "by", "count", "reason",
        ] {
            assert!(r.get(column).unwrap().is_nothing(), "{column}");
        }
    }

    #[test]
    fn a_description_is_the_process_row_then_the_json_fields_typed() {
        let d = Description {
            process: sample(),
            interpreter: Some("bash".into()),
            env: vec![("API_TOKEN".into(), "<hidden by tpm>".into())],
            max_restarts: 10,
            restart_delay: 250,
            kill_timeout: 3000,
            min_uptime: 1000,
            stop_signal: "SIGTERM".into(),
            stop_exit_codes: vec![0, 143],
            ready_check: "port".into(),
            wait_ready: false,
            wait_timeout: 30_000,
            health_check: None,
            watchdog: None,
            notify_status: None,
            max_memory: 0,
            cron_restart: None,
            watch: vec![],
            ignore_watch: vec![],
            log_max_size: 10 << 20,
            log_keep: 5,
            log_rotate: None,
            log_max_age: 0,
            log_max_total: 0,
            log_compress: true,
            log_rotate_size: 10 << 20,
            log_files: vec![LogFile {
                path: "/s/logs/web-8080.out".into(),
                stream: Stream::Out,
                bytes: 2048,
            }],
            tree: vec![TreeProcess {
                pid: 4242,
                ppid: 4241,
                command: "bash /srv/web.sh".into(),
                rss: 4096,
            }],
            events: vec![full_event()],
            depends_on: vec![tpm_core::depends::Dependency {
                name: "db-5432".into(),
                condition: tpm_core::depends::Condition::Ready,
            }],
            dependants: vec!["web-8081".into()],
            created: sample().started,
        };
        let v = describe(&d, Span::test_data());
        let mut want = PROCESS_COLUMNS.map(String::from).to_vec();
        want.extend(DESCRIBE_COLUMNS.map(String::from));
        assert_eq!(columns(&v), want);
        assert_eq!(sorted(columns(&v)), json_keys(&d));
        let r = v.as_record().unwrap();
        assert_eq!(
            r.get("restart_delay").unwrap().as_duration().unwrap(),
            250_000_000
        );
        assert_eq!(
            r.get("log_max_size").unwrap().as_filesize().unwrap().get(),
            10 << 20
        );
        let env = r.get("env").unwrap().as_record().unwrap();
        assert_eq!(
            env.get("API_TOKEN").unwrap().as_str().unwrap(),
            "<hidden by tpm>"
        );
        let file = &r.get("log_files").unwrap().as_list().unwrap()[0];
        assert_eq!(columns(file), LOG_FILE_COLUMNS.map(String::from).to_vec());
        let json_file: Vec<String> = json_keys(&d.log_files[0])
            .iter()
            .map(|k| column_of(k))
            .collect();
        assert_eq!(sorted(columns(file)), sorted(json_file));
        let size = file.as_record().unwrap().get("size").unwrap();
        assert_eq!(size.as_filesize().unwrap().get(), 2048);
        let process = &r.get("tree").unwrap().as_list().unwrap()[0];
        assert_eq!(columns(process), TREE_COLUMNS.map(String::from).to_vec());
        assert_eq!(sorted(columns(process)), json_keys(&d.tree[0]));
        let event = &r.get("events").unwrap().as_list().unwrap()[0];
        assert_eq!(columns(event), EVENT_COLUMNS.map(String::from).to_vec());
        assert!(r.get("listening").unwrap().as_bool().unwrap());
    }
}
