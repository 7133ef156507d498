use tpm_core::command::{outcome_line, ActRequest, Acted, Action, Wait, NO_PROCESSES};
use tpm_core::{FileChoice, Tpm};

use super::{first_failure, warn_all};
use crate::cli::{FileArgs, RestartArgs, Targets};
use crate::render;

/// `tpm restart`, and with `--wait`, a wait for each restarted process to be ready.
pub fn restart(tpm: &Tpm, args: RestartArgs) -> tpm_core::Result<i32> {
    let wait = Wait {
        wait: args.wait,
        timeout: args.wait_timeout,
    };
    run_with(
        tpm,
        args.targets,
        Action::Restart,
        wait,
        args.with_dependants,
    )
}

pub fn run(tpm: &Tpm, args: Targets, action: Action) -> tpm_core::Result<i32> {
    run_with(tpm, args, action, Wait::default(), false)
}

fn run_with(
    tpm: &Tpm,
    args: Targets,
    action: Action,
    wait: Wait,
    with_dependants: bool,
) -> tpm_core::Result<i32> {
    let Acted { results, warnings } = tpm.act(ActRequest {
        action,
        selectors: args.names,
        choice: file_choice(args.file)?,
        wait,
        with_dependants,
    })?;
    warn_all(&warnings);
    Ok(report(results, action, args.json))
}

/// `--only` and `--env NAME`: which apps of a file, with which `env_NAME`.
pub fn file_choice(args: FileArgs) -> tpm_core::Result<FileChoice> {
    FileChoice::from_flags(args.only, &args.env)
}

fn report(results: tpm_core::ops::Each<tpm_core::ProcessInfo>, action: Action, json: bool) -> i32 {
    if results.is_empty() && !json {
        render::line(NO_PROCESSES);
        return 0;
    }
    let mut codes = Vec::new();
    let mut done = Vec::new();
    for (_, result) in results {
        match result {
            Ok(info) => {
                if !json {
                    render::line(&outcome_line(action, &info));
                }
                done.push(info);
                codes.push(0);
            }
            Err(e) => codes.push(render::error(&e)),
        }
    }
    if json {
        render::json(&done);
    }
    first_failure(codes)
}
