use tpm_core::Tpm;

use super::first_failure;
use crate::cli::FlushArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: FlushArgs) -> tpm_core::Result<i32> {
    // As pm2's flush: without a name, every process.
    let names = if args.names.is_empty() {
        tpm.resolve(&[tpm_core::ops::ALL.to_string()])?
    } else {
        tpm.resolve(&args.names)?
    };
    let mut codes = Vec::new();
    let mut done = Vec::new();
    for (name, result) in tpm.flush(&names) {
        match result {
            Ok(flushed) => {
                if !args.json {
                    render::line(&format!(
                        "flushed {name} ({} freed)",
                        render::mem(flushed.freed)
                    ));
                }
                done.push(flushed);
                codes.push(0);
            }
            Err(e) => codes.push(render::error(&e)),
        }
    }
    if args.json {
        render::json(&done);
    } else if names.is_empty() {
        render::line("no processes");
    }
    Ok(first_failure(codes))
}
