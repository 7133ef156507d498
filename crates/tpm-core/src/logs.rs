//! Reading logs: the last N lines of stdout and stderr merged in time order, across
//! rotated files, and following them as they grow. (How big they may grow is `rotation`;
//! writing them is the supervisor's log pump.)

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone};
use serde::Serialize;

use crate::name::Name;
use crate::rotation;
use crate::store::{Store, Stream};

mod tail;
pub use tail::{cost, last_lines_within, Tail};

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

/// Bytes read at a time when reading a log backwards.
const BLOCK: u64 = 64 * 1024;

/// The last `n` lines of a file (without line ends), read backwards from the end so a
/// large log costs only what is shown.
pub fn tail(path: &Path, n: usize) -> io::Result<Vec<String>> {
    match File::open(path) {
        Ok(file) => {
            let end = file.metadata()?.len();
            tail_of(&file, end, n, BLOCK)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The last `n` lines of the first `end` bytes of `file`, with positional reads (the
/// file's offset is left alone, so a followed file can be tailed first).
fn tail_of(file: &File, end: u64, n: usize, block: u64) -> io::Result<Vec<String>> {
    // Only a block and the lines found are held: a tail of a few long lines costs them.
    let mut back = tail::LinesBack::new(file, end, block);
    let mut lines = Vec::new();
    while lines.len() < n {
        let Some((start, stop)) = back.next_line()? else {
            break;
        };
        let mut raw = vec![0u8; usize::try_from(stop - start).unwrap_or(0)];
        file.read_exact_at(&mut raw, start)?;
        lines.push(tail::text_of(&raw));
    }
    lines.reverse();
    Ok(lines)
}

/// Every line of a rotated file, plain or gzip-compressed.
fn all_lines(path: &Path, gz: bool) -> io::Result<Vec<String>> {
    match File::open(path) {
        Ok(f) => lines_from(&f, gz),
        // Moved on by a rotation or a compression meanwhile: read as empty.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Every line of an open log file, plain or gzip-compressed, from its start.
fn lines_from(mut file: &File, gz: bool) -> io::Result<Vec<String>> {
    file.seek(SeekFrom::Start(0))?;
    let mut data = Vec::new();
    if gz {
        flate2::read::MultiGzDecoder::new(io::BufReader::new(file)).read_to_end(&mut data)?;
    } else {
        io::BufReader::new(file).read_to_end(&mut data)?;
    }
    Ok(String::from_utf8_lossy(&data)
        .lines()
        .map(str::to_string)
        .collect())
}

/// The last `n` lines of the K-th rotated file of `stream` (plain or `.gz`); `None` when
/// there is no such file.
fn rotated_tail(
    store: &Store,
    name: &Name,
    stream: Stream,
    k: u32,
    n: usize,
) -> io::Result<Option<Vec<String>>> {
    let Some((path, gz)) = rotation::rotated_file(&store.log_path(name, stream), k) else {
        return Ok(None);
    };
    if !gz {
        return tail(&path, n).map(Some);
    }
    let mut lines = all_lines(&path, true)?;
    let skip = lines.len().saturating_sub(n);
    lines.drain(..skip);
    Ok(Some(lines))
}

/// Puts lines from rotated files (`.1`, `.2.gz`, ...) before `lines` until there are `n`.
fn reach_back(
    store: &Store,
    name: &Name,
    stream: Stream,
    n: usize,
    mut lines: Vec<String>,
) -> io::Result<Vec<String>> {
    if lines.len() >= n {
        return Ok(lines);
    }
    for k in rotation::rotated_numbers(&store.log_path(name, stream)) {
        if lines.len() >= n {
            break;
        }
        // Gone since the folder was read (moved on, or removed): the next one is older.
        let Some(mut more) = rotated_tail(store, name, stream, k, n - lines.len())? else {
            continue;
        };
        more.append(&mut lines);
        lines = more;
    }
    Ok(lines)
}

/// Which lines `logs` shows: a time window, a pattern, one stream.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Lines from this time on.
    pub since: Option<DateTime<FixedOffset>>,
    /// Lines up to this time.
    pub until: Option<DateTime<FixedOffset>>,
    /// Lines whose text (without the timestamp) matches.
    pub grep: Option<regex::Regex>,
    /// Only stdout, or only stderr.
    pub stream: Option<Stream>,
}

impl Filter {
    /// Whether it lets every line through.
    pub fn is_empty(&self) -> bool {
        self.since.is_none() && self.until.is_none() && self.grep.is_none() && self.stream.is_none()
    }

    /// Whether `line` is shown. A line without a time is judged by its stream and text.
    pub fn keeps(&self, line: &LogLine) -> bool {
        if self.stream.is_some_and(|s| s != line.stream) {
            return false;
        }
        if let Some(t) = line.time {
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t > u) {
                return false;
            }
        }
        self.grep.as_ref().is_none_or(|re| re.is_match(&line.line))
    }

    /// The filter the front ends' flags describe: `--since`/`--until` (see [`parse_when`]),
    /// `--grep` (a regular expression), `--out`/`--err` (not both). The error is for the user.
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        grep: Option<&str>,
        out_only: bool,
        err_only: bool,
    ) -> Result<Filter, String> {
        let now = Local::now();
        let when = |flag: &str, raw: Option<&str>| {
            raw.map(|r| parse_when(r, now).map_err(|e| format!("--{flag}: {e}")))
                .transpose()
        };
        let grep = grep
            .map(|g| {
                regex::Regex::new(g).map_err(|e| format!("--grep: not a regular expression: {e}"))
            })
            .transpose()?;
        let stream = match (out_only, err_only) {
            (true, true) => return Err("--out and --err together show everything: give one".into()),
            (true, false) => Some(Stream::Out),
            (false, true) => Some(Stream::Err),
            (false, false) => None,
        };
        Ok(Filter {
            since: when("since", since)?,
            until: when("until", until)?,
            grep,
            stream,
        })
    }

    fn wants(&self, stream: Stream) -> bool {
        self.stream.is_none_or(|s| s == stream)
    }
}

/// A `--since`/`--until` value: a duration back from `now` (`10m`, `2h`, `7d`) or a local
/// time (`2024-01-15 10:30`, `2024-01-15T10:30:00`, `2024-01-15`, `10:30` today, or
/// RFC 3339 with its offset).
pub fn parse_when(raw: &str, now: DateTime<Local>) -> Result<DateTime<FixedOffset>, String> {
    let text = raw.trim();
    let bad = || {
        format!(
            "{raw:?} is not a time or a duration (such as 10m, 2h, 7d, \"2024-01-15 10:30\" or 10:30)"
        )
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    // A bare number is not taken as milliseconds here: it is too easily meant as minutes.
    if text.ends_with(|c: char| c.is_ascii_alphabetic()) {
        if let Some(d) = crate::options::parse_millis(text) {
            let d = chrono::Duration::from_std(d).map_err(|_| bad())?;
            return now
                .checked_sub_signed(d)
                .map(|t| t.fixed_offset())
                .ok_or_else(bad);
        }
    }
    let local = |naive: NaiveDateTime| {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.fixed_offset())
            .ok_or_else(bad)
    };
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return local(naive);
        }
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return local(day.and_hms_opt(0, 0, 0).ok_or_else(bad)?);
    }
    for format in ["%H:%M:%S", "%H:%M"] {
        if let Ok(time) = chrono::NaiveTime::parse_from_str(text, format) {
            return local(now.date_naive().and_time(time));
        }
    }
    Err(bad())
}

/// The last `n` lines of one stream that `filter` keeps, newest files read first, back to
/// the first line before `filter.since`.
fn filtered(
    store: &Store,
    name: &Name,
    stream: Stream,
    n: usize,
    filter: &Filter,
    current: Vec<String>,
) -> io::Result<Vec<LogLine>> {
    let mut kept: Vec<LogLine> = Vec::new();
    let base = store.log_path(name, stream);
    // Looked for once the current file is not enough.
    let mut older_files = None;
    let mut file = Some(current);
    while let Some(lines) = file.take() {
        let parsed: Vec<LogLine> = lines
            .iter()
            .map(|l| LogLine::parse(name, stream, l))
            .collect();
        let before_since = match (filter.since, parsed.iter().find_map(|l| l.time)) {
            (Some(since), Some(first)) => first < since,
            _ => false,
        };
        let mut older: Vec<LogLine> = parsed.into_iter().filter(|l| filter.keeps(l)).collect();
        let skip = older.len().saturating_sub(n - kept.len().min(n));
        older.drain(..skip);
        older.append(&mut kept);
        kept = older;
        if kept.len() >= n || before_since {
            break;
        }
        // The next older file that is still there.
        let older = older_files.get_or_insert_with(|| rotation::rotated_numbers(&base).into_iter());
        if let Some((path, gz)) = older.find_map(|k| rotation::rotated_file(&base, k)) {
            file = Some(all_lines(&path, gz)?);
        }
    }
    Ok(kept)
}

/// The last `n` lines of a process's logs that `filter` keeps, stdout and stderr merged in
/// time order.
pub fn read(store: &Store, name: &Name, n: usize, filter: &Filter) -> io::Result<Vec<LogLine>> {
    if filter.is_empty() {
        return last_lines(store, name, n);
    }
    let mut streams = Vec::new();
    for stream in [Stream::Out, Stream::Err] {
        if !filter.wants(stream) {
            streams.push(Vec::new());
            continue;
        }
        let current = all_lines(&store.log_path(name, stream), false)?;
        streams.push(filtered(store, name, stream, n, filter, current)?);
    }
    let err = streams.pop().unwrap_or_default();
    let out = streams.pop().unwrap_or_default();
    let mut merged = merge(out, err);
    let skip = merged.len().saturating_sub(n);
    merged.drain(..skip);
    Ok(merged)
}

/// The last `n` lines of a process's logs, stdout and stderr merged in time order.
pub fn last_lines(store: &Store, name: &Name, n: usize) -> io::Result<Vec<LogLine>> {
    Ok(last_lines_within(store, name, n, usize::MAX)?.lines)
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

/// Shows the last `lines` lines of each process (as [`last_lines`]), then every new line as
/// it is written, until `on_line` returns false or, asked whenever no line has come for a
/// moment, `keep_going` does (so a reader that went away is noticed without a new line).
/// The backlog is read from the same open files that are then followed, up to the offset
/// where following begins: no line falls between the two, and none is shown twice. A
/// rotated file is read to its end before the new one is followed from its start; a
/// truncated one is followed from its start.
pub fn follow(
    store: &Store,
    names: &[Name],
    lines: usize,
    keep_going: impl FnMut() -> bool,
    on_line: impl FnMut(LogLine) -> bool,
) -> io::Result<()> {
    follow_filtered(
        store,
        names,
        lines,
        &Filter::default(),
        Vec::new,
        keep_going,
        on_line,
    )
}

/// How often, at most, `discover` is asked for processes created while following.
const DISCOVER_EVERY: Duration = Duration::from_secs(1);

/// [`follow`], showing only the lines `filter` keeps, and following as well the processes
/// that `discover` names later (asked about once a second while no line comes): a process
/// created after following began is followed from its first line.
pub fn follow_filtered(
    store: &Store,
    names: &[Name],
    lines: usize,
    filter: &Filter,
    mut discover: impl FnMut() -> Vec<Name>,
    mut keep_going: impl FnMut() -> bool,
    mut on_line: impl FnMut(LogLine) -> bool,
) -> io::Result<()> {
    let mut files: Vec<Followed> = Vec::new();
    let mut known: std::collections::HashSet<Name> = names.iter().cloned().collect();
    for name in names {
        let mut backlog = Vec::new();
        for stream in [Stream::Out, Stream::Err] {
            if !filter.wants(stream) {
                backlog.push(Vec::new());
                continue;
            }
            let mut f = Followed::new(store, name, stream);
            f.reopen(true)?;
            if filter.is_empty() {
                let recent = match f.file.as_mut() {
                    Some(file) => {
                        let end = file.stream_position()?;
                        tail_of(file, end, lines, BLOCK)?
                    }
                    None => Vec::new(),
                };
                let back = reach_back(store, name, stream, lines, recent)?;
                backlog.push(
                    back.iter()
                        .map(|l| LogLine::parse(name, stream, l))
                        .collect(),
                );
            } else {
                let current = match f.file.as_mut() {
                    Some(file) => {
                        let end = file.stream_position()?;
                        let mut data = vec![0u8; usize::try_from(end).unwrap_or(0)];
                        file.read_exact_at(&mut data, 0)?;
                        String::from_utf8_lossy(&data)
                            .lines()
                            .map(str::to_string)
                            .collect()
                    }
                    None => Vec::new(),
                };
                backlog.push(filtered(store, name, stream, lines, filter, current)?);
            }
            files.push(f);
        }
        let err = backlog.pop().unwrap_or_default();
        let out = backlog.pop().unwrap_or_default();
        let mut merged = merge(out, err);
        let skip = merged.len().saturating_sub(lines);
        for line in merged.drain(skip..) {
            if !on_line(line) {
                return Ok(());
            }
        }
    }
    let mut discovered = std::time::Instant::now();
    loop {
        let mut any = false;
        for f in &mut files {
            let mut lines = f.read_lines()?;
            if f.replaced()? {
                // Rotations faster than our looks: the files rotated past meanwhile come
                // between the end of the one read and the new current file, which is
                // opened first, so that a rotation during this finds it among them too.
                let read = f.file.take();
                f.partial.clear();
                f.reopen(false)?;
                lines.extend(f.rotated_between(read.as_ref())?);
                lines.extend(f.read_lines()?);
            }
            for text in lines {
                any = true;
                let line = LogLine::parse(&f.name, f.stream, &text);
                if filter.keeps(&line) && !on_line(line) {
                    return Ok(());
                }
            }
        }
        if !any {
            if !keep_going() {
                return Ok(());
            }
            if discovered.elapsed() >= DISCOVER_EVERY {
                discovered = std::time::Instant::now();
                for name in discover() {
                    if known.insert(name.clone()) {
                        for stream in [Stream::Out, Stream::Err] {
                            if filter.wants(stream) {
                                // New since we began: from its first line, in the
                                // files it has rotated already too (those older than
                                // the one opened, which is followed from its start).
                                let mut f = Followed::new(store, &name, stream);
                                f.reopen(false)?;
                                for text in f.rotated_before()? {
                                    let line = LogLine::parse(&name, stream, &text);
                                    if filter.keeps(&line) && !on_line(line) {
                                        return Ok(());
                                    }
                                }
                                files.push(f);
                            }
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A rotated file, opened.
struct Rotated {
    file: File,
    gz: bool,
    /// Its own inode.
    ino: u64,
    /// The inode of the file its lines were first written to: its own, or for a `.gz`,
    /// the plain file's it was made from (recorded in its header by the compressor).
    origin: u64,
}

impl Rotated {
    fn open(base: &Path, k: u32) -> Option<Rotated> {
        let (path, gz) = rotation::rotated_file(base, k)?;
        let file = File::open(&path).ok()?;
        let ino = file.metadata().ok()?.ino();
        let origin = if gz {
            rotation::gz_origin_of(&file).unwrap_or(ino)
        } else {
            ino
        };
        Some(Rotated {
            file,
            gz,
            ino,
            origin,
        })
    }
}

/// Every line of `files`, read from their descriptors, oldest (the last) first.
fn lines_of(files: &[Rotated]) -> io::Result<Vec<String>> {
    let mut lines = Vec::new();
    for f in files.iter().rev() {
        lines.extend(lines_from(&f.file, f.gz)?);
    }
    Ok(lines)
}

/// One log file being followed, through rotations.
struct Followed {
    name: Name,
    stream: Stream,
    path: PathBuf,
    file: Option<File>,
    partial: Vec<u8>,
}

impl Followed {
    fn new(store: &Store, name: &Name, stream: Stream) -> Followed {
        Followed {
            name: name.clone(),
            stream,
            path: store.log_path(name, stream),
            file: None,
            partial: Vec::new(),
        }
    }

    /// Opens the file now at the path, at its end or its start.
    fn reopen(&mut self, at_end: bool) -> io::Result<()> {
        self.file = match File::open(&self.path) {
            Ok(mut f) => {
                if at_end {
                    f.seek(SeekFrom::End(0))?;
                }
                Some(f)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(())
    }

    /// The complete lines written since the last read (to the end of a rotated file too:
    /// the open descriptor still reads it).
    fn read_lines(&mut self) -> io::Result<Vec<String>> {
        let Some(file) = self.file.as_mut() else {
            return Ok(Vec::new());
        };
        file.read_to_end(&mut self.partial)?;
        let mut lines = Vec::new();
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.partial.drain(..=nl).collect();
            lines.push(String::from_utf8_lossy(&raw[..raw.len() - 1]).into_owned());
        }
        Ok(lines)
    }

    /// After a rotation: the lines of the files rotated after `read` (the file read to its
    /// end) and before the one open now, oldest first: skipped by a jump to the new file,
    /// they are read whole. None when `read` is not among them (truncated, or removed by
    /// retention meanwhile).
    fn rotated_between(&self, read: Option<&File>) -> io::Result<Vec<String>> {
        let Some(read) = read else {
            return Ok(Vec::new());
        };
        let files = self.rotated_files();
        let ours = read.metadata()?.ino();
        let Some(older) = files.iter().position(|f| f.origin == ours) else {
            return Ok(Vec::new());
        };
        // The one open now, if it was rotated too meanwhile; `files` is newest first.
        let newer = self.newer_than_open(&files)?;
        lines_of(&files[newer.min(older)..older])
    }

    /// The lines of the rotated files older than the one open here, oldest first: all of
    /// them while it is the current file, those past it once it was rotated too.
    fn rotated_before(&self) -> io::Result<Vec<String>> {
        let files = self.rotated_files();
        let from = self.newer_than_open(&files)?;
        lines_of(&files[from.min(files.len())..])
    }

    /// How many of `files` (newest first) are newer than the one open here.
    fn newer_than_open(&self, files: &[Rotated]) -> io::Result<usize> {
        Ok(match self.file.as_ref() {
            Some(now) => {
                let ino = now.metadata()?.ino();
                files
                    .iter()
                    .position(|f| f.origin == ino)
                    .map_or(0, |at| at + 1)
            }
            None => 0,
        })
    }

    /// The rotated files as they are now, newest first, each opened (what is read later
    /// is what was looked at, whatever renames come). A rotation renames every file one
    /// number up, one at a time, so a look taken meanwhile can miss a file or see one
    /// twice: the look is taken again until two in a row agree (a few turns at most).
    fn rotated_files(&self) -> Vec<Rotated> {
        let mut last: Option<Vec<Rotated>> = None;
        for _ in 0..10 {
            let now: Vec<Rotated> = rotation::rotated_numbers(&self.path)
                .into_iter()
                .filter_map(|k| Rotated::open(&self.path, k))
                .collect();
            if let Some(before) = &last {
                if before.iter().map(|f| f.ino).eq(now.iter().map(|f| f.ino)) {
                    return now;
                }
            }
            last = Some(now);
        }
        last.unwrap_or_default()
    }

    /// Whether the path now names another file (rotation) or the file shrank (truncation).
    fn replaced(&mut self) -> io::Result<bool> {
        let Ok(at_path) = std::fs::metadata(&self.path) else {
            return Ok(false);
        };
        Ok(match self.file.as_mut() {
            None => true,
            Some(f) => {
                at_path.ino() != f.metadata()?.ino() || at_path.len() < f.stream_position()?
            }
        })
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

    proptest::proptest! {
        #[test]
        fn tail_is_the_last_lines_whatever_the_block_size(
            lines in proptest::collection::vec("[a-z]{0,6}", 0..40),
            trailing_newline: bool,
            n in 0usize..45,
            block in 1u64..20,
        ) {
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("x");
            let mut text = lines.join("\n");
            if trailing_newline && !lines.is_empty() {
                text.push('\n');
            }
            std::fs::write(&p, &text).unwrap();
            let all: Vec<&str> = text.lines().collect();
            let expected = &all[all.len().saturating_sub(n)..];
            let file = File::open(&p).unwrap();
            let end = file.metadata().unwrap().len();
            proptest::prop_assert_eq!(tail_of(&file, end, n, block).unwrap(), expected);
        }
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

    /// A missing number among the rotated files (a rotation's renames in flight, a file
    /// removed by retention) hides none of the older ones, plain or compressed.
    #[test]
    fn a_gap_in_the_rotated_numbers_hides_no_older_file() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("tpm"));
        store.ensure().unwrap();
        let name = Name::parse("gap-1").unwrap();
        let base = store.log_path(&name, Stream::Out);
        let line = |i: u32| format!("2026-12-02 10:00:{i:02} line {i}\n");
        std::fs::write(&base, line(9)).unwrap();
        std::fs::write(crate::rotation::numbered(&base, 1), line(8)).unwrap();
        // No .2; .3 compressed, .4 plain.
        let gz = crate::rotation::with_suffix(&crate::rotation::numbered(&base, 3), ".gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(line(7).as_bytes()).unwrap();
        enc.finish().unwrap();
        std::fs::write(crate::rotation::numbered(&base, 4), line(6)).unwrap();
        assert_eq!(crate::rotation::rotated_numbers(&base), [1, 3, 4]);

        let texts = |lines: Vec<LogLine>| lines.into_iter().map(|l| l.line).collect::<Vec<_>>();
        let all = ["line 6", "line 7", "line 8", "line 9"];
        assert_eq!(texts(last_lines(&store, &name, 10).unwrap()), all);
        let filter = Filter {
            grep: Some(regex::Regex::new("line").unwrap()),
            ..Filter::default()
        };
        assert_eq!(texts(read(&store, &name, 10, &filter).unwrap()), all);
    }
}
