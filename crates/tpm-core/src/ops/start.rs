//! `tpm start`: validate everything, take the name's lock, write the record, launch the
//! supervisor, and return once it reports the process spawned (or why it could not).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{cleanup, wait_until, Tpm};
use crate::error::{Error, Result, EXIT_NOT_RUNNABLE};
use crate::info::{observe, unix_now, Clock, ProcessInfo};
use crate::lock::FileLock;
use crate::logs::LogLimits;
use crate::name::Name;
use crate::policy::Policy;
use crate::port::{self, PortInputs};
use crate::proc::Identity;
use crate::record::Record;
use crate::supervisor::{self, Outcome};
use crate::target;

/// How long a start waits for a name held by another command (not a supervisor).
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// Everything `tpm start` can be told.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    /// A script path, a command string, or the name of a stopped process.
    pub target: String,
    /// Replaces the base of `basename-PORT`.
    pub name: Option<String>,
    pub port: Option<u16>,
    /// The process's working directory (default: the caller's).
    pub cwd: Option<PathBuf>,
    /// `--env K=V`, applied over the caller's environment.
    pub env: Vec<(String, String)>,
    /// Arguments given after `--`.
    pub args: Vec<String>,
    /// `None` keeps the defaults.
    pub policy: Option<Policy>,
    /// `None` keeps the defaults.
    pub logs: Option<LogLimits>,
}

impl Tpm {
    pub fn start(&self, req: &StartRequest) -> Result<ProcessInfo> {
        if let Some(name) = self.existing_target(req) {
            return self.start_existing(&name, false);
        }
        let (record, base) = self.plan(req)?;
        let name = match &req.name {
            Some(custom) => Name::with_port(custom, record.port, false)?,
            None => Name::with_port(&base, record.port, true)?,
        };
        self.store.ensure()?;
        let lock = self.lock_for_start(&name)?;
        let previous = self.store.read(&name).ok().flatten();
        let mut record = record;
        if let Some(mut prev) = previous {
            cleanup::settle(&self.store, &name, &mut prev);
            record.id = prev.id;
            record.created_at = prev.created_at;
        }
        self.launch(&name, record, lock)
    }

    /// `tpm start NAME` for a stopped process that exists, when no file of that name does.
    fn existing_target(&self, req: &StartRequest) -> Option<Name> {
        let plain = req.logs.is_none()
            && req.name.is_none()
            && req.port.is_none()
            && req.cwd.is_none()
            && req.env.is_empty()
            && req.args.is_empty()
            && req.policy.is_none();
        let name = Name::parse(&req.target).ok()?;
        (plain && self.store.exists(&name) && !self.ctx.cwd.join(&req.target).exists())
            .then_some(name)
    }

    /// Validates the request and builds the record it would create, with the base of the
    /// default name.
    fn plan(&self, req: &StartRequest) -> Result<(Record, String)> {
        let target = target::resolve(&req.target, &req.args, &self.ctx)?;
        // `--env PORT=N` is what the process will see, so it counts before the caller's PORT.
        let env_port = match req.env.iter().rev().find(|(k, _)| k == "PORT") {
            Some((_, v)) => Some(v.clone()),
            None => self
                .ctx
                .var("PORT")
                .map(|v| v.to_string_lossy().into_owned()),
        };
        let detected = port::detect(&PortInputs {
            flag: req.port,
            args: target.args(),
            env: env_port.as_deref(),
            script: target.script_path.as_deref(),
            target: &req.target,
        })?;
        let cwd = match &req.cwd {
            Some(dir) => {
                let dir = self.ctx.cwd.join(dir);
                if !dir.is_dir() {
                    return Err(Error::CwdNotFound { path: dir });
                }
                dir
            }
            None => self.ctx.cwd.clone(),
        };
        let cwd = cwd
            .to_str()
            .ok_or_else(|| Error::Usage(format!("{}: tpm needs UTF-8 paths", cwd.display())))?
            .to_string();
        for (key, value) in &req.env {
            if key.is_empty() || key.contains(['=', '\0']) || value.contains('\0') {
                return Err(Error::Usage(format!(
                    "--env {key}={value}: expected NAME=value"
                )));
            }
        }
        let texts = target
            .cmd
            .iter()
            .chain([&cwd, &target.script])
            .chain(req.env.iter().map(|(_, v)| v));
        for text in texts {
            if text.contains(['\n', '\r', '\0']) {
                return Err(Error::Usage(format!(
                    "{text:?}: line breaks cannot be stored in a process record"
                )));
            }
        }
        let mut record = Record::new(
            target.script.clone(),
            target.cmd.clone(),
            cwd,
            detected.port,
        );
        record.env = req.env.clone();
        record.policy = req.policy.unwrap_or_default();
        record.logs = req.logs.unwrap_or_default();
        Ok((record, target.base))
    }

    /// Starts a process that has a record (`tpm restart`, or `tpm start NAME`).
    pub(super) fn start_existing(&self, name: &Name, count_restart: bool) -> Result<ProcessInfo> {
        let lock = self.lock_for_start(name)?;
        let mut record = self.store.load(name)?;
        cleanup::settle(&self.store, name, &mut record);
        if count_restart {
            record.restarts += 1;
        }
        self.launch(name, record, lock)
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
                    Ok(Some(r)) if r.status.is_active() && supervisor_alive(&r) => {
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
    /// supervisor and waits for its handshake.
    fn launch(&self, name: &Name, mut record: Record, lock: FileLock) -> Result<ProcessInfo> {
        let now = unix_now();
        record.status = crate::status::Status::Launching;
        record.reason = None;
        record.created_at.get_or_insert(now);
        record.spid = None;
        record.spid_start = None;
        cleanup::clear_pid(&mut record);
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
        let env: Vec<(OsString, OsString)> = self.ctx.env.clone();
        match supervisor::launch(&self.store, name, &self.exe, &env, lock)? {
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
    Identity::from_parts(record.spid, record.spid_start, record.boot_id.as_deref())
        .is_some_and(|id| id.is_alive())
}
