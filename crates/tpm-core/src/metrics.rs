//! Metrics for Prometheus: every process as series, in the Prometheus text format or
//! OpenMetrics. `tpm metrics`, `GET /metrics` and the plugin's `tpm metrics` all render the
//! one [`Snapshot`] made here, so the names, types and labels are the same everywhere.
//!
//! A snapshot is read from the store at each scrape (there is no daemon to keep counters
//! in memory): the records hold what a counter needs over a process's whole life (restarts,
//! exits by reason, CPU time, log bytes), kept by its supervisors and carried over a restart
//! or a new spec, so a counter never falls while the process exists. A deleted process is
//! no longer in the store, so its series are no longer in the next scrape.
//!
//! Each series of a process carries `name`, `app` (the app of an instance, else the name),
//! `app_instance` (an instance's number) and `port` (when it has one). The instance label is
//! not called `instance`: Prometheus gives every scraped series an `instance` label of its
//! own (the machine, `host:port`), and would rename ours `exported_instance`, or, with
//! `honor_labels`, overwrite the machine's with it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;

use crate::error::Result;
use crate::info::ProcessInfo;
use crate::ops::Tpm;
use crate::record::Record;
use crate::state::ExitReason;
use crate::status::Status;
use crate::store::Problem;

/// The Prometheus text format's media type (version 0.0.4).
pub const PROMETHEUS_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
/// OpenMetrics' text format, as prometheus-client writes it.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which text a scraper gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4: what node_exporter's textfile collector and
    /// `promtool check metrics` read, and any scraper that does not ask for OpenMetrics.
    Prometheus,
    /// OpenMetrics 1.0 (`# EOF`, `# UNIT`, counters' family names without `_total`).
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => PROMETHEUS_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }

    /// The format an HTTP `Accept` header prefers: OpenMetrics when it is accepted with a
    /// weight at least that of `text/plain` (Prometheus asks `application/openmetrics-text`
    /// first, then `text/plain;version=0.0.4;q=0.5`), else the Prometheus text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Prometheus;
        };
        let (mut open, mut plain) = (None::<f32>, None::<f32>);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .and_then(|(_, v)| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let best = |seen: Option<f32>| Some(seen.map_or(q, |s| s.max(q)));
            match media.as_str() {
                "application/openmetrics-text" => open = best(open),
                "text/plain" => plain = best(plain),
                _ => {}
            }
        }
        match open {
            Some(o) if o > 0.0 && o >= plain.unwrap_or(0.0) => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }
}

/// What a family's values are to Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Gauge,
    Counter,
    /// A series of labels whose value is 1 (`tpm_build_info`).
    Info,
}

/// A family's unit, part of its name (`_seconds`, `_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseUnit {
    Seconds,
    Bytes,
}

/// A value: whole numbers are written as such.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(n) => n as f64,
            Number::Float(f) => f,
        }
    }
}

impl From<u64> for Number {
    fn from(n: u64) -> Number {
        Number::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Number {
    fn from(b: bool) -> Number {
        Number::Int(i64::from(b))
    }
}

/// One series: its labels, its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: Number,
}

/// A metric family: a name, its help, its type, its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The name without the unit and without `_total` (prometheus-client adds both).
    base: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub unit: Option<BaseUnit>,
    pub samples: Vec<Sample>,
}

impl Family {
    fn new(base: &'static str, kind: Kind, unit: Option<BaseUnit>, help: &'static str) -> Self {
        Family {
            base,
            help,
            kind,
            unit,
            samples: Vec::new(),
        }
    }

    /// The name its series have: `tpm_process_cpu_seconds_total`.
    pub fn name(&self) -> String {
        let mut name = self.base.to_string();
        match self.unit {
            Some(BaseUnit::Seconds) => name.push_str("_seconds"),
            Some(BaseUnit::Bytes) => name.push_str("_bytes"),
            None => {}
        }
        match self.kind {
            Kind::Counter => name.push_str("_total"),
            Kind::Info => name.push_str("_info"),
            Kind::Gauge => {}
        }
        name
    }

    fn push(&mut self, labels: Vec<(&'static str, String)>, value: impl Into<Number>) {
        self.samples.push(Sample {
            labels,
            value: value.into(),
        });
    }
}

/// One series flattened, for `--json` and the plugin's table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub metric: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: Number,
}

/// Every family at one moment, and the records that could not be read.
#[derive(Debug)]
pub struct Snapshot {
    families: Arc<Vec<Family>>,
    pub problems: Vec<Problem>,
}

impl Snapshot {
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// The exposition text.
    pub fn render(&self, format: Format) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Families(self.families.clone())));
        let mut out = String::with_capacity(self.families.len() * 2048);
        // Writing into a String cannot fail, and a collector of ours never returns an error.
        let _ = match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
            }
            Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &registry),
        };
        out
    }

    /// Every series, one row each.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for f in self.families.iter() {
            let metric = f.name();
            for s in &f.samples {
                rows.push(Row {
                    metric: metric.clone(),
                    kind: f.kind,
                    labels: s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect(),
                    value: s.value,
                });
            }
        }
        rows
    }
}

/// The families, as prometheus-client asks a collector for them at an encode.
#[derive(Debug)]
struct Families(Arc<Vec<Family>>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::result::Result<(), fmt::Error> {
        for f in self.0.iter() {
            let unit = f.unit.map(|u| match u {
                BaseUnit::Seconds => Unit::Seconds,
                BaseUnit::Bytes => Unit::Bytes,
            });
            let kind = match f.kind {
                Kind::Gauge => MetricType::Gauge,
                Kind::Counter => MetricType::Counter,
                Kind::Info => MetricType::Info,
            };
            let mut metric = encoder.encode_descriptor(f.base, f.help, unit.as_ref(), kind)?;
            for s in &f.samples {
                if f.kind == Kind::Info {
                    metric.encode_info(&s.labels)?;
                    continue;
                }
                let series = metric.encode_family(&s.labels)?;
                match (f.kind, s.value) {
                    (Kind::Counter, Number::Int(n)) => {
                        ConstCounter::new(n.max(0) as u64).encode(series)?
                    }
                    (Kind::Counter, Number::Float(v)) => ConstCounter::new(v).encode(series)?,
                    (_, Number::Int(n)) => ConstGauge::new(n).encode(series)?,
                    (_, Number::Float(v)) => ConstGauge::new(v).encode(series)?,
                }
            }
        }
        Ok(())
    }
}

/// Writes `text` to `path` at once (a temp file renamed over it, whose name does not end in
/// `.prom`), readable by other users: node_exporter's textfile collector runs as its own
/// user and must never read half a file.
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    crate::export::write_file(path, text.as_bytes())
}

impl Tpm {
    /// Every process's series and tpm's own, read now (see the module's documentation).
    pub fn metrics(&self) -> Result<Snapshot> {
        let began = Instant::now();
        let (mut seen, problems) = self.observe_records()?;
        seen.sort_by(|(a, _), (b, _)| {
            (a.id.is_none(), a.id, &a.name).cmp(&(b.id.is_none(), b.id, &b.name))
        });
        let mut families = process_families(&seen);
        families.extend(own_families(&seen, &problems, began));
        Ok(Snapshot {
            families: Arc::new(families),
            problems,
        })
    }
}

/// The labels every series of a process has.
fn process_labels(info: &ProcessInfo) -> Vec<(&'static str, String)> {
    let mut labels = Vec::with_capacity(5);
    labels.push(("name", info.name.clone()));
    let app = match info.instance {
        Some(i) => info
            .name
            .strip_suffix(&format!("-{i}"))
            .unwrap_or(&info.name)
            .to_string(),
        None => info.name.clone(),
    };
    labels.push(("app", app));
    if let Some(i) = info.instance {
        labels.push(("app_instance", i.to_string()));
    }
    if let Some(port) = info.port {
        labels.push(("port", port.to_string()));
    }
    labels
}

fn with(
    mut labels: Vec<(&'static str, String)>,
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    labels.push((key, value.to_string()));
    labels
}

fn process_families(seen: &[(ProcessInfo, Record)]) -> Vec<Family> {
    use BaseUnit::{Bytes, Seconds};
    use Kind::{Counter, Gauge};
    let mut up = Family::new(
        "tpm_process_up",
        Gauge,
        None,
        "Whether the process runs (1) or not (0).",
    );
    let mut status = Family::new(
        "tpm_process_status",
        Gauge,
        None,
        "The process's status: 1 for the one it is in, 0 for the others.",
    );
    let mut wanted = Family::new(
        "tpm_process_wanted",
        Gauge,
        None,
        "Whether the process is meant to run (started, and not stopped by a user since).",
    );
    let mut ready = Family::new(
        "tpm_process_ready",
        Gauge,
        None,
        "Whether the running process is ready (its port listens, its ready line was printed, or it answers HTTP).",
    );
    let mut restarts = Family::new(
        "tpm_process_restarts",
        Counter,
        None,
        "Restarts over the process's life: by its restart policy and by commands.",
    );
    let mut exits = Family::new(
        "tpm_process_exits",
        Counter,
        None,
        "Runs ended, by reason: success (code 0), failure (another code), signal (one tpm did not send), stopped (by tpm: stop, restart, reload, limits).",
    );
    let mut exit_code = Family::new(
        "tpm_process_last_exit_code",
        Gauge,
        None,
        "The last run's exit code, or 128 + the signal that ended it.",
    );
    let mut start_time = Family::new(
        "tpm_process_start_time",
        Gauge,
        Some(Seconds),
        "When the current (or last) run began, in seconds since the Unix epoch.",
    );
    let mut cpu = Family::new(
        "tpm_process_cpu",
        Counter,
        Some(Seconds),
        "CPU time of the process's tree (its children included) over the process's life.",
    );
    let mut memory = Family::new(
        "tpm_process_resident_memory",
        Gauge,
        Some(Bytes),
        "Resident memory of the running process's tree, summed over its processes.",
    );
    let mut written = Family::new(
        "tpm_process_log_written",
        Counter,
        Some(Bytes),
        "Log bytes written to the process's files (stdout and stderr, with timestamps).",
    );
    let mut dropped = Family::new(
        "tpm_process_log_dropped",
        Counter,
        Some(Bytes),
        "Log bytes that could not be written (a full disk, a file size limit).",
    );
    for (info, record) in seen {
        let labels = process_labels(info);
        let state = &record.state;
        up.push(labels.clone(), info.pid.is_some());
        for s in Status::ALL {
            status.push(with(labels.clone(), "status", s.as_str()), info.status == s);
        }
        wanted.push(labels.clone(), info.wanted);
        ready.push(labels.clone(), info.ready == Some(true));
        restarts.push(labels.clone(), u64::from(info.restarts));
        for reason in ExitReason::ALL {
            exits.push(
                with(labels.clone(), "reason", reason.as_str()),
                state.exits.count(reason),
            );
        }
        if let Some(code) = info.exit_code {
            exit_code.push(labels.clone(), Number::Int(i64::from(code)));
        }
        if let Some(t) = state.start_time {
            start_time.push(labels.clone(), Number::Int(t));
        }
        cpu.push(
            labels.clone(),
            Number::Float(state.cpu_time_ms as f64 / 1000.0),
        );
        if let Some(mem) = info.mem {
            memory.push(labels.clone(), mem);
        }
        written.push(labels.clone(), state.log_written);
        dropped.push(labels, info.log_dropped);
    }
    vec![
        up, status, wanted, ready, restarts, exits, exit_code, start_time, cpu, memory, written,
        dropped,
    ]
}

fn own_families(
    seen: &[(ProcessInfo, Record)],
    problems: &[Problem],
    began: Instant,
) -> Vec<Family> {
    let mut by_status = Family::new("tpm_processes", Kind::Gauge, None, "Processes by status.");
    for s in Status::ALL {
        let n = seen.iter().filter(|(info, _)| info.status == s).count();
        by_status.push(vec![("status", s.as_str().to_string())], n as u64);
    }
    let mut unreadable = Family::new(
        "tpm_unreadable_records",
        Kind::Gauge,
        None,
        "Process records that could not be read (tpm doctor names them).",
    );
    unreadable.push(Vec::new(), problems.len() as u64);
    let mut build = Family::new("tpm_build", Kind::Info, None, "The tpm that answered.");
    build.push(
        vec![("version", env!("CARGO_PKG_VERSION").to_string())],
        1u64,
    );
    let mut took = Family::new(
        "tpm_scrape_duration",
        Kind::Gauge,
        Some(BaseUnit::Seconds),
        "How long reading the processes for this scrape took.",
    );
    took.push(Vec::new(), Number::Float(began.elapsed().as_secs_f64()));
    vec![by_status, unreadable, build, took]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name tpm writes, and only those, in docs/metrics.md; the Grafana dashboard
    /// asks for no other.
    #[test]
    fn the_docs_and_the_dashboard_use_the_names_tpm_writes() {
        let mut names: Vec<String> = process_families(&[])
            .iter()
            .chain(&own_families(&[], &[], Instant::now()))
            .map(Family::name)
            .collect();
        names.sort();
        let words = |text: &str| -> std::collections::BTreeSet<String> {
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("tpm_") && w.len() > 4)
                .map(str::to_string)
                .collect()
        };
        let doc = include_str!("../../../docs/metrics.md");
        let table: String = doc
            .lines()
            .filter(|l| l.starts_with("| `tpm_"))
            .map(|l| l.split('|').nth(1).unwrap_or(""))
            .collect();
        assert_eq!(words(&table).into_iter().collect::<Vec<_>>(), names);
        let dashboard = include_str!("../../../docs/grafana-tpm.json");
        let used = words(dashboard);
        assert!(used.len() >= 8, "{used:?}");
        for name in used {
            assert!(
                names.contains(&name),
                "the dashboard asks for {name}, which tpm does not write"
            );
        }
    }

    #[test]
    fn openmetrics_is_chosen_when_the_scraper_prefers_it() {
        // What Prometheus 2.42 sends.
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
        for plain in [
            None,
            Some("*/*"),
            Some("text/plain"),
            Some("text/plain;version=0.0.4"),
            Some("application/openmetrics-text;q=0.2, text/plain;q=0.9"),
            Some("application/openmetrics-text;q=0"),
        ] {
            assert_eq!(Format::from_accept(plain), Format::Prometheus, "{plain:?}");
        }
    }

    fn sample() -> Snapshot {
        let mut c = Family::new(
            "tpm_process_cpu",
            Kind::Counter,
            Some(BaseUnit::Seconds),
            "CPU.",
        );
        c.push(
            vec![("name", "web-3000".into()), ("port", "3000".into())],
            Number::Float(1.5),
        );
        let mut g = Family::new("tpm_process_up", Kind::Gauge, None, "Up.");
        g.push(vec![("name", "we\"b\\".into())], true);
        let mut i = Family::new("tpm_build", Kind::Info, None, "Build.");
        i.push(vec![("version", "1.0".into())], 1u64);
        Snapshot {
            families: Arc::new(vec![c, g, i]),
            problems: Vec::new(),
        }
    }

    #[test]
    fn both_formats_name_counters_with_total_and_units() {
        let text = sample().render(Format::Prometheus);
        assert!(
            text.contains("# TYPE tpm_process_cpu_seconds_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("tpm_process_cpu_seconds_total{name=\"web-3000\",port=\"3000\"} 1.5\n"),
            "{text}"
        );
        assert!(
            text.contains("tpm_process_up{name=\"we\\\"b\\\\\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE tpm_build_info gauge\ntpm_build_info{version=\"1.0\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
        let open = sample().render(Format::OpenMetrics);
        assert!(
            open.contains("# TYPE tpm_process_cpu_seconds counter\n"),
            "{open}"
        );
        assert!(
            open.contains("# UNIT tpm_process_cpu_seconds seconds\n"),
            "{open}"
        );
        assert!(open.ends_with("# EOF\n"), "{open}");
        let rows = sample().rows();
        assert_eq!(rows[0].metric, "tpm_process_cpu_seconds_total");
        assert_eq!(rows[2].metric, "tpm_build_info");
    }
}
