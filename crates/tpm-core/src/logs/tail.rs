//! The end of a log within a budget: at most N lines and at most B bytes of them, holding
//! no more than that in memory whatever the files hold (lines of 64 KiB, gzip files that
//! expand a hundredfold). A front end that answers others (the web API) asks with a byte
//! budget; the CLI with none.
//!
//! The lines kept are always the newest: when the bytes run out, the older lines asked for
//! are cut, and counted, so the reader can be told how many.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::name::Name;
use crate::rotation;
use crate::store::{Store, Stream};

use super::{merge, LogLine, BLOCK};

/// The last lines of one or several processes' logs, within a budget.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tail {
    /// Oldest first.
    pub lines: Vec<LogLine>,
    /// Lines among those asked for that were left out to stay within the byte budget.
    pub cut: usize,
}

/// The size a line counts for in a budget: its text as stored (timestamp included).
pub fn cost(line: &LogLine) -> usize {
    line.line.len()
        + if line.time.is_some() {
            super::STAMP_LEN
        } else {
            0
        }
}

/// The last `n` lines of a process's logs, stdout and stderr merged in time order, of which
/// at most `max_bytes` bytes (see [`cost`]): the newest lines that fit. Lines of `n` that do
/// not fit are counted in [`Tail::cut`]; a line larger than `max_bytes` on its own is never
/// read, nor anything older than it.
pub fn last_lines_within(
    store: &Store,
    name: &Name,
    n: usize,
    max_bytes: usize,
) -> io::Result<Tail> {
    let out = stream_within(store, name, Stream::Out, n, max_bytes)?;
    let err = stream_within(store, name, Stream::Err, n, max_bytes)?;
    let parse = |stream, lines: Vec<String>| -> Vec<LogLine> {
        lines
            .iter()
            .map(|l| LogLine::parse(name, stream, l))
            .collect()
    };
    let available = n.min(out.seen + err.seen);
    let mut merged = merge(parse(Stream::Out, out.kept), parse(Stream::Err, err.kept));
    // Each stream kept its newest lines that fit the budget alone, so the newest lines of
    // the two together that fit it are all among them.
    let mut bytes = 0usize;
    let mut keep = 0;
    for line in merged.iter().rev() {
        let size = cost(line);
        if keep == n || size > max_bytes - bytes {
            break;
        }
        bytes += size;
        keep += 1;
    }
    merged.drain(..merged.len() - keep);
    Ok(Tail {
        cut: available - keep,
        lines: merged,
    })
}

/// What one stream's files gave.
#[derive(Debug, Default)]
struct StreamTail {
    /// The newest lines that fit, oldest first.
    kept: Vec<String>,
    /// Lines counted back from the end, at most `n`: those kept and those that did not fit.
    seen: usize,
}

/// The last `n` lines of a stream, across its rotated files, of which the newest that fit
/// in `max_bytes`.
fn stream_within(
    store: &Store,
    name: &Name,
    stream: Stream,
    n: usize,
    max_bytes: usize,
) -> io::Result<StreamTail> {
    let base = store.log_path(name, stream);
    let mut budget = Budget {
        n,
        room: max_bytes,
        seen: 0,
        full: false,
        newest_first: Vec::new(),
    };
    if let Some(file) = open(&base)? {
        plain_within(&file, &mut budget)?;
    }
    for k in rotation::rotated_numbers(&base) {
        if budget.seen >= n {
            break;
        }
        // Gone since the folder was read (moved on, or removed): the next one is older.
        let Some((path, gz)) = rotation::rotated_file(&base, k) else {
            continue;
        };
        let Some(file) = open(&path)? else {
            continue;
        };
        if gz {
            gz_within(&file, &mut budget)?;
        } else {
            plain_within(&file, &mut budget)?;
        }
    }
    budget.newest_first.reverse();
    Ok(StreamTail {
        kept: budget.newest_first,
        seen: budget.seen,
    })
}

fn open(path: &Path) -> io::Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Lines taken so far from one stream's files, newest first.
struct Budget {
    /// Lines wanted in all.
    n: usize,
    /// Bytes left.
    room: usize,
    /// Lines counted so far (kept or not).
    seen: usize,
    /// A line did not fit: no older one is kept (the lines kept are the newest, unbroken).
    full: bool,
    newest_first: Vec<String>,
}

impl Budget {
    fn wants_more(&self) -> bool {
        self.seen < self.n
    }
}

/// A line's bytes as text: invalid UTF-8 replaced, a `\r` before the line end dropped (as
/// `str::lines` does).
pub(super) fn text_of(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    String::from_utf8_lossy(raw).into_owned()
}

/// Takes lines from the end of a plain file, newest first, into `budget`.
fn plain_within(file: &File, budget: &mut Budget) -> io::Result<()> {
    let end = file.metadata()?.len();
    let mut back = LinesBack::new(file, end, BLOCK);
    while budget.wants_more() {
        let Some((start, stop)) = back.next_line()? else {
            break;
        };
        budget.seen += 1;
        if budget.full {
            continue;
        }
        let len = stop - start;
        // Text is never shorter than its bytes (a replaced byte takes three), so a line
        // longer than the room left is not read.
        if len > budget.room as u64 {
            budget.full = true;
            continue;
        }
        let mut raw = vec![0u8; len as usize];
        file.read_exact_at(&mut raw, start)?;
        let text = text_of(&raw);
        if text.len() > budget.room {
            budget.full = true;
            continue;
        }
        budget.room -= text.len();
        budget.newest_first.push(text);
    }
    Ok(())
}

/// Takes lines from the end of a gzip-compressed file into `budget`. It can only be read
/// forwards: the last lines wanted and the newest of them that fit are kept as it goes.
fn gz_within(file: &File, budget: &mut Budget) -> io::Result<()> {
    let wanted = budget.n - budget.seen;
    let room = if budget.full { 0 } else { budget.room };
    let mut reader =
        io::BufReader::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(file)));
    // How many lines there are, up to `wanted` (only the count of the last ones matters).
    let mut in_view = 0usize;
    // The newest lines that fit `room`, oldest first, and their size.
    let mut kept: VecDeque<String> = VecDeque::new();
    let mut kept_bytes = 0usize;
    let mut take = |line: Option<String>| {
        in_view = (in_view + 1).min(wanted);
        match line {
            Some(text) if text.len() <= room => {
                kept_bytes += text.len();
                kept.push_back(text);
                while kept_bytes > room || kept.len() > wanted {
                    if let Some(old) = kept.pop_front() {
                        kept_bytes -= old.len();
                    }
                }
            }
            _ => {
                kept.clear();
                kept_bytes = 0;
            }
        }
    };
    // The line being read, while it may still fit (`None` once it cannot).
    let mut current: Option<Vec<u8>> = Some(Vec::new());
    let mut pending = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let (part, ended, used) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (&chunk[..at], true, at + 1),
            None => (chunk, false, chunk.len()),
        };
        if let Some(line) = current.as_mut() {
            if line.len() + part.len() > room {
                current = None;
            } else {
                line.extend_from_slice(part);
            }
        }
        pending = !ended;
        reader.consume(used);
        if ended {
            take(current.take().map(|raw| text_of(&raw)));
            current = Some(Vec::new());
        }
    }
    if pending {
        take(current.take().map(|raw| text_of(&raw)));
    }
    // A line in view not kept did not fit: everything older is cut too.
    let cut_here = kept.len() < in_view;
    budget.seen += in_view;
    if !budget.full {
        budget.room -= kept_bytes;
        budget.newest_first.extend(kept.into_iter().rev());
        budget.full = cut_here;
    }
    Ok(())
}

/// The lines of the first `end` bytes of a file, newest first, as byte ranges (without the
/// line end), found by reading blocks backwards: only a block is held at a time.
pub(super) struct LinesBack<'a> {
    file: &'a File,
    /// Where the unread part ends: bytes before it are not looked at yet.
    unread: u64,
    /// The end of the line being looked for (exclusive, before its `\n`).
    line_end: u64,
    block: Vec<u8>,
    /// The file offset of `block[0]`, and how much of it is still to look at.
    block_at: u64,
    block_len: usize,
    /// Whether no line was looked for yet.
    first: bool,
    done: bool,
}

impl<'a> LinesBack<'a> {
    pub(super) fn new(file: &'a File, end: u64, block: u64) -> LinesBack<'a> {
        LinesBack {
            file,
            unread: end,
            line_end: end,
            block: vec![0; usize::try_from(block.max(1)).unwrap_or(64 * 1024)],
            block_at: end,
            block_len: 0,
            first: true,
            done: end == 0,
        }
    }

    /// The next line back, as `(start, end)`; `None` at the start of the file.
    pub(super) fn next_line(&mut self) -> io::Result<Option<(u64, u64)>> {
        if self.done {
            return Ok(None);
        }
        // The file's last byte being a line end ends the last line, and begins none.
        if std::mem::take(&mut self.first) {
            let mut last = [0u8];
            self.file.read_exact_at(&mut last, self.unread - 1)?;
            if last[0] == b'\n' {
                self.line_end = self.unread - 1;
                self.unread -= 1;
            }
        }
        loop {
            if let Some(at) = self.block[..self.block_len]
                .iter()
                .rposition(|&b| b == b'\n')
            {
                let nl = self.block_at + at as u64;
                let line = (nl + 1, self.line_end);
                self.line_end = nl;
                self.block_len = at;
                return Ok(Some(line));
            }
            if self.unread == 0 {
                self.done = true;
                return Ok(Some((0, self.line_end)));
            }
            let step = (self.block.len() as u64).min(self.unread);
            self.unread -= step;
            self.block_at = self.unread;
            self.block_len = step as usize;
            self.file
                .read_exact_at(&mut self.block[..self.block_len], self.block_at)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn lines_back(text: &[u8], block: u64) -> Vec<String> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        std::fs::write(&p, text).unwrap();
        let f = File::open(&p).unwrap();
        let mut back = LinesBack::new(&f, text.len() as u64, block);
        let mut out = Vec::new();
        while let Some((a, b)) = back.next_line().unwrap() {
            out.push(String::from_utf8_lossy(&text[a as usize..b as usize]).into_owned());
        }
        out.reverse();
        out
    }

    proptest::proptest! {
        #[test]
        fn lines_back_are_the_lines_whatever_the_block_size(
            lines in proptest::collection::vec("[a-z]{0,6}", 0..30),
            trailing_newline: bool,
            block in 1u64..20,
        ) {
            let mut text = lines.join("\n");
            if trailing_newline && !lines.is_empty() {
                text.push('\n');
            }
            let expected: Vec<&str> = text.lines().collect();
            proptest::prop_assert_eq!(lines_back(text.as_bytes(), block), expected);
        }
    }

    /// A stream of `count` stamped lines of `size` bytes each in `files` files: the oldest
    /// gzip-compressed, the next plain, the current one last.
    fn store_with(count: usize, size: usize) -> (tempfile::TempDir, Store, Name) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("tpm"));
        store.ensure().unwrap();
        let name = Name::parse("big-1").unwrap();
        let base = store.log_path(&name, Stream::Out);
        let line = |i: usize| {
            let text = format!("2026-12-07 10:00:00 {i} ");
            format!("{text}{}\n", "x".repeat(size - text.len()))
        };
        let third = count / 3;
        let gz = rotation::with_suffix(&rotation::numbered(&base, 2), ".gz");
        let mut enc =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        for i in 0..third {
            enc.write_all(line(i).as_bytes()).unwrap();
        }
        enc.finish().unwrap();
        let plain: String = (third..2 * third).map(line).collect();
        std::fs::write(rotation::numbered(&base, 1), plain).unwrap();
        let current: String = (2 * third..count).map(line).collect();
        std::fs::write(&base, current).unwrap();
        (dir, store, name)
    }

    fn numbers(tail: &Tail) -> Vec<usize> {
        tail.lines
            .iter()
            .map(|l| l.line.split(' ').next().unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn the_newest_lines_that_fit_are_kept_across_plain_and_gzip_files_and_the_rest_counted() {
        let (_d, store, name) = store_with(30, 100);
        // Everything fits.
        let all = last_lines_within(&store, &name, 100, usize::MAX).unwrap();
        assert_eq!(numbers(&all), (0..30).collect::<Vec<_>>());
        assert_eq!(all.cut, 0);
        // 25 asked, room for 7 (in the current file), 18 cut.
        let some = last_lines_within(&store, &name, 25, 750).unwrap();
        assert_eq!(numbers(&some), (23..30).collect::<Vec<_>>());
        assert_eq!(some.cut, 18);
        // Room for 25, reaching into the plain rotated file and the compressed one.
        let deep = last_lines_within(&store, &name, 28, 2500).unwrap();
        assert_eq!(numbers(&deep), (5..30).collect::<Vec<_>>());
        assert_eq!(deep.cut, 3);
        // Nothing fits: every line asked for is cut.
        let none = last_lines_within(&store, &name, 12, 99).unwrap();
        assert!(none.lines.is_empty());
        assert_eq!(none.cut, 12);
        // The lines asked for are all there and fit.
        let few = last_lines_within(&store, &name, 4, 400).unwrap();
        assert_eq!(numbers(&few), [26, 27, 28, 29]);
        assert_eq!(few.cut, 0);
    }

    #[test]
    fn within_the_compressed_file_alone_the_newest_that_fit_are_kept() {
        let (_d, store, name) = store_with(30, 100);
        let base = store.log_path(&name, Stream::Out);
        std::fs::remove_file(&base).unwrap();
        std::fs::remove_file(rotation::numbered(&base, 1)).unwrap();
        let t = last_lines_within(&store, &name, 8, 500).unwrap();
        assert_eq!(numbers(&t), [5, 6, 7, 8, 9]);
        assert_eq!(t.cut, 3);
        let t = last_lines_within(&store, &name, 8, 10_000).unwrap();
        assert_eq!(numbers(&t), [2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(t.cut, 0);
    }

    #[test]
    fn a_line_larger_than_the_budget_cuts_itself_and_everything_older() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("tpm"));
        store.ensure().unwrap();
        let name = Name::parse("odd-1").unwrap();
        let text = format!(
            "2026-12-07 10:00:00 a\n2026-12-07 10:00:01 {}\n2026-12-07 10:00:02 c\n",
            "y".repeat(1000)
        );
        std::fs::write(store.log_path(&name, Stream::Out), text).unwrap();
        let t = last_lines_within(&store, &name, 3, 500).unwrap();
        let texts: Vec<&str> = t.lines.iter().map(|l| l.line.as_str()).collect();
        assert_eq!(texts, ["c"]);
        assert_eq!(t.cut, 2);
    }

    #[test]
    fn both_streams_share_the_budget_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("tpm"));
        store.ensure().unwrap();
        let name = Name::parse("two-1").unwrap();
        // Each line costs 20 + 2 bytes.
        std::fs::write(
            store.log_path(&name, Stream::Out),
            "2026-12-07 10:00:01 o1\n2026-12-07 10:00:03 o3\n",
        )
        .unwrap();
        std::fs::write(
            store.log_path(&name, Stream::Err),
            "2026-12-07 10:00:02 e2\n2026-12-07 10:00:04 e4\n",
        )
        .unwrap();
        let t = last_lines_within(&store, &name, 10, 66).unwrap();
        let texts: Vec<&str> = t.lines.iter().map(|l| l.line.as_str()).collect();
        assert_eq!(texts, ["e2", "o3", "e4"]);
        assert_eq!(t.cut, 1);
    }
}
