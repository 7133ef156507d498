use std::io::Write;

use tpm_core::logs::LogLine;
use tpm_core::{Stream, Tpm};

use crate::cli::LogsArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: LogsArgs) -> tpm_core::Result<i32> {
    let names = tpm.resolve(&args.names)?;
    // With several processes (or a pattern), each line says whose it is.
    let prefixed = names.len() > 1 || args.names.iter().any(|n| n.contains('*'));
    let color = render::color_enabled();
    let mut out = std::io::stdout().lock();
    let mut print = |line: &LogLine| -> bool {
        let text = if args.json {
            serde_json::to_string(line).unwrap_or_default()
        } else {
            let body = match (color, line.stream) {
                (true, Stream::Err) => format!("\x1b[31m{}\x1b[0m", line.stamped()),
                _ => line.stamped(),
            };
            if prefixed {
                format!("{} | {body}", line.name)
            } else {
                body
            }
        };
        // When following, every line is shown as it comes.
        writeln!(out, "{text}").is_ok() && (!args.follow || out.flush().is_ok())
    };
    if args.follow {
        tpm.follow(&names, args.lines, || true, |line| print(&line))?;
        return Ok(0);
    }
    for line in tpm.logs(&names, args.lines)? {
        if !print(&line) {
            break;
        }
    }
    Ok(0)
}
