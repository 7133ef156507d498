use tpm_core::startup::{self, Method, Outcome, Startup};
use tpm_core::Tpm;

use crate::cli::{JsonFlag, StartupArgs, StartupMethod};
use crate::render;

pub fn run(tpm: &Tpm, args: StartupArgs) -> tpm_core::Result<i32> {
    let method = match args.method {
        Some(StartupMethod::Systemd) => Method::Systemd,
        Some(StartupMethod::Cron) => Method::Cron,
        None => Method::detect(),
    };
    let bin = std::env::current_exe().map_err(|e| {
        tpm_core::Error::Usage(format!(
            "cannot tell where this tpm binary is, to run it at boot: {e}"
        ))
    })?;
    // The store's folder, as the unit must name it: TETRA_DIR is the store's parent.
    let tetra_dir = tpm
        .store()
        .root()
        .parent()
        .unwrap_or(tpm.store().root())
        .to_path_buf();
    let plan = Startup::new(method, &bin, tpm.context(), &tetra_dir)?;
    if args.print {
        if args.json {
            render::json(&serde_json::json!({
                "method": format!("{method:?}").to_lowercase(),
                "file": plan.unit_path,
                "text": plan.text,
            }));
        } else {
            match &plan.unit_path {
                Some(path) => render::line(&format!("# {}", path.display())),
                None => render::line("# a line for your crontab (crontab -e)"),
            }
            render::text(&plan.text);
            if !plan.text.ends_with('\n') {
                render::line("");
            }
        }
        return Ok(0);
    }
    let outcome = plan.install(tpm.context())?;
    report(&outcome, args.json);
    Ok(0)
}

pub fn remove(tpm: &Tpm, args: JsonFlag) -> tpm_core::Result<i32> {
    let outcome = startup::uninstall(tpm.context())?;
    if outcome.done.is_empty() && !args.json {
        render::line("nothing to remove: tpm startup has not been run");
        return Ok(0);
    }
    report(&outcome, args.json);
    Ok(0)
}

fn report(outcome: &Outcome, json: bool) {
    if json {
        render::json(&serde_json::json!({ "done": outcome.done, "todo": outcome.todo }));
        return;
    }
    for line in &outcome.done {
        render::line(line);
    }
    if !outcome.todo.is_empty() {
        render::line("then run (they need a user session or root):");
        for command in &outcome.todo {
            render::line(&format!("  {command}"));
        }
    }
}
