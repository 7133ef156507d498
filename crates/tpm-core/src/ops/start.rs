//! `tpm start`: validate everything, take the name's lock and claim, write the record,
//! launch the supervisor, and return once it reports the process spawned (or why it could
//! not).

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::cleanup::{self, Patience};
use super::plan::{Plan, StartRequest};
use super::{busy_wait, live_supervisor, Tpm};
use crate::claim::{Claim, Taken};
use crate::error::{Error, Result, EXIT_NOT_RUNNABLE};
use crate::events::{self, Event, Kind};
use crate::info::{observe, unix_now, Clock, ProcessInfo};
use crate::lock::FileLock;
use crate::name::Name;
use crate::options::Opt;
use crate::policy::DEFAULT_KILL_TIMEOUT;
use crate::record::Record;
use crate::supervisor::{self, Outcome};

/// Supervisors started at once for the instances of an app.
const START_THREADS: usize = 4;

/// What a start holds until it hands both to the supervisor.
struct Held {
    lock: FileLock,
    claim: Option<Claim>,
}

impl Tpm {
    /// Starts what `req` asks for: a new process, or (`tpm start NAME`) a stopped one.
    pub fn start(&self, req: &StartRequest) -> Result<ProcessInfo> {
        if let Some(names) = self.existing_targets(req) {
            let names = names?;
            if let [name] = names.as_slice() {
                return self.start_existing_as_asked(name, req);
            }
        }
        let plan = self.plan(req)?;
        self.start_planned(plan)
    }

    /// [`Tpm::start`], where `--instances N` starts N processes (see [`Tpm::plans`]), a few
    /// at a time; each one's result, in order.
    /// `tpm start APP` with the name of an app whose instances exist starts each of them.
    pub fn start_all(&self, req: &StartRequest) -> Result<super::Each<ProcessInfo>> {
        if let Some(names) = self.existing_targets(req) {
            return Ok(names?
                .into_iter()
                .map(|n| {
                    let result = self.start_existing_as_asked(&n, req);
                    (n, result)
                })
                .collect());
        }
        if req.options.instances().is_none() {
            let info = self.start(req)?;
            let name = Name::parse(&info.name)?;
            return Ok(vec![(name, Ok(info))]);
        }
        let plans = self.plans(req)?;
        Ok(self.start_plans(plans))
    }

    /// Starts every plan, a few at a time (instance 0 first: the others may share its PORT,
    /// checked for it alone). Each plan's outcome, in order.
    pub fn start_plans(&self, mut plans: Vec<Plan>) -> super::Each<ProcessInfo> {
        if plans.is_empty() {
            return Vec::new();
        }
        let first = plans.remove(0);
        let mut out = vec![(first.name.clone(), self.start_planned(first))];
        out.extend(super::parallel_map(plans, START_THREADS, |p| {
            (p.name.clone(), self.start_planned(p))
        }));
        out
    }

    /// Starts a process as planned (see [`Tpm::plan`]); its id and creation time are kept
    /// when the name exists.
    pub fn start_planned(&self, plan: Plan) -> Result<ProcessInfo> {
        self.start_plan(plan, false)
    }

    /// [`Tpm::start_planned`]; `count_restart` adds one to the process's restarts (a
    /// restart with a new spec).
    pub(super) fn start_plan(&self, plan: Plan, count_restart: bool) -> Result<ProcessInfo> {
        let env = self.ctx.env.clone();
        self.start_plan_in(plan, count_restart, &env)
    }

    /// [`Tpm::start_plan`], the process run in `env` (the caller's, or, for a new instance
    /// of an app, the environment its instances were started in).
    pub(super) fn start_plan_in(
        &self,
        plan: Plan,
        count_restart: bool,
        env: &[(OsString, OsString)],
    ) -> Result<ProcessInfo> {
        let Plan {
            name, spec, force, ..
        } = plan;
        self.store.ensure()?;
        let held = self.lock_for_start(&name)?;
        if let (false, Some(port)) = (force, spec.port) {
            check_port(&name, port)?;
        }
        let mut record = Record::new(spec);
        if let Some(mut prev) = self.store.read(&name).ok().flatten() {
            cleanup::settle(&self.store, &name, &mut prev, Patience::Graceful);
            record.id = prev.id;
            record.created_at = prev.created_at;
            // The counters are the name's whole life's: a new spec is no reset (a scrape
            // would see every counter fall to zero).
            record.state.log_dropped = prev.state.log_dropped;
            record.state.log_written = prev.state.log_written;
            record.state.exits = prev.state.exits;
            record.state.cpu_time_ms = prev.state.cpu_time_ms;
            if count_restart {
                record.state.restarts = prev.state.restarts + 1;
            }
        }
        // A new spec runs in the caller's environment, kept for its later restarts.
        self.store.write_env(&name, env)?;
        self.launch(&name, record, held, env)
    }

    /// Whether `tpm start TARGET` means existing processes other than the one named
    /// TARGET: an id, an app's name (its instances), `all` or a `*` pattern. Those starts
    /// report each process, as [`Tpm::start_all`] does.
    pub fn is_app_start(&self, req: &StartRequest) -> bool {
        match self.existing_targets(req) {
            Some(Ok(names)) => !matches!(names.as_slice(), [n] if n.as_str() == req.target),
            Some(Err(_)) => true,
            None => false,
        }
    }

    /// The existing processes `tpm start TARGET` starts, when TARGET is no file here: a
    /// process's name or id, an app's name, `all`, or a `*` pattern, as `stop` reads them.
    /// `None`: TARGET is a script or a command to start anew. An id or a pattern that
    /// selects nothing is an error (there is no script of that name to fall back to).
    fn existing_targets(&self, req: &StartRequest) -> Option<Result<Vec<Name>>> {
        let target = &req.target;
        if req.script_in_cwd || target.is_empty() || self.ctx.cwd.join(target).exists() {
            return None;
        }
        let selector =
            target == "all" || target.contains('*') || target.bytes().all(|b| b.is_ascii_digit());
        // A command string (spaces) or a path is no name: no look at the store, so that a
        // start costs the same with a thousand processes as with none.
        if !selector {
            let name = Name::parse(target).ok()?;
            if self.store.exists(&name) {
                return Some(Ok(vec![name]));
            }
        }
        match self.resolve(std::slice::from_ref(target)) {
            Ok(names) => Some(Ok(names)),
            Err(e) if selector => Some(Err(e)),
            Err(_) => None,
        }
    }

    /// `tpm start NAME` of an existing process: started as it was declared. Only how long
    /// to wait for it may be given (`--wait`, `--wait-timeout`); other options would change
    /// what it is, which a new start of its script or file does.
    fn start_existing_as_asked(&self, name: &Name, req: &StartRequest) -> Result<ProcessInfo> {
        if let Some((opt, _)) = req
            .options
            .iter()
            .find(|(o, _)| !matches!(o, Opt::Wait | Opt::WaitTimeout))
        {
            let flag = opt.def().flag.unwrap_or(opt.def().field);
            return Err(Error::Usage(format!(
                "{name} is a process: `tpm start {target}` starts it as it was declared, and \
                 --{flag} would change that (to change its options, `tpm delete {name}` and \
                 start its script again with them, or edit its ecosystem file and run \
                 `tpm restart FILE`)",
                target = req.target
            )));
        }
        let given = req
            .options
            .get(Opt::WaitTimeout)
            .map(|_| req.options.millis(Opt::WaitTimeout));
        let tpm = self.clone().waiting_at_most(given);
        let info = tpm.start_existing_checked(name, false, !req.force)?;
        if !req.options.bool(Opt::Wait) && given.is_none() {
            return Ok(info);
        }
        tpm.ensure_ready(name, tpm.wait_timeout(name)?)
    }

    /// Starts a process that has a record (`tpm restart`, or `tpm start NAME`).
    pub(super) fn start_existing(&self, name: &Name, count_restart: bool) -> Result<ProcessInfo> {
        self.start_existing_checked(name, count_restart, false)
    }

    /// [`Tpm::start_existing`]; with `check_port`, refused when something else listens on
    /// its PORT (as a new start is): `tpm start NAME` of a stopped process, where another
    /// program may have taken the port meanwhile. A restart goes ahead: the process ran.
    fn start_existing_checked(
        &self,
        name: &Name,
        count_restart: bool,
        check_port: bool,
    ) -> Result<ProcessInfo> {
        let held = self.lock_for_start(name)?;
        // Deleted meanwhile: the lock file goes with the lock (no record, no lock file).
        let mut record = self.store.load(name)?;
        cleanup::settle(&self.store, name, &mut record, Patience::Graceful);
        // Its own tree is gone (the lock is ours): whoever listens now is someone else.
        if check_port {
            check_port_of(name, &record.spec)?;
        }
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
        self.launch(name, record, held, &env)
    }

    /// Takes the name's lock and claim for a start. A live supervisor holding them means the
    /// process is already running (also when the store was wiped, or its record is junk:
    /// the claim says so); another command holding them is waited for, as long as a start
    /// may take.
    fn lock_for_start(&self, name: &Name) -> Result<Held> {
        let kill_timeout = self
            .store
            .read(name)
            .ok()
            .flatten()
            .map_or(DEFAULT_KILL_TIMEOUT, |r| r.spec.policy.kill_timeout);
        let deadline = Instant::now() + busy_wait(kill_timeout);
        let mut pause = Duration::from_millis(1);
        loop {
            match self.store.try_lock(name)? {
                Some(lock) => match Claim::take(self.store.root(), name) {
                    Ok(claim) => return Ok(Held { lock, claim }),
                    Err(Taken::By(spid)) => return Err(self.already_running(name, Some(spid))),
                    // A start under way elsewhere, between its claim and its lock (the
                    // store was wiped meanwhile): wait for it.
                    Err(Taken::Starting) => drop(lock),
                },
                None => match self.store.read(name) {
                    Ok(Some(r)) if r.state.status.is_active() && live_supervisor(&r).is_some() => {
                        return Err(self.already_running(name, None));
                    }
                    Err(Error::CorruptRecord { .. }) => {
                        if let Some(spid) = Claim::holder(self.store.root(), name) {
                            return Err(self.already_running(name, Some(spid)));
                        }
                    }
                    _ => {}
                },
            }
            if Instant::now() >= deadline {
                return Err(Error::Busy {
                    name: name.to_string(),
                    what: "another tpm command holds it".into(),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    /// The error for a name whose supervisor runs: its status and pid from the record, or,
    /// where the record is missing or junk (the supervisor rewrites it), the supervisor's pid.
    fn already_running(&self, name: &Name, spid: Option<u32>) -> Error {
        match self.store.read(name) {
            Ok(Some(r)) if r.state.status.is_active() => {
                let info = observe(name, &r, true, Clock::now());
                Error::AlreadyRunning {
                    name: name.to_string(),
                    status: info.status.to_string(),
                    pid: info.pid,
                }
            }
            _ => Error::AlreadyRunning {
                name: name.to_string(),
                status: match spid {
                    Some(spid) => format!("supervised (supervisor pid {spid})"),
                    None => "supervised".into(),
                },
                pid: None,
            },
        }
    }

    /// With the lock held: writes the record (`launching`), hands the lock and claim to a
    /// new supervisor, which runs the process in `env` (plus its spec's variables), and
    /// waits for its handshake.
    fn launch(
        &self,
        name: &Name,
        mut record: Record,
        held: Held,
        env: &[(OsString, OsString)],
    ) -> Result<ProcessInfo> {
        let now = unix_now();
        record.state.status = crate::status::Status::Launching;
        record.state.reason = None;
        record.created_at.get_or_insert(now);
        record.state.spid = None;
        record.state.spid_start = None;
        record.state.cgroup = None;
        record.state.clear_pid();
        // Ids are unique: a new one is taken under the store-wide lock, held until the
        // record carrying it is written.
        let _all = match record.id {
            Some(_) => None,
            None => {
                let all = self.store.lock_all()?;
                record.id = Some(self.store.take_id()?);
                Some(all)
            }
        };
        // On failure the lock goes, and with it its file (no record, no lock file).
        self.store.write(name, &record)?;
        drop(_all);
        let asked = Event::now(name, Kind::StartRequested).by("user");
        let _ = events::append(&self.store, &asked);
        match supervisor::launch(&self.store, name, &self.exe, env, held.lock, held.claim)? {
            Outcome::Spawned { .. } => {
                let record = self.store.load(name)?;
                if record.spec.ready.wait {
                    let timeout = self.wait_timeout.unwrap_or(record.spec.ready.wait_timeout);
                    return self.ensure_ready(name, timeout);
                }
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
}

/// Refuses a new process's PORT when another process listens on it, naming the holder. One
/// question to the kernel about that port (`proc::port_taken`); the holder is looked for only when
/// the port is taken.
fn check_port(name: &Name, port: u16) -> Result<()> {
    check_port_but(name, port, |_| false)
}

/// [`check_port`] for an existing process started again (`tpm start NAME`): the other
/// instances of its app may hold a PORT they share with it.
fn check_port_of(name: &Name, spec: &crate::spec::Spec) -> Result<()> {
    let app = match spec.cluster.instance {
        Some(_) if spec.cluster.port_step == 0 => name.as_str().rsplit_once('-').map(|(a, _)| a),
        _ => None,
    };
    let Some(port) = spec.port else {
        return Ok(());
    };
    check_port_but(name, port, |holder| {
        app.zip(holder.name.as_deref()).is_some_and(|(app, other)| {
            other
                .strip_prefix(app)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// Refuses a PORT something listens on, unless every holder is one `allowed` says may.
fn check_port_but(
    name: &Name,
    port: u16,
    allowed: impl Fn(&crate::error::Holder) -> bool,
) -> Result<()> {
    if !crate::proc::port_taken(port) {
        return Ok(());
    }
    let holders: Vec<crate::error::Holder> = crate::proc::port_holders(port)
        .into_iter()
        .map(|pid| {
            let command = crate::proc::cmdline(pid);
            // A process tpm runs has its name in its environment; a supervisor holding a
            // --socket, in its arguments (`__tpm_supervise STORE NAME ...`).
            let name = crate::proc::env_value(pid, crate::supervisor::ENV_NAME).or_else(|| {
                let mut args = command
                    .split(' ')
                    .skip_while(|a| *a != crate::supervisor::SUPERVISE_ARG);
                args.nth(2).map(str::to_string)
            });
            crate::error::Holder { pid, command, name }
        })
        .collect();
    if !holders.is_empty() && holders.iter().all(&allowed) {
        return Ok(());
    }
    Err(Error::PortTaken {
        name: name.to_string(),
        port,
        holders,
    })
}
