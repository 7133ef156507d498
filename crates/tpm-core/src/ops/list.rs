//! `tpm list`, `tpm ports`, `tpm logs`: reading the store.

use serde::Serialize;

use super::{cleanup, Tpm};
use crate::error::{Error, Result};
use crate::info::{observe, Clock, ProcessInfo};
use crate::logs::{self, LogLine};
use crate::name::Name;
use crate::proc;
use crate::status::Status;
use crate::store::Problem;

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
    /// here (its leftovers stopped), so the next command after a crash cleans up.
    pub fn list(&self) -> Result<Listing> {
        let (names, mut problems) = self.store.names()?;
        let clock = Clock::now();
        let mut processes = Vec::with_capacity(names.len());
        for name in names {
            match self.store.read(&name) {
                Ok(Some(mut record)) => {
                    let mut supervised = self.store.is_locked(&name);
                    if record.status.is_active() && !supervised {
                        if let Ok(Some(_lock)) = self.store.try_lock(&name) {
                            cleanup::settle(&self.store, &name, &mut record);
                        } else {
                            supervised = true; // someone took it since
                        }
                    }
                    processes.push(observe(&name, &record, supervised, clock));
                }
                Ok(None) => {} // deleted while listing
                Err(error) => problems.push(Problem {
                    file: self.store.meta_path(&name),
                    error,
                }),
            }
        }
        processes
            .sort_by(|a, b| (a.id.is_none(), a.id, &a.name).cmp(&(b.id.is_none(), b.id, &b.name)));
        Ok(Listing {
            processes,
            problems,
        })
    }

    /// The PORT of every process, and whether something listens on it.
    pub fn ports(&self) -> Result<(Vec<PortInfo>, Vec<Problem>)> {
        let listing = self.list()?;
        let listening = proc::listening_ports();
        let ports = listing
            .processes
            .into_iter()
            .map(|p| PortInfo {
                listening: listening.contains(&p.port),
                name: p.name,
                port: p.port,
                status: p.status,
            })
            .collect();
        Ok((ports, listing.problems))
    }

    /// The last `lines` lines of each process's logs (stdout and stderr merged in time
    /// order), processes in the order given.
    pub fn logs(&self, names: &[Name], lines: usize) -> Result<Vec<LogLine>> {
        let mut out = Vec::new();
        for name in names {
            let mut got = logs::last_lines(&self.store, name, lines).map_err(|e| {
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

    /// Follows the logs of `names` until `on_line` returns false.
    pub fn follow(&self, names: &[Name], on_line: impl FnMut(LogLine) -> bool) -> Result<()> {
        self.follow_while(names, || true, on_line)
    }

    /// [`Tpm::follow`], which also ends once `keep_going` returns false while no line comes.
    pub fn follow_while(
        &self,
        names: &[Name],
        keep_going: impl FnMut() -> bool,
        on_line: impl FnMut(LogLine) -> bool,
    ) -> Result<()> {
        logs::follow_while(&self.store, names, keep_going, on_line).map_err(|e| {
            Error::io(
                "cannot follow the logs in",
                self.store.root().join("logs"),
                e,
            )
        })
    }
}
