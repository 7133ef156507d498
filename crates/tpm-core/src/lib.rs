//! `tpm_core`: everything that knows what a process is.
//!
//! Front ends (the `tpm` CLI, the Nushell plugin) parse arguments, call [`Tpm`], and render
//! [`ProcessInfo`]s; they hold no process logic. Module map:
//!
//! | module | owns |
//! |---|---|
//! | `context` | where the store is (`TETRA_DIR`) and who asks: the environment a command runs in |
//! | `error` | the one error type: each variant's message, `help:` line and exit code |
//! | `name` | name validation, `basename-PORT`, `*` selectors |
//! | `port` | PORT detection |
//! | `target` | what a start runs: script or command string, interpreters |
//! | `options` | the start options, declared once: flags, file fields, kinds, defaults |
//! | `spec`, `state` | what should run; what is happening |
//! | `record` | the `.meta` line format: a spec, a state and an id |
//! | `rotation` | how big logs may grow |
//! | `secrets` | which variables are never printed |
//! | `export` | the apps as other engines' files: systemd, Nomad, compose, Kubernetes |
//! | `startup` | running `tpm resurrect` at boot (a systemd user unit, or cron) |
//! | `store` | the folder layout, atomic writes, permissions |
//! | `lock` | the supervisor-alive lock |
//! | `claim` | the claim on a name that outlives a wiped store (see `platform`) |
//! | `proc` | processes: identities, stats, trees, who listens on a port |
//! | `platform` | what tpm needs of the OS: supervision's mechanics (Linux, POSIX), what the OS says about processes (Linux, macOS), file watching |
//! | `cgroup` | a cgroup per process where the hierarchy is writable; how a tree is tracked |
//! | `status`, `policy` | the status enum; the restart policy |
//! | `readiness` | how a process is judged ready (port, line, http, notify) |
//! | `health` | liveness checks for a process's whole life (http, tcp, cmd) |
//! | `watch` | what `--watch` watches and leaves out |
//! | `info` | the observed view front ends render |
//! | `complete` | process-name completion for every front end |
//! | `logs` | reading, merging and following logs |
//! | `terminal` | what a terminal is shown of text tpm did not write |
//! | `events` | the event history: what happened to each process |
//! | `metrics` | every process as Prometheus series: the text `tpm metrics` and `/metrics` serve |
//! | `depends` | `depends_on` between apps: its spellings, conditions, order and cycles |
//! | `ecosystem` | ecosystem files (JS, JSON, YAML, TOML) read into raw apps; `tpm init` starters |
//! | `command` | every command declared once; what stop/restart/delete do, for every front end |
//! | `ops` | the operations: start, list, stop, restart, delete, logs, ports |
//! | `supervisor` | the per-process supervisor |

pub mod cgroup;
pub mod claim;
pub mod command;
pub mod complete;
pub mod context;
pub mod depends;
pub mod ecosystem;
pub mod error;
pub mod events;
pub mod export;
pub mod health;
pub mod info;
pub mod lock;
pub mod logs;
pub mod metrics;
pub mod name;
pub mod ops;
pub mod options;
pub mod platform;
pub mod policy;
pub mod port;
pub mod proc;
pub mod readiness;
pub mod record;
pub mod rotation;
pub mod secrets;
pub mod spec;
pub mod startup;
pub mod state;
pub mod status;
pub mod store;
pub mod supervisor;
pub mod target;
pub mod terminal;
pub mod watch;

pub use context::Context;
pub use error::{Error, Result};
pub use info::ProcessInfo;
pub use name::{Name, Selector};
pub use ops::{FileChoice, Listing, Plan, StartRequest, Tpm};
pub use options::{Opt, Options};
pub use spec::Spec;
pub use status::Status;
pub use store::Stream;

#[cfg(test)]
mod module_table {
    /// The names in the first column of the module map above.
    fn rows(lib: &str) -> Vec<String> {
        lib.lines()
            .filter_map(|l| l.strip_prefix("//! | `"))
            .filter_map(|row| row.split(" | ").next())
            .flat_map(|first| first.split(", "))
            .map(|cell| cell.trim_matches('`').to_string())
            .collect()
    }

    /// The modules declared below it.
    fn modules(lib: &str) -> Vec<String> {
        lib.lines()
            .map(str::trim)
            .filter_map(|l| {
                l.strip_prefix("pub mod ")
                    .or_else(|| l.strip_prefix("mod "))
            })
            .filter_map(|rest| rest.strip_suffix(';'))
            .map(str::to_string)
            .collect()
    }

    /// The map is the first thing a newcomer reads: a module without its row, or a row
    /// for a module that is gone, would send them to the wrong place.
    #[test]
    fn the_module_map_has_a_row_for_each_module_and_no_other() {
        let lib = include_str!("lib.rs");
        let (rows, modules) = (rows(lib), modules(lib));
        assert!(modules.len() > 10, "modules read: {modules:?}");
        let missing: Vec<_> = modules.iter().filter(|m| !rows.contains(m)).collect();
        let stale: Vec<_> = rows.iter().filter(|r| !modules.contains(r)).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "lib.rs's module map: no row for {missing:?}; rows without a module: {stale:?}"
        );
    }
}
