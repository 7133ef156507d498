use tpm_core::{Name, Tpm};

use crate::cli::JsonFlag;
use crate::render;

pub fn run(tpm: &Tpm, args: JsonFlag) -> tpm_core::Result<i32> {
    let (ports, problems) = tpm.ports()?;
    for problem in &problems {
        render::warning(&problem.error);
    }
    if args.json {
        render::json(&ports);
        return Ok(0);
    }
    for p in &ports {
        // The documented `Process: NAME, Port: N` lines (the shell tpm's format): the name
        // without its -PORT suffix.
        let base = Name::parse(&p.name).map_or(p.name.clone(), |n| n.base(p.port).to_string());
        render::line(&format!("Process: {base}, Port: {}", p.port));
    }
    Ok(0)
}
