//! `tpm stop`, `tpm restart`, `tpm delete`.
//!
//! Stopping is two-phase so that `stop "*"` takes one kill timeout, not one per process:
//! first every supervisor is asked (SIGTERM, to a pid verified by its start time), then
//! each is waited for until its lock is released, which it does only after the whole
//! process tree is gone and the record says `stopped`.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{cleanup, wait_until, Each, Tpm};
use crate::error::{Error, Result};
use crate::events::{self, Event, Kind};
use crate::info::{observe, Clock, ProcessInfo};
use crate::name::Name;
use crate::proc::Identity;

/// Beyond the kill timeout, how long a stop waits for a supervisor to finish.
const STOP_MARGIN: Duration = Duration::from_secs(5);
/// How long a stop waits for a name held by another command to be free.
const BUSY_WAIT: Duration = Duration::from_secs(5);

enum Asked {
    /// Nothing was running; the record is settled.
    Done,
    /// The supervisor was asked; wait for its lock until the deadline.
    Waiting(Instant),
}

impl Tpm {
    pub fn stop(&self, names: &[Name]) -> Each<ProcessInfo> {
        let asked: Vec<(Name, Result<Asked>)> = names
            .iter()
            .map(|n| (n.clone(), self.ask_to_stop(n)))
            .collect();
        asked
            .into_iter()
            .map(|(name, asked)| {
                let result = asked.and_then(|a| self.finish_stop(&name, a));
                (name, result)
            })
            .collect()
    }

    pub fn restart(&self, names: &[Name]) -> Each<ProcessInfo> {
        self.stop(names)
            .into_iter()
            .map(|(name, stopped)| {
                let result = stopped.and_then(|_| self.start_existing(&name, true));
                (name, result)
            })
            .collect()
    }

    /// Stops, then removes every file of the process. Returns each process as it was
    /// just before removal.
    pub fn delete(&self, names: &[Name]) -> Each<ProcessInfo> {
        self.stop(names)
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
        let mut lock = None;
        wait_until(Instant::now() + BUSY_WAIT, || {
            lock = self.store.try_lock(name).ok().flatten();
            lock.is_some()
        });
        if lock.is_none() {
            return Err(Error::Busy {
                name: name.to_string(),
                what: "it was started again while being deleted".into(),
            });
        }
        self.store.remove_all(name)
    }

    fn ask_to_stop(&self, name: &Name) -> Result<Asked> {
        let deadline = Instant::now() + BUSY_WAIT;
        if self.store.exists(name) {
            let asked = Event::now(name, Kind::StopRequested).by("user");
            let _ = events::append(&self.store, &asked);
        }
        loop {
            let mut record = self.store.load(name)?;
            if let Some(_lock) = self.store.try_lock(name)? {
                // No supervisor: end what a dead one may have left, then mark it stopped.
                let record_before = record.clone();
                cleanup::settle(&self.store, name, &mut record);
                cleanup::stopped(&mut record);
                if record != record_before {
                    self.store.write(name, &record)?;
                }
                self.store.remove_pid(name)?;
                return Ok(Asked::Done);
            }
            let supervisor = Identity::from_parts(
                record.state.spid,
                record.state.spid_start,
                record.state.boot_id.as_deref(),
            );
            if let Some(sup) = supervisor.filter(|s| s.is_alive()) {
                sup.signal(Signal::SIGTERM);
                return Ok(Asked::Waiting(
                    Instant::now() + record.spec.policy.kill_timeout + STOP_MARGIN,
                ));
            }
            // Held by a command, or by a supervisor that has not written its pid yet.
            if Instant::now() >= deadline {
                return Err(Error::Busy {
                    name: name.to_string(),
                    what: "another tpm command holds it".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn finish_stop(&self, name: &Name, asked: Asked) -> Result<ProcessInfo> {
        if let Asked::Waiting(deadline) = asked {
            if !wait_until(deadline, || !self.store.is_locked(name)) {
                return Err(Error::Busy {
                    name: name.to_string(),
                    what: "its supervisor did not finish stopping in time".into(),
                });
            }
        }
        // A stop asked by the user is the one thing that makes a process not meant to
        // run (a shutdown stops supervisors too, and must not). Written unless another
        // command took the name meanwhile.
        let mut record = self.store.load(name)?;
        if record.spec.wanted {
            if let Some(_lock) = self.store.try_lock(name)? {
                record = self.store.load(name)?;
                record.spec.wanted = false;
                self.store.write(name, &record)?;
            }
        }
        Ok(observe(name, &record, false, Clock::now()))
    }
}

/// What can be said of a process whose record is unreadable.
fn corrupt_info(name: &Name) -> ProcessInfo {
    ProcessInfo {
        name: name.to_string(),
        id: None,
        status: crate::status::Status::Stopped,
        pid: None,
        port: 0,
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
    }
}
