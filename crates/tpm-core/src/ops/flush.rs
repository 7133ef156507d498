//! `tpm flush`: emptying processes' logs (pm2's flush).

use serde::Serialize;

use super::{Each, Tpm};
use crate::error::{Error, Result};
use crate::name::Name;
use crate::rotation;
use crate::store::Stream;

/// What a flush freed for one process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flushed {
    pub name: String,
    /// Bytes the log files held.
    pub freed: u64,
    /// Rotated files removed.
    pub removed: u32,
}

impl Tpm {
    /// Empties each process's logs: the current files are truncated (a running supervisor
    /// goes on appending to them, from the start) and the rotated ones removed.
    pub fn flush(&self, names: &[Name]) -> Each<Flushed> {
        names
            .iter()
            .map(|name| (name.clone(), self.flush_one(name)))
            .collect()
    }

    fn flush_one(&self, name: &Name) -> Result<Flushed> {
        if self.store.read(name)?.is_none() {
            return Err(Error::NotFound {
                name: name.to_string(),
            });
        }
        let keep = self
            .store
            .read(name)
            .ok()
            .flatten()
            .map_or(rotation::DEFAULT_KEEP, |r| r.spec.logs.keep);
        let mut done = Flushed {
            name: name.to_string(),
            freed: 0,
            removed: 0,
        };
        for stream in [Stream::Out, Stream::Err] {
            let current = self.store.log_path(name, stream);
            match std::fs::OpenOptions::new().write(true).open(&current) {
                Ok(f) => {
                    done.freed += f.metadata().map_or(0, |m| m.len());
                    f.set_len(0)
                        .map_err(|e| Error::io("cannot empty", current.clone(), e))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot empty", current, e)),
            }
            // A compression under way: its thread finds its file gone and drops the rest.
            let _ = std::fs::remove_file(rotation::with_suffix(&current, ".gz.tmp"));
            // Up to `keep` and one past it (a rotation's file not yet removed), and on while
            // more are found (`keep` was larger once).
            for k in 1.. {
                let plain = rotation::numbered(&current, k);
                let mut found = false;
                for path in [rotation::with_suffix(&plain, ".gz"), plain] {
                    if let Ok(m) = std::fs::metadata(&path) {
                        found = true;
                        match std::fs::remove_file(&path) {
                            Ok(()) => {
                                done.freed += m.len();
                                done.removed += 1;
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                            Err(e) => return Err(Error::io("cannot remove", path, e)),
                        }
                    }
                }
                if !found && k > keep {
                    break;
                }
            }
        }
        Ok(done)
    }
}
