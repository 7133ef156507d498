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
use tpm_core::command::{CommandDef, Fronts, COMMANDS};

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

/// The words of the subcommands (names and aliases), as the core's command table lists
/// them: for `tpm help WORD` and `tpm`'s "no such command".
pub fn subcommands() -> Vec<&'static str> {
    words_of(Fronts::Both)
}

/// The CLI's commands the plugin does not have: `tpm WORD` in Nushell says to run
/// `^tpm WORD`. `monit` is a full-screen terminal program; `serve` is a server that runs on
/// its own (Nushell reads its API with `http get`).
pub fn cli_only() -> Vec<&'static str> {
    words_of(Fronts::CliOnly)
}

/// The core table's row of a plugin command (`tpm stop`), by its name.
fn row(command: &str) -> Option<&'static CommandDef> {
    command
        .strip_prefix("tpm ")
        .and_then(tpm_core::command::find)
}

/// A command's one-line help, as the core's table has it (the CLI's, with its period).
fn about(command: &str) -> &'static str {
    row(command).map_or("", |def| def.about)
}

/// The words `help --find` finds a command by, from the core's table.
fn search_terms(command: &str) -> Vec<&'static str> {
    row(command).map_or_else(Vec::new, |def| def.search.to_vec())
}

fn words_of(fronts: Fronts) -> Vec<&'static str> {
    COMMANDS
        .iter()
        .filter(|c| c.fronts == fronts)
        .flat_map(|c| c.words())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_plugin_has_every_command_of_the_table_and_no_other() {
        let registered: BTreeSet<String> = all()
            .iter()
            .filter_map(|c| c.name().strip_prefix("tpm ").map(String::from))
            .collect();
        let table: BTreeSet<String> = subcommands().into_iter().map(String::from).collect();
        assert_eq!(registered, table);
        for word in cli_only() {
            assert!(!registered.contains(word), "{word} is CLI-only");
        }
    }

    /// Each command says what the CLI's says, from the same row: a help sentence of the
    /// table (aliases say whose they are), and its search terms.
    #[test]
    fn every_command_has_the_help_of_the_table() {
        for command in all() {
            let Some(def) = row(command.name()) else {
                continue;
            };
            if command.name() == format!("tpm {}", def.name) {
                assert_eq!(command.description(), def.about);
                assert_eq!(command.search_terms(), def.search.to_vec());
            } else {
                assert!(
                    command
                        .description()
                        .contains(&format!("(alias of `tpm {}`)", def.name)),
                    "{}",
                    command.name()
                );
            }
        }
    }

    /// The shared flag groups of the table, in each command that has them, with the CLI's
    /// meaning: `--only`/`--env NAME` take values (`-e` for `--env`), `--wait` is a switch
    /// and `--wait-timeout` a value. (`--json` is the CLI's: the plugin returns data.)
    #[test]
    fn every_command_has_the_flag_groups_of_the_table() {
        use tpm_core::command::Group;
        for command in all() {
            let Some(def) = command
                .name()
                .strip_prefix("tpm ")
                .and_then(tpm_core::command::find)
            else {
                continue;
            };
            let sig = command.signature();
            let flag = |long: &str| sig.named.iter().find(|f| f.long == long);
            for group in def.groups {
                let expected: &[(&str, bool, Option<char>)] = match group {
                    Group::Json => &[],
                    Group::File => &[("only", true, None), ("env", true, Some('e'))],
                    Group::Wait => &[("wait", false, None), ("wait-timeout", true, None)],
                };
                for (long, takes_value, short) in expected {
                    let Some(f) = flag(long) else {
                        panic!("{} lacks --{long}", command.name());
                    };
                    assert_eq!(f.arg.is_some(), *takes_value, "{} --{long}", command.name());
                    if long == &"env" && def.name != "start" {
                        assert_eq!(f.short, *short, "{} --{long}", command.name());
                    }
                }
            }
        }
    }
}
