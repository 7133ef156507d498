use tpm_core::ecosystem;
use tpm_core::Tpm;

use crate::cli::InitArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: InitArgs) -> tpm_core::Result<i32> {
    let (path, format) = ecosystem::write_starter(
        &tpm.context().cwd,
        args.file.as_deref(),
        args.format.map(|f| f.core()),
        args.force,
    )?;
    if args.json {
        render::json(&serde_json::json!({
            "file": path,
            "format": format!("{format:?}").to_lowercase(),
        }));
    } else {
        render::line(&format!(
            "wrote {} (edit it, then: tpm start {})",
            path.display(),
            path.file_name().map_or_else(
                || path.display().to_string(),
                |f| f.to_string_lossy().into_owned()
            )
        ));
    }
    Ok(0)
}
