use tpm_core::Tpm;

use crate::cli::SaveArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: SaveArgs) -> tpm_core::Result<i32> {
    let saved = tpm.save(args.file.as_deref(), args.force)?;
    if args.json {
        render::json(&serde_json::json!({
            "file": saved.file,
            "names": saved.names.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            "backup": saved.backup,
        }));
    } else {
        render::line(&format!(
            "saved {} process(es) to {}{}",
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
