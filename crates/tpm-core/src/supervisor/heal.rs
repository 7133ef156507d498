//! Keeping the store true to what the supervisor knows.
//!
//! A live supervisor is the only writer of its process's files, so any difference between
//! them and what it last wrote is damage: a wiped store (`rm -rf $TETRA_DIR/tpm`), a record
//! overwritten with junk, a log file deleted, a write that failed on a full disk. Once a
//! second it compares, by a few `stat`s, and writes again what is missing or wrong: the
//! folders, its lock file (locked again), its record, its pid file, the reserve, its log
//! files (reopened), and a rotation that failed. So tpm can always reach every running
//! supervisor, within about a second of any damage.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::run::Supervisor;
use crate::lock::FileLock;

/// How often the supervisor looks.
pub(super) const HEAL_EVERY: Duration = Duration::from_secs(1);

/// Which file a path holds, and as written when: what the supervisor remembers of its
/// record to tell it from a replaced or damaged one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i64,
}

impl FileId {
    pub(super) fn of(path: &Path) -> Option<FileId> {
        let m = std::fs::metadata(path).ok()?;
        Some(FileId {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        })
    }
}

impl Supervisor {
    pub(super) fn heal(&mut self) {
        self.next_heal = Instant::now() + HEAL_EVERY;
        let lock_path = self.store.lock_path(&self.name);
        if !self.lock.is_at(&lock_path) {
            // The file is gone or replaced: lock the one at the path again (a command that
            // made it in the meantime gives it up: it cannot take the claim).
            let _ = self.store.ensure();
            if let Ok(Some(lock)) = FileLock::try_acquire(&lock_path) {
                self.lock = lock;
            }
        }
        let meta = self.store.meta_path(&self.name);
        if self.dirty || self.written.is_none() || self.written != FileId::of(&meta) {
            let _ = self.store.ensure();
            self.save();
        }
        if let Some((pid, _)) = self.main {
            if !self.store.pid_path(&self.name).exists() {
                let _ = self.store.write_pid(&self.name, pid);
            }
        }
        if !self.store.reserve_path(&self.name).exists() {
            self.reserve();
        }
        self.output.heal();
    }

    /// Sets aside room for the record's last write (see `Store::write_reserved`).
    pub(super) fn reserve(&self) {
        let len = self.record.to_line(self.name.as_str()).len();
        self.store.reserve(&self.name, len);
    }
}
