//! One file per command. Each reads its arguments, calls `tpm_core`, and returns values.
//!
//! Examples double as tests. An example with a `result` holds in the examples' world: in a
//! folder holding `server.sh` (`export PORT=3000`, prints `Starting server on port 3000`),
//! `api/backend.sh` (`PORT=8080`) and `worker.sh` (no PORT), with `server-3000` and `api-8080`
//! running. The tests build that world, check every result in-process
//! (`test_command_examples`), and run every example in a real `nu`.

mod delete;
mod list;
mod logs;
mod ports;
mod restart;
mod start;
mod stop;
mod tpm;

use nu_plugin::PluginCommand;

use crate::TpmPlugin;

pub use delete::{Del, Delete};
pub use list::{List, Ls};
pub use logs::Logs;
pub use ports::Ports;
pub use restart::Restart;
pub use start::Start;
pub use stop::Stop;
pub use tpm::Tpm;

/// Every command, the bare `tpm` first.
pub fn all() -> Vec<Box<dyn PluginCommand<Plugin = TpmPlugin>>> {
    vec![
        Box::new(Tpm),
        Box::new(List),
        Box::new(Ls),
        Box::new(Ports),
        Box::new(Start),
        Box::new(Stop),
        Box::new(Restart),
        Box::new(Delete),
        Box::new(Del),
        Box::new(Logs),
    ]
}

/// The names of the subcommands, for `tpm`'s "no such command" help.
pub const SUBCOMMANDS: [&str; 9] = [
    "list", "ls", "ports", "start", "stop", "restart", "delete", "del", "logs",
];
