//! `tpm stop`, `tpm restart`, `tpm delete`.
//!
//! Stopping is two-phase so that `stop "*"` takes one kill timeout, not one per process:
//! first every supervisor is asked (SIGTERM, to a pid verified by its start time), then
//! each is waited for until it has exited, which it does only after the whole process tree
//! is gone and the record says `stopped`.
//!
//! The wait has no fixed deadline: it lasts as long as the supervisor is alive and
//! answering (a thousand supervisors stopping at once on two cores take their time, and
//! that is no failure). A supervisor that does not answer (stopped by SIGSTOP, or doing
//! nothing for far longer than a stop can take) is reported, with its pid. One that dies
//! before it is done (killed mid-stop) leaves the job to the command, which finishes it:
//! `stop` succeeds only once nothing of the tree is left. Another command acting on the same
//! process at the same time is no failure either: a restart that finds the process
//! restarted by someone else since it asked is done, and a stop reports what it found.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::cleanup::{self, Patience};
use super::{busy_wait, live_supervisor, parallel_map, Each, Tpm};
use crate::error::{Error, Result};
use crate::events::{self, Event, Kind};
use crate::info::{observe, Clock, ProcessInfo};
use crate::name::Name;
use crate::proc::Identity;
use crate::record::Record;
use crate::status::Status;

/// Supervisors a restart of many processes starts at once.
const START_THREADS: usize = 4;
/// A supervisor stopped (SIGSTOP, a debugger) for this long is reported as not answering.
const STOPPED_GRACE: Duration = Duration::from_secs(1);
/// Beyond the kill timeout, how long a supervisor may show no sign of life (no CPU time
/// used, no change of state) before it is reported as not answering. It sends SIGKILL
/// rounds for 10 s after the kill timeout at most (see `supervisor::phase`).
const STALL_MARGIN: Duration = Duration::from_secs(45);

enum Asked {
    /// Nothing was running; the record is settled.
    Done,
    /// This supervisor was asked; wait for it to exit.
    Waiting(Identity, Duration),
}

/// What the command does with the record once the tree is gone.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Then {
    /// Record `stopped` (a failed write is an error: the record would say otherwise).
    Record,
    /// Nothing: the files are about to go (`delete`), and writing first would fail on a
    /// full disk, where removing is what frees room.
    Remove,
}

impl Tpm {
    pub fn stop(&self, names: &[Name]) -> Each<ProcessInfo> {
        self.stop_then(names, Then::Record)
    }

    /// Stops `names`, dependants before what they depend on (see `Tpm::stop_waves`).
    fn stop_then(&self, names: &[Name], then: Then) -> Each<ProcessInfo> {
        let waves = self.stop_waves(names);
        if waves.len() == 1 {
            return self.stop_wave(names, then);
        }
        let mut done: Each<ProcessInfo> = waves
            .iter()
            .flat_map(|wave| self.stop_wave(wave, then))
            .collect();
        done.sort_by_key(|(n, _)| names.iter().position(|m| m == n));
        done
    }

    fn stop_wave(&self, names: &[Name], then: Then) -> Each<ProcessInfo> {
        let asked: Vec<(Name, Result<Asked>)> = names
            .iter()
            .map(|n| (n.clone(), self.ask_to_stop(n, then)))
            .collect();
        asked
            .into_iter()
            .map(|(name, asked)| {
                let result = asked.and_then(|a| self.finish_stop(&name, a, then));
                (name, result)
            })
            .collect()
    }

    /// Stops, then starts again. A process that another command restarted meanwhile (after
    /// this one asked) is restarted: it is returned as it runs now. One that another command
    /// stopped meanwhile is started again (this restart counts as the later command).
    ///
    /// A running process with `--socket` is restarted by its supervisor instead (see
    /// `ops::reload`): the supervisor, and the socket it holds, stay.
    pub fn restart(&self, names: &[Name]) -> Each<ProcessInfo> {
        let (behind_socket, plain): (Vec<Name>, Vec<Name>) = names
            .iter()
            .cloned()
            .partition(|n| self.socket_held(n).is_some());
        let mut done = parallel_map(behind_socket, START_THREADS, |name| {
            let result = match self.socket_held(&name) {
                Some((sup, record)) => self
                    .restart_in_place(
                        &name,
                        &sup,
                        record.state.restarts,
                        record.spec.policy.kill_timeout,
                    )
                    .and_then(|()| self.observe_settled(&name)),
                None => self.start_again(&name),
            };
            (name, result)
        });
        done.extend(self.restart_plain(&plain));
        // In the order asked.
        done.sort_by_key(|(n, _)| names.iter().position(|m| m == n));
        done
    }

    /// Stops, then starts again: a new supervisor for each.
    pub(super) fn restart_plain(&self, names: &[Name]) -> Each<ProcessInfo> {
        parallel_map(self.stop(names), START_THREADS, |(name, stopped)| {
            let result = match stopped {
                // Started again by another command: once that is through, it may have been
                // stopped by a third; start_again leaves it running either way.
                Ok(_) => self.start_again(&name),
                Err(e) => Err(e),
            };
            (name, result)
        })
    }

    /// The live supervisor of a running process whose socket it holds, and its record.
    fn socket_held(&self, name: &Name) -> Option<(Identity, Record)> {
        let record = self.store.read(name).ok().flatten()?;
        if !record.spec.cluster.socket || !record.state.status.is_active() {
            return None;
        }
        live_supervisor(&record).map(|sup| (sup, record))
    }

    /// The start half of a restart, among other commands acting on the same process.
    pub(super) fn start_again(&self, name: &Name) -> Result<ProcessInfo> {
        const ATTEMPTS: usize = 5;
        for _ in 1..ATTEMPTS {
            match self.start_existing(name, true) {
                // Started by another command since: done, once it is through.
                Err(Error::AlreadyRunning { .. }) => {
                    let info = self.observe_settled(name)?;
                    if info.status.is_active() {
                        return Ok(info);
                    }
                    // ...and stopped again by a third: start it after all.
                }
                // Started, and already being stopped by another command (a user's stop
                // has no reason; a process that ends by itself says why).
                Ok(info) if taken_over(&info) => return self.after_another_command(name, info),
                other => return other,
            }
        }
        self.observe_settled(name)
    }

    /// The process once the command that took it over is through: running if that
    /// command starts it again (a restart), else as that command left it (a stop).
    fn after_another_command(&self, name: &Name, mut seen: ProcessInfo) -> Result<ProcessInfo> {
        let deadline = Instant::now() + busy_wait(crate::policy::DEFAULT_KILL_TIMEOUT);
        while taken_over(&seen) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            seen = self.observe_settled(name)?;
        }
        Ok(seen)
    }

    /// Stops, then removes every file of the process (first: a full disk has room again).
    /// Returns each process as it was just before removal.
    pub fn delete(&self, names: &[Name]) -> Each<ProcessInfo> {
        self.stop_then(names, Then::Remove)
            .into_iter()
            .map(|(name, stopped)| {
                let result = match stopped {
                    Ok(info) => self.remove(&name).map(|()| info),
                    // An unreadable record cannot be stopped safely, but if nothing holds
                    // its lock nothing runs under it: the files may go.
                    Err(Error::CorruptRecord { .. }) if !self.store.is_locked(&name) => {
                        self.remove(&name).map(|()| corrupt_info(&name))
                    }
                    Err(e) => Err(e),
                };
                (name, result)
            })
            .collect()
    }

    fn remove(&self, name: &Name) -> Result<()> {
        let deadline = Instant::now() + busy_wait(crate::policy::DEFAULT_KILL_TIMEOUT);
        loop {
            if let Some(_lock) = self.store.try_lock(name)? {
                return self.store.remove_all(name);
            }
            let restarted = self
                .store
                .read(name)
                .ok()
                .flatten()
                .is_some_and(|r| live_supervisor(&r).is_some());
            if restarted || Instant::now() >= deadline {
                return Err(Error::Busy {
                    name: name.to_string(),
                    what: "it was started again by another command while being deleted".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The process as another command left it, once that command is through: a start
    /// (`launching` until the process is spawned, or has clearly failed) or a stop
    /// (`stopping` until the tree is gone).
    pub(super) fn observe_settled(&self, name: &Name) -> Result<ProcessInfo> {
        let mut deadline = None;
        let mut pause = Duration::from_millis(1);
        loop {
            let record = self.load_record(name)?;
            let until = *deadline
                .get_or_insert_with(|| Instant::now() + busy_wait(record.spec.policy.kill_timeout));
            let passing = matches!(record.state.status, Status::Launching | Status::Stopping);
            if !passing || Instant::now() >= until {
                return Ok(observe(
                    name,
                    &record,
                    self.store.is_locked(name),
                    Clock::now(),
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    fn ask_to_stop(&self, name: &Name, then: Then) -> Result<Asked> {
        if self.store.exists(name) {
            let asked = Event::now(name, Kind::StopRequested).by("user");
            let _ = events::append(&self.store, &asked);
        }
        let mut deadline = None;
        loop {
            let record = self.load_record(name)?;
            // The supervisor first: its lock file may be gone with a wiped store while it
            // runs (it makes it again within a second).
            if let Some(sup) = live_supervisor(&record) {
                sup.signal(Signal::SIGTERM);
                return Ok(Asked::Waiting(sup, record.spec.policy.kill_timeout));
            }
            if let Some(_lock) = self.store.try_lock(name)? {
                // No supervisor: end what a dead one may have left, then mark it stopped.
                // Read again under the lock: a supervisor that wrote its last record and
                // exited after the read above left a newer one.
                let record = self.load_record(name)?;
                self.settle_stopped(name, record, then)?;
                return Ok(Asked::Done);
            }
            // Held by a command (a start under way), or by a supervisor that has not
            // written its pid yet: it will have, once its handshake is done.
            let until = *deadline
                .get_or_insert(Instant::now() + busy_wait(record.spec.policy.kill_timeout));
            if Instant::now() >= until {
                return Err(Error::Busy {
                    name: name.to_string(),
                    what: "another tpm command holds it".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// With the lock held and no supervisor: stops what is left of the tree and records
    /// `stopped` (unless the files are about to go).
    fn settle_stopped(&self, name: &Name, mut record: Record, then: Then) -> Result<Record> {
        let before = record.clone();
        cleanup::settle(&self.store, name, &mut record, Patience::Graceful);
        cleanup::stopped(&mut record);
        if then == Then::Record {
            if record != before {
                self.store.write(name, &record)?;
            }
            self.store.remove_pid(name)?;
        }
        Ok(record)
    }

    fn finish_stop(&self, name: &Name, asked: Asked, then: Then) -> Result<ProcessInfo> {
        if let Asked::Waiting(sup, kill_timeout) = asked {
            self.wait_for_exit(name, &sup, kill_timeout)?;
        }
        let deadline = Instant::now() + busy_wait(crate::policy::DEFAULT_KILL_TIMEOUT);
        loop {
            if let Some(_lock) = self.store.try_lock(name)? {
                // Read under the lock: the record as the last holder left it.
                let record = self.load_record(name)?;
                let mut record = if record.state.status.is_active() {
                    // Its supervisor died before it was done (killed mid-stop, say): what
                    // is left of the tree is ended here, before the stop reports success.
                    self.settle_stopped(name, record, then)?
                } else {
                    record
                };
                // A stop asked by the user is the one thing that makes a process not meant
                // to run (a shutdown stops supervisors too, and must not).
                if then == Then::Record && record.spec.wanted {
                    record.spec.wanted = false;
                    self.store.write(name, &record)?;
                }
                return Ok(observe(name, &record, false, Clock::now()));
            }
            // Taken again since: another command started it (a restart racing with us).
            let record = self.load_record(name)?;
            if live_supervisor(&record).is_some() {
                return self.observe_settled(name);
            }
            if Instant::now() >= deadline {
                return Err(Error::Busy {
                    name: name.to_string(),
                    what: "another tpm command holds it".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until supervisor `sup` has exited, for as long as it is alive and answering.
    fn wait_for_exit(&self, name: &Name, sup: &Identity, kill_timeout: Duration) -> Result<()> {
        let stall = kill_timeout + STALL_MARGIN;
        let mut pause = Duration::from_millis(1);
        let mut stopped_since: Option<Instant> = None;
        let mut last = None;
        let mut progress = Instant::now();
        loop {
            let Some(stat) = sup.stat_if_alive() else {
                return Ok(());
            };
            let now = Instant::now();
            if matches!(stat.state, b'T' | b't') {
                if now.duration_since(*stopped_since.get_or_insert(now)) >= STOPPED_GRACE {
                    return Err(Error::NotAnswering {
                        name: name.to_string(),
                        pid: sup.pid,
                        why: "it is stopped (SIGSTOP, or a debugger holds it)".into(),
                    });
                }
            } else {
                stopped_since = None;
            }
            // Progress: CPU time used, or a change of state (sleeping, running, in I/O).
            let seen = (stat.cpu_ticks, stat.state);
            if last != Some(seen) {
                last = Some(seen);
                progress = now;
            } else if now.duration_since(progress) >= stall {
                return Err(Error::NotAnswering {
                    name: name.to_string(),
                    pid: sup.pid,
                    why: format!(
                        "it has shown no sign of life for {} s",
                        now.duration_since(progress).as_secs()
                    ),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }
}

/// What can be said of a process whose record is unreadable.
fn corrupt_info(name: &Name) -> ProcessInfo {
    ProcessInfo {
        name: name.to_string(),
        id: None,
        status: crate::status::Status::Stopped,
        pid: None,
        port: None,
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
        reason: Some("the record was unreadable".into()),
        supervisor: None,
        autorestart: false,
        log_dropped: 0,
        wanted: false,
        restarts_24h: 0,
        uptime_pct_24h: None,
        tracking: crate::cgroup::Tracking::ProcessTree,
        instance: None,
        health: None,
    }
}

/// A process just started that another command is already stopping, or has stopped: its
/// record says `online` while its pid is gone, `stopping`, or `stopped` with no reason.
fn taken_over(info: &ProcessInfo) -> bool {
    match info.status {
        Status::Online => info.pid.is_none(),
        Status::Stopping => true,
        Status::Stopped => info.reason.is_none(),
        _ => false,
    }
}
