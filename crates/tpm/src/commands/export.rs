use std::path::PathBuf;

use tpm_core::export::{self, Engine, ExportOptions, NomadFormat};
use tpm_core::Tpm;

use crate::cli::{ExportArgs, ExportEngine, NomadFormatArg};
use crate::render;

pub fn run(tpm: &Tpm, args: ExportArgs) -> tpm_core::Result<i32> {
    let engine = match args.engine {
        ExportEngine::Systemd => Engine::Systemd,
        ExportEngine::Nomad => Engine::Nomad,
        ExportEngine::Compose => Engine::Compose,
        ExportEngine::Kubernetes => Engine::Kubernetes,
    };
    let asked = export::Asked {
        image: args.image.clone(),
        user: args.user,
        system: args.system,
        systemd_version: args.systemd_version,
        nomad_format: args.format.map(|f| match f {
            NomadFormatArg::Json => NomadFormat::Json,
            NomadFormatArg::Hcl => NomadFormat::Hcl,
        }),
    };
    let options = ExportOptions::from_asked(engine, &asked, tpm.context())?;
    let choice = super::stop::file_choice(args.file)?;
    let (apps, warnings) = tpm.export_apps(&args.targets, &choice)?;
    super::warn_all(&warnings);
    let out = export::render(engine, &apps, &options)?;
    for note in &out.notes {
        render::eline(&format!("tpm: note: {note}"));
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
