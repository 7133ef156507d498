use tpm_core::options::{Opt, Value};
use tpm_core::{FileChoice, StartRequest, Tpm};

use super::{first_failure, warn_all};
use crate::cli::StartArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: StartArgs) -> tpm_core::Result<i32> {
    if tpm.is_ecosystem_file(&args.target) {
        return start_file(tpm, args);
    }
    if !args.only.is_empty() {
        return Err(tpm_core::command::only_without_file(&args.target));
    }
    let mut options = args.options.0;
    if let Some(name) = args.custom_name {
        options.set(Opt::Name, Value::Text(name));
    }
    if !args.args.is_empty() {
        options.set(Opt::Args, Value::Words(args.args));
    }
    let instances = options.instances().is_some();
    let mut request = StartRequest::new(args.target, options);
    request.force = args.force;
    if !instances && !tpm.is_app_start(&request) {
        let info = tpm.start(&request)?;
        if args.json {
            render::json(&info);
        } else {
            render::line(&started(&info));
        }
        return Ok(0);
    }
    // Instances: one line (or JSON object) each, in instance order.
    let mut codes = Vec::new();
    let mut done = Vec::new();
    for (_, result) in tpm.start_all(&request)? {
        match result {
            Ok(info) => {
                if !args.json {
                    render::line(&started(&info));
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

/// `tpm start FILE`: every app checked first, then those not running started.
fn start_file(tpm: &Tpm, args: StartArgs) -> tpm_core::Result<i32> {
    if args.custom_name.is_some() || !args.args.is_empty() {
        return Err(tpm_core::command::per_app_argument(&args.target));
    }
    let mut choice =
        FileChoice::from_options(args.options.0, tpm_core::command::only_apps(args.only)?);
    choice.force = args.force;
    let plan = tpm.plan_file(&args.target, &choice)?;
    warn_all(&plan.warnings);
    let mut codes = Vec::new();
    let mut done = Vec::new();
    for (name, result) in tpm.start_file(plan) {
        match result {
            Ok(app) => {
                if !args.json {
                    if app.unchanged {
                        render::line(&format!(
                            "unchanged {name} (already {}{})",
                            app.info.status,
                            app.info
                                .pid
                                .map(|p| format!(", pid {p}"))
                                .unwrap_or_default()
                        ));
                    } else {
                        render::line(&started(&app.info));
                    }
                }
                done.push(app.info);
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

fn started(info: &tpm_core::ProcessInfo) -> String {
    format!(
        "started {} (id {}, pid {}, port {})",
        info.name,
        render::or_dash(info.id),
        render::or_dash(info.pid),
        render::or_dash(info.port)
    )
}
