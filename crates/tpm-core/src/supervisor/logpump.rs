//! The log pump: bytes from the child's pipes become `YYYY-MM-DD HH:MM:SS line` lines.
//!
//! Lines read in one chunk share a timestamp (they arrived together). A line longer than
//! [`MAX_LINE`] is cut into several. A failed write (full disk, `RLIMIT_FSIZE`) never stops
//! or blocks the service: the bytes are counted as dropped and the pump goes on.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Local, TimeZone};

use crate::name::Name;
use crate::rotation::LogLimits;
use crate::store::{Store, Stream};

/// Lines longer than this are split.
pub const MAX_LINE: usize = 64 * 1024;

/// The `YYYY-MM-DD HH:MM:SS ` prefix, formatted once per second.
#[derive(Debug, Default)]
pub struct Stamp {
    secs: i64,
    text: String,
}

impl Stamp {
    pub fn now(&mut self) -> &str {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
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

/// An append-only log file that rotates by size and never fails its caller.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    /// `NAME.out.1`, `NAME.out.2`, ...: where rotated files go, newest first.
    rotated: Vec<PathBuf>,
    limits: LogLimits,
    file: Option<File>,
    size: u64,
    pub dropped: u64,
}

impl LogFile {
    pub fn open(store: &Store, name: &Name, stream: Stream, limits: LogLimits) -> LogFile {
        let rotated = (1..=limits.keep)
            .map(|k| store.rotated_log_path(name, stream, k))
            .collect();
        let mut log = LogFile {
            path: store.log_path(name, stream),
            rotated,
            limits,
            file: None,
            size: 0,
            dropped: 0,
        };
        log.reopen();
        log
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

    /// Moves `NAME.out` to `NAME.out.1` (and each older file one further, the oldest
    /// beyond `keep` removed), then starts a new file.
    fn rotate(&mut self) {
        self.file = None;
        // Removed first, not renamed over: ext4 writes a file renamed over another to disk
        // at once (its guard for replace-by-rename), which would stall the pump.
        if let Some(oldest) = self.rotated.last() {
            let _ = std::fs::remove_file(oldest);
        }
        for k in (1..self.rotated.len()).rev() {
            let _ = std::fs::rename(&self.rotated[k - 1], &self.rotated[k]);
        }
        let _ = match self.rotated.first() {
            Some(newest) => std::fs::rename(&self.path, newest),
            None => std::fs::remove_file(&self.path),
        };
        self.reopen();
    }

    /// Writes whole lines, rotating between lines whenever the next ones would not fit
    /// (a single line longer than the limit gets a file of its own), or counts what could
    /// not be written.
    pub fn write(&mut self, mut bytes: &[u8]) {
        let max = self.limits.max_size;
        while !bytes.is_empty() {
            let room = max.saturating_sub(self.size) as usize;
            let take = if max == 0 || bytes.len() <= room {
                bytes.len()
            } else {
                match bytes[..room].iter().rposition(|&b| b == b'\n') {
                    Some(nl) => nl + 1,
                    None if self.size > 0 => {
                        self.rotate();
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

    fn write_raw(&mut self, bytes: &[u8]) {
        let Some(file) = self.file.as_mut() else {
            self.dropped += bytes.len() as u64;
            return;
        };
        let mut rest = bytes;
        while !rest.is_empty() {
            match file.write(rest) {
                Ok(0) => break,
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.size += (bytes.len() - rest.len()) as u64;
        self.dropped += rest.len() as u64;
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
    fn a_zero_size_never_rotates() {
        let d = tempfile::tempdir().unwrap();
        let (store, name, mut log) = log(
            d.path(),
            LogLimits {
                max_size: 0,
                keep: 2,
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
