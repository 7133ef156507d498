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
use tpm_core::ops::{AppStart, Description, PortInfo};
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

/// How a JSON field becomes a column of a richer type than JSON's.
#[derive(Clone, Copy)]
enum As {
    /// Bytes: a file size.
    Size,
    /// Seconds: a duration.
    Secs,
    /// Milliseconds: a duration.
    Millis,
    /// Milliseconds since the epoch: a date.
    DateMs,
    /// An RFC 3339 time: a date.
    Date,
    /// A list of rows, each by its own spec.
    Rows(&'static Spec),
}

/// The typed fields of a core type's JSON: (field, column, type). A field not listed is
/// a column as its JSON is, under its own name.
struct Spec {
    typed: &'static [(&'static str, &'static str, As)],
    /// Columns a row always has, in this order (`nothing` where the JSON leaves the field
    /// out); the other fields follow.
    always: &'static [&'static str],
}

const PROCESS: Spec = Spec {
    typed: &[
        ("uptime", "uptime", As::Secs),
        ("mem", "mem", As::Size),
        ("started", "started", As::Date),
        ("log_dropped", "log_dropped", As::Size),
    ],
    always: &[],
};

const EVENT: Spec = Spec {
    typed: &[
        ("time_ms", "time", As::DateMs),
        ("ran_ms", "ran", As::Millis),
        ("after_ms", "after", As::Millis),
    ],
    always: &EVENT_COLUMNS,
};

const LOG_FILE: Spec = Spec {
    typed: &[("bytes", "size", As::Size)],
    always: &[],
};

const TREE: Spec = Spec {
    typed: &[("rss", "rss", As::Size)],
    always: &[],
};

const DESCRIPTION: Spec = Spec {
    typed: &[
        ("uptime", "uptime", As::Secs),
        ("mem", "mem", As::Size),
        ("started", "started", As::Date),
        ("log_dropped", "log_dropped", As::Size),
        ("restart_delay", "restart_delay", As::Millis),
        ("kill_timeout", "kill_timeout", As::Millis),
        ("min_uptime", "min_uptime", As::Millis),
        ("wait_timeout", "wait_timeout", As::Millis),
        ("watchdog", "watchdog", As::Millis),
        ("max_memory", "max_memory", As::Size),
        ("log_max_size", "log_max_size", As::Size),
        ("log_max_age", "log_max_age", As::Millis),
        ("log_max_total", "log_max_total", As::Size),
        ("log_rotate_size", "log_rotate_size", As::Size),
        ("log_files", "log_files", As::Rows(&LOG_FILE)),
        ("tree", "tree", As::Rows(&TREE)),
        ("events", "events", As::Rows(&EVENT)),
        ("created", "created", As::Date),
    ],
    always: &[],
};

const PLAIN: Spec = Spec {
    typed: &[],
    always: &[],
};

const LOG_LINE: Spec = Spec {
    typed: &[("time", "time", As::Date)],
    always: &[],
};

/// A core value as a row: its serde fields (the CLI's `--json`), in their order, so a field
/// the core adds is a column at once; `spec` types the fields JSON cannot.
fn serde_record(value: &impl serde::Serialize, spec: &Spec, span: Span) -> Record {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(fields)) => json_record(&fields, spec, span),
        // A struct of plain fields always serializes to an object.
        _ => Record::new(),
    }
}

fn json_record(
    fields: &serde_json::Map<String, serde_json::Value>,
    spec: &Spec,
    span: Span,
) -> Record {
    let mut record: Record = fields
        .iter()
        .map(
            |(field, json)| match spec.typed.iter().find(|t| t.0 == field) {
                Some(&(_, column, kind)) => (column.to_string(), typed(json, kind, span)),
                None => (field.clone(), from_json(json, span)),
            },
        )
        .collect();
    if !spec.always.is_empty() {
        let mut ordered = Record::new();
        for column in spec.always {
            let value = record
                .remove(*column)
                .unwrap_or_else(|| Value::nothing(span));
            ordered.push(*column, value);
        }
        ordered.extend(record);
        record = ordered;
    }
    record
}

fn typed(json: &serde_json::Value, kind: As, span: Span) -> Value {
    use serde_json::Value as J;
    let nothing = || Value::nothing(span);
    match (kind, json) {
        (As::Size, J::Number(n)) => n.as_u64().map_or_else(nothing, |b| bytes(b, span)),
        (As::Secs, J::Number(n)) => n
            .as_u64()
            .map_or_else(nothing, |s| Value::duration(nanos(s), span)),
        (As::Millis, J::Number(n)) => n.as_u64().map_or_else(nothing, |ms| duration_ms(ms, span)),
        (As::DateMs, J::Number(n)) => n.as_i64().map_or_else(nothing, |ms| date_ms(ms, span)),
        (As::Date, J::String(t)) => DateTime::parse_from_rfc3339(t)
            .map_or_else(|_| Value::string(t, span), |t| Value::date(t, span)),
        (As::Rows(spec), J::Array(rows)) => Value::list(
            rows.iter()
                .map(|row| match row {
                    J::Object(fields) => Value::record(json_record(fields, spec, span), span),
                    other => from_json(other, span),
                })
                .collect(),
            span,
        ),
        (_, other) => from_json(other, span),
    }
}

/// The row is the core's serde fields, in their order, so a field the core adds is a column
/// at once; only the columns with a richer type than JSON's are typed here.
fn process_record(p: &ProcessInfo, span: Span) -> Record {
    serde_record(p, &PROCESS, span)
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
    Value::record(serde_record(p, &PLAIN, span), span)
}

/// The columns of a `tpm metrics` row (the CLI's `tpm metrics --json` fields).
pub const METRIC_COLUMNS: [&str; 4] = ["metric", "type", "labels", "value"];

pub fn metric(r: &tpm_core::metrics::Row, span: Span) -> Value {
    Value::record(serde_record(r, &PLAIN, span), span)
}

/// The columns of a `tpm logs` row (the CLI's `tpm logs --json` fields).
pub const LOG_COLUMNS: [&str; 4] = ["name", "time", "stream", "line"];

pub fn log_line(l: &LogLine, span: Span) -> Value {
    Value::record(serde_record(l, &LOG_LINE, span), span)
}

/// The columns of a `tpm events` row: the CLI's `tpm events --json` fields, `time_ms`,
/// `ran_ms` and `after_ms` as `time` (a date), `ran` and `after` (durations). A field an
/// event does not have (the JSON leaves it out) is `nothing`.
pub const EVENT_COLUMNS: [&str; 11] = [
    "time", "name", "event", "pid", "code", "signal", "ran", "after", "by", "count", "reason",
];

pub fn event(e: &Event, span: Span) -> Value {
    Value::record(serde_record(e, &EVENT, span), span)
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

/// A process described: its `tpm list` row, then the spec and the state around it (the
/// core's serde fields, as the CLI's `describe --json`). The restart delay and kill timeout
/// are durations, the log size a file size (0: never rotated), `env` a record (secrets
/// masked by the core), and `log_files`, `tree` and `events` tables.
pub fn describe(d: &Description, span: Span) -> Value {
    Value::record(serde_record(d, &DESCRIPTION, span), span)
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
    use tpm_core::ops::{LogFile, TreeProcess};
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
