use tpm_core::ecosystem;
use tpm_core::Tpm;

use crate::cli::{DumpArgs, FileFormat};
use crate::render;

pub fn run(tpm: &Tpm, args: DumpArgs) -> tpm_core::Result<i32> {
    let names = if args.names.is_empty() {
        tpm.resolve(&["*".to_string()])?
    } else {
        tpm.resolve(&args.names)?
    };
    let format = if args.json {
        FileFormat::Json
    } else {
        args.format
    };
    let text = ecosystem::render(&tpm.dump(&names)?, format.core())?;
    render::text(&text);
    Ok(0)
}
