use std::io::Write;

use tpm_core::logs::{Filter, LogLine};
use tpm_core::{Stream, Tpm};

use crate::cli::LogsArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: LogsArgs) -> tpm_core::Result<i32> {
    let filter = Filter::parse(
        args.since.as_deref(),
        args.until.as_deref(),
        args.grep.as_deref(),
        args.out,
        args.err,
    )
    .map_err(tpm_core::Error::Usage)?;
    // With several processes (or a pattern), each line says whose it is.
    // Resolved here for the count only: following resolves again as processes come.
    let count = tpm.resolve(&args.names).map_or(0, |n| n.len());
    let prefixed = count > 1
        || args.names.len() > 1
        || args
            .names
            .iter()
            .any(|n| n.contains('*') || n == tpm_core::ops::ALL);
    let color = render::color_enabled();
    // On a terminal the lines' control characters are shown, not obeyed, unless --raw.
    let escape = render::stdout_is_terminal() && !args.raw;
    let mut out = std::io::stdout().lock();
    let mut print = |line: &LogLine| -> bool {
        let text = if args.json {
            let json = serde_json::to_string(line).unwrap_or_default();
            if escape {
                tpm_core::terminal::shown_json(&json).into_owned()
            } else {
                json
            }
        } else {
            let stamped = shown(escape, line.stamped());
            let body = match (color, line.stream) {
                (true, Stream::Err) => format!("\x1b[31m{stamped}\x1b[0m"),
                _ => stamped,
            };
            if prefixed {
                format!("{} | {body}", shown(escape, line.name.clone()))
            } else {
                body
            }
        };
        // When following, every line is shown as it comes.
        writeln!(out, "{text}").is_ok() && (!args.follow || out.flush().is_ok())
    };
    if args.follow {
        tpm.follow_logs(
            &args.names,
            args.lines,
            &filter,
            || true,
            |line| print(&line),
        )?;
        return Ok(0);
    }
    let names = tpm.resolve(&args.names)?;
    for line in tpm.logs_filtered(&names, args.lines, &filter)? {
        if !print(&line) {
            break;
        }
    }
    Ok(0)
}

/// `text`, escaped when `escape` (on a terminal, without --raw).
fn shown(escape: bool, text: String) -> String {
    if escape {
        match tpm_core::terminal::shown(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(escaped) => escaped,
        }
    } else {
        text
    }
}
