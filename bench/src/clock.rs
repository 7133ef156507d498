//! Time: one clock for every process (the children stamp with it too), and the units the
//! results are written in.

use std::time::Duration;

/// `CLOCK_MONOTONIC` in nanoseconds: comparable between processes on one machine.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `0.42 ms`, `7.3 ms`, `312 ms`, `2.41 s`: three significant digits at most.
pub fn human(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// `612 KiB`, `3.1 MiB`, `84 MiB`.
pub fn human_kib(kib: u64) -> String {
    if kib < 1024 {
        format!("{kib} KiB")
    } else if kib < 10 * 1024 {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    } else {
        format!("{:.0} MiB", kib as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_three_digits() {
        assert_eq!(human(Duration::from_micros(420)), "0.42 ms");
        assert_eq!(human(Duration::from_micros(7_345)), "7.3 ms");
        assert_eq!(human(Duration::from_micros(312_400)), "312 ms");
        assert_eq!(human(Duration::from_millis(2_414)), "2.41 s");
        assert_eq!(human_kib(612), "612 KiB");
        assert_eq!(human_kib(3 * 1024 + 100), "3.1 MiB");
        assert_eq!(human_kib(84 * 1024), "84 MiB");
    }

    #[test]
    fn the_clock_moves_forward() {
        let a = mono_ns();
        assert!(mono_ns() >= a);
    }
}
