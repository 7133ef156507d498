use tpm_core::options::{Opt, Options};
use tpm_core::{Error, FileChoice, Tpm};

use super::{first_failure, warn_all};
use crate::cli::{FileArgs, RestartArgs, Targets};
use crate::render;

#[derive(Debug, Clone, Copy)]
pub enum Action {
    Stop,
    Restart,
    Delete,
}

/// `tpm restart`, and with `--wait`, a wait for each restarted process to be ready.
pub fn restart(tpm: &Tpm, args: RestartArgs) -> tpm_core::Result<i32> {
    let wait = (args.wait || args.wait_timeout.is_some()).then_some(args.wait_timeout);
    // A timeout given here wins over the one a process was started with, also for the wait
    // a process declared with --wait does at each restart.
    let tpm = tpm.clone().waiting_at_most(args.wait_timeout);
    if args.with_dependants {
        let selected = tpm.select(&args.targets.names, &file_choice(args.targets.file)?)?;
        warn_all(&selected.warnings);
        let results = waited(&tpm, tpm.restart_with_dependants(&selected.names), wait);
        return Ok(report(results, Action::Restart, args.targets.json));
    }
    run_with(&tpm, args.targets, Action::Restart, wait)
}

pub fn run(tpm: &Tpm, args: Targets, action: Action) -> tpm_core::Result<i32> {
    run_with(tpm, args, action, None)
}

/// `wait`: after a restart, wait for readiness, for the time given or the process's own.
fn run_with(
    tpm: &Tpm,
    args: Targets,
    action: Action,
    wait: Option<Option<std::time::Duration>>,
) -> tpm_core::Result<i32> {
    let choice = file_choice(args.file)?;
    let has_file = args.names.iter().any(|n| tpm.is_ecosystem_file(n));
    if !has_file && (!choice.only.is_empty() || !choice.env_names.is_empty()) {
        return Err(Error::Usage(
            "--only and --env choose apps of an ecosystem file, and none was given".into(),
        ));
    }
    // `restart FILE` reads the file again: an edited app restarts as it now is.
    if let (Action::Restart, [file]) = (action, args.names.as_slice()) {
        if tpm.is_ecosystem_file(file) {
            let plan = tpm.plan_file(file, &choice)?;
            warn_all(&plan.warnings);
            let results = waited(tpm, tpm.restart_file(plan), wait);
            return Ok(report(results, action, args.json));
        }
    }
    let selected = tpm.select(&args.names, &choice)?;
    warn_all(&selected.warnings);
    let names = selected.names;
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
        Action::Restart => waited(tpm, tpm.restart(&names), wait),
        Action::Delete => tpm.delete(&names),
    };
    Ok(report(results, action, args.json))
}

/// Each restarted process once ready, when asked to wait (see `Tpm::wait_each`).
fn waited(
    tpm: &Tpm,
    results: tpm_core::ops::Each<tpm_core::ProcessInfo>,
    wait: Option<Option<std::time::Duration>>,
) -> tpm_core::ops::Each<tpm_core::ProcessInfo> {
    match wait {
        Some(timeout) => tpm.wait_each(results, timeout),
        None => results,
    }
}

/// `--only` and `--env NAME`: which apps of a file, with which `env_NAME`.
pub fn file_choice(args: FileArgs) -> tpm_core::Result<FileChoice> {
    let mut options = Options::new();
    let def = Opt::Env.def();
    for raw in &args.env {
        options.set(
            Opt::Env,
            def.parse_text(raw)
                .map_err(|e| Error::Usage(format!("--env {raw}: {e}")))?,
        );
    }
    if !options.env_vars().is_empty() {
        return Err(Error::Usage(
            "--env here takes a NAME (it applies the file's env_NAME); variables go in the file, or with `tpm start`".into(),
        ));
    }
    Ok(FileChoice::from_options(options, args.only))
}

fn report(results: tpm_core::ops::Each<tpm_core::ProcessInfo>, action: Action, json: bool) -> i32 {
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
                if !json {
                    let pid = info.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                    match action {
                        // Started, then stopped by a command that raced with this one.
                        Action::Restart if !info.status.is_active() => render::line(&format!(
                            "{name} was restarted, then {} by another command",
                            info.status
                        )),
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
    if json {
        render::json(&done);
    }
    first_failure(codes)
}
