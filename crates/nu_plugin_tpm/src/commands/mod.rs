//! One file per command. Each reads its arguments, calls `tpm_core`, and returns values.
//!
//! Examples double as tests. An example with a `result` holds in the examples' world: in a
//! folder holding `server.sh` (`export PORT=3000`, prints `Starting server on port 3000`),
//! `api/backend.sh` (`PORT=8080`), `worker.sh` (no PORT) and `ecosystem.json` (apps `web`:
//! server.sh on 4000, and `worker`: worker.sh on 4001, each with an `env_production`), with
//! `server-3000` and `api-8080` running (for `tpm start` and `tpm init`: nothing running yet). The tests build that world, check every
//! result in-process (`PluginTest::test_examples`, as `test_command_examples` does), and run
//! every example in a real `nu`.

mod completions;
mod delete;
mod dump;
mod init;
mod list;
mod logs;
mod ports;
mod restart;
mod start;
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
        Box::new(start::Start),
        Box::new(stop::Stop),
        Box::new(restart::Restart),
        Box::new(delete::Delete),
        Box::new(delete::Del),
        Box::new(logs::Logs),
        Box::new(init::Init),
        Box::new(dump::Dump),
        Box::new(completions::Completions),
    ]
}

/// The names of the subcommands, for `tpm`'s "no such command" help.
pub const SUBCOMMANDS: [&str; 12] = [
    "list",
    "ls",
    "ports",
    "start",
    "stop",
    "restart",
    "delete",
    "del",
    "logs",
    "init",
    "dump",
    "completions",
];

/// The CLI's commands the plugin does not have yet (they landed in the CLI after the
/// plugin's commands for ecosystem files): `tpm WORD` in Nushell says to run `^tpm WORD`.
/// The parity test checks this list against the CLI's `--help`, so it shrinks as they come.
pub const CLI_ONLY: [&str; 9] = [
    "resurrect",
    "save",
    "startup",
    "unstartup",
    "events",
    "describe",
    "doctor",
    "monit",
    "serve",
];
