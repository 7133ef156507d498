//! The log pump: bytes from the child's pipes become `YYYY-MM-DD HH:MM:SS line` lines.
//!
//! Lines read in one chunk share a timestamp (they arrived together). A line longer than
//! [`MAX_LINE`] is cut into several. A failed write (full disk, `RLIMIT_FSIZE`) never stops
//! or blocks the service: whole lines are dropped and counted, and the pump goes on.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{Local, TimeZone};

use super::housekeep::Housekeeper;
use crate::name::Name;
use crate::rotation::{self, LogLimits};
use crate::store::{Store, Stream};

/// Lines longer than this are split.
pub const MAX_LINE: usize = 64 * 1024;

/// The `YYYY-MM-DD HH:MM:SS ` prefix, formatted once per second.
#[derive(Debug, Default)]
pub struct Stamp {
    secs: i64,
    text: String,
}

/// Tests only: seconds added to the log clock (stamps and time rotation), so a test can
/// start a process just before an hour turns instead of waiting for one.
pub const CLOCK_SKEW_VAR: &str = "TPM_LOG_CLOCK_SKEW";

/// The log clock: Unix seconds, plus the test skew.
pub fn now_secs() -> i64 {
    static SKEW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let skew = *SKEW.get_or_init(|| {
        std::env::var(CLOCK_SKEW_VAR)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    });
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        + skew
}

impl Stamp {
    /// The second the text was made for.
    pub fn secs(&self) -> i64 {
        self.secs
    }

    pub fn now(&mut self) -> &str {
        let secs = now_secs();
        if secs != self.secs || self.text.is_empty() {
            self.secs = secs;
            self.text = match Local.timestamp_opt(secs, 0).single() {
                Some(t) => t.format("%Y-%m-%d %H:%M:%S ").to_string(),
                None => "1970-01-01 00:00:00 ".into(),
            };
        }
        &self.text
    }
}

/// Splits a byte stream into lines, keeping the unfinished tail between reads.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// Appends every complete line in `chunk` to `out`, each prefixed with `stamp`.
    pub fn feed(&mut self, chunk: &[u8], stamp: &str, out: &mut Vec<u8>) {
        // Room for every line of a chunk of 100-byte lines, stamped, without regrowing.
        out.reserve(chunk.len() + chunk.len() / 4 + self.partial.len() + stamp.len());
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            out.extend_from_slice(stamp.as_bytes());
            if !self.partial.is_empty() {
                out.append(&mut self.partial);
            }
            out.extend_from_slice(&chunk[start..=nl]);
            start = nl + 1;
        }
        self.partial.extend_from_slice(&chunk[start..]);
        while self.partial.len() >= MAX_LINE {
            let tail = self.partial.split_off(MAX_LINE);
            out.extend_from_slice(stamp.as_bytes());
            out.append(&mut self.partial);
            out.push(b'\n');
            self.partial = tail;
        }
    }

    /// At end of stream: the unfinished line, if any, as a line.
    pub fn finish(&mut self, stamp: &str, out: &mut Vec<u8>) {
        if !self.partial.is_empty() {
            out.extend_from_slice(stamp.as_bytes());
            out.append(&mut self.partial);
            out.push(b'\n');
        }
    }
}

/// How many files past `keep` may wait for the trimmer before the pump removes them.
const TRIM_BEHIND: u32 = 8;

/// How long a rotation that failed waits before it is tried again; meanwhile the current
/// file takes the lines, past its size.
const ROTATE_RETRY: Duration = Duration::from_secs(1);

/// An append-only log file that rotates by size and never fails its caller.
///
/// It holds whole lines only: a write cut short (a full disk, `RLIMIT_FSIZE`) is taken back
/// to the last complete line, so the next line can neither glue onto a cut one nor split
/// it, and what was not written is counted in [`LogFile::dropped`]. A file that cannot be
/// opened, or a rotation that fails (the folder unwritable for a while), is tried again
/// (see [`LogFile::heal`]): logging resumes by itself.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    limits: LogLimits,
    /// The log clock's second (see [`now_secs`]) at which the file next rotates by time.
    boundary: Option<i64>,
    /// Compression and retention, off the pump's path; shared by a process's two logs.
    keeper: Option<std::rc::Rc<std::cell::RefCell<Housekeeper>>>,
    file: Option<File>,
    size: u64,
    /// A rotation failed: none is tried again before this.
    rotate_after: Option<Instant>,
    /// The highest number a rotated file may have: a rotation renames only those, not
    /// `keep` names (a thousand renames per rotation at `log_keep 1000`).
    highest: u32,
    /// A cut line could not be taken back: the next write first ends it.
    torn: bool,
    pub dropped: u64,
    /// Bytes written to the files (all of them, across rotations).
    pub written: u64,
    /// Rotations by size and by time not yet told to the event history.
    rotations: [u32; 2],
}

/// Why a log rotated.
#[derive(Debug, Clone, Copy)]
enum Why {
    Size = 0,
    Time = 1,
}

impl LogFile {
    pub fn open(store: &Store, name: &Name, stream: Stream, limits: LogLimits) -> LogFile {
        let mut log = LogFile {
            path: store.log_path(name, stream),
            limits,
            boundary: None,
            keeper: None,
            highest: 0,
            file: None,
            size: 0,
            rotate_after: None,
            torn: false,
            dropped: 0,
            written: 0,
            rotations: [0; 2],
        };
        log.reopen();
        log.highest = (1..=limits.keep.saturating_add(2))
            .rev()
            .find(|&k| rotation::rotated_file(&log.path, k).is_some())
            .unwrap_or(0);
        // A file written before an hour (or day) turned rotates at its first new line.
        if let Some(every) = limits.every {
            let since = match std::fs::metadata(&log.path) {
                Ok(m) if m.len() > 0 => m.mtime(),
                _ => now_secs(),
            };
            log.boundary = Some(every.next_boundary(since));
        }
        log
    }

    /// Whether rotations wait to be told to the event history.
    pub fn rotations_pending(&self) -> bool {
        self.rotations != [0; 2]
    }

    /// The rotations since the last call, as an event's reason and count (`by size`,
    /// `hourly`, `daily`; the more frequent first when both happened).
    pub fn take_rotations(&mut self) -> Option<(&'static str, u32)> {
        let [size, time] = std::mem::take(&mut self.rotations);
        let every = self.limits.every.map_or("by time", |e| e.as_str());
        match (size, time) {
            (0, 0) => None,
            (0, t) => Some((every, t)),
            (s, t) => Some(("by size", s + t)),
        }
    }

    /// Hands rotated files to `keeper` (compression, retention) after each rotation.
    pub fn keep_with(&mut self, keeper: std::rc::Rc<std::cell::RefCell<Housekeeper>>) {
        self.keeper = Some(keeper);
    }

    /// `NAME.out.K`: where the K-th newest rotated file goes.
    fn rotated(&self, k: u32) -> PathBuf {
        rotation::numbered(&self.path, k)
    }

    /// Rotates if the hour (or day) turned since the file began; `now` is the log clock's
    /// second of the lines about to be written, so the turn falls between lines.
    pub fn tick(&mut self, now: i64) {
        let (Some(at), Some(every)) = (self.boundary, self.limits.every) else {
            return;
        };
        if now < at {
            return;
        }
        // An empty file has nothing of the past hour: no rotation, only a new turn.
        if self.size == 0 || !self.may_rotate() || self.rotate(Why::Time) {
            self.boundary = Some(every.next_boundary(now));
        }
    }

    fn reopen(&mut self) {
        self.file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)
            .ok();
        self.size = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
    }

    /// Moves `NAME.out` to `NAME.out.1` (and each older file, plain or `.gz`, one number
    /// further), then starts a new file. False if the files could not be moved: the current
    /// file is kept, and the rotation is tried again later.
    ///
    /// Only renames: the file pushed past `keep` is removed, and `.2` compressed, by the
    /// housekeeping thread, so a rotation never waits for a 10 MiB unlink or a compression.
    fn rotate(&mut self, why: Why) -> bool {
        let gone = |r: io::Result<()>| match r {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
        let keeper = self.keeper.clone();
        let keeper_ref = keeper.as_ref().map(|k| k.borrow());
        let lock = keeper_ref.as_ref().map(|k| k.lock.clone());
        drop(keeper_ref);
        // The housekeeping thread is moving a compressed file into place: the next write
        // tries again (it holds the lock for a rename or two).
        let guard = match lock.as_ref().map(|l| l.try_lock()) {
            Some(Ok(g)) => Some(g),
            Some(Err(std::sync::TryLockError::Poisoned(p))) => Some(p.into_inner()),
            Some(Err(std::sync::TryLockError::WouldBlock)) => return false,
            None => None,
        };
        let keep = self.limits.keep;
        // Files past `keep` that the trimmer has removed since: not renamed again.
        while self.highest > keep && rotation::rotated_file(&self.path, self.highest).is_none() {
            self.highest -= 1;
        }
        // The trimmer far behind (a starved machine): the pump removes them itself rather
        // than rename ever more files at each rotation.
        if self.highest > keep + TRIM_BEHIND {
            for k in keep + 2..=self.highest {
                let plain = self.rotated(k);
                let _ = std::fs::remove_file(rotation::with_suffix(&plain, ".gz"));
                let _ = std::fs::remove_file(plain);
            }
            self.highest = keep + 1;
        }
        let moved = (|| {
            // Every file moves up, those past `keep` too (the thread removes them): none is
            // removed here, as a 10 MiB unlink would stall the pump, and none renamed over
            // (ext4 writes a file renamed over another to disk at once, its guard for
            // replace-by-rename).
            for k in (1..=self.highest).rev() {
                let (from, to) = (self.rotated(k), self.rotated(k + 1));
                gone(std::fs::rename(
                    rotation::with_suffix(&from, ".gz"),
                    rotation::with_suffix(&to, ".gz"),
                ))?;
                gone(std::fs::rename(from, to))?;
            }
            std::fs::rename(&self.path, self.rotated(1))
        })();
        drop(guard);
        if moved.is_err() {
            self.rotate_after = Some(Instant::now() + ROTATE_RETRY);
            return false;
        }
        self.rotate_after = None;
        self.highest += 1;
        self.rotations[why as usize] += 1;
        self.reopen();
        match &keeper {
            Some(k) => k.borrow_mut().request(),
            // Without a keeper (unit tests), the files past `keep` go at once.
            None => {
                for k in keep + 1..=self.highest {
                    let _ = std::fs::remove_file(self.rotated(k));
                }
                self.highest = self.highest.min(keep);
            }
        }
        true
    }

    /// Whether a rotation may be tried now.
    fn may_rotate(&self) -> bool {
        self.rotate_after.is_none_or(|t| Instant::now() >= t)
    }

    /// Writes whole lines, rotating between lines whenever the next ones would not fit
    /// (a single line longer than the limit gets a file of its own), or counts what could
    /// not be written.
    pub fn write(&mut self, mut bytes: &[u8]) {
        let max = self.limits.rotate_size();
        while !bytes.is_empty() {
            let room = max.saturating_sub(self.size) as usize;
            let take = if max == 0 || bytes.len() <= room || !self.may_rotate() {
                bytes.len()
            } else {
                match bytes[..room].iter().rposition(|&b| b == b'\n') {
                    Some(nl) => nl + 1,
                    None if self.size > 0 => {
                        // A failed rotation sets `rotate_after`: the next turn writes on.
                        self.rotate(Why::Size);
                        continue;
                    }
                    None => bytes
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(bytes.len(), |nl| nl + 1),
                }
            };
            self.write_raw(&bytes[..take]);
            bytes = &bytes[take..];
        }
    }

    /// Writes `bytes` (whole lines); a write cut short is taken back to its last whole line.
    fn write_raw(&mut self, bytes: &[u8]) {
        let Some(file) = self.file.as_mut() else {
            self.dropped += bytes.len() as u64;
            return;
        };
        if self.torn {
            // A line cut earlier could not be taken back: end it, rather than glue onto it.
            if matches!(file.write(b"\n"), Ok(1)) {
                self.torn = false;
                self.size += 1;
                self.written += 1;
            } else {
                self.dropped += bytes.len() as u64;
                return;
            }
        }
        let mut done = 0;
        while done < bytes.len() {
            match file.write(&bytes[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let whole = bytes[..done]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |nl| nl + 1);
        if done < bytes.len() && whole < done {
            // Truncating needs no room on the disk, so it works where the write failed.
            let cut = done - whole;
            let taken_back = file
                .metadata()
                .ok()
                .and_then(|m| m.len().checked_sub(cut as u64))
                .is_some_and(|len| file.set_len(len).is_ok());
            if taken_back {
                done = whole;
            } else {
                self.torn = true;
            }
        }
        self.size += done as u64;
        self.written += done as u64;
        self.dropped += (bytes.len() - done) as u64;
    }

    /// Whether the file could not be opened, or a rotation waits to be tried again.
    pub fn failing(&self) -> bool {
        self.file.is_none() || self.rotate_after.is_some()
    }

    /// Tries again what failed: opens the file if it could not be (or was removed, or
    /// replaced: lines go where readers look), and retries a due rotation.
    pub fn heal(&mut self) {
        let current = match &self.file {
            Some(f) => match (f.metadata(), std::fs::metadata(&self.path)) {
                (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            },
            None => false,
        };
        if !current {
            self.reopen();
        } else if let Some(len) = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| m.len())
        {
            // Emptied (`tpm flush`): the next rotation is a whole file away again.
            if len < self.size {
                self.size = len;
            }
        }
        let max = self.limits.rotate_size();
        if self.rotate_after.is_some() && self.may_rotate() && max > 0 && self.size >= max {
            self.rotate(Why::Size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_stamped_and_partial_lines_wait_for_their_end() {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        s.feed(b"one\ntw", "T ", &mut out);
        assert_eq!(out, b"T one\n");
        s.feed(b"o\nthree", "U ", &mut out);
        assert_eq!(out, b"T one\nU two\n");
        s.finish("V ", &mut out);
        assert_eq!(out, b"T one\nU two\nV three\n");
        s.finish("W ", &mut out);
        assert_eq!(out, b"T one\nU two\nV three\n", "nothing left to flush");
    }

    proptest::proptest! {
        #[test]
        fn every_byte_comes_out_once_in_order_whatever_the_chunks(
            input in proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(b'\n'), proptest::arbitrary::any::<u8>()], 0..400),
            cuts in proptest::collection::vec(0usize..400, 0..10),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort();
            let mut s = LineSplitter::default();
            let mut out = Vec::new();
            let mut at = 0;
            for cut in cuts.into_iter().chain([input.len()]) {
                s.feed(&input[at..cut], "", &mut out);
                at = cut;
            }
            s.finish("", &mut out);
            let mut expected = input.clone();
            if !expected.is_empty() && expected.last() != Some(&b'\n') {
                expected.push(b'\n');
            }
            proptest::prop_assert_eq!(out, expected);
        }
    }

    /// How fast lines are stamped, without the pipe and the file: `cargo test --release
    /// -p tpm-core --lib stamping_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, for a release build"]
    fn stamping_speed() {
        let line = format!("{}\n", "x".repeat(99));
        let chunk: Vec<u8> = line.repeat((1 << 20) / line.len()).into_bytes();
        let mut s = LineSplitter::default();
        let mut out = Vec::with_capacity(2 << 20);
        let started = Instant::now();
        let rounds = 1024;
        for _ in 0..rounds {
            out.clear();
            s.feed(&chunk, "2026-12-02 10:00:00 ", &mut out);
        }
        let took = started.elapsed();
        eprintln!(
            "{} MiB of 100-byte lines stamped in {:.0} ms",
            rounds,
            took.as_secs_f64() * 1e3
        );
    }

    #[test]
    fn overlong_lines_are_cut() {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        s.feed(&vec![b'x'; MAX_LINE * 2 + 5], "", &mut out);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 2);
        s.finish("", &mut out);
        assert_eq!(out.len(), MAX_LINE * 2 + 5 + 3);
    }

    #[test]
    fn stamp_has_the_documented_format() {
        let mut st = Stamp::default();
        let text = st.now().to_string();
        assert_eq!(text.len(), 20);
        assert!(
            chrono::NaiveDateTime::parse_from_str(text.trim_end(), "%Y-%m-%d %H:%M:%S").is_ok()
        );
    }

    fn log(dir: &std::path::Path, limits: LogLimits) -> (Store, Name, LogFile) {
        let store = Store::at(dir.join("tpm"));
        let name = Name::parse("web-1").unwrap();
        let log = LogFile::open(&store, &name, Stream::Out, limits);
        (store, name, log)
    }

    #[test]
    fn failed_writes_are_counted_not_raised() {
        let d = tempfile::tempdir().unwrap();
        // No logs/ folder: nothing can be opened.
        let (_, _, mut missing) = log(d.path(), LogLimits::default());
        missing.write(b"12345");
        assert_eq!(missing.dropped, 5);
        let (_, _, mut full) = log(d.path(), LogLimits::default());
        full.file = File::options().write(true).open("/dev/full").ok();
        full.write(b"abc");
        assert_eq!(full.dropped, 3);
    }

    #[test]
    fn logs_rotate_at_their_size_and_keep_so_many_files() {
        let d = tempfile::tempdir().unwrap();
        let (store, name, mut log) = log(
            d.path(),
            LogLimits {
                max_size: 100,
                keep: 2,
                ..LogLimits::default()
            },
        );
        store.ensure().unwrap();
        log.reopen();
        let line = |i: usize| format!("{i:039}\n"); // 40 bytes
        for i in 0..4 {
            log.write(line(i).as_bytes());
        }
        // A batch bigger than a file is split at line ends.
        log.write((4..10).map(line).collect::<String>().as_bytes());
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        // 2 lines a file (a third would pass 100 bytes); lines 0-3 rotated away.
        assert_eq!(read(store.log_path(&name, Stream::Out)), line(8) + &line(9));
        assert_eq!(
            read(store.rotated_log_path(&name, Stream::Out, 1)),
            line(6) + &line(7)
        );
        assert_eq!(
            read(store.rotated_log_path(&name, Stream::Out, 2)),
            line(4) + &line(5)
        );
        assert!(!store.rotated_log_path(&name, Stream::Out, 3).exists());
        assert_eq!(log.dropped, 0);
        // A line longer than the limit gets a file of its own.
        let long = format!("{}\n", "y".repeat(250));
        log.write(long.as_bytes());
        assert_eq!(
            read(store.rotated_log_path(&name, Stream::Out, 1)),
            line(8) + &line(9)
        );
        log.write(line(10).as_bytes());
        assert_eq!(read(store.rotated_log_path(&name, Stream::Out, 1)), long);
    }

    #[test]
    fn retention_racing_a_thousand_rotations_keeps_the_newest_lines_without_a_gap() {
        let d = tempfile::tempdir().unwrap();
        let limits = LogLimits {
            max_size: 80,
            keep: 100,
            compress: false,
            max_total: 1000,
            ..LogLimits::default()
        };
        let (store, name, mut log) = log(d.path(), limits);
        store.ensure().unwrap();
        log.reopen();
        let keeper = std::rc::Rc::new(std::cell::RefCell::new(Housekeeper::new(
            store.log_path(&name, Stream::Out),
            store.log_path(&name, Stream::Err),
            limits,
        )));
        log.keep_with(keeper.clone());
        // Two lines a file: a rotation every other line, the trimmer running meanwhile.
        let line = |i: usize| format!("{i:039}\n");
        let n = 2000;
        for i in 0..n {
            log.write(line(i).as_bytes());
        }
        keeper.borrow_mut().wait();
        let base = store.log_path(&name, Stream::Out);
        let mut text = String::new();
        for k in rotation::rotated_numbers(&base).into_iter().rev() {
            text += &std::fs::read_to_string(rotation::numbered(&base, k)).unwrap();
        }
        text += &std::fs::read_to_string(&base).unwrap();
        let kept: Vec<usize> = text.lines().map(|l| l.parse().unwrap()).collect();
        assert!(kept.len() >= 10, "{kept:?}");
        assert_eq!(kept, (n - kept.len()..n).collect::<Vec<_>>());
    }

    #[test]
    fn a_rotation_that_fails_keeps_logging_and_is_tried_again() {
        let d = tempfile::tempdir().unwrap();
        let (store, name, mut log) = log(
            d.path(),
            LogLimits {
                max_size: 100,
                keep: 1,
                ..LogLimits::default()
            },
        );
        store.ensure().unwrap();
        log.reopen();
        // `NAME.out.1` is a folder with a file in it: nothing can be renamed onto it.
        let blocker = store.rotated_log_path(&name, Stream::Out, 1);
        std::fs::create_dir(&blocker).unwrap();
        std::fs::write(blocker.join("x"), "").unwrap();
        let first = blocker.clone();
        let line = |i: usize| format!("{i:039}\n"); // 40 bytes
        for i in 0..10 {
            log.write(line(i).as_bytes());
        }
        let current = || std::fs::read_to_string(store.log_path(&name, Stream::Out)).unwrap();
        assert_eq!(
            current(),
            (0..10).map(line).collect::<String>(),
            "all kept, past the limit"
        );
        assert_eq!(log.dropped, 0);
        // Healed once the obstacle is gone and the retry is due.
        std::fs::remove_dir_all(&blocker).unwrap();
        log.heal();
        assert!(!first.exists(), "not before its time");
        log.rotate_after = Some(Instant::now());
        log.heal();
        assert_eq!(
            std::fs::read_to_string(&first).unwrap(),
            (0..10).map(line).collect::<String>()
        );
        log.write(line(10).as_bytes());
        assert_eq!(current(), line(10));
    }

    #[test]
    fn a_removed_log_file_is_made_again() {
        let d = tempfile::tempdir().unwrap();
        let (store, name, mut log) = log(d.path(), LogLimits::default());
        store.ensure().unwrap();
        log.reopen();
        log.write(b"one\n");
        std::fs::remove_dir_all(store.root().join("logs")).unwrap();
        log.write(b"lost\n");
        store.ensure().unwrap();
        log.heal();
        log.write(b"two\n");
        assert_eq!(
            std::fs::read_to_string(store.log_path(&name, Stream::Out)).unwrap(),
            "two\n"
        );
    }

    #[test]
    fn a_zero_size_never_rotates() {
        let d = tempfile::tempdir().unwrap();
        let (store, name, mut log) = log(
            d.path(),
            LogLimits {
                max_size: 0,
                keep: 2,
                ..LogLimits::default()
            },
        );
        store.ensure().unwrap();
        log.reopen();
        for _ in 0..100 {
            log.write(&[b'x'; 100]);
        }
        assert_eq!(
            std::fs::metadata(store.log_path(&name, Stream::Out))
                .unwrap()
                .len(),
            10_000
        );
    }
}
