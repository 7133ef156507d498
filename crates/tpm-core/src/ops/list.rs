//! `tpm list`, `tpm ports`, `tpm logs`: reading the store.

use serde::Serialize;

use super::cleanup::{self, Patience};
use super::Tpm;
use crate::error::{Error, Result};
use crate::info::{
    live_process, observe_seen, parent_is_supervisor, with_history, Clock, ProcessInfo,
};
use crate::logs::{self, LogLine};
use crate::name::Name;
use crate::proc;
use crate::record::Record;
use crate::status::Status;
use crate::store::Problem;

/// Records a listing thread reads at least: fewer, and a thread costs more than it saves.
const PER_THREAD: usize = 24;
/// Threads a listing uses at most.
const MAX_THREADS: usize = 4;

/// Processes observed with their records, and the files that could not be read.
pub type Observed = (Vec<(ProcessInfo, Record)>, Vec<Problem>);

/// Every process, plus the files that could not be read.
#[derive(Debug)]
pub struct Listing {
    pub processes: Vec<ProcessInfo>,
    pub problems: Vec<Problem>,
}

/// One line of `tpm ports`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortInfo {
    pub name: String,
    pub port: u16,
    pub status: Status,
    /// Whether some process listens on the port (TCP, any address) right now.
    pub listening: bool,
}

impl Tpm {
    /// Every process, ordered by id. A record left active by a dead supervisor is settled
    /// here (its leftovers killed at once, never a wait of a kill timeout), so the next
    /// command after a crash cleans up.
    ///
    /// Each record costs a few system calls (its file, its lock, `/proc` for the process
    /// and its supervisor), so a long list is read by several threads, one part each.
    pub fn list(&self) -> Result<Listing> {
        let (seen, problems) = self.observe_everything(true)?;
        let mut processes: Vec<ProcessInfo> = seen.into_iter().map(|(info, _)| info).collect();
        processes
            .sort_by(|a, b| (a.id.is_none(), a.id, &a.name).cmp(&(b.id.is_none(), b.id, &b.name)));
        group_instances(&mut processes);
        Ok(Listing {
            processes,
            problems,
        })
    }

    /// Every process as [`Tpm::list`] sees it (settled likewise), with the record it was
    /// read from and without the event history's last 24 hours (`restarts_24h` and
    /// `uptime_pct_24h` are left out: reading every history costs more than all the rest at
    /// a thousand processes), in no particular order. For `tpm metrics`.
    pub fn observe_records(&self) -> Result<Observed> {
        self.observe_everything(false)
    }

    fn observe_everything(&self, history: bool) -> Result<Observed> {
        // Whoever lists looks: the supervisors look at their trees for a while, so the
        // next listings show recent CPU and memory (an idle one otherwise never looks).
        crate::supervisor::touch_marker(self.store.root());
        let (names, mut problems) = self.store.names()?;
        let clock = Clock::now();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS)
            .min(names.len() / PER_THREAD)
            .max(1);
        let observe = |part: &[Name]| self.observe_all(part, clock, history);
        let parts: Vec<Observed> = if threads == 1 {
            vec![observe(&names)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = names
                    .chunks(names.len().div_ceil(threads))
                    .map(|part| {
                        let thread =
                            std::thread::Builder::new().spawn_scoped(scope, move || observe(part));
                        // No thread to be had: this part is read here, now.
                        thread.map_err(|_| observe(part))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| match h {
                        Ok(thread) => thread
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                        Err(done) => done,
                    })
                    .collect()
            })
        };
        let mut processes = Vec::with_capacity(names.len());
        for (mut seen, mut bad) in parts {
            processes.append(&mut seen);
            problems.append(&mut bad);
        }
        Ok((processes, problems))
    }

    /// One process as `list` shows it.
    pub fn info(&self, name: &Name) -> Result<ProcessInfo> {
        crate::supervisor::touch_marker(self.store.root());
        let (mut found, mut problems) =
            self.observe_all(std::slice::from_ref(name), Clock::now(), true);
        match (found.pop(), problems.pop()) {
            (Some((info, _)), _) => Ok(info),
            (None, Some(problem)) => Err(problem.error),
            (None, None) => Err(Error::NotFound {
                name: name.to_string(),
            }),
        }
    }

    /// Reads and observes `names`, in order; `history`: with the history's last 24 hours.
    fn observe_all(&self, names: &[Name], clock: Clock, history: bool) -> Observed {
        let mut processes = Vec::with_capacity(names.len());
        let mut problems = Vec::new();
        for name in names {
            let seen = match self.store.read(name) {
                Ok(Some(record)) => self.observe_read(name, record, clock, history),
                Ok(None) => Ok(None), // deleted while listing
                Err(error) => Err(error),
            };
            match seen {
                Ok(Some(info)) => processes.push(info),
                Ok(None) => {}
                Err(error) => problems.push(Problem {
                    file: self.store.meta_path(name),
                    error,
                }),
            }
        }
        (processes, problems)
    }

    /// Observes `record`, just read from the store; settles it if its supervisor is gone.
    /// `None`: it was deleted meanwhile.
    fn observe_read(
        &self,
        name: &Name,
        mut record: Record,
        clock: Clock,
        history: bool,
    ) -> Result<Option<(ProcessInfo, Record)>> {
        let mut live = record
            .state
            .status
            .is_active()
            .then(|| live_process(&record))
            .flatten();
        let mut supervised =
            live.is_some_and(|s| parent_is_supervisor(&record, &s)) || self.store.is_locked(name);
        if record.state.status.is_active() && !supervised {
            if let Ok(Some(_lock)) = self.store.try_lock(name) {
                // Read again under the lock: a supervisor that finished (wrote its last
                // record and exited) after the first read left the record to show, and
                // settling the old one would overwrite it.
                let Some(fresh) = self.store.read(name)? else {
                    return Ok(None);
                };
                record = fresh;
                cleanup::settle(&self.store, name, &mut record, Patience::Quick);
                live = None;
            } else {
                supervised = true; // someone took it since
            }
        }
        let info = observe_seen(name, &record, supervised, clock, live);
        let info = if history {
            with_history(info, &self.store, name)
        } else {
            info
        };
        Ok(Some((info, record)))
    }

    /// The PORT of every process that has one, and whether something listens on it. A
    /// process without a PORT (a worker) has no line: `tpm list` shows it.
    pub fn ports(&self) -> Result<(Vec<PortInfo>, Vec<Problem>)> {
        let listing = self.list()?;
        let listening = proc::listening_ports();
        let ports = listing
            .processes
            .into_iter()
            .filter_map(|p| {
                let port = p.port?;
                Some(PortInfo {
                    listening: listening.contains(&port),
                    name: p.name,
                    port,
                    status: p.status,
                })
            })
            .collect();
        Ok((ports, listing.problems))
    }

    /// The last `lines` lines of each process's logs (stdout and stderr merged in time
    /// order), processes in the order given.
    pub fn logs(&self, names: &[Name], lines: usize) -> Result<Vec<LogLine>> {
        self.logs_filtered(names, lines, &logs::Filter::default())
    }

    /// [`Tpm::logs`] holding at most `max_bytes` of lines (see [`logs::cost`]): each process
    /// gets an equal share, its newest lines that fit; the lines asked for that did not fit
    /// are counted in [`logs::Tail::cut`]. Memory stays within the budget whatever the log
    /// files hold.
    pub fn logs_within(
        &self,
        names: &[Name],
        lines: usize,
        max_bytes: usize,
    ) -> Result<logs::Tail> {
        let share = max_bytes / names.len().max(1);
        let mut all = logs::Tail::default();
        for name in names {
            let mut got =
                logs::last_lines_within(&self.store, name, lines, share).map_err(|e| {
                    Error::io(
                        "cannot read the logs of",
                        self.store.log_path(name, crate::store::Stream::Out),
                        e,
                    )
                })?;
            all.lines.append(&mut got.lines);
            all.cut += got.cut;
        }
        Ok(all)
    }

    /// The last `lines` lines of each process that `filter` keeps, processes in the order
    /// given (see [`logs::read`]).
    pub fn logs_filtered(
        &self,
        names: &[Name],
        lines: usize,
        filter: &logs::Filter,
    ) -> Result<Vec<LogLine>> {
        let mut out = Vec::new();
        for name in names {
            let mut got = logs::read(&self.store, name, lines, filter).map_err(|e| {
                Error::io(
                    "cannot read the logs of",
                    self.store.log_path(name, crate::store::Stream::Out),
                    e,
                )
            })?;
            out.append(&mut got);
        }
        Ok(out)
    }

    /// Follows the logs of the processes `patterns` select (see [`logs::follow_filtered`]);
    /// with a pattern (`*`, `web-*`), processes it matches later are followed too.
    pub fn follow_logs(
        &self,
        patterns: &[String],
        lines: usize,
        filter: &logs::Filter,
        keep_going: impl FnMut() -> bool,
        on_line: impl FnMut(LogLine) -> bool,
    ) -> Result<()> {
        let open_ended = patterns.iter().any(|p| p.contains('*') || p == "all");
        // `*` with nothing yet to match waits for what comes.
        let names = match self.resolve(patterns) {
            Err(Error::NotFound { .. }) if open_ended => Vec::new(),
            other => other?,
        };
        let discover = || {
            if open_ended {
                self.resolve(patterns).unwrap_or_default()
            } else {
                Vec::new()
            }
        };
        logs::follow_filtered(
            &self.store,
            &names,
            lines,
            filter,
            discover,
            keep_going,
            on_line,
        )
        .map_err(|e| {
            Error::io(
                "cannot follow the logs in",
                self.store.root().join("logs"),
                e,
            )
        })
    }

    /// The last `lines` lines of each process, then every new line, until `on_line` or
    /// (asked when no line comes) `keep_going` returns false. See [`logs::follow`].
    pub fn follow(
        &self,
        names: &[Name],
        lines: usize,
        keep_going: impl FnMut() -> bool,
        on_line: impl FnMut(LogLine) -> bool,
    ) -> Result<()> {
        logs::follow(&self.store, names, lines, keep_going, on_line).map_err(|e| {
            Error::io(
                "cannot follow the logs in",
                self.store.root().join("logs"),
                e,
            )
        })
    }
}

/// Moves each app's instances together, in instance order, where its first one stands (an
/// instance added by `tpm scale` has a later id than processes started since).
fn group_instances(processes: &mut Vec<ProcessInfo>) {
    if processes.iter().all(|p| p.instance.is_none()) {
        return;
    }
    let app = |p: &ProcessInfo| match p.instance {
        Some(i) => p
            .name
            .strip_suffix(&format!("-{i}"))
            .unwrap_or(&p.name)
            .to_string(),
        None => p.name.clone(),
    };
    let mut first: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let keys: Vec<(usize, u32)> = processes
        .iter()
        .enumerate()
        .map(|(at, p)| (*first.entry(app(p)).or_insert(at), p.instance.unwrap_or(0)))
        .collect();
    let mut order: Vec<usize> = (0..processes.len()).collect();
    order.sort_by_key(|&i| keys[i]);
    let mut taken: Vec<Option<ProcessInfo>> = processes.drain(..).map(Some).collect();
    processes.extend(order.into_iter().filter_map(|i| taken[i].take()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;
    use crate::Context;

    /// A listing that read a record just before its supervisor wrote its last one and
    /// exited finds the lock free; it must show (and keep) the last record, not settle
    /// the old one as "exited unexpectedly". Under load this lost `errored` verdicts.
    #[test]
    fn a_record_read_before_its_supervisor_finished_is_read_again_not_settled() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context {
            env: vec![("TETRA_DIR".into(), dir.path().join("tetra").into())],
            cwd: dir.path().to_path_buf(),
        };
        let tpm = Tpm::new(ctx, "/nonexistent/tpm-supervisor".into()).unwrap();
        tpm.store.ensure().unwrap();
        let name = Name::parse("crash-4300").unwrap();
        let spec = Spec::new(
            "crash.sh".into(),
            vec!["bash".into()],
            "/".into(),
            Some(4300),
        );
        // The supervisor that wrote both records: a process that has exited.
        let gone = std::process::Command::new("true").spawn().unwrap();
        let spid = gone.id();
        let _ = gone.wait_with_output();

        let mut last = Record::new(spec);
        last.state.status = Status::Errored;
        last.state.restarts = 3;
        last.state.reason = Some("it ended 4 times in a row".into());
        tpm.store.write(&name, &last).unwrap();
        let mut before = last.clone();
        before.state.status = Status::Waiting;
        before.state.restarts = 2;
        before.state.reason = None;
        before.state.spid = Some(spid);
        before.state.boot_id = Some(proc::boot_id().to_string());

        let (info, _) = tpm
            .observe_read(&name, before, Clock::now(), true)
            .unwrap()
            .expect("the record");
        assert_eq!(
            (info.status, info.restarts, info.reason.as_deref()),
            (Status::Errored, 3, Some("it ended 4 times in a row"))
        );
        assert_eq!(
            tpm.store.load(&name).unwrap(),
            last,
            "the last record is kept"
        );
    }
}
