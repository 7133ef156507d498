use tpm_core::Tpm;

use crate::cli::SaveArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: SaveArgs) -> tpm_core::Result<i32> {
    let saved = tpm.save(args.file.as_deref(), args.force)?;
    for warning in &saved.warnings {
        render::eline(&format!("tpm: warning: {warning}"));
    }
    if args.json {
        render::json(&serde_json::json!({
            "file": saved.file,
            "names": saved.names.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            "backup": saved.backup,
            "kept": saved.kept.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            "warnings": saved.warnings,
        }));
    } else {
        let kept = match saved.kept.len() {
            0 => String::new(),
            n => format!(
                ", and kept {n} whose record cannot be read as the previous dump had it ({})",
                saved
                    .kept
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        render::line(&format!(
            "saved {} process(es){kept} to {}{}",
            saved.names.len(),
            saved.file.display(),
            saved
                .backup
                .map(|b| format!(" (the previous one kept as {})", b.display()))
                .unwrap_or_default()
        ));
    }
    Ok(0)
}
