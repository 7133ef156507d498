//! The log pump: bytes from the child's pipes become `YYYY-MM-DD HH:MM:SS line` lines.
//!
//! Lines read in one chunk share a timestamp (they arrived together). A line longer than
//! [`MAX_LINE`] is cut into several. A failed write (full disk, `RLIMIT_FSIZE`) never stops
//! or blocks the service: the bytes are counted as dropped and the pump goes on.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Local, TimeZone};

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
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(nl + 1);
            out.extend_from_slice(stamp.as_bytes());
            out.append(&mut self.partial);
            out.extend_from_slice(line);
            rest = tail;
        }
        self.partial.extend_from_slice(rest);
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

/// An append-only log file that never fails its caller.
#[derive(Debug)]
pub struct LogFile {
    file: Option<File>,
    pub dropped: u64,
}

impl LogFile {
    pub fn open(path: &Path) -> LogFile {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .ok();
        LogFile { file, dropped: 0 }
    }

    /// Writes all of `bytes`, or counts what could not be written.
    pub fn write(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
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
    fn stamp_has_the_seed_format() {
        let mut st = Stamp::default();
        let text = st.now().to_string();
        assert_eq!(text.len(), 20);
        assert!(
            chrono::NaiveDateTime::parse_from_str(text.trim_end(), "%Y-%m-%d %H:%M:%S").is_ok()
        );
    }

    #[test]
    fn failed_writes_are_counted_not_raised() {
        let mut log = LogFile::open(Path::new("/nonexistent-dir/x.out"));
        log.write(b"12345");
        assert_eq!(log.dropped, 5);
        let full = LogFile {
            file: File::options().write(true).open("/dev/full").ok(),
            dropped: 0,
        };
        let mut full = full;
        full.write(b"abc");
        assert_eq!(full.dropped, 3);
    }
}
