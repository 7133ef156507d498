//! `tpm_core`: everything that knows what a process is.
//!
//! Front ends (the `tpm` CLI, the Nushell plugin) parse arguments, call [`Tpm`], and render
//! [`ProcessInfo`]s; they hold no process logic. Module map:
//!
//! | module | owns |
//! |---|---|
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
//! | `claim` | the claim on a name that outlives a wiped store (an abstract socket) |
//! | `proc` | `/proc`: identities, stats, trees |
//! | `sockdiag` | which sockets listen on a port, asked of the kernel cheaply |
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
//! | `ecosystem` | ecosystem files (JS, JSON, YAML, TOML) read into raw apps; `tpm init` starters |
//! | `ops` | the operations: start, list, stop, restart, delete, logs, ports |
//! | `supervisor` | the per-process supervisor |

pub mod cgroup;
pub mod claim;
pub mod complete;
pub mod context;
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
pub mod policy;
pub mod port;
pub mod proc;
pub mod readiness;
pub mod record;
pub mod rotation;
pub mod secrets;
pub mod sockdiag;
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
