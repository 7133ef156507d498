use std::path::PathBuf;

use tpm_core::export::{self, Engine, ExportOptions, NomadFormat, UnitScope};
use tpm_core::ops::FileChoice;
use tpm_core::{Error, Tpm};

use crate::cli::{ExportArgs, ExportEngine, NomadFormatArg};
use crate::render;

pub fn run(tpm: &Tpm, args: ExportArgs) -> tpm_core::Result<i32> {
    let engine = match args.engine {
        ExportEngine::Systemd => Engine::Systemd,
        ExportEngine::Nomad => Engine::Nomad,
        ExportEngine::Compose => Engine::Compose,
        ExportEngine::Kubernetes => Engine::Kubernetes,
    };
    refuse_flags_of_other_engines(engine, &args)?;
    let options = options(tpm, engine, &args);
    let choice = FileChoice {
        only: args.file.only.clone(),
        env_names: args.file.env.clone(),
        ..FileChoice::default()
    };
    let (apps, warnings) = tpm.export_apps(&args.targets, &choice)?;
    super::warn_all(&warnings);
    let out = export::render(engine, &apps, &options)?;
    for note in &out.notes {
        eprintln!("tpm: note: {note}");
    }
    let Some(dir) = args.output else {
        print_files(&out.files, args.json);
        return Ok(0);
    };
    let written = export::write(&dir, &out.files, args.force)?;
    let steps = export::next_steps(engine, &options, &dir);
    if args.json {
        render::json(&serde_json::json!({
            "engine": engine.as_str(),
            "files": written,
            "notes": out.notes,
            "next": steps,
        }));
    } else {
        for path in &written {
            render::line(&format!("wrote {}", path.display()));
        }
        render::line("then:");
        for step in steps {
            render::line(&format!("  {step}"));
        }
    }
    Ok(0)
}

fn options(tpm: &Tpm, engine: Engine, args: &ExportArgs) -> ExportOptions {
    let scope = if args.system {
        UnitScope::System
    } else {
        UnitScope::User
    };
    let systemd = engine == Engine::Systemd;
    ExportOptions {
        image: args.image.clone(),
        scope,
        systemd_version: args.systemd_version.or_else(|| {
            systemd
                .then(|| export::systemd::installed_version(tpm.context()))
                .flatten()
        }),
        user: (systemd && scope == UnitScope::System)
            .then(|| export::current_user(tpm.context()))
            .flatten(),
        nomad_format: match args.format {
            Some(NomadFormatArg::Json) => NomadFormat::Json,
            _ => NomadFormat::Hcl,
        },
    }
}

/// A flag meant for another engine is a mistake worth saying, not a silent no-op.
fn refuse_flags_of_other_engines(engine: Engine, args: &ExportArgs) -> tpm_core::Result<()> {
    let given: [(&str, bool, &[Engine]); 5] = [
        (
            "--image",
            args.image.is_some(),
            &[Engine::Compose, Engine::Kubernetes],
        ),
        ("--user", args.user, &[Engine::Systemd]),
        ("--system", args.system, &[Engine::Systemd]),
        (
            "--systemd-version",
            args.systemd_version.is_some(),
            &[Engine::Systemd],
        ),
        ("--format", args.format.is_some(), &[Engine::Nomad]),
    ];
    for (flag, set, engines) in given {
        if set && !engines.contains(&engine) {
            let names: Vec<&str> = engines.iter().map(|e| e.as_str()).collect();
            return Err(Error::Usage(format!(
                "{flag} is for tpm export {}, not {}",
                names.join(" and "),
                engine.as_str()
            )));
        }
    }
    Ok(())
}

/// Without -o: one file as it is (`> compose.yaml` works); several (systemd's), each
/// under a `# FILE` line.
fn print_files(files: &[export::ExportFile], json: bool) {
    if json {
        let items: Vec<serde_json::Value> = files
            .iter()
            .map(|f| serde_json::json!({ "path": f.path, "text": f.text }))
            .collect();
        render::json(&items);
        return;
    }
    if let [file] = files {
        render::text(&file.text);
        return;
    }
    for (i, file) in files.iter().enumerate() {
        if i > 0 {
            render::line("");
        }
        render::line(&format!("# {}", PathBuf::from(&file.path).display()));
        render::text(&file.text);
    }
}
