//! What the harness reads from `/proc`: whether a process still runs, and memory.

use std::fs;

/// The process exists and has not exited (a zombie has: it only waits to be reaped).
pub fn is_running(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

/// Resident and proportional set size of one process, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    pub pss_kib: u64,
}

impl std::ops::Add for Memory {
    type Output = Memory;
    fn add(self, o: Memory) -> Memory {
        Memory {
            rss_kib: self.rss_kib + o.rss_kib,
            pss_kib: self.pss_kib + o.pss_kib,
        }
    }
}

/// `/proc/PID/smaps_rollup`: `Rss` and `Pss` (shared pages divided among their users).
pub fn memory(pid: u32) -> Result<Memory, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .map_err(|e| format!("/proc/{pid}/smaps_rollup: {e}"))?;
    parse_rollup(&text).ok_or_else(|| format!("/proc/{pid}/smaps_rollup: no Rss or Pss line"))
}

fn parse_rollup(text: &str) -> Option<Memory> {
    let field = |key: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
    };
    Some(Memory {
        rss_kib: field("Rss:")?,
        pss_kib: field("Pss:")?,
    })
}

/// User plus system CPU time of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // `rest` starts at field 3; utime and stime are fields 14 and 15.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(ticks as f64 / hz)
}

/// Context switches of a process, all its threads, voluntary and not: how many times it
/// woke up (or was made to yield). None once it is gone.
pub fn context_switches(pid: u32) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let Ok(status) = fs::read_to_string(task.path().join("status")) else {
            continue; // a thread that ended meanwhile
        };
        total += status
            .lines()
            .filter(|l| {
                l.starts_with("voluntary_ctxt_switches:")
                    || l.starts_with("nonvoluntary_ctxt_switches:")
            })
            .filter_map(|l| l.split_once(':')?.1.trim().parse::<u64>().ok())
            .sum::<u64>();
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollup_fields_are_read() {
        let text = "55d0-7ffd ---p 00000000 00:00 0  [rollup]\nRss:                1496 kB\nPss:                 292 kB\nPss_Anon:            160 kB\n";
        assert_eq!(
            parse_rollup(text),
            Some(Memory {
                rss_kib: 1496,
                pss_kib: 292
            })
        );
        assert_eq!(parse_rollup("Rss: 1 kB\n"), None);
    }

    #[test]
    fn this_process_runs_and_has_memory() {
        let me = std::process::id();
        assert!(is_running(me));
        assert!(memory(me).unwrap().rss_kib > 0);
        assert!(cpu_seconds(me).is_some());
        assert!(context_switches(me).is_some());
        assert!(!is_running(u32::MAX - 1));
    }
}
