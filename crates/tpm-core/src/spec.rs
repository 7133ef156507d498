//! What should run: a process's [`Spec`].
//!
//! A spec is what a user asked for, whichever way they asked (CLI flags, the plugin's
//! flags, an app in an ecosystem file, a record piped in from Nushell): `ops::plan` is the
//! one function that makes one. Ecosystem files, `tpm dump` and later engines read and
//! write specs; supervisors only read them and keep the [`State`](crate::state::State).

use crate::policy::Policy;
use crate::readiness::Readiness;
use crate::rotation::LogLimits;

/// How a process came to be: the record's `type` key.
pub const KIND_CLI: &str = "cli";
pub const KIND_ECOSYSTEM: &str = "ecosystem";

#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The script's absolute path, or the command string as given.
    pub script: String,
    /// Exactly what is executed: program and arguments.
    pub cmd: Vec<String>,
    /// The working directory (absolute).
    pub cwd: String,
    /// Variables set for the process (`--env`, an app's `env`), over the caller's
    /// environment.
    pub env: Vec<(String, String)>,
    pub port: u16,
    /// [`KIND_CLI`], or [`KIND_ECOSYSTEM`] for an app from a file; other tools' values are
    /// kept as they are.
    pub kind: String,
    /// What to do when it exits, and how to stop it.
    pub policy: Policy,
    /// When logs rotate.
    pub logs: LogLimits,
    /// When it is ready, and whether starts wait for it.
    pub ready: Readiness,
    /// Restart it on this schedule (5-field cron, local time).
    pub cron_restart: Option<String>,
    /// Whether the user wants it running: set by start and restart, cleared by stop. A
    /// crash, a killed supervisor or a reboot leave it as it was.
    pub wanted: bool,
}

impl Spec {
    /// A spec with default policies for `cmd`, run in `cwd`.
    pub fn new(script: String, cmd: Vec<String>, cwd: String, port: u16) -> Spec {
        Spec {
            script,
            cmd,
            cwd,
            env: Vec::new(),
            port,
            kind: KIND_CLI.into(),
            policy: Policy::default(),
            logs: LogLimits::default(),
            ready: Readiness::default(),
            cron_restart: None,
            wanted: true,
        }
    }

    /// `NODE_ENV` among the variables set for it (the record's `node_env`, as shell tools
    /// and pm2 users read it).
    pub fn node_env(&self) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == "NODE_ENV")
            .map(|(_, v)| v.as_str())
    }
}
