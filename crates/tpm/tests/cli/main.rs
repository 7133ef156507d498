//! End-to-end tests of the `tpm` binary: real processes, real signals, a scratch
//! `TETRA_DIR` per test, and waits on conditions with deadlines.
//!
//! One test binary with a module per behaviour keeps link time down.

mod completion;
mod dependencies;
mod docs;
mod ecosystem;
mod exit_codes;
mod export;
mod health;
mod history;
mod import;
mod instances;
mod interactive_completion;
mod lifecycle;
mod logs;
mod man;
mod monit;
mod naming_and_port;
mod no_port;
mod pm2_files;
mod readiness;
mod real_servers;
mod records;
mod restart_policy;
mod resurrect;
mod store_contract;
mod supervision;
mod terminal;
mod test_command;
mod tetra_shim;
mod watch;
mod zero_downtime;
