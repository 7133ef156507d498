//! How big logs may grow: [`LogLimits`], part of a process's spec, applied by the
//! supervisor's log pump (`supervisor::logpump`) and read back across by `logs`.

/// The default size at which a log file rotates.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// The default number of rotated files kept per stream.
pub const DEFAULT_KEEP: u32 = 5;

/// The largest values the options accept (see `options::OptionDef::range`): a record
/// written by hand or by an older tpm with more is read as these.
pub const MAX_SIZE: u64 = 1 << 40;
pub const MAX_KEEP: u32 = 1000;

/// Size-based rotation: when a log would grow past `max_size`, it becomes `NAME.out.1`
/// (`.1` becomes `.2`, and so on, `keep` files at most) and a new one begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Bytes per file; 0 never rotates.
    pub max_size: u64,
    /// Rotated files kept per stream.
    pub keep: u32,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_size: DEFAULT_MAX_SIZE,
            keep: DEFAULT_KEEP,
        }
    }
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
