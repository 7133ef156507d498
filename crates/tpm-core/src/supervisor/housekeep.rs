//! Log housekeeping off the pump's path: compressing rotated files, and removing those past
//! `log_keep`, `log_max_age` or `log_max_total`.
//!
//! It runs on a short-lived thread of its own (named `tpm-compress`, at the lowest CPU
//! priority), started after each rotation, at the supervisor's start and, with a
//! `log_max_age`, once a tenth of it (an hour at most), so
//! the pump never waits for a compression: the pump only renames. The two meet at one
//! mutex, which the pump only ever *tries* (a rotation that finds it taken waits for the
//! next write) and the threads hold only for a few renames or removals.
//!
//! A compression writes `NAME.out.gz.tmp`, then renames it to `NAME.out.K.gz` and only
//! then removes the plain `NAME.out.K`: a crash at any point leaves the plain file or the
//! complete `.gz` (a leftover `.tmp` is removed at the next start), never a truncated
//! `.gz` that would hide lines. The thread's memory goes back to the system when it ends.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use flate2::Compression;

use crate::rotation::{self, LogLimits};

/// How often the housekeeping runs when nothing rotates (files still age): once an hour,
/// or a tenth of `log_max_age` when that is shorter (10 s at least), so that a file past
/// its age goes within a tenth of it.
const PERIOD: Duration = Duration::from_secs(3600);
const SHORTEST_PERIOD: Duration = Duration::from_secs(10);
/// How often a running thread is looked at, to be joined once it ended.
const REAP_EVERY: Duration = Duration::from_secs(1);

fn period(limits: &LogLimits) -> Duration {
    if limits.max_age.is_zero() {
        return PERIOD;
    }
    (limits.max_age / 10).clamp(SHORTEST_PERIOD, PERIOD)
}

/// The shared lock between the pump's renames and the thread's moves into place.
pub type RenameLock = Arc<Mutex<()>>;

/// Starts housekeeping threads: a compressor (one at a time, at the lowest CPU priority)
/// and a trimmer (one at a time, at the pump's priority: it only removes files, and must
/// keep up with a pump that rotates a hundred times a second while compressions wait).
#[derive(Debug)]
pub struct Housekeeper {
    bases: [PathBuf; 2],
    limits: LogLimits,
    pub lock: RenameLock,
    compressor: Option<JoinHandle<()>>,
    trimmer: Option<JoinHandle<()>>,
    /// Asked while the compressor was running: start another when it ends.
    again: bool,
    next: Instant,
    /// A compressor ran once (at the start: what an earlier run left).
    ran: bool,
    /// When `poll` last ran: a running thread is joined at the first one after it ends.
    polled: Instant,
}

impl Housekeeper {
    /// For the logs `out` and `err` (`NAME.out`, `NAME.err`).
    pub fn new(out: PathBuf, err: PathBuf, limits: LogLimits) -> Housekeeper {
        // One malloc arena: a thread's allocations come back to the main one, where
        // `malloc_trim` returns them, instead of staying in an arena of its own.
        crate::platform::allocator::one_arena();
        Housekeeper {
            bases: [out, err],
            limits,
            lock: Arc::new(Mutex::new(())),
            compressor: None,
            trimmer: None,
            again: false,
            next: Instant::now(),
            polled: Instant::now(),
            ran: false,
        }
    }

    /// Housekeeping is wanted (a rotation happened): the trimmer now, the compressor now
    /// or as soon as the running one ends.
    pub fn request(&mut self) {
        self.again = true;
        self.reap();
        if self.trimmer.is_none() {
            self.trimmer = self.spawn("tpm-logtrim", false, trim);
        }
        self.poll();
    }

    /// Waits for both threads to end (tests, which read the files afterwards).
    #[cfg(test)]
    pub fn wait(&mut self) {
        for slot in [&mut self.compressor, &mut self.trimmer] {
            if let Some(w) = slot.take() {
                let _ = w.join();
            }
        }
    }

    /// Joins the threads that ended; their memory goes back to the system.
    fn reap(&mut self) {
        let mut ended = false;
        for slot in [&mut self.compressor, &mut self.trimmer] {
            if slot.as_ref().is_some_and(|w| w.is_finished()) {
                if let Some(w) = slot.take() {
                    let _ = w.join();
                    ended = true;
                }
            }
        }
        if ended {
            super::resident::release_heap();
            // The compressor's code, faulted in, leaves the resident set again.
            super::resident::release_code();
        }
    }

    /// When `poll` is next wanted: a second after the last while a thread runs (to join it
    /// and return its memory), else when the period ends (files still age).
    pub fn due(&self) -> Option<Instant> {
        if self.compressor.is_some() || self.trimmer.is_some() || self.again {
            Some(self.polled + REAP_EVERY)
        } else if self.limits.max_age.is_zero() && self.ran {
            // Nothing ages: only a rotation (`request`) gives work.
            None
        } else {
            Some(self.next)
        }
    }

    /// Starts the compressor if it was asked for (or is due) and is not running; called
    /// after each rotation and when `due`.
    pub fn poll(&mut self) {
        self.polled = Instant::now();
        self.reap();
        if self.compressor.is_some() || (!self.again && Instant::now() < self.next) {
            return;
        }
        self.again = false;
        self.next = Instant::now() + period(&self.limits);
        self.ran = true;
        self.compressor = self.spawn("tpm-compress", true, run);
    }

    fn spawn(
        &self,
        name: &str,
        nice: bool,
        job: fn(&[PathBuf; 2], &LogLimits, &Mutex<()>),
    ) -> Option<JoinHandle<()>> {
        let bases = self.bases.clone();
        let limits = self.limits;
        let lock = self.lock.clone();
        std::thread::Builder::new()
            .name(name.into())
            .stack_size(128 * 1024)
            .spawn(move || {
                if nice {
                    crate::platform::lower_thread_priority();
                }
                job(&bases, &limits, &lock);
            })
            .ok()
    }
}

/// One round: compress, then apply the limits. Errors are left for the next round.
pub fn run(bases: &[PathBuf; 2], limits: &LogLimits, lock: &Mutex<()>) {
    for base in bases {
        let _ = fs::remove_file(tmp_path(base));
        if limits.compress {
            for k in 2..=limits.keep {
                let plain = rotation::numbered(base, k);
                if plain.exists() {
                    let _ = compress(base, &plain, limits.keep, lock);
                }
            }
        }
    }
    trim(bases, limits, lock);
}

/// Removes what is past `keep`, `max_age` and `max_total`.
pub fn trim(bases: &[PathBuf; 2], limits: &LogLimits, lock: &Mutex<()>) {
    for base in bases {
        // Past `keep` (the pump moves the oldest there rather than removing it), oldest
        // first, so that what is left has no gap.
        let mut past = limits.keep;
        while rotation::rotated_file(base, past + 1).is_some() {
            past += 1;
        }
        for k in (limits.keep + 1..=past).rev() {
            let plain = rotation::numbered(base, k);
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let _ = fs::remove_file(rotation::with_suffix(&plain, ".gz"));
            let _ = fs::remove_file(plain);
            drop(guard);
        }
    }
    if !limits.max_age.is_zero() {
        if let Some(oldest) = SystemTime::now().checked_sub(limits.max_age) {
            remove_oldest(bases, limits.keep, lock, |files| {
                files.iter().take_while(|f| f.modified < oldest).count()
            });
        }
    }
    if limits.max_total > 0 {
        remove_oldest(bases, limits.keep, lock, |files| {
            let mut total: u64 = bases
                .iter()
                .filter_map(|b| fs::metadata(b).ok())
                .map(|m| m.len())
                .chain(files.iter().map(|f| f.len))
                .sum();
            files
                .iter()
                .take_while(|f| {
                    let over = total > limits.max_total;
                    total = total.saturating_sub(f.len);
                    over
                })
                .count()
        });
    }
}

/// A rotated file found on disk.
struct Found {
    path: PathBuf,
    /// Its number: of two files of a stream last written in the same clock tick, the
    /// higher number is the older.
    k: u32,
    modified: SystemTime,
    len: u64,
}

/// The rotated files of both streams, oldest first.
fn rotated(bases: &[PathBuf; 2], keep: u32) -> Vec<Found> {
    let mut all = Vec::new();
    for base in bases {
        for k in 1..=keep {
            let plain = rotation::numbered(base, k);
            for path in [rotation::with_suffix(&plain, ".gz"), plain] {
                if let Ok(m) = fs::metadata(&path) {
                    all.push(Found {
                        path,
                        k,
                        modified: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                        len: m.len(),
                    });
                }
            }
        }
    }
    all.sort_by_key(|f| (f.modified, std::cmp::Reverse(f.k)));
    all
}

/// Removes the oldest rotated files, as many as `count` says of the list (oldest first).
///
/// The list is read and the files removed under one hold of the lock: the pump renames
/// every file one number up at each rotation, so a path read before a rotation names a
/// newer file after it, and removing by a stale list would remove the newest lines.
fn remove_oldest(
    bases: &[PathBuf; 2],
    keep: u32,
    lock: &Mutex<()>,
    count: impl FnOnce(&[Found]) -> usize,
) {
    let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    let files = rotated(bases, keep);
    for f in &files[..count(&files).min(files.len())] {
        let _ = fs::remove_file(&f.path);
    }
}

/// Where a compression in progress writes: one per stream (one thread at a time).
pub fn tmp_path(base: &Path) -> PathBuf {
    rotation::with_suffix(base, ".gz.tmp")
}

/// Compresses `plain` (a rotated file of `base`), then puts the result where that file is
/// by then (the pump may have moved it up meanwhile) and removes the original.
fn compress(base: &Path, plain: &Path, keep: u32, lock: &Mutex<()>) -> io::Result<()> {
    let mut src = File::open(plain)?;
    let meta = src.metadata()?;
    let ino = meta.ino();
    let tmp = tmp_path(base);
    let out = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    // The original's inode in the header: a `tpm logs -f` still reading the plain file
    // (its descriptor keeps the inode from reuse) finds where it went (see `logs`).
    let mut gz = flate2::GzBuilder::new()
        .comment(rotation::gz_comment(ino))
        .write(
            BufWriter::with_capacity(64 * 1024, out),
            Compression::fast(),
        );
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return fail(&tmp, e),
        };
        if let Err(e) = gz.write_all(&buf[..n]) {
            return fail(&tmp, e);
        }
    }
    drop(buf);
    let out = match gz
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
    {
        Ok(f) => f,
        Err(e) => return fail(&tmp, e),
    };
    // The file's age is its last line's, not its compression's (see `log_max_age`).
    if let Ok(modified) = meta.modified() {
        let _ = out.set_modified(modified);
    }
    // On disk before it replaces the plain file: after a power cut too, a .gz is whole.
    if let Err(e) = out.sync_all() {
        return fail(&tmp, e);
    }
    drop(out);
    let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    // Rotated files have no gap: look up from `.2` while there are some.
    let now_at = (2..)
        .take_while(|&k| rotation::rotated_file(base, k).is_some())
        .find(|&k| fs::metadata(rotation::numbered(base, k)).is_ok_and(|m| m.ino() == ino));
    let done = match now_at {
        // Moved past `keep` meanwhile: it goes (see `run`), compressed or not.
        Some(k) if k <= keep => {
            let at = rotation::numbered(base, k);
            fs::rename(&tmp, rotation::with_suffix(&at, ".gz")).and_then(|()| fs::remove_file(at))
        }
        // Removed meanwhile (flushed, or past the limits): nothing to keep.
        _ => fs::remove_file(&tmp),
    };
    drop(guard);
    done
}

fn fail(tmp: &Path, e: io::Error) -> io::Result<()> {
    let _ = fs::remove_file(tmp);
    Err(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(path: &Path) -> String {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(File::open(path).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    #[test]
    fn rotated_files_from_the_second_are_compressed_and_the_rest_removed() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("a.out");
        let err = d.path().join("a.err");
        for k in 1..=4 {
            fs::write(rotation::numbered(&out, k), format!("file {k}\n")).unwrap();
        }
        fs::write(tmp_path(&out), "half").unwrap();
        let limits = LogLimits {
            keep: 3,
            ..LogLimits::default()
        };
        run(&[out.clone(), err], &limits, &Mutex::new(()));
        assert!(
            rotation::numbered(&out, 1).exists(),
            "the newest stays plain"
        );
        assert_eq!(
            gunzip(&rotation::with_suffix(&rotation::numbered(&out, 2), ".gz")),
            "file 2\n"
        );
        assert_eq!(
            gunzip(&rotation::with_suffix(&rotation::numbered(&out, 3), ".gz")),
            "file 3\n"
        );
        assert!(!rotation::numbered(&out, 2).exists());
        assert!(!rotation::numbered(&out, 4).exists(), "past keep");
        assert!(!tmp_path(&out).exists(), "a leftover .tmp is removed");
    }

    #[test]
    fn files_past_their_age_are_looked_for_every_tenth_of_it() {
        let with_age = |secs: u64| LogLimits {
            max_age: Duration::from_secs(secs),
            ..LogLimits::default()
        };
        assert_eq!(period(&LogLimits::default()), PERIOD);
        assert_eq!(period(&with_age(2)), SHORTEST_PERIOD);
        assert_eq!(period(&with_age(3600)), Duration::from_secs(360));
        assert_eq!(period(&with_age(30 * 86_400)), PERIOD);
    }

    #[test]
    fn the_oldest_go_first_past_the_total() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("a.out");
        let err = d.path().join("a.err");
        fs::write(&out, "x".repeat(100)).unwrap();
        let base = SystemTime::now() - Duration::from_secs(1000);
        for k in 1..=3u32 {
            let p = rotation::numbered(&out, k);
            fs::write(&p, "y".repeat(100)).unwrap();
            let f = File::options().write(true).open(&p).unwrap();
            f.set_modified(base - Duration::from_secs(u64::from(k) * 10))
                .unwrap();
        }
        let limits = LogLimits {
            compress: false,
            max_total: 250,
            ..LogLimits::default()
        };
        run(&[out.clone(), err], &limits, &Mutex::new(()));
        assert!(rotation::numbered(&out, 1).exists());
        assert!(!rotation::numbered(&out, 2).exists());
        assert!(!rotation::numbered(&out, 3).exists());
        // By age: the last rotated file is 1000 s old.
        let limits = LogLimits {
            compress: false,
            max_age: Duration::from_secs(500),
            ..LogLimits::default()
        };
        run(
            &[out.clone(), d.path().join("a.err")],
            &limits,
            &Mutex::new(()),
        );
        assert!(!rotation::numbered(&out, 1).exists());
        assert!(out.exists(), "the current file is never removed");
    }
}
