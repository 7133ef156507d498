//! Dependencies at work (see `crate::depends` for what a file says): a file's apps started
//! each once what it depends on meets its condition (apps that wait for nothing start at
//! once, side by side), stops that take dependants first, and `restart
//! --with-dependants`.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::apps::AppStart;
use super::plan::Plan;
use super::{Each, Tpm};
use crate::depends::{Condition, Dependency};
use crate::error::{Error, Result};
use crate::info::ProcessInfo;
use crate::name::Name;
use crate::status::Status;

/// How often a dependency's record is read while waiting for it to complete.
const POLL: Duration = Duration::from_millis(20);

/// Where each app of a file stands while the file starts: `None` until its start is
/// through, then whether every process of it started.
struct Board {
    done: Mutex<Vec<Option<bool>>>,
    changed: Condvar,
}

impl Board {
    /// Records how `unit` ended; returns how many were through before it.
    fn finish(&self, unit: usize, ok: bool) -> usize {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        let before = done.iter().filter(|d| d.is_some()).count();
        if done[unit].is_none() {
            done[unit] = Some(ok);
        }
        self.changed.notify_all();
        before
    }

    fn wait(&self, unit: usize) -> bool {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(ok) = done[unit] {
                return ok;
            }
            done = self.changed.wait(done).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Marks an app's start through even if its thread panics, so its dependants do not wait
/// for ever.
struct Finished<'b> {
    board: &'b Board,
    unit: usize,
}

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        let _ = self.board.finish(self.unit, false);
    }
}

impl Tpm {
    /// `tpm start FILE` for a file whose apps depend on each other: each app (its
    /// instances one after the other) in a thread of its own that first waits for its
    /// dependencies; results in the order the apps were through. An app whose dependency fails is not
    /// started (the error says which and why); what started stays running.
    pub(super) fn start_in_order(
        &self,
        plans: Vec<Plan>,
        start: impl Fn(Plan) -> Result<AppStart> + Sync,
    ) -> Each<AppStart> {
        let units = units_of(plans);
        let names: Vec<Vec<Name>> = units
            .iter()
            .map(|u| u.iter().map(|p| p.name.clone()).collect())
            .collect();
        let unit_of = |dep: &str| {
            names
                .iter()
                .position(|u| u.iter().any(|n| n.as_str() == dep))
        };
        let board = Board {
            done: Mutex::new(vec![None; units.len()]),
            changed: Condvar::new(),
        };
        let (board, start, unit_of) = (&board, &start, &unit_of);
        std::thread::scope(|scope| {
            let handles: Vec<_> = units
                .into_iter()
                .enumerate()
                .map(|(u, plans)| {
                    scope.spawn(move || {
                        let _finished = Finished { board, unit: u };
                        let deps = plans
                            .first()
                            .map(|p| p.spec.depends_on.clone())
                            .unwrap_or_default();
                        let mut failed = None;
                        for dep in &deps {
                            if let Some(d) = unit_of(&dep.name) {
                                if !board.wait(d) {
                                    failed = Some((dep.clone(), "was not started".to_string()));
                                    break;
                                }
                            }
                            if let Err(why) = self.meets(dep) {
                                failed = Some((dep.clone(), why));
                                break;
                            }
                        }
                        let results: Each<AppStart> = match failed {
                            Some((dep, why)) => plans
                                .into_iter()
                                .map(|p| {
                                    let e = Error::DependencyFailed {
                                        name: p.name.to_string(),
                                        dependency: dep.name.clone(),
                                        condition: dep.condition.to_string(),
                                        why: why.clone(),
                                    };
                                    (p.name, Err(e))
                                })
                                .collect(),
                            None => plans
                                .into_iter()
                                .map(|p| (p.name.clone(), start(p)))
                                .collect(),
                        };
                        let ticket = board.finish(u, results.iter().all(|(_, r)| r.is_ok()));
                        (ticket, results)
                    })
                })
                .collect();
            let mut done: Vec<(usize, Each<AppStart>)> = handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect();
            // In the order they were through: what a user reads is the order they started.
            done.sort_by_key(|(ticket, _)| *ticket);
            done.into_iter().flat_map(|(_, r)| r).collect()
        })
    }

    /// Whether `dep` meets its condition, waiting for it as long as it is waited for when
    /// started with `--wait` (its `wait_timeout`); why not, when it does not.
    pub(crate) fn meets(&self, dep: &Dependency) -> std::result::Result<(), String> {
        let name = Name::parse(&dep.name).map_err(|e| e.to_string())?;
        let timeout = self.wait_timeout(&name).map_err(|e| e.to_string())?;
        match dep.condition {
            Condition::Started => {
                let info = self.info(&name).map_err(|e| e.to_string())?;
                if info.status.is_active() {
                    Ok(())
                } else {
                    Err(format!("is {}", info.status))
                }
            }
            Condition::Ready => self.ready_for_dependants(&name, timeout),
            Condition::Healthy => self.healthy(&name, timeout),
            Condition::Completed => self.completed(&name, timeout),
        }
    }

    fn ready_for_dependants(
        &self,
        name: &Name,
        timeout: Duration,
    ) -> std::result::Result<(), String> {
        match self.ensure_ready(name, timeout) {
            Ok(_) => Ok(()),
            Err(Error::NotReady { why, .. }) => Err(format!("is not ready: {why}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The `healthy` condition: ready, and, when it has a liveness check, that check's
    /// verdict `healthy` (its first passing check after the start period), within
    /// `timeout` in all. Without a check, ready is healthy (compose's `service_healthy`
    /// needs a healthcheck; here an app without one is not refused for it).
    pub(crate) fn healthy(
        &self,
        name: &Name,
        timeout: Duration,
    ) -> std::result::Result<(), String> {
        let deadline = Instant::now() + timeout;
        self.ready_for_dependants(name, timeout)?;
        loop {
            let record = self.store.load(name).map_err(|e| e.to_string())?;
            let Some(check) = &record.spec.health else {
                return Ok(());
            };
            let verdict = record.state.health;
            if verdict == Some(crate::health::HealthState::Healthy) {
                return Ok(());
            }
            if !record.state.status.is_active() {
                return Err(format!(
                    "is {} before its health check passed",
                    record.state.status
                ));
            }
            if Instant::now() >= deadline {
                let now = verdict.map_or("unknown", crate::health::HealthState::as_str);
                return Err(format!(
                    "was not healthy after {} (its wait_timeout; health check {}: {now})",
                    crate::supervisor::human(timeout),
                    check.check.kind()
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The `completed` condition: its current run ended with code 0 within `timeout`.
    fn completed(&self, name: &Name, timeout: Duration) -> std::result::Result<(), String> {
        let deadline = Instant::now() + timeout;
        let load = |n: &Name| self.store.load(n).map_err(|e| e.to_string());
        let first = load(name)?;
        let (pid, restarts) = (first.state.pid, first.state.restarts);
        loop {
            let record = load(name)?;
            let s = &record.state;
            let same_run = s.pid.is_some() && s.pid == pid && s.restarts == restarts;
            let running = same_run
                && matches!(s.status, Status::Online | Status::Launching)
                && self.store.is_locked(name);
            if !running {
                return match s.exit_code {
                    Some(0) => Ok(()),
                    Some(code) => Err(format!("exited with code {code}")),
                    None => Err(format!("ended without an exit code (it is {})", s.status)),
                };
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "had not completed after {} (its wait_timeout)",
                    crate::supervisor::human(timeout)
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// `names` in the waves a stop takes: first those nothing else of `names` depends on,
    /// then what they depended on, and so on. One wave when none depends on another.
    pub(super) fn stop_waves(&self, names: &[Name]) -> Vec<Vec<Name>> {
        let deps: Vec<Vec<usize>> = names
            .iter()
            .map(|n| {
                let record = self.store.read(n).ok().flatten();
                let listed = record.map(|r| r.spec.depends_on).unwrap_or_default();
                listed
                    .iter()
                    .filter_map(|d| names.iter().position(|m| m.as_str() == d.name))
                    .collect()
            })
            .collect();
        if deps.iter().all(Vec::is_empty) {
            return vec![names.to_vec()];
        }
        let mut left: Vec<usize> = (0..names.len()).collect();
        let mut waves = Vec::new();
        while !left.is_empty() {
            let needed: HashSet<usize> = left.iter().flat_map(|&i| deps[i].clone()).collect();
            let (now, later): (Vec<usize>, Vec<usize>) =
                left.iter().partition(|i| !needed.contains(i));
            // A cycle (records edited by hand): the rest together.
            let (now, later) = if now.is_empty() {
                (later, Vec::new())
            } else {
                (now, later)
            };
            waves.push(now.iter().map(|&i| names[i].clone()).collect());
            left = later;
        }
        waves
    }

    /// The running processes that depend on any of `names`, and on those, and so on, in
    /// store order (without `names` themselves).
    pub fn dependants(&self, names: &[Name]) -> Vec<Name> {
        let Ok((all, _)) = self.store.names() else {
            return Vec::new();
        };
        let records: Vec<(Name, Vec<Dependency>)> = all
            .into_iter()
            .filter_map(|n| {
                let r = self.store.read(&n).ok().flatten()?;
                (r.state.status.is_active() && !r.spec.depends_on.is_empty())
                    .then_some((n, r.spec.depends_on))
            })
            .collect();
        let mut wanted: HashSet<String> = names.iter().map(|n| n.to_string()).collect();
        let mut out = Vec::new();
        loop {
            let more: Vec<&Name> = records
                .iter()
                .filter(|(n, deps)| {
                    !wanted.contains(n.as_str()) && deps.iter().any(|d| wanted.contains(&d.name))
                })
                .map(|(n, _)| n)
                .collect();
            if more.is_empty() {
                break;
            }
            for n in more {
                wanted.insert(n.to_string());
                out.push(n.clone());
            }
        }
        // In store order, as `tpm list` shows them.
        out.sort_by_key(|n| records.iter().position(|(m, _)| m == n));
        out
    }

    /// `tpm restart --with-dependants`: `names` and every running process that depends on
    /// them, stopped dependants first, then started again each once what it depends on
    /// meets its condition. Results: `names` in order, then the dependants.
    pub fn restart_with_dependants(&self, names: &[Name]) -> Each<ProcessInfo> {
        let mut all = names.to_vec();
        all.extend(self.dependants(names));
        let stopped = self.stop(&all);
        let deps: Vec<Vec<Dependency>> = all
            .iter()
            .map(|n| {
                self.store
                    .read(n)
                    .ok()
                    .flatten()
                    .map(|r| r.spec.depends_on)
                    .unwrap_or_default()
            })
            .collect();
        let order = crate::depends::order(all.len(), |i| {
            deps[i]
                .iter()
                .filter_map(|d| all.iter().position(|m| m.as_str() == d.name))
                .collect()
        })
        .unwrap_or_else(|_| (0..all.len()).collect());
        let mut results: Vec<Option<Result<ProcessInfo>>> = stopped
            .into_iter()
            .map(|(_, r)| match r {
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect();
        for i in order {
            if results[i].is_some() {
                continue;
            }
            let failed = deps[i].iter().find_map(|d| {
                let within = all.iter().position(|m| m.as_str() == d.name);
                if within.is_some_and(|j| results[j].as_ref().is_some_and(|r| r.is_err())) {
                    return Some((d, "was not restarted".to_string()));
                }
                self.meets(d).err().map(|why| (d, why))
            });
            results[i] = Some(match failed {
                Some((d, why)) => Err(Error::DependencyFailed {
                    name: all[i].to_string(),
                    dependency: d.name.clone(),
                    condition: d.condition.to_string(),
                    why,
                }),
                None => self.start_again(&all[i]),
            });
        }
        all.into_iter()
            .zip(results)
            .map(|(n, r)| {
                (
                    n,
                    r.unwrap_or_else(|| Err(Error::Usage("not restarted".into()))),
                )
            })
            .collect()
    }
}

/// A file's plans grouped by app: an instance after the first joins its app's group.
fn units_of(plans: Vec<Plan>) -> Vec<Vec<Plan>> {
    let mut units: Vec<Vec<Plan>> = Vec::new();
    for plan in plans {
        let joins = plan.spec.cluster.instance.is_some_and(|i| i > 0)
            && units.last().and_then(|u| u.last()).is_some_and(|prev| {
                prev.spec.app == plan.spec.app && prev.spec.file == plan.spec.file
            });
        match units.last_mut() {
            Some(unit) if joins => unit.push(plan),
            _ => units.push(vec![plan]),
        }
    }
    units
}
