//! The supervisor: one detached process per managed process, no central daemon.
//!
//! - `launch` starts it from a front end (double fork, lock handover, handshake);
//! - `entry` is its start (descriptors, signals, the record), `run` its event loop;
//! - `phase` is the phase machine: spawn (`spawn`), reap, apply the restart policy
//!   (`crate::policy`), stop on request;
//! - `tree` signals the whole process tree; `pipes` drains the output into the logs
//!   (`logpump`);
//! - `handshake` is the one message it sends back to the command that launched it;
//! - `heal` keeps the store true to what it knows (a wiped store, a junk record, a full disk),
//!   told by `fsnotify` when its files change;
//! - `sample` looks at the running tree: recent CPU, whole memory, listening on the PORT.
//! - `watch` restarts it when files change (`--watch`, inotify, debounced).
//! - `triggers` restarts it for what is not a crash: its memory limit, a cron schedule.
//! - `ready` tells when the running process is ready (the PORT, a line, an HTTP answer,
//!   `READY=1`).
//! - `health` runs the liveness check for a run's whole life (HTTP, TCP, a command).
//! - `notify` is systemd's notify protocol: `NOTIFY_SOCKET`, `READY=1`, `STATUS=`, the
//!   watchdog.
//!
//! The supervisor runs from [`SUPERVISOR_BIN`], a small binary installed beside the front
//! ends (one runs per managed process, so its size is paid many times over). Both front-end
//! binaries also call [`run_if_requested`] first thing in `main`, so either can be
//! re-executed as a supervisor when that binary is missing or from another build.

mod entry;
mod fsnotify;
mod handshake;
mod heal;
mod health;
mod housekeep;
mod launch;
mod logpump;
mod notify;
mod phase;
mod pipes;
mod probe;
mod ready;
mod resident;
mod run;
mod sample;
mod socket;
mod spawn;
mod tree;
mod triggers;
mod watch;

pub(crate) use fsnotify::touch_marker;
pub use handshake::Outcome;
pub use launch::{launch, HANDSHAKE_TIMEOUT};
pub use logpump::Stamp;
pub(crate) use run::human;

/// The argument that makes `tpm-supervisor` print its build and exit (`tpm doctor` asks).
pub const BUILD_ARG: &str = "__tpm_build";

/// The hidden first argument that turns a front-end binary into a supervisor.
pub const SUPERVISE_ARG: &str = "__tpm_supervise";

/// Environment variables tpm sets in every managed process.
pub const ENV_NAME: &str = "TPM_NAME";
pub const ENV_ID: &str = "TPM_ID";
/// `SPID.SPID_START` of the supervisor: how the leftovers of a killed supervisor's tree are
/// found again (see `ops::cleanup`).
pub const ENV_SUPERVISOR: &str = "TPM_SUPERVISOR";
/// The instance number of one of an app's instances (and `NODE_APP_INSTANCE`, pm2's, which
/// Node apps read).
pub const ENV_INSTANCE: &str = "TPM_INSTANCE";
pub const ENV_NODE_INSTANCE: &str = "NODE_APP_INSTANCE";

/// `TPM_CGROUP=off` in the environment of `tpm start` (or restart): the process gets no
/// cgroup of its own, and its tree is tracked by ancestry (see `crate::cgroup`).
pub const ENV_CGROUP: &str = "TPM_CGROUP";

/// The dedicated supervisor binary, looked for beside the front end (see `launch`).
pub const SUPERVISOR_BIN: &str = "tpm-supervisor";

/// This build of tpm-core: its version and a digest of its sources (`build.rs`). A launcher
/// passes its own; a supervisor binary of another build refuses to run (see `launch`).
pub const BUILD: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("TPM_CORE_SOURCES"));

/// If this process was started as a supervisor, runs it and exits; otherwise returns.
pub fn run_if_requested() {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == SUPERVISE_ARG) {
        let rest: Vec<_> = args.collect();
        std::process::exit(entry::main(&rest));
    }
}

/// The whole of the `tpm-supervisor` binary: supervise, or explain that tpm runs it.
pub fn main() -> ! {
    run_if_requested();
    if std::env::args_os().nth(1).is_some_and(|a| a == BUILD_ARG) {
        println!("{BUILD}");
        std::process::exit(0);
    }
    eprintln!("tpm-supervisor is started by tpm, one per managed process; run `tpm` instead");
    std::process::exit(crate::error::EXIT_USAGE);
}
