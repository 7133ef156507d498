use std::time::Duration;

use tpm_core::logs::LogLimits;
use tpm_core::policy::Policy;
use tpm_core::{StartRequest, Tpm};

use crate::cli::StartArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: StartArgs) -> tpm_core::Result<i32> {
    let policy = Policy {
        autorestart: !args.no_autorestart,
        max_restarts: args.max_restarts,
        restart_delay: Duration::from_millis(args.restart_delay),
        kill_timeout: Duration::from_millis(args.kill_timeout),
    };
    let logs = LogLimits {
        max_size: args.max_log_size,
        keep: args.log_keep,
    };
    let request = StartRequest {
        target: args.target,
        name: args.name.or(args.custom_name),
        port: args.port,
        cwd: args.cwd,
        env: args.env,
        args: args.args,
        policy: (policy != Policy::default()).then_some(policy),
        logs: (logs != LogLimits::default()).then_some(logs),
    };
    let info = tpm.start(&request)?;
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
