//! Rendering: the human table, JSON, errors. JSON is the core's `ProcessInfo` as it is,
//! so its fields are the Nushell plugin's columns.
//!
//! Everything printed here may hold text tpm did not write (a process's output, argv and
//! environment, names and paths from files): on a terminal it goes through
//! `tpm_core::terminal::shown`, so control sequences are shown and not obeyed; to a pipe or
//! a file it is written as it is.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use tpm_core::health::HealthState;

use serde::Serialize;
use tpm_core::{Error, ProcessInfo, Status};

/// Whether stdout is a terminal (asked once: it does not change while tpm runs).
pub fn stdout_is_terminal() -> bool {
    static TERMINAL: OnceLock<bool> = OnceLock::new();
    *TERMINAL.get_or_init(|| std::io::stdout().is_terminal())
}

fn stderr_is_terminal() -> bool {
    static TERMINAL: OnceLock<bool> = OnceLock::new();
    *TERMINAL.get_or_init(|| std::io::stderr().is_terminal())
}

/// `text` as stdout may carry it: escaped on a terminal, as it is elsewhere.
pub fn shown(text: &str) -> Cow<'_, str> {
    if stdout_is_terminal() {
        tpm_core::terminal::shown(text)
    } else {
        Cow::Borrowed(text)
    }
}

fn shown_on_stderr(text: &str) -> Cow<'_, str> {
    if stderr_is_terminal() {
        tpm_core::terminal::shown(text)
    } else {
        Cow::Borrowed(text)
    }
}

pub fn line(text: &str) {
    painted_line(&shown(text));
}

/// A line tpm built, with its own colours, whose parts from elsewhere went through
/// [`shown`] already.
pub fn painted_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Text of several lines (it ends with its own line break), escaped on a terminal as [`line`].
pub fn text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(shown(text).as_bytes());
}

pub fn json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string(value) {
        Ok(text) if stdout_is_terminal() => painted_line(&tpm_core::terminal::shown_json(&text)),
        Ok(text) => painted_line(&text),
        Err(e) => eprintln!("tpm: cannot render JSON: {e}"),
    }
}

/// A line for stderr (escaped on a terminal, as [`line`]).
pub fn eline(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", shown_on_stderr(text));
}

/// Prints an error and its help line to stderr; returns its exit code.
pub fn error(e: &Error) -> i32 {
    eline(&format!("tpm: {e}"));
    if let Some(help) = e.help() {
        eline(&format!("  help: {help}"));
    }
    e.exit_code()
}

pub fn warning(e: &Error) {
    eline(&format!("tpm: warning: {e}"));
}

pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

pub fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// `250ms`, `3.2s`, `90s`.
pub fn millis(ms: u64) -> String {
    match ms {
        m if m < 1000 => format!("{m}ms"),
        m if m < 10_000 => format!("{:.1}s", m as f64 / 1000.0),
        m => format!("{}s", m / 1000),
    }
}

/// `12s`, `5m`, `2h`, `3d`: the largest whole unit.
pub fn uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// Bytes in the largest binary unit below the value: `812kb`, `41.2mb`, `1.5gb`.
pub fn mem(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K * K {
        format!("{:.0}kb", b / K)
    } else if b < K * K * K {
        format!("{:.1}mb", b / K / K)
    } else {
        format!("{:.1}gb", b / K / K / K)
    }
}

fn paint(status: Status, health: Option<HealthState>, color: bool) -> (String, usize) {
    // A process that runs but fails its liveness check (marked, or about to be
    // restarted) says so where a reader looks first.
    let unhealthy = status == Status::Online && health == Some(HealthState::Unhealthy);
    let text = if unhealthy {
        "unhealthy"
    } else {
        status.as_str()
    };
    if !color {
        return (text.to_string(), text.len());
    }
    let code = match status {
        Status::Online if unhealthy => "31",
        Status::Online => "32",
        Status::Launching | Status::Waiting | Status::Stopping => "33",
        Status::Errored => "31",
        Status::Stopped => "90",
    };
    (format!("\x1b[{code}m{text}\x1b[0m"), text.len())
}

/// The box table of the documented `tpm list` (README, "A tour").
pub fn table(processes: &[ProcessInfo]) -> String {
    let color = color_enabled();
    let header = [
        "id", "name", "status", "pid", "port", "uptime", "restarts", "cpu", "mem",
    ];
    let rows: Vec<Vec<(String, usize)>> = processes
        .iter()
        .map(|p| {
            let plain = |s: String| {
                let n = s.chars().count();
                (s, n)
            };
            vec![
                plain(or_dash(p.id)),
                plain(shown(&p.name).into_owned()),
                paint(p.status, p.health, color),
                plain(or_dash(p.pid)),
                plain(or_dash(p.port)),
                plain(p.uptime.map_or("-".into(), uptime)),
                plain(p.restarts.to_string()),
                plain(p.cpu.map_or("-".into(), |c| format!("{c:.1}%"))),
                plain(p.mem.map_or("-".into(), mem)),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].1)
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule = |l: &str, m: &str, r: &str| {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        format!("{l}{}{r}", parts.join(m))
    };
    let row = |cells: &[(String, usize)]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|((text, len), w)| format!(" {text}{} ", " ".repeat(w - len)))
            .collect();
        format!("│{}│", parts.join("│"))
    };
    let head: Vec<(String, usize)> = header.iter().map(|h| (h.to_string(), h.len())).collect();
    let mut out = vec![rule("┌", "┬", "┐"), row(&head), rule("├", "┼", "┤")];
    out.extend(rows.iter().map(|r| row(r)));
    out.push(rule("└", "┴", "┘"));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_uses_the_largest_whole_unit() {
        assert_eq!(uptime(12), "12s");
        assert_eq!(uptime(5 * 60 + 59), "5m");
        assert_eq!(uptime(2 * 3600 + 1), "2h");
        assert_eq!(uptime(3 * 86400), "3d");
    }

    #[test]
    fn mem_is_compact() {
        assert_eq!(mem(800 * 1024), "800kb");
        assert_eq!(mem(41 * 1024 * 1024 + 200 * 1024), "41.2mb");
        assert_eq!(mem(3 * 1024 * 1024 * 1024 / 2), "1.5gb");
    }

    #[test]
    fn an_empty_table_still_has_its_header() {
        let t = table(&[]);
        assert!(t.contains("│ id │ name │ status │"));
        assert_eq!(t.lines().count(), 4);
    }
}
