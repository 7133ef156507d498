//! Keeping the store true to what the supervisor knows.
//!
//! A live supervisor is the only writer of its process's files, so any difference between
//! them and what it last wrote is damage: a wiped store (`rm -rf $TETRA_DIR/tpm`), a record
//! overwritten with junk, a log file deleted, a write that failed on a full disk. It looks
//! when the kernel says one of its files or the store's folders changed (`fsnotify`): it
//! compares what makes it reachable, its lock file and its record (two `stat`s), writes
//! again what is missing or wrong, and looks at its pid file, the reserve, its environment
//! file and its log files (reopened); then it watches them all again. At rest it does not
//! wake at all. Without file notifications, and while a write or a log file keeps failing,
//! it looks once a second instead (the full look every tenth time, or at once when
//! something was missing). So tpm can always reach every running supervisor, within about
//! a second of any damage.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::run::Supervisor;
use crate::lock::FileLock;

/// How often the supervisor looks when it is not told (no file notifications, or a write or
/// a log file that failed and is tried again).
pub(super) const HEAL_EVERY: Duration = Duration::from_secs(1);
/// How long after the first word of damage the supervisor looks: the rest of an `rm -rf`
/// (each file is an event) is seen in one look.
const SETTLE: Duration = Duration::from_millis(20);

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
        self.next_heal = None;
        self.heals = self.heals.wrapping_add(1);
        let told = self.fs_events.is_some();
        // Damage a record write found first (it locks again before writing) counts too.
        let mut damaged = self.relock() | std::mem::take(&mut self.relocked);
        if self.dirty || self.written.is_none() || self.written != FileId::of(&self.meta_path) {
            damaged |= !self.dirty;
            let _ = self.store.ensure();
            self.save();
        }
        if damaged || told || self.heals.is_multiple_of(10) {
            if let Some((pid, _)) = self.main {
                if !self.store.pid_path(&self.name).exists() {
                    let _ = self.store.write_pid(&self.name, pid);
                }
            }
            if !self.store.reserve_path(&self.name).exists() {
                self.reserve();
            }
            // The environment restarts run in: this supervisor's own is the one kept.
            if !self.store.env_path(&self.name).exists() {
                let env: Vec<_> = std::env::vars_os().collect();
                let _ = self.store.write_env(&self.name, &env);
            }
            self.output.heal();
        } else if self.output.failing() {
            self.output.heal();
        }
        self.output.housekeep();
        self.tell_rotations(false);
        let watched = self.watch_files();
        if !watched || self.dirty || self.output.failing() {
            self.next_heal = Some(Instant::now() + HEAL_EVERY);
        }
    }

    /// Watches the supervisor's files and the store's folders again (after a heal, they
    /// may be new inodes); whether the kernel watches them all (else the timer looks).
    fn watch_files(&mut self) -> bool {
        use super::fsnotify::Role;
        let Some(n) = &mut self.fs_events else {
            return false;
        };
        n.forget();
        let root = self.store.root().to_path_buf();
        let marker = super::fsnotify::marker_path(&root);
        if !marker.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&marker);
        }
        let mut all = n.watch(&root, Role::Folder) && n.watch(&marker, Role::Marker);
        for dir in [&self.meta_path, &self.lock_path] {
            if let Some(parent) = dir.parent() {
                all &= n.watch(parent, Role::Folder);
            }
        }
        all &= n.watch(&self.meta_path, Role::Record) && n.watch(&self.lock_path, Role::File);
        // These may rightly be missing (no pid while not running, a discarded log): a
        // missing one is looked for at the next heal, whatever wakes it.
        let out = self.store.log_path(&self.name, crate::store::Stream::Out);
        let err = self.store.log_path(&self.name, crate::store::Stream::Err);
        for (path, role) in [
            (self.store.pid_path(&self.name), Role::File),
            (self.store.reserve_path(&self.name), Role::File),
            (self.store.env_path(&self.name), Role::File),
            (out, Role::Log),
            (err, Role::Log),
        ] {
            if n.watch(&path, role) {
                if let Some(parent) = path.parent() {
                    n.watch(parent, Role::Folder);
                }
            }
        }
        all
    }

    /// The file notifications had something to read: heal soon if it was damage, look at
    /// the tree if someone looks.
    pub(super) fn notified(&mut self) {
        let Some(n) = &mut self.fs_events else {
            return;
        };
        let seen = n.read();
        if seen.damage {
            let at = Instant::now() + SETTLE;
            self.next_heal = Some(self.next_heal.map_or(at, |h| h.min(at)));
        }
        if seen.looked {
            self.looked_at(Instant::now());
        }
    }

    /// The record was just written (a new inode): watched again, so the old one's events
    /// are not taken for damage.
    pub(super) fn rewatch_record(&mut self) {
        if let Some(n) = &mut self.fs_events {
            if !n.watch(&self.meta_path, super::fsnotify::Role::Record) {
                self.next_heal = Some(Instant::now());
            }
        }
    }

    /// Adds the logs' rotations to the history: at most once a minute, or now (`at_end`,
    /// when the process stops, so the last minute's are not lost).
    pub(super) fn tell_rotations(&mut self, at_end: bool) {
        for (stream, why, count) in self.output.take_rotations(at_end) {
            let mut rotated =
                crate::events::Event::now(&self.name, crate::events::Kind::LogRotated)
                    .reason(&format!("{} {why}", stream.as_str()));
            rotated.count = Some(count);
            self.history(rotated);
        }
    }

    /// Locks the lock file at its path again if it is gone or replaced (a command that made
    /// it in the meantime gives it up: it cannot take the claim); whether it had to. Every
    /// record write comes after this, so a command that finds the record finds the lock.
    pub(super) fn relock(&mut self) -> bool {
        let at_path = std::fs::metadata(&self.lock_path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if at_path.is_some() && at_path == self.lock_id {
            return false;
        }
        let _ = self.store.ensure();
        if let Ok(Some(lock)) = FileLock::try_acquire(&self.lock_path) {
            self.lock_id = lock.file_id();
            self.lock = lock;
        }
        true
    }

    /// Sets aside room for the record's last write (see `Store::write_reserved`).
    pub(super) fn reserve(&self) {
        let len = self.record.to_line(self.name.as_str()).len();
        self.store.reserve(&self.name, len);
    }
}
