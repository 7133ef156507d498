use tpm_core::command::NO_PROCESSES;
use tpm_core::ops::ReloadKind;
use tpm_core::Tpm;

use super::warn_all;
use crate::cli::ReloadArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: ReloadArgs) -> tpm_core::Result<i32> {
    let timeout = tpm_core::command::reload_timeout(Some(args.timeout))?;
    let targets = args.targets;
    let choice = super::stop::file_choice(targets.file)?;
    let selected = tpm.select(&targets.names, &choice)?;
    warn_all(&selected.warnings);
    if selected.names.is_empty() {
        if targets.json {
            render::json(&Vec::<()>::new());
        } else {
            render::line(NO_PROCESSES);
        }
        return Ok(0);
    }
    let reload = tpm.reload(&selected.names, timeout);
    let mut code = 0;
    let mut done = Vec::new();
    for (name, result) in reload.done {
        match result {
            Ok(r) => {
                if !targets.json {
                    let pid = r
                        .info
                        .pid
                        .map(|p| format!(" (pid {p})"))
                        .unwrap_or_default();
                    render::line(&match r.kind {
                        ReloadKind::Rolling => format!("reloaded {name}{pid}"),
                        ReloadKind::Socket => {
                            format!("reloaded {name}{pid} behind its socket")
                        }
                        ReloadKind::Restart => format!(
                            "restarted {name}{pid}: alone on its port and without --socket, it cannot be reloaded without refusing connections (run instances on a shared port, -i 2, or use --socket)"
                        ),
                        ReloadKind::Started => format!("started {name}{pid} (it was not running)"),
                    });
                }
                done.push(r);
            }
            Err(e) => code = render::error(&e),
        }
    }
    for note in &reload.notes {
        render::eline(&format!("tpm: {note}"));
    }
    if targets.json {
        render::json(&done);
    }
    Ok(code)
}
