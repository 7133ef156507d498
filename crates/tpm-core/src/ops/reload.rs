//! `tpm reload`: a rolling restart that refuses no connection where it can.
//!
//! The processes are restarted one at a time, each by its own supervisor (SIGHUP: a new
//! process behind the same supervisor, see `supervisor::phase`), and each new one must be
//! ready before the next is touched. While one instance restarts, the others serve; a
//! process with `--socket` restarts behind the socket its supervisor holds, so connections
//! made meanwhile wait in its backlog. A single process without `--socket`, or an instance
//! alone on its port (`--port-step`), has nothing to serve in its place: its reload is a
//! restart, and the result says so.
//!
//! A new process that does not become ready stops the reload there: the processes not
//! reloaded yet are left running as they were, the failure is in the event history, and
//! the command fails.
//!
//! A stop (or a restart, or a delete) of the same processes may come while the reload
//! runs: the later command stands. A process that a stop reached before the reload was
//! done with it is not said to be reloaded: its result is [`Error::Overtaken`], and the
//! command fails. Each process said reloaded has a `reloaded` event in its history,
//! written before the reload looks for a stop: a stop asked for after that line came after
//! the reload was done.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::Serialize;

use super::{live_supervisor, Tpm};
use crate::error::{Error, Result};
use crate::events::{self, Event, Kind};
use crate::info::{observe, Clock, ProcessInfo};
use crate::name::Name;
use crate::proc::Identity;
use crate::readiness::ReadyCheck;
use crate::status::Status;

/// How long a new process has to become ready, by default.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How a process was reloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReloadKind {
    /// One of several instances, while the others served.
    Rolling,
    /// Behind the socket its supervisor holds (`--socket`).
    Socket,
    /// A plain restart: one process, no socket held (connections were refused meanwhile).
    Restart,
    /// It was not running: it was started.
    Started,
}

impl ReloadKind {
    /// Its name in JSON, the plugin's `reload` column and the history.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadKind::Rolling => "rolling",
            ReloadKind::Socket => "socket",
            ReloadKind::Restart => "restart",
            ReloadKind::Started => "started",
        }
    }
}

/// One process reloaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reloaded {
    #[serde(flatten)]
    pub info: ProcessInfo,
    /// How it was reloaded (`reload` in JSON).
    #[serde(rename = "reload")]
    pub kind: ReloadKind,
}

/// What a reload did: each process it got to, in order, and those it left as they were
/// because an earlier one did not become ready.
#[derive(Debug)]
pub struct Reload {
    pub done: super::Each<Reloaded>,
    /// Not reloaded, and running as they were.
    pub skipped: Vec<Name>,
    /// What a front end says besides each process's line, a line each: the processes not
    /// reloaded, and how they are; what a reload without `--socket` can cost.
    pub notes: Vec<String>,
}

/// How long before a reload began a stop may have been asked for and still be the reason
/// a reload failed: a stop that a reload found half done (the stop's line is written just
/// before it signals, and a command takes a moment to get going).
const STOP_MARGIN_MS: i64 = 2_000;

impl Tpm {
    /// Reloads `names`, one at a time (see the module). `ready_timeout` is how long each new
    /// process has to become ready.
    pub fn reload(&self, names: &[Name], ready_timeout: Duration) -> Reload {
        let began = events::now_ms();
        let (all, _) = self.store.names().unwrap_or_default();
        let mut done = Vec::with_capacity(names.len());
        let mut rest: &[Name] = &[];
        for (at, name) in names.iter().enumerate() {
            let mut own = 0;
            let result = self.reload_one(name, &all, ready_timeout, began, &mut own);
            let failed = result.is_err();
            done.push((name.clone(), result, own));
            if failed {
                rest = &names[at + 1..];
                break;
            }
        }
        // Said reloaded only if no stop reached it meanwhile: looked at once all are done
        // (a stop of an app reaches the instances reloaded first too).
        let done: super::Each<Reloaded> = done
            .into_iter()
            .map(|(name, result, own)| {
                let result = result.and_then(|r| self.confirm(&name, r, began, own));
                (name, result)
            })
            .collect();
        let mut notes = Vec::new();
        let rolled = done
            .iter()
            .any(|(_, r)| r.as_ref().is_ok_and(|r| r.kind == ReloadKind::Rolling));
        if rolled && !queues_migrate() {
            notes.push(QUEUED_NOTE.to_string());
        }
        let (skipped, gone): (Vec<Name>, Vec<Name>) = rest.iter().cloned().partition(|n| {
            self.store
                .read(n)
                .ok()
                .flatten()
                .is_some_and(|r| r.state.status.is_active())
        });
        if !skipped.is_empty() {
            notes.push(format!(
                "reload stopped; not reloaded, still running as they were: {}",
                list(&skipped)
            ));
        }
        if !gone.is_empty() {
            let (stopped, other): (Vec<Name>, Vec<Name>) = gone
                .into_iter()
                .partition(|n| self.stops_asked(n, began) > 0);
            if !stopped.is_empty() {
                notes.push(format!(
                    "reload stopped; not reloaded, and stopped by another command meanwhile: {}",
                    list(&stopped)
                ));
            }
            if !other.is_empty() {
                notes.push(format!(
                    "reload stopped; not reloaded, and not running: {}",
                    list(&other)
                ));
            }
        }
        Reload {
            done,
            skipped,
            notes,
        }
    }

    /// How many stops of `name` were asked for (a line in its history) since `since_ms`.
    fn stops_asked(&self, name: &Name, since_ms: i64) -> usize {
        events::read(&self.store, name, since_ms)
            .iter()
            .filter(|e| e.event == Kind::StopRequested)
            .count()
    }

    /// The error for a process that another command stopped (or restarted, or deleted)
    /// while it was reloaded, if one did: a stop asked for since `since_ms` other than the
    /// reload's `own`. Waits until that command is through, to say what it did.
    fn overtaken(&self, name: &Name, since_ms: i64, own: usize) -> Option<Error> {
        if self.stops_asked(name, since_ms) <= own {
            return None;
        }
        let what = match self.observe_settled(name) {
            Ok(info) if info.status.is_active() => "restarted",
            Ok(_) => "stopped",
            Err(_) => "deleted",
        };
        Some(Error::Overtaken {
            name: name.to_string(),
            what: what.into(),
            during: "reload".into(),
        })
    }

    /// A reloaded process, said to be reloaded: its `reloaded` line is written, then its
    /// history is looked at for a stop asked for since the reload began (`own`: the stops
    /// the reload asked for itself). A stop after that line came after the reload.
    fn confirm(&self, name: &Name, r: Reloaded, began: i64, own: usize) -> Result<Reloaded> {
        let failed = |e: Error| {
            let mut event = Event::now(name, Kind::ReloadFailed).by("user");
            event.reason = Some(e.to_string());
            let _ = events::append(&self.store, &event);
            e
        };
        if let Some(e) = self.overtaken(name, began, own) {
            return Err(failed(e));
        }
        let mut event = Event::now(name, Kind::Reloaded)
            .by("user")
            .reason(r.kind.as_str());
        event.pid = r.info.pid;
        let _ = events::append(&self.store, &event);
        match self.overtaken(name, began, own) {
            Some(e) => Err(failed(e)),
            None => Ok(r),
        }
    }

    fn reload_one(
        &self,
        name: &Name,
        all: &[Name],
        timeout: Duration,
        began: i64,
        own: &mut usize,
    ) -> Result<Reloaded> {
        let record = self.load_record(name)?;
        let cluster = record.spec.cluster.clone();
        let siblings = match cluster.instance {
            Some(i) => {
                let app = name
                    .as_str()
                    .strip_suffix(&format!("-{i}"))
                    .unwrap_or(name.as_str());
                self.instances_of(app, all).len()
            }
            None => 1,
        };
        // Instances serve in each other's place only on a PORT they share: with
        // --port-step each is alone on its own, and its reload refuses what comes meanwhile.
        let kind = if cluster.socket {
            ReloadKind::Socket
        } else if siblings > 1 && cluster.port_step == 0 {
            ReloadKind::Rolling
        } else {
            ReloadKind::Restart
        };
        // A process that did not listen on its PORT before (a worker) is not waited for to
        // listen after: it is ready once it has stayed up a moment.
        let listened = !cluster.socket
            && record.spec.port.is_some()
            && (record.state.ready == Some(true)
                || record
                    .state
                    .pid
                    .is_some_and(|pid| tree_listens(pid, record.spec.port)));
        let running = live_supervisor(&record).filter(|_| record.state.status.is_active());
        // A stop that a reload of a running process found half done (asked for a moment
        // before the reload began) is why it fails; one of a process found stopped was
        // done before, and the reload starts it.
        let stops_since = if running.is_some() {
            began - STOP_MARGIN_MS
        } else {
            began
        };
        let result = match running {
            Some(sup) => self
                .ask_restart(
                    name,
                    &sup,
                    record.state.restarts,
                    record.spec.policy.kill_timeout,
                )
                .and_then(|asked| {
                    if asked {
                        return Ok(kind);
                    }
                    // A supervisor of an earlier tpm: stopped and started (a stop of the
                    // reload's own, not another command's).
                    *own += 1;
                    self.restart_plain(std::slice::from_ref(name))
                        .pop()
                        .map_or(Ok(()), |(_, r)| r.map(|_| ()))
                        .map(|()| kind)
                }),
            // Not running: started, unless a stop came since the reload began (the stop is
            // the later command).
            None => match self.overtaken(name, began, *own) {
                Some(e) => Err(e),
                None => self.start_existing(name, true).map(|_| ReloadKind::Started),
            },
        };
        // One that was not running had nothing serving to wait for: it is ready once it
        // has stayed up a moment, like a worker.
        let ready = result.and_then(|kind| {
            let must_listen = listened && kind != ReloadKind::Started;
            match record.spec.ready.check {
                // The readiness its spec declares (a line of output, an HTTP answer, none):
                // the supervisor judges it (see `crate::readiness`).
                ReadyCheck::Line(_)
                | ReadyCheck::Http(_)
                | ReadyCheck::Notify
                | ReadyCheck::None => self.ensure_ready(name, timeout).map(|_| kind),
                // The default, its PORT: looked at here, more often than the supervisor's
                // sampler does, and only where the old process listened (see `wait_ready`).
                ReadyCheck::Port => wait_ready(self, name, must_listen, timeout).map(|()| kind),
            }
        });
        let kind = match ready {
            Ok(kind) => kind,
            Err(e) => {
                // A stop that reached the process is why, not the symptom seen.
                let e = match e {
                    Error::Overtaken { .. } => e,
                    e => self.overtaken(name, stops_since, *own).unwrap_or(e),
                };
                let mut event = Event::now(name, Kind::ReloadFailed).by("user");
                event.reason = Some(e.to_string());
                let _ = events::append(&self.store, &event);
                return Err(e);
            }
        };
        let record = self.load_record(name)?;
        Ok(Reloaded {
            info: observe(name, &record, self.store.is_locked(name), Clock::now()),
            kind,
        })
    }

    /// [`Tpm::ask_restart`]; a supervisor of an earlier tpm, which ignores the request, has
    /// its process restarted the plain way (stop, then start) instead.
    pub(super) fn restart_in_place(
        &self,
        name: &Name,
        sup: &Identity,
        restarts: u32,
        kill_timeout: Duration,
    ) -> Result<()> {
        if self.ask_restart(name, sup, restarts, kill_timeout)? {
            return Ok(());
        }
        self.restart_plain(std::slice::from_ref(name))
            .pop()
            .map_or(Ok(()), |(_, r)| r.map(|_| ()))
    }

    /// Asks supervisor `sup` for a new process (SIGHUP) and waits until it has spawned one:
    /// the record counts one more restart than `restarts` and shows a process. `false` when
    /// the supervisor did not take the request up (one of an earlier tpm ignores SIGHUP:
    /// the record would say `waiting` at once).
    fn ask_restart(
        &self,
        name: &Name,
        sup: &Identity,
        restarts: u32,
        kill_timeout: Duration,
    ) -> Result<bool> {
        let before = self.load_record(name)?.state;
        let asked = Instant::now();
        if !sup.signal(Signal::SIGHUP) {
            return Err(Error::Supervisor {
                name: name.to_string(),
                message: "its supervisor exited before it could be asked to restart".into(),
            });
        }
        // The old process has the kill timeout to go; the new one is spawned at once.
        let deadline = Instant::now() + kill_timeout + super::busy_wait(kill_timeout);
        let mut pause = Duration::from_millis(1);
        loop {
            let record = self.load_record(name)?;
            let s = &record.state;
            if s.restarts > restarts && (s.pid.is_some() || !s.status.is_active()) {
                return match s.status {
                    Status::Online => Ok(true),
                    other => Err(self.not_ready(
                        name,
                        format!(
                            "it is {other} after the restart{}",
                            s.reason
                                .as_deref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        ),
                    )),
                };
            }
            if !sup.is_alive() {
                return Err(self.not_ready(name, "its supervisor exited during the restart".into()));
            }
            let untouched =
                s.status == Status::Online && s.pid == before.pid && s.restarts == before.restarts;
            if untouched && asked.elapsed() >= IGNORED_AFTER {
                return Ok(false);
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(
                    name,
                    "its old process did not make way for a new one".into(),
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

impl Tpm {
    /// The error for a reloaded process that is not ready, with its last log lines.
    fn not_ready(&self, name: &Name, why: String) -> Error {
        let log = crate::logs::last_lines(&self.store, name, super::wait::LOG_LINES)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.line)
            .collect();
        Error::NotReady {
            name: name.to_string(),
            why,
            log,
        }
    }
}

/// Said once by a reload that replaced instances binding the PORT themselves.
const QUEUED_NOTE: &str = "note: an instance without --socket closes its own socket when it is replaced, and connections the kernel had queued on it then are reset (about 1 in 15 000 requests in our measurements under load); --socket keeps one socket through reloads";

/// Whether the kernel moves the connections queued on a closing listener to another of
/// its `SO_REUSEPORT` group (`net.ipv4.tcp_migrate_req`, Linux 5.14): then a reload
/// without `--socket` resets none of them.
fn queues_migrate() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_migrate_req").is_ok_and(|v| v.trim() == "1")
}

/// The names, as a list for a line of text.
fn list(names: &[Name]) -> String {
    names
        .iter()
        .map(Name::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A supervisor whose record still says `online`, same process, this long after it was
/// asked for a new process (it writes `waiting` at once), did not take the request up.
const IGNORED_AFTER: Duration = Duration::from_secs(5);

/// How long a process that is not waited for to listen (it has `--socket`, whose PORT
/// listens before it runs a line, or it did not listen before) must stay up to count as
/// ready: a process that dies at once is caught.
const SETTLE: Duration = Duration::from_millis(500);

/// Whether `pid` or a process of its tree listens on `port` (never without a PORT).
fn tree_listens(pid: u32, port: Option<u16>) -> bool {
    let Some(port) = port else {
        return false;
    };
    let mut tree = crate::proc::tree(pid);
    tree.push(pid);
    crate::proc::any_listens(&tree, port)
}

/// Readiness by the PORT (the default check) for a reload: where `crate::readiness` has the
/// supervisor's sampler look five times a second, this looks every few milliseconds (each
/// instance waited for is a gap in the rollout), and a process that did not listen before
/// (a worker) is not waited for to listen.
///
/// Waits until `name`'s current process is ready: it runs, and its tree listens on its
/// PORT (`must_listen`); or it has stayed up for [`SETTLE`] (with `--socket`, whose PORT is
/// listening from the start, or for a process that did not listen before either). A
/// process that exits (or is replaced by the restart policy) meanwhile, or does not listen
/// within `timeout`, is not ready.
fn wait_ready(tpm: &Tpm, name: &Name, must_listen: bool, timeout: Duration) -> Result<()> {
    let first = tpm.load_record(name)?;
    let not_ready = |why: String| tpm.not_ready(name, why);
    let Some(pid) = first.state.pid else {
        return Err(not_ready(format!("it is {}", first.state.status)));
    };
    let id = Identity::from_parts(
        Some(pid),
        first.state.pid_start,
        first.state.boot_id.as_deref(),
    );
    let started = Instant::now();
    let deadline = started + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if !id.as_ref().is_some_and(Identity::is_alive) {
            return Err(not_ready(format!("its new process (pid {pid}) exited")));
        }
        let ready = if must_listen {
            tree_listens(pid, first.spec.port)
        } else {
            started.elapsed() >= SETTLE
        };
        if ready {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(not_ready(format!(
                "its new process (pid {pid}) did not listen on port {} within {}s",
                first.spec.port.unwrap_or_default(),
                timeout.as_secs_f64()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
