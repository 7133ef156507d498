use tpm_core::Tpm;

use super::first_failure;
use crate::cli::Targets;
use crate::render;

#[derive(Debug, Clone, Copy)]
pub enum Action {
    Stop,
    Restart,
    Delete,
}

pub fn run(tpm: &Tpm, args: Targets, action: Action) -> tpm_core::Result<i32> {
    let names = tpm.resolve(&args.names)?;
    if names.is_empty() {
        if !args.json {
            render::line("no processes");
        } else {
            render::json(&Vec::<()>::new());
        }
        return Ok(0);
    }
    let results = match action {
        Action::Stop => tpm.stop(&names),
        Action::Restart => tpm.restart(&names),
        Action::Delete => tpm.delete(&names),
    };
    let verb = match action {
        Action::Stop => "stopped",
        Action::Restart => "restarted",
        Action::Delete => "deleted",
    };
    let mut codes = Vec::new();
    let mut done = Vec::new();
    for (name, result) in results {
        match result {
            Ok(info) => {
                if !args.json {
                    let pid = info.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                    match action {
                        Action::Restart => render::line(&format!("{verb} {name}{pid}")),
                        // Stopped, then started again by a command that raced with this one.
                        Action::Stop if info.status.is_active() => {
                            render::line(&format!("{name} was restarted by another command{pid}"))
                        }
                        _ => render::line(&format!("{verb} {name}")),
                    }
                }
                done.push(info);
                codes.push(0);
            }
            Err(e) => codes.push(render::error(&e)),
        }
    }
    if args.json {
        render::json(&done);
    }
    Ok(first_failure(codes))
}
