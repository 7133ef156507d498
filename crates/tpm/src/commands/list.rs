use tpm_core::Tpm;

use crate::cli::JsonFlag;
use crate::render;

pub fn run(tpm: &Tpm, args: JsonFlag) -> tpm_core::Result<i32> {
    let listing = tpm.list()?;
    for problem in &listing.problems {
        render::warning(&problem.error);
    }
    if args.json {
        render::json(&listing.processes);
    } else {
        render::painted_line(&render::table(&listing.processes));
    }
    Ok(0)
}
