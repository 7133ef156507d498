//! The file store under `$TETRA_DIR/tpm/` (the on-disk contract):
//!
//! ```text
//! processes/NAME.meta   the record, one line (see `record`)
//! pids/NAME.pid         the managed process's pid, digits only, while it runs
//! pids/NAME.lock        held by the supervisor for its whole life (see `lock`)
//! logs/NAME.out|err     timestamped stdout and stderr
//! envs/NAME.env         the environment the process was started with (see `write_env`)
//! events/NAME.jsonl     what happened to it (see `events`)
//! dump.json             what `tpm save` wrote (`dump.json.bak`: the one before)
//! ```
//! Folders are 0700 and files 0600: the store is private to its user. Every write of a
//! record or pid file is atomic (a temp file in the same folder, then a rename), so a
//! reader never sees half a record.

use std::ffi::{OsStr, OsString};
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::name::Name;
use crate::record::{Record, MAX_RECORD};

/// Which log stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Out,
    Err,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Out => "out",
            Stream::Err => "err",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A file in `processes/` that is not a readable record.
#[derive(Debug)]
pub struct Problem {
    pub file: PathBuf,
    pub error: Error,
}

impl Store {
    /// `$TETRA_DIR/tpm`, with `TETRA_DIR` defaulting to `$HOME/tetra`. A relative value is
    /// refused: it would name another store from every other folder, so processes started
    /// from one folder would be invisible from the next.
    pub fn locate(ctx: &Context) -> Result<Store> {
        let (var, base) =
            match ctx.var("TETRA_DIR").filter(|v| !v.is_empty()) {
                Some(dir) => ("TETRA_DIR", PathBuf::from(dir)),
                None => match ctx.var("HOME").filter(|v| !v.is_empty()) {
                    Some(home) => ("HOME", Path::new(home).join("tetra")),
                    None => return Err(Error::Usage(
                        "neither TETRA_DIR nor HOME is set, so tpm has nowhere to keep its files"
                            .into(),
                    )),
                },
            };
        if base.is_relative() {
            return Err(Error::RelativeStore {
                var,
                value: ctx
                    .var(var)
                    .map(|v| v.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            });
        }
        Ok(Store::at(base.join("tpm")))
    }

    /// A store at an exact path (the supervisor is given it).
    pub fn at(root: PathBuf) -> Store {
        Store { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, which: &str) -> PathBuf {
        self.root.join(which)
    }

    pub fn meta_path(&self, name: &Name) -> PathBuf {
        self.dir("processes").join(format!("{name}.meta"))
    }

    pub fn pid_path(&self, name: &Name) -> PathBuf {
        self.dir("pids").join(format!("{name}.pid"))
    }

    /// A hidden file, room set aside on disk for one more record (see
    /// [`Store::write_reserved`]).
    pub fn reserve_path(&self, name: &Name) -> PathBuf {
        self.dir("processes").join(format!(".{name}.meta.reserve"))
    }

    pub fn lock_path(&self, name: &Name) -> PathBuf {
        self.dir("pids").join(format!("{name}.lock"))
    }

    pub fn log_path(&self, name: &Name, stream: Stream) -> PathBuf {
        self.dir("logs").join(format!("{name}.{}", stream.as_str()))
    }

    /// The environment a process was started with.
    pub fn env_path(&self, name: &Name) -> PathBuf {
        self.dir("envs").join(format!("{name}.env"))
    }

    /// The event histories' folder.
    pub fn events_dir(&self) -> PathBuf {
        self.dir("events")
    }

    /// The event history of a process (see `events`).
    pub fn events_path(&self, name: &Name) -> PathBuf {
        self.dir("events").join(format!("{name}.jsonl"))
    }

    /// `tpm save`'s file.
    pub fn dump_path(&self) -> PathBuf {
        self.root.join("dump.json")
    }

    /// The `n`th rotated log: `NAME.out.1` is the newest.
    pub fn rotated_log_path(&self, name: &Name, stream: Stream, n: u32) -> PathBuf {
        self.dir("logs")
            .join(format!("{name}.{}.{n}", stream.as_str()))
    }

    /// Creates the folders (0700) if they are missing.
    pub fn ensure(&self) -> Result<()> {
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for sub in ["processes", "pids", "logs", "envs"] {
            let path = self.dir(sub);
            builder
                .create(&path)
                .map_err(|e| Error::io("cannot create", path, e))?;
        }
        Ok(())
    }

    /// Checks the store is ours and private, as ssh does for `~/.ssh`: a store owned by
    /// another user is refused; a folder that others may read or write is made 0700 again,
    /// and each repair is returned as a warning to show. A missing store is fine.
    pub fn secure(&self) -> Result<Vec<String>> {
        let me = nix::unistd::geteuid().as_raw();
        let mut repairs = Vec::new();
        for dir in [
            self.root.clone(),
            self.dir("processes"),
            self.dir("pids"),
            self.dir("logs"),
            self.dir("envs"),
            self.dir("events"),
        ] {
            let meta = match fs::metadata(&dir) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("cannot inspect", dir, e)),
            };
            if meta.uid() != me {
                return Err(Error::ForeignStore {
                    path: dir,
                    owner: meta.uid(),
                    me,
                });
            }
            let mode = meta.mode() & 0o777;
            if mode & 0o077 != 0 {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::io("cannot make private", &dir, e))?;
                repairs.push(format!(
                    "{} was open to other users (mode {mode:o}); made it 0700",
                    dir.display()
                ));
            }
        }
        Ok(repairs)
    }

    /// Names of all records, sorted; files that are not `VALID.meta` come back as problems.
    ///
    /// One read of `processes/` is not enough where records are being written. On tmpfs
    /// (seen on Linux 6.18; ext4 here did not do it), a directory read leaves out, or
    /// shows twice, an entry that is renamed into place while the read is under way, and
    /// every record write is a rename: up to 96 of 1 000 names were left out of one read
    /// while `restart '*'` ran. A record being written has its lock file in `pids/` (a
    /// supervisor or a command holds it), and lock files are never renamed. A record
    /// written for the last time during the first read is in place for a second one.
    /// So: `processes/`, then the lock files of records that exist, then `processes/`
    /// again.
    pub fn names(&self) -> Result<(Vec<Name>, Vec<Problem>)> {
        let (mut names, problems) = self.scan_records()?;
        names.sort();
        let locked: Vec<Name> = self
            .locked_names()
            .into_iter()
            .filter(|name| names.binary_search(name).is_err() && self.exists(name))
            .collect();
        names.extend(locked);
        names.extend(self.scan_records()?.0);
        names.sort();
        names.dedup();
        Ok((names, problems))
    }

    /// One read of `processes/`: the names of its records, and the files that are not.
    fn scan_records(&self) -> Result<(Vec<Name>, Vec<Problem>)> {
        let dir = self.dir("processes");
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
            Err(e) => return Err(Error::io("cannot read", dir, e)),
        };
        let mut names = Vec::new();
        let mut problems = Vec::new();
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let path = entry.path();
            let Some(stem) = strip_suffix(&file_name, b".meta") else {
                continue; // temp files and anything not ending in .meta
            };
            match stem
                .to_str()
                .ok_or(())
                .and_then(|s| Name::parse(s).map_err(|_| ()))
            {
                Ok(name) => names.push(name),
                Err(()) => problems.push(Problem {
                    error: Error::CorruptRecord {
                        path: path.clone(),
                        detail: "the file name is not a valid process name".into(),
                    },
                    file: path,
                }),
            }
        }
        Ok((names, problems))
    }

    /// The names whose lock file is in `pids/` (held or not; best effort).
    fn locked_names(&self) -> Vec<Name> {
        let Ok(entries) = fs::read_dir(self.dir("pids")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let file_name = entry.file_name();
                let stem = strip_suffix(&file_name, b".lock")?;
                Name::parse(stem.to_str()?).ok()
            })
            .collect()
    }

    pub fn exists(&self, name: &Name) -> bool {
        self.meta_path(name).exists()
    }

    /// Reads a record: `Ok(None)` if there is none, `CorruptRecord` if it cannot be read.
    pub fn read(&self, name: &Name) -> Result<Option<Record>> {
        let path = self.meta_path(name);
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read", path, e)),
        };
        let mut raw = Vec::with_capacity(1024);
        file.take(MAX_RECORD as u64 + 1)
            .read_to_end(&mut raw)
            .map_err(|e| Error::io("cannot read", &path, e))?;
        let corrupt = |detail: String| Error::CorruptRecord {
            path: path.clone(),
            detail,
        };
        if raw.len() > MAX_RECORD {
            return Err(corrupt(format!("larger than {MAX_RECORD} bytes")));
        }
        let text = String::from_utf8(raw).map_err(|_| corrupt("not UTF-8 text".into()))?;
        Record::parse(&text).map(Some).map_err(corrupt)
    }

    /// Reads a record that must exist.
    pub fn load(&self, name: &Name) -> Result<Record> {
        self.read(name)?.ok_or_else(|| Error::NotFound {
            name: name.to_string(),
        })
    }

    /// Writes a record atomically. Callers hold the name's lock (see `ops`). A record over
    /// [`MAX_RECORD`] bytes, which [`Store::read`] would call corrupt, is refused before
    /// anything is written: the one there stays as it was.
    pub fn write(&self, name: &Name, record: &Record) -> Result<()> {
        let line = record.checked_line(name.as_str(), MAX_RECORD)?;
        write_atomic(&self.meta_path(name), line.as_bytes())
    }

    /// Sets aside room for one record of `len` bytes (see [`Store::write_reserved`]), unless
    /// it is there already. Best effort: on a full disk there is none to set aside.
    pub fn reserve(&self, name: &Name, len: usize) {
        let path = self.reserve_path(name);
        let room = (len * 2).max(4096) as u64;
        if fs::metadata(&path).is_ok_and(|m| m.len() >= room) {
            return;
        }
        let made = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .and_then(|f| {
                if crate::platform::preallocate(&f, room) {
                    Ok(())
                } else {
                    // File systems without fallocate: zeros take the room just as well.
                    f.write_all_at(&vec![0; room as usize], 0)
                }
            });
        if made.is_err() {
            let _ = fs::remove_file(&path);
        }
    }

    /// Writes a record even when the disk is full, for the writes that must not be lost
    /// (a supervisor's last word: `stopped`, `errored`): when the usual atomic write finds
    /// no room, the record is written into the room set aside by [`Store::reserve`] (no
    /// block is allocated for it) and renamed into place. The reserve is used up; the
    /// supervisor sets aside another when it can.
    pub fn write_reserved(&self, name: &Name, record: &Record) -> Result<()> {
        let err = match self.write(name, record) {
            Err(e) if e.is_no_space() => e,
            other => return other,
        };
        let path = self.reserve_path(name);
        let line = record.checked_line(name.as_str(), MAX_RECORD)?;
        let used = OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| {
                if f.metadata()?.len() < line.len() as u64 {
                    return Err(io::Error::from_raw_os_error(libc::ENOSPC));
                }
                f.write_all_at(line.as_bytes(), 0)?;
                f.set_len(line.len() as u64)
            })
            .and_then(|()| fs::rename(&path, self.meta_path(name)));
        used.map_err(|_| err)
    }

    pub fn write_pid(&self, name: &Name, pid: u32) -> Result<()> {
        write_atomic(&self.pid_path(name), format!("{pid}\n").as_bytes())
    }

    pub fn remove_pid(&self, name: &Name) -> Result<()> {
        remove_if_present(&self.pid_path(name))
    }

    /// Keeps the environment a process is started with, so that a restart from another
    /// shell, a resurrect at boot or systemd gives it the same one. One `KEY=VALUE` per
    /// line, the value quoted with POSIX shell rules (`set -a; . envs/NAME.env` reads it
    /// back in bash); private to the user like the rest of the store.
    pub fn write_env(&self, name: &Name, env: &[(OsString, OsString)]) -> Result<()> {
        let mut text = String::with_capacity(4096);
        for (key, value) in env {
            let (Some(key), Some(value)) = (key.to_str(), value.to_str()) else {
                continue; // not text: cannot be written back faithfully, so not kept
            };
            if key.is_empty() || !is_env_key(key) {
                continue;
            }
            text.push_str(key);
            text.push('=');
            text.push_str(&shell_words::quote(value));
            text.push('\n');
        }
        let dir = self.dir("envs");
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::io("cannot create", &dir, e))?;
        write_atomic(&self.env_path(name), text.as_bytes())
    }

    /// The environment kept by [`Store::write_env`]; `None` when there is none (a process
    /// started by an earlier version) or it cannot be read.
    pub fn read_env(&self, name: &Name) -> Option<Vec<(OsString, OsString)>> {
        let text = fs::read_to_string(self.env_path(name)).ok()?;
        let words = shell_words::split(&text).ok()?;
        Some(
            words
                .into_iter()
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    Some((OsString::from(k), OsString::from(v)))
                })
                .collect(),
        )
    }

    /// Removes every file of a process: record, pid file, logs (rotated ones too), its
    /// environment and events, lock.
    ///
    /// Rotated logs are removed by name (`NAME.out.1`, `NAME.err.1.gz`, ...) up to the
    /// record's `log_keep` and on while more are found, not by listing the logs folder: with
    /// a thousand processes, `delete "*"` would otherwise read that folder a thousand times.
    pub fn remove_all(&self, name: &Name) -> Result<()> {
        remove_if_present(&self.pid_path(name))?;
        remove_if_present(&self.env_path(name))?;
        let events = self.events_path(name);
        remove_if_present(&events)?;
        let mut older = events.into_os_string();
        older.push(".1");
        remove_if_present(Path::new(&older))?;
        let keep = self
            .read(name)
            .ok()
            .flatten()
            .map_or(crate::rotation::DEFAULT_KEEP, |r| r.spec.logs.keep);
        for stream in [Stream::Out, Stream::Err] {
            let current = self.log_path(name, stream);
            // A compression cut short by the supervisor's end (see `supervisor::housekeep`).
            remove_if_present(&crate::rotation::with_suffix(&current, ".gz.tmp"))?;
            remove_if_present(&current)?;
        }
        for k in 1.. {
            let mut found = false;
            for stream in [Stream::Out, Stream::Err] {
                let rotated = self.rotated_log_path(name, stream, k);
                let mut gz = rotated.clone().into_os_string();
                gz.push(".gz");
                for path in [rotated, PathBuf::from(gz)] {
                    found |= remove_existing(&path)?;
                }
            }
            if !found && k >= keep {
                break;
            }
        }
        remove_if_present(&self.meta_path(name))?;
        remove_if_present(&self.reserve_path(name))?;
        remove_if_present(&self.lock_path(name))
    }

    /// `next_id`: the id the next new process gets.
    pub fn next_id_path(&self) -> PathBuf {
        self.root.join("next_id")
    }

    /// Gives a new process its id: the number in `next_id`, which then grows by one, so a
    /// start costs the same with 1 or 1 000 records and ids are never given twice. A store
    /// without the file (made by an older tpm, or wiped) is read once for its largest id.
    /// Call with [`Store::lock_all`] held.
    pub fn take_id(&self) -> Result<u32> {
        let path = self.next_id_path();
        let next = match fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
        {
            Some(n) => n,
            None => {
                let (names, _) = self.names()?;
                names
                    .iter()
                    .filter_map(|n| self.read(n).ok().flatten()?.id)
                    .max()
                    .map_or(0, |m| m.saturating_add(1))
            }
        };
        write_atomic(&path, format!("{}\n", next.saturating_add(1)).as_bytes())?;
        Ok(next)
    }

    /// Serializes operations that touch several records (id allocation).
    pub fn lock_all(&self) -> Result<FileLock> {
        self.ensure()?;
        let path = self.root.join(".lock");
        FileLock::acquire_blocking(&path).map_err(|e| Error::io("cannot lock", path, e))
    }

    /// Takes a name's lock if free: `Ok(None)` means a supervisor (or another command) has it.
    pub fn try_lock(&self, name: &Name) -> Result<Option<FileLock>> {
        let path = self.lock_path(name);
        match FileLock::try_acquire(&path) {
            // A store written by another tool may lack `pids/`.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.ensure()?;
                FileLock::try_acquire(&path)
            }
            other => other,
        }
        .map_err(|e| Error::io("cannot lock", path, e))
    }

    /// True while a supervisor (or a command) holds the name's lock.
    pub fn is_locked(&self, name: &Name) -> bool {
        // An unreadable lock file is treated as held: never act on a process we cannot
        // prove unsupervised.
        FileLock::is_held(&self.lock_path(name)).unwrap_or(true)
    }
}

/// A variable name a shell can assign (others cannot be written back as `KEY=VALUE`).
fn is_env_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `NAME` of `NAME.meta` (or another `suffix`); not hidden files (temp files, reserves).
fn strip_suffix<'a>(file_name: &'a OsStr, suffix: &[u8]) -> Option<&'a OsStr> {
    let bytes = file_name.as_encoded_bytes();
    let stem = bytes.strip_suffix(suffix)?;
    if stem.is_empty() || stem.starts_with(b".") {
        return None;
    }
    // SAFETY: `stem` is a prefix of a valid OsStr that ends before an ASCII suffix.
    Some(unsafe { OsStr::from_encoded_bytes_unchecked(stem) })
}

/// Writes `bytes` to a temp file beside `path` (0600), then renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().and_then(OsStr::to_str).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })
}

/// Removes `path`; whether it was there.
fn remove_existing(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("cannot remove", path, e)),
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot remove", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("tpm"));
        store.ensure().unwrap();
        (dir, store)
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Records rewritten (renamed into place) by the holders of their locks, as running
    /// supervisors do, while names are read: none is ever left out. On tmpfs (where the
    /// test runs when /dev/shm exists) one directory read left out dozens of 1 000.
    #[test]
    fn names_leave_out_no_record_while_records_are_written() {
        const N: usize = 1000;
        let dir = if Path::new("/dev/shm").is_dir() {
            tempfile::tempdir_in("/dev/shm").unwrap()
        } else {
            tempfile::tempdir().unwrap()
        };
        let store = Store::at(dir.path().join("tpm"));
        store.ensure().unwrap();
        // Long names: a read of the folder takes several getdents calls.
        let names: Vec<Name> = (0..N)
            .map(|i| Name::parse(&format!("a-process-with-a-long-name-{i}-{}", 30000 + i)).unwrap())
            .collect();
        let record = Record::new(crate::spec::Spec::new(
            "s.sh".into(),
            vec!["bash".into()],
            "/".into(),
            Some(3000),
        ));
        for name in &names {
            store.write(name, &record).unwrap();
        }
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (mut reads, mut short) = (0, Vec::new());
        std::thread::scope(|scope| {
            for part in names.chunks(N / 4) {
                let (store, record, stop) = (&store, &record, &stop);
                scope.spawn(move || {
                    let _locks: Vec<FileLock> = part
                        .iter()
                        .map(|n| store.try_lock(n).unwrap().unwrap())
                        .collect();
                    while !stop.load(Ordering::Relaxed) {
                        for name in part {
                            store.write(name, record).unwrap();
                        }
                    }
                });
            }
            // At least 1.5 s of reads and at least 20 of them, however loaded the machine
            // (the count of reads is what makes the check mean something, not the time).
            let started = std::time::Instant::now();
            let long_enough = |reads: usize| {
                let spent = started.elapsed();
                (spent >= std::time::Duration::from_millis(1500) && reads >= 20)
                    || spent >= std::time::Duration::from_secs(120)
            };
            while !long_enough(reads) {
                let (seen, problems) = store.names().unwrap();
                assert!(problems.is_empty());
                reads += 1;
                if seen.len() != N {
                    short.push(seen.len());
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
        assert!(reads >= 20, "{reads} reads in two minutes");
        assert!(
            short.is_empty(),
            "of {reads} reads, these had another count than {N}: {short:?}"
        );
    }

    #[test]
    fn folders_and_files_are_private() {
        let (_d, store) = store();
        for sub in ["processes", "pids", "logs", "envs"] {
            assert_eq!(mode(&store.root().join(sub)), 0o700);
        }
        let name = Name::parse("a-1").unwrap();
        store
            .write(
                &name,
                &Record::new(crate::spec::Spec::new(
                    "s".into(),
                    vec!["s".into()],
                    "/".into(),
                    Some(1),
                )),
            )
            .unwrap();
        store.write_pid(&name, 42).unwrap();
        assert_eq!(mode(&store.meta_path(&name)), 0o600);
        assert_eq!(fs::read_to_string(store.pid_path(&name)).unwrap(), "42\n");
    }

    #[test]
    fn writes_are_atomic_and_leave_no_temp_files() {
        let (_d, store) = store();
        let name = Name::parse("a-1").unwrap();
        let mut rec = Record::new(crate::spec::Spec::new(
            "s".into(),
            vec!["s".into()],
            "/".into(),
            Some(1),
        ));
        for i in 0..50 {
            rec.state.restarts = i;
            store.write(&name, &rec).unwrap();
        }
        assert_eq!(store.read(&name).unwrap().unwrap().state.restarts, 49);
        let files: Vec<_> = fs::read_dir(store.root().join("processes"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn bad_files_are_problems_and_the_rest_still_list() {
        let (_d, store) = store();
        let dir = store.root().join("processes");
        let good = Name::parse("good-1").unwrap();
        store
            .write(
                &good,
                &Record::new(crate::spec::Spec::new(
                    "s".into(),
                    vec!["s".into()],
                    "/".into(),
                    Some(1),
                )),
            )
            .unwrap();
        fs::write(dir.join("bad name.meta"), "script=x port=1").unwrap();
        fs::write(dir.join(".hidden.meta"), "").unwrap();
        fs::write(dir.join("notes.txt"), "").unwrap();
        fs::write(dir.join("broken-2.meta"), b"\xff\xfe garbage").unwrap();
        fs::write(dir.join("huge-3.meta"), "x".repeat(100_000)).unwrap();
        let (names, problems) = store.names().unwrap();
        let listed: Vec<_> = names.iter().map(|n| n.as_str()).collect();
        assert_eq!(listed, ["broken-2", "good-1", "huge-3"]);
        assert_eq!(problems.len(), 1);
        assert!(store.read(&good).unwrap().is_some());
        for bad in ["broken-2", "huge-3"] {
            let err = store.read(&Name::parse(bad).unwrap()).unwrap_err();
            assert!(matches!(err, Error::CorruptRecord { .. }), "{err}");
        }
    }

    #[test]
    fn remove_all_takes_every_file_of_that_name_only() {
        let (_d, store) = store();
        let a = Name::parse("web-1").unwrap();
        let other = Name::parse("web-10").unwrap();
        for n in [&a, &other] {
            store
                .write(
                    n,
                    &Record::new(crate::spec::Spec::new(
                        "s".into(),
                        vec!["s".into()],
                        "/".into(),
                        Some(1),
                    )),
                )
                .unwrap();
            store.write_pid(n, 5).unwrap();
            for f in ["out", "err", "out.1", "err.2.gz"] {
                fs::write(store.root().join("logs").join(format!("{n}.{f}")), "x").unwrap();
            }
        }
        store.remove_all(&a).unwrap();
        assert!(!store.exists(&a) && !store.pid_path(&a).exists());
        assert!(!store.log_path(&a, Stream::Out).exists());
        let left: Vec<_> = fs::read_dir(store.root().join("logs")).unwrap().collect();
        assert_eq!(left.len(), 4, "web-10's logs stay");
        assert!(store.exists(&other));
    }

    #[test]
    fn an_open_store_is_made_private_with_a_warning() {
        let (_d, store) = store();
        fs::set_permissions(store.root().join("logs"), fs::Permissions::from_mode(0o777)).unwrap();
        fs::set_permissions(store.root(), fs::Permissions::from_mode(0o755)).unwrap();
        let repairs = store.secure().unwrap();
        assert_eq!(repairs.len(), 2, "{repairs:?}");
        assert_eq!(mode(&store.root().join("logs")), 0o700);
        assert_eq!(mode(store.root()), 0o700);
        assert!(store.secure().unwrap().is_empty(), "nothing left to repair");
    }

    #[test]
    fn the_environment_is_kept_as_given_and_read_back() {
        let (_d, store) = store();
        let name = Name::parse("a-1").unwrap();
        assert_eq!(store.read_env(&name), None);
        let env: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("QUOTED".into(), "it's \"two\nlines\" $(x)".into()),
            ("EMPTY".into(), "".into()),
            ("bad key".into(), "dropped".into()),
        ];
        store.write_env(&name, &env).unwrap();
        assert_eq!(mode(&store.env_path(&name)), 0o600);
        assert_eq!(store.read_env(&name).unwrap(), env[..3]);
        store.remove_all(&name).unwrap();
        assert!(!store.env_path(&name).exists());
    }

    /// No write makes a record that a read calls corrupt: a value that quoting makes ten
    /// times larger (60 KB of `'`: 780 KB as written), or a large plain one, is refused
    /// with the record as it was, whichever write is used.
    #[test]
    fn a_record_too_large_to_read_back_is_never_written() {
        let (_d, store) = store();
        let name = Name::parse("api-3000").unwrap();
        let mut record = Record::new(crate::spec::Spec::new(
            "s".into(),
            vec!["s".into()],
            "/".into(),
            Some(3000),
        ));
        record.spec.env = vec![("SMALL".into(), "1".into())];
        store.write(&name, &record).unwrap();
        let before = fs::read(store.meta_path(&name)).unwrap();
        for (key, value) in [("QUOTES", "'".repeat(60_000)), ("CERT", "x".repeat(70_000))] {
            let mut big = record.clone();
            big.spec.env.push((key.into(), value));
            for write in [Store::write, Store::write_reserved] {
                let err = write(&store, &name, &big).unwrap_err();
                assert!(matches!(err, Error::RecordTooLarge { .. }), "{err}");
                let text = err.to_string();
                assert!(
                    text.contains(&format!("{key}: ")) && text.contains("65536"),
                    "{text}"
                );
                assert_eq!(err.exit_code(), 64);
                assert_eq!(fs::read(store.meta_path(&name)).unwrap(), before);
            }
        }
        assert_eq!(store.read(&name).unwrap().unwrap(), record);
        // Just under the limit: written, and read back whole.
        let mut line = record.clone();
        let room = MAX_RECORD - record.to_line("api-3000").len() - "BIG= ".len() - 8;
        line.spec.env.push(("BIG".into(), "y".repeat(room)));
        store.write(&name, &line).unwrap();
        assert_eq!(store.read(&name).unwrap().unwrap(), line);
    }

    #[test]
    fn missing_store_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("nope"));
        let (names, problems) = store.names().unwrap();
        assert!(names.is_empty() && problems.is_empty());
    }
}
