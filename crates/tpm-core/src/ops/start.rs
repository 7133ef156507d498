//! `tpm start`: validate everything, take the name's lock, write the record, launch the
//! supervisor, and return once it reports the process spawned (or why it could not).

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::plan::{Plan, StartRequest};
use super::{cleanup, wait_until, Tpm};
use crate::error::{Error, Result, EXIT_NOT_RUNNABLE};
use crate::events::{self, Event, Kind};
use crate::info::{observe, unix_now, Clock, ProcessInfo};
use crate::lock::FileLock;
use crate::name::Name;
use crate::proc::Identity;
use crate::record::Record;
use crate::supervisor::{self, Outcome};

/// How long a start waits for a name held by another command (not a supervisor).
const BUSY_WAIT: Duration = Duration::from_secs(5);

impl Tpm {
    /// Starts what `req` asks for: a new process, or (`tpm start NAME`) a stopped one.
    pub fn start(&self, req: &StartRequest) -> Result<ProcessInfo> {
        if let Some(name) = self.existing_target(req) {
            return self.start_existing(&name, false);
        }
        let plan = self.plan(req)?;
        self.start_planned(plan)
    }

    /// Starts a process as planned (see [`Tpm::plan`]); its id and creation time are kept
    /// when the name exists.
    pub fn start_planned(&self, plan: Plan) -> Result<ProcessInfo> {
        self.start_plan(plan, false)
    }

    /// [`Tpm::start_planned`]; `count_restart` adds one to the process's restarts (a
    /// restart with a new spec).
    pub(super) fn start_plan(&self, plan: Plan, count_restart: bool) -> Result<ProcessInfo> {
        let Plan { name, spec, force } = plan;
        self.store.ensure()?;
        let lock = self.lock_for_start(&name)?;
        if !force {
            check_port(&name, spec.port)?;
        }
        let mut record = Record::new(spec);
        if let Some(mut prev) = self.store.read(&name).ok().flatten() {
            cleanup::settle(&self.store, &name, &mut prev);
            record.id = prev.id;
            record.created_at = prev.created_at;
            if count_restart {
                record.state.restarts = prev.state.restarts + 1;
            }
        }
        // A new spec runs in the caller's environment, kept for its later restarts.
        let env = self.ctx.env.clone();
        self.store.write_env(&name, &env)?;
        self.launch(&name, record, lock, &env)
    }

    /// `tpm start NAME` for a stopped process that exists, when no file of that name does.
    fn existing_target(&self, req: &StartRequest) -> Option<Name> {
        let plain = req.options.is_empty() && !req.script_in_cwd;
        let name = Name::parse(&req.target).ok()?;
        (plain && self.store.exists(&name) && !self.ctx.cwd.join(&req.target).exists())
            .then_some(name)
    }

    /// Starts a process that has a record (`tpm restart`, or `tpm start NAME`).
    pub(super) fn start_existing(&self, name: &Name, count_restart: bool) -> Result<ProcessInfo> {
        let lock = self.lock_for_start(name)?;
        let mut record = self.store.load(name)?;
        cleanup::settle(&self.store, name, &mut record);
        if count_restart {
            record.state.restarts += 1;
        }
        record.spec.wanted = true;
        // The environment it was started with, whoever starts it again; a process started
        // by an earlier version of tpm, which kept none, gets the caller's.
        let env = self
            .store
            .read_env(name)
            .unwrap_or_else(|| self.ctx.env.clone());
        self.launch(name, record, lock, &env)
    }

    /// Takes the name's lock for a start. A live supervisor holding it means the process
    /// is already running; another command holding it is waited for, briefly.
    fn lock_for_start(&self, name: &Name) -> Result<FileLock> {
        let deadline = Instant::now() + BUSY_WAIT;
        let mut result = None;
        wait_until(deadline, || {
            result = match self.store.try_lock(name) {
                Ok(Some(lock)) => Some(Ok(lock)),
                Err(e) => Some(Err(e)),
                Ok(None) => match self.store.read(name) {
                    Ok(Some(r)) if r.state.status.is_active() && supervisor_alive(&r) => {
                        let info = observe(name, &r, true, Clock::now());
                        Some(Err(Error::AlreadyRunning {
                            name: name.to_string(),
                            status: info.status.to_string(),
                            pid: info.pid,
                        }))
                    }
                    _ => None,
                },
            };
            result.is_some()
        });
        result.unwrap_or_else(|| {
            Err(Error::Busy {
                name: name.to_string(),
                what: "another tpm command holds it".into(),
            })
        })
    }

    /// With the lock held: writes the record (`launching`), hands the lock to a new
    /// supervisor, which runs the process in `env` (plus its spec's variables), and waits
    /// for its handshake.
    fn launch(
        &self,
        name: &Name,
        mut record: Record,
        lock: FileLock,
        env: &[(OsString, OsString)],
    ) -> Result<ProcessInfo> {
        let now = unix_now();
        record.state.status = crate::status::Status::Launching;
        record.state.reason = None;
        record.created_at.get_or_insert(now);
        record.state.spid = None;
        record.state.spid_start = None;
        record.state.clear_pid();
        // Ids are unique: a new one is allocated under the store-wide lock, held until the
        // record carrying it is written.
        let _all = match record.id {
            Some(_) => None,
            None => {
                let all = self.store.lock_all()?;
                record.id = Some(self.next_id()?);
                Some(all)
            }
        };
        self.store.write(name, &record)?;
        drop(_all);
        let asked = Event::now(name, Kind::StartRequested).by("user");
        let _ = events::append(&self.store, &asked);
        match supervisor::launch(&self.store, name, &self.exe, env, lock)? {
            Outcome::Spawned { .. } => {
                let record = self.store.load(name)?;
                Ok(observe(
                    name,
                    &record,
                    self.store.is_locked(name),
                    Clock::now(),
                ))
            }
            Outcome::Failed { code, message } if code == EXIT_NOT_RUNNABLE => {
                Err(Error::ExecFailed {
                    name: name.to_string(),
                    message,
                })
            }
            Outcome::Failed { message, .. } => Err(Error::Supervisor {
                name: name.to_string(),
                message,
            }),
        }
    }

    /// One more than the largest id in use (ids start at 0, as pm2's do).
    fn next_id(&self) -> Result<u32> {
        let (names, _) = self.store.names()?;
        let max = names
            .iter()
            .filter_map(|n| self.store.read(n).ok().flatten()?.id)
            .max();
        Ok(max.map_or(0, |m| m + 1))
    }
}

fn supervisor_alive(record: &Record) -> bool {
    let s = &record.state;
    Identity::from_parts(s.spid, s.spid_start, s.boot_id.as_deref()).is_some_and(|id| id.is_alive())
}

/// Refuses a new process's PORT when another process listens on it, naming the holder. A
/// read of `/proc/net/tcp`; the holder is looked for only when the port is taken.
fn check_port(name: &Name, port: u16) -> Result<()> {
    if !crate::proc::listening_ports().contains(&port) {
        return Ok(());
    }
    let holders = crate::proc::port_holders(port)
        .into_iter()
        .map(|pid| crate::error::Holder {
            pid,
            command: crate::proc::cmdline(pid),
            name: crate::proc::env_value(pid, crate::supervisor::ENV_NAME),
        })
        .collect();
    Err(Error::PortTaken {
        name: name.to_string(),
        port,
        holders,
    })
}
