use tpm_core::ops::ScaleTo;
use tpm_core::Tpm;

use crate::cli::ScaleArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: ScaleArgs) -> tpm_core::Result<i32> {
    let to = ScaleTo::parse(&args.count)?;
    let scaled = tpm.scale(&args.app, to)?;
    let mut code = 0;
    let mut started = Vec::new();
    let mut removed = Vec::new();
    for (name, result) in scaled.started {
        match result {
            Ok(info) => {
                if !args.json {
                    render::line(&format!(
                        "started {name} (id {}, pid {}, port {})",
                        render::or_dash(info.id),
                        render::or_dash(info.pid),
                        render::or_dash(info.port)
                    ));
                }
                started.push(info);
            }
            Err(e) => code = render::error(&e),
        }
    }
    for (name, result) in scaled.removed {
        match result {
            Ok(info) => {
                if !args.json {
                    render::line(&format!("deleted {name}"));
                }
                removed.push(info);
            }
            Err(e) => code = render::error(&e),
        }
    }
    if args.json {
        render::json(&serde_json::json!({
            "app": scaled.app,
            "from": scaled.from,
            "to": scaled.to,
            "started": started,
            "removed": removed,
        }));
    } else {
        render::line(&format!(
            "{}: {} instance(s), was {}",
            scaled.app, scaled.to, scaled.from
        ));
    }
    Ok(code)
}
