//! The supervisor: one detached process per managed process, no central daemon.
//!
//! - `launch` starts it from a front end (double fork, lock handover, handshake);
//! - `run` is its life: spawn (`spawn`), drain logs (`logpump`), reap, apply the restart
//!   policy (`crate::policy`), stop the whole tree on request;
//! - `handshake` is the one message it sends back to the command that launched it.
//!
//! Both front-end binaries call [`run_if_requested`] first thing in `main`, so either can
//! be re-executed as a supervisor.

mod handshake;
mod launch;
mod logpump;
mod run;
mod spawn;

pub use handshake::Outcome;
pub use launch::launch;
pub use logpump::Stamp;

/// The hidden first argument that turns a front-end binary into a supervisor.
pub const SUPERVISE_ARG: &str = "__tpm_supervise";

/// Environment variables tpm sets in every managed process.
pub const ENV_NAME: &str = "TPM_NAME";
pub const ENV_ID: &str = "TPM_ID";
/// `SPID.SPID_START` of the supervisor: how the leftovers of a killed supervisor's tree are
/// found again (see `ops::cleanup`).
pub const ENV_SUPERVISOR: &str = "TPM_SUPERVISOR";

/// If this process was started as a supervisor, runs it and exits; otherwise returns.
pub fn run_if_requested() {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == SUPERVISE_ARG) {
        let rest: Vec<_> = args.collect();
        std::process::exit(run::main(&rest));
    }
}
