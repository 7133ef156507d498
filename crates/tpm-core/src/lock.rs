//! Locks on files that belong to the open file (see `platform::lock`: open-file-description
//! locks on Linux, `flock` under POSIX).
//!
//! A supervisor holds the write lock on `pids/NAME.lock` for its whole life: a held lock,
//! not a pid, is how a reader knows it is alive (the kernel drops the lock when the last
//! descriptor closes, however the supervisor dies). Because the lock belongs to the open
//! file, `tpm start` can take the lock and hand it to the supervisor it spawns: two starts
//! of one name can never both win.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::platform;

/// A held write lock; dropping it releases the lock.
///
/// A name's lock file exists only while someone holds it: a lock taken with
/// [`FileLock::try_acquire`] removes its file when released (first the file, then the lock,
/// so nobody can lock a file that is about to go; see `acquire` for the other side), and a
/// supervisor removes its own as it exits. A file left behind by a killed supervisor is
/// unheld, and goes with the next command's lock.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    /// Where the file is, if it goes with the lock.
    remove: Option<PathBuf>,
}

impl FileLock {
    /// Takes the lock if nobody holds it; `Ok(None)` when somebody does. The file is removed
    /// when the lock is released (unless it is handed over, see [`FileLock::into_fd`]).
    pub fn try_acquire(path: &Path) -> io::Result<Option<FileLock>> {
        let lock = Self::acquire(path, false)?;
        Ok(lock.map(|mut l| {
            l.remove = Some(path.to_path_buf());
            l
        }))
    }

    /// Waits for the lock; the file stays when it is released.
    pub fn acquire_blocking(path: &Path) -> io::Result<FileLock> {
        Self::acquire(path, true)?.ok_or_else(|| io::Error::other("the lock was not taken"))
    }

    /// Whether `path` is this lock's file (not one made after it was removed).
    pub fn is_at(&self, path: &Path) -> bool {
        match (std::fs::metadata(path), self.file_id()) {
            (Ok(a), Some(b)) => (a.dev(), a.ino()) == b,
            _ => false,
        }
    }

    /// The locked file's device and inode.
    pub fn file_id(&self) -> Option<(u64, u64)> {
        self.file.metadata().ok().map(|m| (m.dev(), m.ino()))
    }

    /// Releases the lock and removes its file, if the file at `path` is still this lock's.
    pub fn remove(mut self, path: &Path) {
        self.remove = Some(path.to_path_buf());
    }

    fn acquire(path: &Path, wait: bool) -> io::Result<Option<FileLock>> {
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(path)?;
            if !platform::lock(&file, wait)? {
                return Ok(None);
            }
            // The file may have been unlinked (by `tpm delete`) between our open and our
            // lock; a lock on a file no longer at `path` protects nothing, so try again.
            match std::fs::metadata(path) {
                Ok(m) if m.ino() == file.metadata()?.ino() => {
                    return Ok(Some(FileLock { file, remove: None }))
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Tests whether someone holds the lock, without taking it. A missing file is unheld.
    pub fn is_held(path: &Path) -> io::Result<bool> {
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        platform::lock_is_held(&file)
    }

    /// Gives up this handle without releasing the lock: the descriptor (and with it the
    /// lock) goes to whoever keeps the returned fd, typically a spawned supervisor.
    pub fn into_fd(mut self) -> io::Result<OwnedFd> {
        self.remove = None;
        // A duplicate shares the open file description, and with it the lock: dropping
        // `self` closes only its own descriptor.
        Ok(self.file.try_clone()?.into())
    }

    /// Adopts a descriptor that carries a held lock (the supervisor's side of the handover).
    pub fn from_fd(fd: OwnedFd) -> FileLock {
        FileLock {
            file: fd.into(),
            remove: None,
        }
    }

    pub fn raw_fd(&self) -> i32 {
        self.file.as_raw_fd()
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if let Some(path) = self.remove.take() {
            // While still holding the lock: nobody can have it on this file.
            if self.is_at(&path) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_excludes_others_and_is_seen_without_taking_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        assert!(!FileLock::is_held(&path).unwrap(), "no file: not held");
        let first = FileLock::try_acquire(&path).unwrap().expect("free");
        assert!(FileLock::is_held(&path).unwrap());
        assert!(
            FileLock::try_acquire(&path).unwrap().is_none(),
            "second taker fails"
        );
        // Testing did not take it: still held by `first` only.
        drop(first);
        assert!(!FileLock::is_held(&path).unwrap());
        assert!(FileLock::try_acquire(&path).unwrap().is_some());
    }

    #[test]
    fn the_lock_survives_handover_of_its_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let lock = FileLock::try_acquire(&path).unwrap().unwrap();
        let fd = lock.into_fd().unwrap();
        assert!(FileLock::is_held(&path).unwrap());
        let adopted = FileLock::from_fd(fd);
        assert!(FileLock::is_held(&path).unwrap());
        drop(adopted);
        assert!(!FileLock::is_held(&path).unwrap());
        assert!(
            path.exists(),
            "a handed-over lock leaves its file to its new holder"
        );
    }

    #[test]
    fn a_name_lock_file_exists_only_while_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let lock = FileLock::try_acquire(&path).unwrap().unwrap();
        assert!(path.exists());
        drop(lock);
        assert!(!path.exists());
        // A file made after ours was removed is not ours to remove.
        let lock = FileLock::try_acquire(&path).unwrap().unwrap();
        std::fs::remove_file(&path).unwrap();
        let other = FileLock::try_acquire(&path).unwrap().unwrap();
        drop(lock);
        assert!(path.exists() && FileLock::is_held(&path).unwrap());
        drop(other);
        assert!(!path.exists());
    }

    #[test]
    fn a_lock_on_an_unlinked_file_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = FileLock::try_acquire(&path).unwrap().unwrap();
        std::fs::remove_file(&path).unwrap();
        // The old inode is still locked, but a new taker gets a fresh file at the path.
        let fresh = FileLock::try_acquire(&path).unwrap();
        assert!(fresh.is_some());
        drop(held);
    }
}
