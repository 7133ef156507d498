use tpm_core::ops::{AppStart, Each};
use tpm_core::{FileChoice, Tpm};

use super::{first_failure, warn_all};
use crate::cli::ResurrectArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: ResurrectArgs) -> tpm_core::Result<i32> {
    let processes: Each<AppStart> = match &args.file {
        Some(file) => {
            let plan = tpm.plan_file(file, &FileChoice::default())?;
            warn_all(&plan.warnings);
            tpm.start_file(plan)
        }
        None => {
            let done = tpm.resurrect()?;
            warn_all(&done.warnings);
            done.processes
        }
    };
    let mut codes = Vec::new();
    let mut started = Vec::new();
    let mut running = 0;
    for (name, result) in processes {
        match result {
            Ok(app) if app.unchanged => running += 1,
            Ok(app) => {
                if !args.json {
                    render::line(&format!(
                        "started {name} (id {}, pid {}, port {})",
                        render::or_dash(app.info.id),
                        render::or_dash(app.info.pid),
                        render::or_dash(app.info.port)
                    ));
                }
                started.push(app.info);
                codes.push(0);
            }
            Err(e) => codes.push(render::error(&e)),
        }
    }
    if args.json {
        render::json(&started);
    } else if started.is_empty() {
        render::line(&match running {
            0 => "nothing to resurrect: no process is meant to run".to_string(),
            n => format!("nothing to resurrect: the {n} process(es) meant to run are running"),
        });
    }
    Ok(first_failure(codes))
}
