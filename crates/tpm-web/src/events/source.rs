//! Where the hub learns what changed.

use std::collections::HashMap;
use std::sync::Arc;

use tpm_core::{ProcessInfo, Status, Tpm};

use super::Change;

/// What a source saw in one round.
pub(crate) struct Observed {
    /// Unix time in milliseconds.
    pub time: i64,
    /// Every process now, as `tpm list` shows it.
    pub processes: Vec<ProcessInfo>,
    /// What changed since the last round, in the order it happened (as far as is known).
    pub changes: Vec<Change>,
}

/// A source of changes. The hub calls [`Source::next`] once a round.
pub(crate) trait Source: Send + 'static {
    fn next(&mut self) -> tpm_core::Result<Observed>;
}

/// Changes found by reading the whole list and comparing it with the last one. A process
/// that went through a status and out of it between two reads shows only the outcome; the
/// pid and the restart count still show that it restarted.
pub(crate) struct Poller {
    tpm: Arc<Tpm>,
    /// `None` before the first read: the first read reports no changes.
    seen: Option<HashMap<String, Seen>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    id: Option<u32>,
    status: Status,
    pid: Option<u32>,
    restarts: u32,
}

impl Poller {
    pub fn new(tpm: Arc<Tpm>) -> Poller {
        Poller { tpm, seen: None }
    }
}

impl Source for Poller {
    fn next(&mut self) -> tpm_core::Result<Observed> {
        let listing = self.tpm.list()?;
        let time = now_ms();
        let now: HashMap<String, Seen> = listing
            .processes
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    Seen {
                        id: p.id,
                        status: p.status,
                        pid: p.pid,
                        restarts: p.restarts,
                    },
                )
            })
            .collect();
        let changes = match &self.seen {
            None => Vec::new(),
            Some(before) => diff(before, &now, &listing.processes, time),
        };
        self.seen = Some(now);
        Ok(Observed {
            time,
            processes: listing.processes,
            changes,
        })
    }
}

/// Appeared and changed processes in list order, then the deleted ones by name.
fn diff(
    before: &HashMap<String, Seen>,
    now: &HashMap<String, Seen>,
    order: &[ProcessInfo],
    time: i64,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for p in order {
        let Some(seen) = now.get(&p.name) else {
            continue;
        };
        let previous = before.get(&p.name);
        if previous != Some(seen) {
            changes.push(Change {
                name: p.name.clone(),
                id: seen.id,
                status: Some(seen.status),
                previous: previous.map(|s| s.status),
                pid: seen.pid,
                restarts: seen.restarts,
                time,
            });
        }
    }
    let mut gone: Vec<(&String, &Seen)> = before
        .iter()
        .filter(|(name, _)| !now.contains_key(*name))
        .collect();
    gone.sort_by(|a, b| a.0.cmp(b.0));
    for (name, seen) in gone {
        changes.push(Change {
            name: name.clone(),
            id: seen.id,
            status: None,
            previous: Some(seen.status),
            pid: None,
            restarts: seen.restarts,
            time,
        });
    }
    changes
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(status: Status, pid: Option<u32>, restarts: u32) -> Seen {
        Seen {
            id: Some(0),
            status,
            pid,
            restarts,
        }
    }

    fn info(name: &str) -> ProcessInfo {
        ProcessInfo {
            name: name.into(),
            id: Some(0),
            status: Status::Online,
            pid: None,
            port: Some(1),
            ready: None,
            listening: None,
            uptime: None,
            restarts: 0,
            cpu: None,
            mem: None,
            started: None,
            script: String::new(),
            cmd: Vec::new(),
            cwd: String::new(),
            kind: String::new(),
            exit_code: None,
            reason: None,
            supervisor: None,
            autorestart: true,
            log_dropped: 0,
            wanted: true,
            restarts_24h: 0,
            uptime_pct_24h: None,
            tracking: tpm_core::cgroup::Tracking::ProcessTree,
            instance: None,
            health: None,
        }
    }

    #[test]
    fn a_stop_a_restart_a_new_process_and_a_deletion_are_each_one_change() {
        let before = HashMap::from([
            ("a-1".to_string(), seen(Status::Online, Some(10), 0)),
            ("b-1".to_string(), seen(Status::Online, Some(11), 0)),
            ("c-1".to_string(), seen(Status::Stopped, None, 0)),
            ("d-1".to_string(), seen(Status::Online, Some(12), 0)),
        ]);
        let now = HashMap::from([
            ("a-1".to_string(), seen(Status::Stopped, None, 0)),
            ("b-1".to_string(), seen(Status::Online, Some(20), 1)),
            ("d-1".to_string(), seen(Status::Online, Some(12), 0)),
            ("e-1".to_string(), seen(Status::Launching, None, 0)),
        ]);
        let order: Vec<ProcessInfo> = ["a-1", "b-1", "d-1", "e-1"].map(info).to_vec();
        let changes = diff(&before, &now, &order, 5);
        let got: Vec<(&str, Option<Status>, Option<Status>)> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.previous, c.status))
            .collect();
        assert_eq!(
            got,
            [
                ("a-1", Some(Status::Online), Some(Status::Stopped)),
                ("b-1", Some(Status::Online), Some(Status::Online)),
                ("e-1", None, Some(Status::Launching)),
                ("c-1", Some(Status::Stopped), None),
            ]
        );
        assert_eq!(changes[1].pid, Some(20));
    }
}
