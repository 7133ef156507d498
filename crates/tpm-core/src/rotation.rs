//! How big logs may grow: [`LogLimits`], part of a process's spec, applied by the
//! supervisor's log pump (`supervisor::logpump`) and read back across by `logs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{Local, TimeZone, Timelike};

/// The default size at which a log file rotates.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// The default number of rotated files kept per stream.
pub const DEFAULT_KEEP: u32 = 5;

/// The largest values the options accept (see `options::OptionDef::range`): a record
/// written by hand or by an older tpm with more is read as these.
pub const MAX_SIZE: u64 = 1 << 40;
pub const MAX_KEEP: u32 = 1000;

/// Time-based rotation: at the turn of each local hour or day (between lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Hourly,
    Daily,
}

impl Every {
    /// `hourly`, `daily`; `none` (or nothing) is no time rotation.
    pub fn parse(raw: &str) -> Result<Option<Every>, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "hourly" => Ok(Some(Every::Hourly)),
            "daily" => Ok(Some(Every::Daily)),
            "" | "none" | "never" => Ok(None),
            _ => Err(format!("{raw:?} is not hourly, daily or none")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Every::Hourly => "hourly",
            Every::Daily => "daily",
        }
    }

    /// The first local hour or midnight strictly after `now` (Unix seconds).
    pub fn next_boundary(self, now: i64) -> i64 {
        let Some(t) = Local.timestamp_opt(now, 0).earliest() else {
            return now + 3600;
        };
        match self {
            // Local hours start where UTC ones do, or at a whole half or quarter hour off:
            // the start of this local hour is the local minute and second taken away.
            Every::Hourly => now - i64::from(t.minute()) * 60 - i64::from(t.second()) + 3600,
            Every::Daily => {
                let midnight = t
                    .date_naive()
                    .succ_opt()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .and_then(|m| Local.from_local_datetime(&m).earliest());
                midnight.map_or(now + 86_400, |m| m.timestamp())
            }
        }
    }
}

/// The default for [`LogLimits::compress`].
pub const DEFAULT_COMPRESS: bool = true;
/// The longest `log_max_age` accepted: ten years.
pub const MAX_AGE: Duration = Duration::from_secs(10 * 365 * 86_400);

/// When logs rotate, and what is kept of them.
///
/// Size: when a log would grow past `max_size`, it becomes `NAME.out.1` (`.1` becomes `.2`,
/// and so on, `keep` files at most) and a new one begins. Time: with `every`, also at the
/// turn of each hour or day. Rotated files from `.2` on are gzip-compressed
/// (`NAME.out.2.gz`) when `compress` is on; files older than `max_age`, and the oldest
/// while all the process's logs together pass `max_total`, are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Bytes per file; 0 never rotates by size.
    pub max_size: u64,
    /// Rotated files kept per stream.
    pub keep: u32,
    /// Whether rotated files (but the newest) are compressed.
    pub compress: bool,
    /// Rotation at each hour or day, besides size.
    pub every: Option<Every>,
    /// Rotated files last written longer ago are removed; zero keeps them.
    pub max_age: Duration,
    /// All of a process's log files together (both streams, rotated ones too) stay under
    /// this many bytes, oldest removed first; 0 sets no such limit.
    pub max_total: u64,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_size: DEFAULT_MAX_SIZE,
            keep: DEFAULT_KEEP,
            compress: DEFAULT_COMPRESS,
            every: None,
            max_age: Duration::ZERO,
            max_total: 0,
        }
    }
}

impl LogLimits {
    /// The size at which a file rotates: `max_size`, or a quarter of `max_total` where
    /// that is smaller (so the two current files alone never pass it). 0: never by size.
    pub fn rotate_size(&self) -> u64 {
        match (self.max_size, self.max_total / 4) {
            (0, 0) => 0,
            (s, 0) => s,
            (0, t) => t.max(1),
            (s, t) => s.min(t.max(1)),
        }
    }
}

/// `NAME.out.K`: where the K-th newest rotated file of `base` (`NAME.out`) goes.
pub fn numbered(base: &Path, k: u32) -> PathBuf {
    let mut p = base.as_os_str().to_owned();
    p.push(format!(".{k}"));
    PathBuf::from(p)
}

/// `path` with `.gz` (or another suffix) added.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// The comment a compressed rotated file's gzip header carries: the inode of the plain
/// file it was made from.
pub fn gz_comment(ino: u64) -> Vec<u8> {
    format!("tpm ino {ino}").into_bytes()
}

/// The inode a compressed rotated file was made from, read from its gzip header (the
/// descriptor's offset moves: seek before reading it again).
pub fn gz_origin_of(file: &std::fs::File) -> Option<u64> {
    use std::io::Seek;
    let mut file = file;
    file.seek(std::io::SeekFrom::Start(0)).ok()?;
    let mut gz = flate2::read::GzDecoder::new(std::io::BufReader::with_capacity(512, file));
    // The header is parsed by the first read.
    let mut one = [0u8; 1];
    let _ = std::io::Read::read(&mut gz, &mut one);
    let comment = std::str::from_utf8(gz.header()?.comment()?).ok()?;
    comment.strip_prefix("tpm ino ")?.parse().ok()
}

/// The K-th rotated file of `base` as it is now, and whether it is compressed. The plain
/// file wins over a `.gz` of the same number: it is whole, and the two only meet when a
/// compression ended between renaming its result into place and removing the original.
pub fn rotated_file(base: &Path, k: u32) -> Option<(PathBuf, bool)> {
    let plain = numbered(base, k);
    if plain.exists() {
        return Some((plain, false));
    }
    let gz = with_suffix(&plain, ".gz");
    gz.exists().then_some((gz, true))
}

/// The numbers of `base`'s rotated files (plain or `.gz`) that exist now, newest first.
/// Counted up from 1 over one missing number: a rotation moves the files up one at a
/// time, oldest first, so for a moment one number is free, and a missing number must not
/// hide the older files. Retention removes the oldest, so two missing in a row end them.
/// (Stats, not a read of the folder: the logs folder holds every process's files.)
pub fn rotated_numbers(base: &Path) -> Vec<u32> {
    let mut numbers = Vec::new();
    let (mut k, mut missing) = (1, 0);
    while missing < 2 {
        if rotated_file(base, k).is_some() {
            numbers.push(k);
            missing = 0;
        } else {
            missing += 1;
        }
        k += 1;
    }
    numbers
}

/// A size such as `10M`, `512k`, `1GiB` or `4096` (binary units).
pub fn parse_size(raw: &str) -> Option<u64> {
    let lower = raw.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(digits_end);
    let scale: u64 = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("10M"), Some(10 << 20));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("2mb"), Some(2 << 20));
        for bad in ["", "M", "10X", "-1", "1.5M", "99999999999999999999G"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }
}
