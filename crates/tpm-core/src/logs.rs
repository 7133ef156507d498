//! Reading logs: the last N lines of a process's stdout and stderr, merged in time order,
//! and following them as they grow.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone};
use serde::Serialize;

use crate::name::Name;
use crate::store::{Store, Stream};

/// The length of the `YYYY-MM-DD HH:MM:SS ` prefix.
const STAMP_LEN: usize = 20;

/// One log line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    pub name: String,
    /// When the supervisor read the line (local time).
    pub time: Option<DateTime<FixedOffset>>,
    pub stream: Stream,
    /// The line as the process wrote it, without the timestamp.
    pub line: String,
}

impl LogLine {
    fn parse(name: &Name, stream: Stream, raw: &str) -> LogLine {
        let (time, line) = match raw.get(..STAMP_LEN) {
            Some(prefix) if prefix.ends_with(' ') => {
                match NaiveDateTime::parse_from_str(&prefix[..STAMP_LEN - 1], "%Y-%m-%d %H:%M:%S") {
                    Ok(naive) => (
                        Local
                            .from_local_datetime(&naive)
                            .earliest()
                            .map(|t| t.fixed_offset()),
                        &raw[STAMP_LEN..],
                    ),
                    Err(_) => (None, raw),
                }
            }
            _ => (None, raw),
        };
        LogLine {
            name: name.to_string(),
            time,
            stream,
            line: line.to_string(),
        }
    }

    /// The line as stored: `YYYY-MM-DD HH:MM:SS text`.
    pub fn stamped(&self) -> String {
        match self.time {
            Some(t) => format!("{} {}", t.format("%Y-%m-%d %H:%M:%S"), self.line),
            None => self.line.clone(),
        }
    }
}

/// The last `n` lines of a file (without line ends), read backwards from the end so a
/// large log costs only what is shown.
pub fn tail(path: &std::path::Path, n: usize) -> io::Result<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut pos = len;
    let mut data: Vec<u8> = Vec::new();
    const BLOCK: u64 = 64 * 1024;
    // Stop once the buffer holds n line ends before the last byte (or the file start).
    while pos > 0 {
        let step = BLOCK.min(pos);
        pos -= step;
        file.seek(SeekFrom::Start(pos))?;
        let mut block = vec![0u8; step as usize];
        file.read_exact(&mut block)?;
        block.extend_from_slice(&data);
        data = block;
        let body = data.strip_suffix(b"\n").unwrap_or(&data);
        if body.iter().filter(|&&b| b == b'\n').count() >= n {
            break;
        }
    }
    let text = String::from_utf8_lossy(&data);
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(n);
    Ok(lines[skip..].iter().map(|l| l.to_string()).collect())
}

/// The last `n` lines of a process's logs, stdout and stderr merged in time order.
pub fn last_lines(store: &Store, name: &Name, n: usize) -> io::Result<Vec<LogLine>> {
    let mut all = Vec::new();
    for stream in [Stream::Out, Stream::Err] {
        let lines = tail(&store.log_path(name, stream), n)?;
        all.push(
            lines
                .iter()
                .map(|l| LogLine::parse(name, stream, l))
                .collect::<Vec<_>>(),
        );
    }
    let err = all.pop().unwrap_or_default();
    let out = all.pop().unwrap_or_default();
    let mut merged = merge(out, err);
    let skip = merged.len().saturating_sub(n);
    merged.drain(..skip);
    Ok(merged)
}

/// Merges lines of several sources in time order, each source's own order kept; a line
/// without a time sorts with the line before it.
pub fn merge(a: Vec<LogLine>, b: Vec<LogLine>) -> Vec<LogLine> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    let (mut last_a, mut last_b) = (None, None);
    loop {
        let ta = a.peek().map(|l| l.time.or(last_a));
        let tb = b.peek().map(|l| l.time.or(last_b));
        let take_a = match (ta, tb) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(x), Some(y)) => x <= y,
        };
        if take_a {
            let line = a.next().expect("peeked");
            last_a = line.time.or(last_a);
            out.push(line);
        } else {
            let line = b.next().expect("peeked");
            last_b = line.time.or(last_b);
            out.push(line);
        }
    }
    out
}

/// Follows log files as they grow, calling `on_line` for every new line until it returns
/// false. Notices truncation and rotation (a new file at the path) and reads from its start.
pub fn follow(
    store: &Store,
    names: &[Name],
    on_line: impl FnMut(LogLine) -> bool,
) -> io::Result<()> {
    follow_while(store, names, || true, on_line)
}

/// [`follow`], which also ends when `keep_going` returns false; it is asked whenever no new
/// line has come for a moment, so a reader that went away is noticed without waiting for the
/// next line (the Nushell plugin's stream, when its consumer is dropped or interrupted).
pub fn follow_while(
    store: &Store,
    names: &[Name],
    mut keep_going: impl FnMut() -> bool,
    mut on_line: impl FnMut(LogLine) -> bool,
) -> io::Result<()> {
    struct Watched {
        name: Name,
        stream: Stream,
        path: PathBuf,
        ino: u64,
        offset: u64,
        partial: Vec<u8>,
    }
    let mut files: Vec<Watched> = Vec::new();
    for name in names {
        for stream in [Stream::Out, Stream::Err] {
            let path = store.log_path(name, stream);
            let (ino, offset) = std::fs::metadata(&path).map_or((0, 0), |m| (m.ino(), m.len()));
            files.push(Watched {
                name: name.clone(),
                stream,
                path,
                ino,
                offset,
                partial: Vec::new(),
            });
        }
    }
    loop {
        let mut any = false;
        for w in &mut files {
            let Ok(meta) = std::fs::metadata(&w.path) else {
                continue;
            };
            if meta.ino() != w.ino || meta.len() < w.offset {
                w.ino = meta.ino();
                w.offset = 0;
                w.partial.clear();
            }
            if meta.len() == w.offset {
                continue;
            }
            let mut file = File::open(&w.path)?;
            file.seek(SeekFrom::Start(w.offset))?;
            let mut fresh = Vec::new();
            file.take(4 << 20).read_to_end(&mut fresh)?;
            w.offset += fresh.len() as u64;
            w.partial.extend_from_slice(&fresh);
            while let Some(nl) = w.partial.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = w.partial.drain(..=nl).collect();
                let text = String::from_utf8_lossy(&raw[..raw.len() - 1]);
                any = true;
                if !on_line(LogLine::parse(&w.name, w.stream, &text)) {
                    return Ok(());
                }
            }
        }
        if !any {
            if !keep_going() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(lines: usize, path: &std::path::Path) {
        let text: String = (0..lines)
            .map(|i| format!("2024-01-15 10:30:00 line {i}\n"))
            .collect();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn tail_returns_exactly_the_last_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.out");
        write(100_000, &p);
        let got = tail(&p, 3).unwrap();
        assert_eq!(got.len(), 3);
        assert!(got[2].ends_with("line 99999") && got[0].ends_with("line 99997"));
        assert_eq!(tail(&p, 200_000).unwrap().len(), 100_000);
        assert!(tail(&d.path().join("missing"), 5).unwrap().is_empty());
        assert!(tail(&p, 0).unwrap().is_empty());
    }

    #[test]
    fn tail_handles_a_missing_final_newline_and_empty_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.out");
        std::fs::write(&p, "a\nb\nc").unwrap();
        assert_eq!(tail(&p, 2).unwrap(), ["b", "c"]);
        std::fs::write(&p, "").unwrap();
        assert!(tail(&p, 2).unwrap().is_empty());
    }

    #[test]
    fn lines_parse_their_timestamp() {
        let n = Name::parse("a-1").unwrap();
        let l = LogLine::parse(&n, Stream::Err, "2024-01-15 10:30:00 Error: x");
        assert_eq!(l.line, "Error: x");
        assert_eq!(l.stamped(), "2024-01-15 10:30:00 Error: x");
        let l = LogLine::parse(&n, Stream::Out, "no stamp here at all");
        assert_eq!((l.time, l.line.as_str()), (None, "no stamp here at all"));
    }

    #[test]
    fn following_ends_when_asked_even_without_new_lines() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::at(d.path().to_path_buf());
        let name = Name::parse("quiet-1").unwrap();
        let mut asked = 0;
        follow_while(
            &store,
            std::slice::from_ref(&name),
            || {
                asked += 1;
                asked < 3
            },
            |_| panic!("no line was written"),
        )
        .unwrap();
        assert_eq!(asked, 3);
    }

    #[test]
    fn merge_keeps_time_order_and_each_stream_order() {
        let n = Name::parse("a-1").unwrap();
        let mk = |s, t: &str| LogLine::parse(&n, s, t);
        let out = vec![
            mk(Stream::Out, "2024-01-01 00:00:01 o1"),
            mk(Stream::Out, "2024-01-01 00:00:03 o3"),
        ];
        let err = vec![
            mk(Stream::Err, "2024-01-01 00:00:02 e2"),
            mk(Stream::Err, "continued"),
        ];
        let got: Vec<_> = merge(out, err).into_iter().map(|l| l.line).collect();
        assert_eq!(got, ["o1", "e2", "continued", "o3"]);
    }
}
