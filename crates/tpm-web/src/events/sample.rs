//! CPU now and the last minutes of CPU and memory, for the dashboard's charts.
//!
//! `ProcessInfo::cpu` is the average over the whole run, as `ps` shows it: right for a
//! table, flat on a chart. The use over the last interval comes from two reads of the
//! process's CPU time in `/proc`, a few seconds apart.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;
use tpm_core::proc::{self, Stat};
use tpm_core::ProcessInfo;

/// How much history is kept per process: 5 minutes of samples 2 s apart.
const POINTS: usize = 150;

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Point {
    /// Unix time in milliseconds.
    pub time: i64,
    /// Percent of one core since the sample before; `None` when not running.
    pub cpu: Option<f64>,
    /// Resident memory in bytes; `None` when not running.
    pub mem: Option<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct History {
    points: HashMap<String, VecDeque<Point>>,
    /// The last CPU reading of each process: its pid, start time, CPU ticks, and when.
    last: HashMap<String, (u32, u64, u64, i64)>,
    cpu_now: HashMap<String, f64>,
}

impl History {
    /// Samples every process now; returns each running one's CPU since the last sample.
    pub fn record(&mut self, time: i64, processes: &[ProcessInfo]) -> HashMap<String, f64> {
        let hz = proc::ticks_per_second() as f64;
        let mut cpu_now = HashMap::new();
        for p in processes {
            let stat = p.pid.and_then(Stat::read);
            let cpu = stat.and_then(|s| {
                let previous = self.last.get(&p.name).copied();
                self.last
                    .insert(p.name.clone(), (s.pid, s.start_ticks, s.cpu_ticks, time));
                let (pid, start, ticks, at) = previous?;
                // Another run (or a reused pid) starts a new count.
                if pid != s.pid || start != s.start_ticks || time <= at {
                    return None;
                }
                let seconds = (time - at) as f64 / 1000.0;
                let used = s.cpu_ticks.saturating_sub(ticks) as f64 / hz;
                Some((used / seconds * 1000.0).round() / 10.0)
            });
            if stat.is_none() {
                self.last.remove(&p.name);
            }
            if let Some(cpu) = cpu {
                cpu_now.insert(p.name.clone(), cpu);
            }
            let points = self.points.entry(p.name.clone()).or_default();
            if points.len() == POINTS {
                points.pop_front();
            }
            points.push_back(Point {
                time,
                cpu,
                mem: p.mem,
            });
        }
        self.cpu_now = cpu_now.clone();
        cpu_now
    }

    pub fn cpu_now(&self) -> HashMap<String, f64> {
        self.cpu_now.clone()
    }

    /// Forgets deleted processes.
    pub fn keep_only(&mut self, names: &[String]) {
        self.points.retain(|n, _| names.contains(n));
        self.last.retain(|n, _| names.contains(n));
        self.cpu_now.retain(|n, _| names.contains(n));
    }

    pub fn of(&self, name: &str) -> Vec<Point> {
        self.points
            .get(name)
            .map(|p| p.iter().copied().collect())
            .unwrap_or_default()
    }
}
