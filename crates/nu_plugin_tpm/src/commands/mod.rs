//! One file per command. Each reads its arguments, calls `tpm_core`, and returns values.
//!
//! Examples double as tests. An example with a `result` holds in the examples' world: in a
//! folder holding `server.sh` (`export PORT=3000`, prints `Starting server on port 3000`),
//! `api/backend.sh` (`PORT=8080`), `worker.sh` (no PORT) and `ecosystem.json` (apps `web`:
//! server.sh on 4000, and `worker`: worker.sh on 4001, each with an `env_production`), with
//! `server-3000` and `api-8080` running (for `tpm start` and `tpm init`: nothing running yet). The tests build that world, check every
//! result in-process (`PluginTest::test_examples`, as `test_command_examples` does), and run
//! every example in a real `nu`. `tpm import`'s run in nu only, with nothing running and
//! pm2's list in `pm2/dump.pm2` (`web`: server.sh on 4500), which its test writes.

mod completions;
mod delete;
mod describe;
mod doctor;
mod dump;
mod events;
mod export;
mod flush;
mod import;
mod init;
mod list;
mod logs;
mod metrics;
mod ports;
mod reload;
mod restart;
mod resurrect;
mod save;
mod scale;
mod start;
mod startup;
mod stop;
mod tpm;

use nu_plugin::PluginCommand;

use crate::TpmPlugin;

/// Every command, the bare `tpm` first.
pub fn all() -> Vec<Box<dyn PluginCommand<Plugin = TpmPlugin>>> {
    vec![
        Box::new(tpm::Tpm),
        Box::new(list::List),
        Box::new(list::Ls),
        Box::new(ports::Ports),
        Box::new(metrics::Metrics),
        Box::new(start::Start),
        Box::new(stop::Stop),
        Box::new(restart::Restart),
        Box::new(reload::Reload),
        Box::new(scale::Scale),
        Box::new(delete::Delete),
        Box::new(delete::Del),
        Box::new(logs::Logs),
        Box::new(flush::Flush),
        Box::new(events::Events),
        Box::new(describe::Describe),
        Box::new(describe::SHOW),
        Box::new(describe::INFO),
        Box::new(doctor::Doctor),
        Box::new(resurrect::Resurrect),
        Box::new(save::Save),
        Box::new(startup::Startup),
        Box::new(startup::Unstartup),
        Box::new(init::Init),
        Box::new(dump::Dump),
        Box::new(import::Import),
        Box::new(export::Export),
        Box::new(completions::Completions),
    ]
}

/// The names of the subcommands, for `tpm`'s "no such command" help.
pub const SUBCOMMANDS: [&str; 25] = [
    "list",
    "ls",
    "ports",
    "metrics",
    "start",
    "stop",
    "restart",
    "delete",
    "del",
    "logs",
    "flush",
    "events",
    "describe",
    "show",
    "info",
    "doctor",
    "resurrect",
    "save",
    "startup",
    "unstartup",
    "init",
    "dump",
    "import",
    "export",
    "completions",
];

/// The CLI's commands the plugin does not have: `tpm WORD` in Nushell says to run
/// `^tpm WORD`. `monit` is a full-screen terminal program: in Nushell it runs as `^tpm monit`. The parity test checks this list against the CLI's `--help`: a command added
/// to the CLI goes here until the plugin has it. `serve` is a server that runs on its own
/// (`^tpm serve`); Nushell reads its API with `http get`.
pub const CLI_ONLY: [&str; 2] = ["monit", "serve"];
