//! The operations, one file each: what both front ends call.
//!
//! Every write to a record happens under the name's lock: a live supervisor holds it for
//! its whole life and is then the only writer; otherwise a command takes it for the length
//! of its change. Commands that need a supervisor to act (stop) ask it with a signal,
//! verified against the recorded start time, and wait for that supervisor to exit: for as
//! long as it is alive and answering, not for a fixed time.

mod apps;
mod cleanup;
mod depends;
mod describe;
mod doctor;
mod dump;
mod export;
mod flush;
mod history;
mod import;
mod list;
mod plan;
mod reload;
mod resurrect;
mod scale;
mod start;
mod stop;
mod wait;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use apps::{AppStart, FileChoice, FilePlan};
pub use describe::{Description, LogFile, TreeProcess};
pub use doctor::{Finding, Severity};
pub use flush::Flushed;
pub use import::{
    pm2_dump_path, AppImport, ImportAction, ImportRow, Imported, Pm2Import, IMPORTED_REASON,
};

pub use list::{Listing, PortInfo};
pub use plan::{Plan, StartRequest};
pub use reload::{Reload, ReloadKind, Reloaded, DEFAULT_READY_TIMEOUT};
pub use resurrect::{Resurrection, Saved};
pub use scale::{ScaleTo, Scaled};
pub use wait::WaitOutcome;

use crate::claim::Claim;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::name::{Name, Selector};
use crate::proc::Identity;
use crate::record::Record;
use crate::store::Store;
use crate::supervisor::HANDSHAKE_TIMEOUT;

/// The entry point: a store, the caller's context, and the binary that can be re-executed
/// as a supervisor.
#[derive(Debug, Clone)]
pub struct Tpm {
    store: Store,
    ctx: Context,
    exe: PathBuf,
    warnings: Vec<String>,
    /// How long a wait for readiness lasts when the caller said (`--wait-timeout`),
    /// instead of each process's own `listen_timeout` (see [`Tpm::waiting_at_most`]).
    wait_timeout: Option<std::time::Duration>,
}

/// The result for one process of an operation on several.
pub type Each<T> = Vec<(Name, Result<T>)>;

impl Tpm {
    /// `supervisor_exe` must be a binary that calls `supervisor::run_if_requested` first
    /// (the front end's own); a `tpm-supervisor` beside it is preferred (see `supervisor`).
    /// Fails on a store that belongs to another user; repairs one open to others (see
    /// [`Tpm::warnings`]).
    pub fn new(ctx: Context, supervisor_exe: PathBuf) -> Result<Tpm> {
        let store = Store::locate(&ctx)?;
        let warnings = store.secure()?;
        Ok(Tpm {
            store,
            ctx,
            exe: supervisor_exe,
            warnings,
            wait_timeout: None,
        })
    }

    /// This `Tpm`, where every wait for readiness (of a process declared with `--wait`, or
    /// asked for with `--wait`) lasts `timeout` when it is given, instead of each process's
    /// own: `--wait-timeout` on the command line wins over what the process was started with.
    pub fn waiting_at_most(mut self, timeout: Option<std::time::Duration>) -> Tpm {
        if timeout.is_some() {
            self.wait_timeout = timeout;
        }
        self
    }

    /// What opening the store repaired, for the front end to show.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Turns names, ids, `*` patterns and `all` into the names they select, in order,
    /// once each. An exact name or id that does not exist, or a pattern (other than `*`)
    /// that matches nothing, is an error.
    pub fn resolve(&self, selectors: &[String]) -> Result<Vec<Name>> {
        self.select(selectors, &FileChoice::default())
            .map(|s| s.names)
    }

    /// [`Tpm::resolve`], where a selector may also be an ecosystem file: its apps (those
    /// `choice` picks) that exist.
    /// `--only` or `--env NAME` in `choice` without a file among `selectors` is a usage error.
    pub fn select(&self, selectors: &[String], choice: &FileChoice) -> Result<Selected> {
        self.check_file_flags(selectors, choice)?;
        let (all, _) = self.store.names()?;
        let mut ids: Option<Vec<(u32, Name)>> = None;
        let mut out = Selected::default();
        // A set beside the list: `*` over a thousand names must not compare each with all.
        let mut seen = std::collections::HashSet::new();
        let mut add = |out: &mut Selected, name: &Name| {
            if seen.insert(name.clone()) {
                out.names.push(name.clone());
            }
        };
        for raw in selectors {
            if let Some(name) = all.iter().find(|n| n.as_str() == raw) {
                add(&mut out, name);
                continue;
            }
            // An app's name: its instances (`server-3000` for `server-3000-0`, `-1`...).
            let instances = self.instances_of(raw, &all);
            if !instances.is_empty() {
                for name in &instances {
                    add(&mut out, name);
                }
                continue;
            }
            if self.is_ecosystem_file(raw) {
                let (names, warnings) = self.file_names(raw, choice)?;
                out.warnings.extend(warnings);
                for name in &names {
                    add(&mut out, name);
                }
                continue;
            }
            if raw.bytes().all(|b| b.is_ascii_digit()) && !raw.is_empty() {
                let ids = ids.get_or_insert_with(|| self.ids(&all));
                let id: Option<u32> = raw.parse().ok();
                match ids.iter().find(|(i, _)| Some(*i) == id) {
                    Some((_, name)) => add(&mut out, name),
                    None => return Err(Error::NotFound { name: raw.clone() }),
                }
                continue;
            }
            let pattern = if raw == ALL { "*" } else { raw.as_str() };
            let selector = Selector::parse(pattern)?;
            let matched: Vec<&Name> = all.iter().filter(|n| selector.matches(n)).collect();
            if matched.is_empty() && pattern != "*" {
                return Err(Error::NotFound { name: raw.clone() });
            }
            for name in matched {
                add(&mut out, name);
            }
        }
        Ok(out)
    }

    /// The instances of the app named `app`, by instance number: the names `app-i` whose
    /// record says it is instance i. Empty when `app` has none.
    pub fn instances_of(&self, app: &str, all: &[Name]) -> Vec<Name> {
        let mut found: Vec<(u32, Name)> = all
            .iter()
            .filter_map(|n| {
                let (base, i) = crate::name::split_instance(n.as_str())?;
                if base != app {
                    return None;
                }
                let record = self.store.read(n).ok().flatten()?;
                (record.spec.cluster.instance == Some(i)).then(|| (i, n.clone()))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, n)| n).collect()
    }

    /// Every readable record's id.
    fn ids(&self, names: &[Name]) -> Vec<(u32, Name)> {
        names
            .iter()
            .filter_map(|n| Some((self.store.read(n).ok().flatten()?.id?, n.clone())))
            .collect()
    }
}

/// The word for every process, as pm2's users type it (`tpm stop all`); a process named
/// `all` is still reached by its name.
pub const ALL: &str = "all";

/// What a selection resolved to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selected {
    pub names: Vec<Name>,
    /// What is worth telling (apps of a file that are not started, or were skipped).
    pub warnings: Vec<String>,
}

/// How long a record that its supervisor is repairing (junk, or gone with a wiped store;
/// see `supervisor::heal`, once a second) is waited for.
const REPAIR_WAIT: Duration = Duration::from_secs(3);

/// How long a command waits for a name held by another command (not a supervisor): the
/// longest a start holds it (the cleanup of a dead supervisor's leftovers, up to the kill
/// timeout, then the new supervisor's handshake), and a margin.
fn busy_wait(kill_timeout: Duration) -> Duration {
    kill_timeout + HANDSHAKE_TIMEOUT + Duration::from_secs(7)
}

impl Tpm {
    /// Reads a record. One that is unreadable while a supervisor holds the name is being
    /// repaired (it rewrites its record within a second): it is waited for, briefly.
    fn read_record(&self, name: &Name) -> Result<Option<Record>> {
        let deadline = Instant::now() + REPAIR_WAIT;
        let mut result = None;
        wait_until(deadline, || {
            let read = self.store.read(name);
            let repairing = matches!(read, Err(Error::CorruptRecord { .. }))
                && (self.store.is_locked(name) || Claim::holder(self.store.root(), name).is_some());
            result = Some(read);
            !repairing
        });
        result.unwrap_or(Ok(None))
    }

    /// [`Tpm::read_record`] for a record that must exist.
    fn load_record(&self, name: &Name) -> Result<Record> {
        self.read_record(name)?.ok_or_else(|| Error::NotFound {
            name: name.to_string(),
        })
    }
}

/// The record's supervisor, if it is alive and is that one (not a reused pid).
fn live_supervisor(record: &Record) -> Option<Identity> {
    let s = &record.state;
    Identity::from_parts(s.spid, s.spid_start, s.boot_id.as_deref()).filter(Identity::is_alive)
}

/// `f` of every item, in order, by up to `threads` threads (scoped; one part each). Starting
/// supervisors is mostly waiting for their handshake, so a few at once go faster even on
/// one core.
fn parallel_map<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.min(items.len()).max(1);
    if threads == 1 {
        return items.into_iter().map(&f).collect();
    }
    let size = items.len().div_ceil(threads);
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut rest = items.into_iter();
    loop {
        let part: Vec<T> = rest.by_ref().take(size).collect();
        if part.is_empty() {
            break;
        }
        parts.push(part);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                let job = move || part.into_iter().map(f).collect::<Vec<R>>();
                scope.spawn(job)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Polls `ready` with a short, growing pause until it holds or `deadline` passes.
fn wait_until(deadline: Instant, mut ready: impl FnMut() -> bool) -> bool {
    let mut pause = Duration::from_millis(1);
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}
