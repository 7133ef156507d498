use tpm_core::options::{Opt, Value};
use tpm_core::{StartRequest, Tpm};

use crate::cli::StartArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: StartArgs) -> tpm_core::Result<i32> {
    let mut options = args.options.0;
    if let Some(name) = args.custom_name {
        options.set(Opt::Name, Value::Text(name));
    }
    if !args.args.is_empty() {
        options.set(Opt::Args, Value::Words(args.args));
    }
    let info = tpm.start(&StartRequest::new(args.target, options))?;
    if args.json {
        render::json(&info);
    } else {
        render::line(&format!(
            "started {} (id {}, pid {}, port {})",
            info.name,
            render::or_dash(info.id),
            render::or_dash(info.pid),
            info.port
        ));
    }
    Ok(0)
}
