//! `tpm describe`: everything about one process in one place, the spec (what should run)
//! beside the state (what is happening), its process tree, its log files and its last
//! events.

use std::path::PathBuf;

use serde::Serialize;

use super::Tpm;
use crate::error::Result;
use crate::events::{self, Event};
use crate::info::ProcessInfo;
use crate::name::Name;
use crate::proc;
use crate::secrets;
use crate::store::Stream;

/// How many of the last events a description holds.
const LAST_EVENTS: usize = 10;

/// One process, described. Its fields are `list --json`'s, and more.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Description {
    #[serde(flatten)]
    pub process: ProcessInfo,
    /// The program that runs the script, when one does (`bash`, `node`, ...).
    pub interpreter: Option<String>,
    /// The variables set for it (`--env`, an app's `env`), secrets masked.
    #[serde(serialize_with = "as_object")]
    pub env: Vec<(String, String)>,
    pub max_restarts: u32,
    /// Milliseconds.
    pub restart_delay: u64,
    /// Milliseconds.
    pub kill_timeout: u64,
    /// Milliseconds: a shorter run is a quick exit.
    pub min_uptime: u64,
    /// The signal a stop sends first (`SIGTERM`).
    pub stop_signal: String,
    /// Exit codes that are a normal end, not restarted.
    pub stop_exit_codes: Vec<i32>,
    /// How it is judged ready: `port`, `line /REGEX/`, `http /PATH`, `none`.
    pub ready_check: String,
    /// Whether starts and restarts wait for it to be ready, and how long (milliseconds).
    pub wait_ready: bool,
    pub wait_timeout: u64,
    /// Its liveness check and settings (`http /healthz every 30s, timeout 5.0s, 3
    /// failure(s): restart`), if any.
    pub health_check: Option<String>,
    /// Milliseconds without a `WATCHDOG=1` before it is restarted (`--watchdog`), if set.
    pub watchdog: Option<u64>,
    /// The last `STATUS=` it sent on `NOTIFY_SOCKET`, while it runs.
    pub notify_status: Option<String>,
    /// Bytes: it is restarted when its tree stays over this (0: never).
    pub max_memory: u64,
    /// Its restart schedule (cron), if any.
    pub cron_restart: Option<String>,
    /// What `--watch` watches (empty: nothing), and leaves out.
    pub watch: Vec<String>,
    pub ignore_watch: Vec<String>,
    /// Bytes; 0 never rotates.
    pub log_max_size: u64,
    pub log_keep: u32,
    /// Rotation at each hour or day too (`hourly`, `daily`), if any.
    pub log_rotate: Option<String>,
    /// Milliseconds: rotated files last written longer ago are removed (0: kept).
    pub log_max_age: u64,
    /// Bytes: all its log files together stay under this (0: no limit).
    pub log_max_total: u64,
    /// Whether rotated files (but the newest) are gzip-compressed.
    pub log_compress: bool,
    /// Bytes: where a file really rotates (`log_max_size`, or a quarter of
    /// `log_max_total` where that is smaller; 0: never by size).
    pub log_rotate_size: u64,
    /// Its log files, current and rotated, with their sizes.
    pub log_files: Vec<LogFile>,
    /// Its running processes: the main one and everything it started.
    pub tree: Vec<TreeProcess>,
    /// Its last events, oldest first.
    pub events: Vec<Event>,
    /// The processes it depends on (`depends_on`), each with the condition it waits for
    /// (`started`, `ready`, `healthy`, `completed`).
    pub depends_on: Vec<crate::depends::Dependency>,
    /// The running processes that depend on it: what `restart --with-dependants` restarts
    /// with it.
    pub dependants: Vec<String>,
    /// When the record was first created.
    pub created: Option<chrono::DateTime<chrono::FixedOffset>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogFile {
    pub path: PathBuf,
    pub stream: Stream,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreeProcess {
    pub pid: u32,
    pub ppid: u32,
    pub command: String,
    /// Resident memory, in bytes.
    pub rss: u64,
}

impl Tpm {
    /// Everything about `name`.
    pub fn describe(&self, name: &Name) -> Result<Description> {
        let mut process = self.info(name)?;
        let record = self.store.load(name)?;
        let spec = &record.spec;
        let interpreter = spec
            .cmd
            .iter()
            .position(|c| c == &spec.script)
            .filter(|&i| i > 0)
            .map(|_| spec.cmd[0].clone());
        let tree = match process.supervisor {
            Some(supervisor) => {
                // Walked down from the supervisor: no read of the whole process table.
                proc::tree(supervisor)
                    .into_iter()
                    .filter_map(proc::Stat::read)
                    .filter(|s| !s.is_zombie())
                    .map(|s| TreeProcess {
                        pid: s.pid,
                        ppid: s.ppid,
                        command: proc::cmdline(s.pid),
                        rss: s.rss_pages * proc::page_size(),
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        // A description is of this moment: whether the tree listens is looked at now, not
        // taken from the supervisor's last look.
        if let (Some(_), Some(port)) = (process.pid, spec.port) {
            let pids: Vec<u32> = tree.iter().map(|t| t.pid).collect();
            process.listening = Some(proc::any_listens(&pids, port));
        }
        let mut history = events::read(&self.store, name, 0);
        let skip = history.len().saturating_sub(LAST_EVENTS);
        history.drain(..skip);
        Ok(Description {
            interpreter,
            env: secrets::masked(&spec.env),
            max_restarts: spec.policy.max_restarts,
            restart_delay: spec.policy.restart_delay.as_millis() as u64,
            kill_timeout: spec.policy.kill_timeout.as_millis() as u64,
            min_uptime: spec.policy.min_uptime.as_millis() as u64,
            stop_signal: spec.policy.stop_signal.as_str().to_string(),
            stop_exit_codes: spec.policy.stop_exit_codes.iter().collect(),
            ready_check: spec.ready.check.describe(),
            wait_ready: spec.ready.wait,
            wait_timeout: spec.ready.wait_timeout.as_millis() as u64,
            health_check: spec.health.as_ref().map(|h| h.describe()),
            watchdog: spec.watchdog.map(|w| w.as_millis() as u64),
            notify_status: process.pid.and(record.state.notify_status.clone()),
            max_memory: spec.policy.max_memory,
            cron_restart: spec.cron_restart.clone(),
            watch: spec
                .watch
                .as_ref()
                .map(|w| w.paths.clone())
                .unwrap_or_default(),
            ignore_watch: spec
                .watch
                .as_ref()
                .map(|w| w.ignore.clone())
                .unwrap_or_default(),
            log_max_size: spec.logs.max_size,
            log_keep: spec.logs.keep,
            log_rotate: spec.logs.every.map(|e| e.as_str().to_string()),
            log_max_age: spec.logs.max_age.as_millis() as u64,
            log_max_total: spec.logs.max_total,
            log_compress: spec.logs.compress,
            log_rotate_size: spec.logs.rotate_size(),
            log_files: self.log_files(name),
            tree,
            events: history,
            depends_on: spec.depends_on.clone(),
            dependants: self
                .dependants(std::slice::from_ref(name))
                .into_iter()
                .map(|n| n.to_string())
                .collect(),
            created: record.created_at.and_then(crate::info::local_time),
            process,
        })
    }

    /// A process's log files that exist, current first, then rotated, newest first.
    fn log_files(&self, name: &Name) -> Vec<LogFile> {
        let mut files = Vec::new();
        for stream in [Stream::Out, Stream::Err] {
            let current = self.store.log_path(name, stream);
            let rotated = (1..).map(|n| self.store.rotated_log_path(name, stream, n));
            for path in std::iter::once(current).chain(rotated) {
                let Ok(meta) = std::fs::metadata(&path) else {
                    // A rotated file may also be compressed (`.N.gz`).
                    let mut gz = path.clone().into_os_string();
                    gz.push(".gz");
                    match std::fs::metadata(&gz) {
                        Ok(meta) => {
                            files.push(LogFile {
                                path: gz.into(),
                                stream,
                                bytes: meta.len(),
                            });
                            continue;
                        }
                        Err(_) if path == self.store.log_path(name, stream) => continue,
                        Err(_) => break,
                    }
                };
                files.push(LogFile {
                    path,
                    stream,
                    bytes: meta.len(),
                });
            }
        }
        files
    }
}

/// Variables as a JSON object, in order.
fn as_object<S: serde::Serializer>(
    env: &[(String, String)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(env.len()))?;
    for (k, v) in env {
        map.serialize_entry(k, v)?;
    }
    map.end()
}
