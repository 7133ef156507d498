use tpm_core::ops::Severity;
use tpm_core::Tpm;

use crate::cli::JsonFlag;
use crate::render;

/// Exit 0 when nothing is a problem (warnings allowed), 1 otherwise.
pub fn run(tpm: &Tpm, args: JsonFlag) -> tpm_core::Result<i32> {
    let findings = tpm.doctor()?;
    if args.json {
        render::json(&findings);
    } else {
        for f in &findings {
            let tag = match f.severity {
                Severity::Ok => "ok     ",
                Severity::Warning => "warning",
                Severity::Problem => "problem",
            };
            render::line(&format!("{tag}  {}", f.message));
            if let Some(help) = &f.help {
                render::line(&format!("         help: {help}"));
            }
        }
    }
    let failed = findings.iter().any(|f| f.severity == Severity::Problem);
    Ok(if failed { 1 } else { 0 })
}
