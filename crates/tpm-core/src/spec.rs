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
/// A process `tpm import pm2` made from pm2's saved list.
pub const KIND_PM2: &str = "pm2";

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
    /// The PORT it listens on; `None` for a process that listens on none (a worker, a bot,
    /// a cron job), named by its name alone.
    pub port: Option<u16>,
    /// [`KIND_CLI`], [`KIND_ECOSYSTEM`] for an app from a file, [`KIND_PM2`] for one
    /// imported from pm2; other tools' values are
    /// kept as they are.
    pub kind: String,
    /// What to do when it exits, and how to stop it.
    pub policy: Policy,
    /// When logs rotate.
    pub logs: LogLimits,
    /// When it is ready, and whether starts wait for it.
    pub ready: Readiness,
    /// A liveness check run for its whole life (see `crate::health`).
    pub health: Option<crate::health::Health>,
    /// `--watchdog`: with the notify protocol, restarted when `WATCHDOG=1` pings stop
    /// coming for this long (`WATCHDOG_USEC` is set for it).
    pub watchdog: Option<std::time::Duration>,
    /// Restart it on this schedule (cron: 5 fields, or 6 with seconds; local time).
    pub cron_restart: Option<String>,
    /// Restart it when files change (`--watch`).
    pub watch: Option<crate::watch::Watch>,
    /// Whether the user wants it running: set by start and restart, cleared by stop. A
    /// crash, a killed supervisor or a reboot leave it as it was.
    pub wanted: bool,
    /// Instances, the listening socket tpm holds: see [`Cluster`].
    pub cluster: Cluster,
    /// Output thrown away, by stream (stdout, stderr): pm2's `out_file`/`error_file`
    /// `/dev/null`. The supervisor still reads it (the process never blocks on a full
    /// pipe, a ready line is still seen) and writes none of it.
    pub discard: Discard,
    /// The ecosystem file it was started from (absolute): `tpm stop FILE` finds it by
    /// this, whatever the file (or the environment it reads) names it now.
    pub file: Option<String>,
    /// Its app's `name` as the file or a piped record wrote it (`Test es6 modules`, where
    /// the process is `Test-es6-modules`).
    pub app: Option<String>,
    /// The processes it needs, and what each must have reached before it starts
    /// (`depends_on`; see [`crate::depends`]).
    pub depends_on: Vec<crate::depends::Dependency>,
}

/// Which of a process's streams are thrown away rather than logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Discard {
    pub out: bool,
    pub err: bool,
}

/// How a process is one of several copies of an app, and whether tpm holds its socket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cluster {
    /// Its instance number (`NAME-PORT-i`); `None` for a process started without
    /// `--instances`.
    pub instance: Option<u32>,
    /// Instance i listens on the app's PORT + `port_step` * i (0: they share it).
    pub port_step: u32,
    /// The supervisor binds the PORT and passes the socket as fd 3 (`--socket`).
    pub socket: bool,
    /// pm2's `instance_var`: one more variable set to the instance number.
    pub instance_var: Option<String>,
    /// pm2's `increment_var` (other than PORT, which is `port_step`): instance i gets this
    /// variable's value in `env` (0 if unset) plus i.
    pub increment_var: Option<String>,
}

impl Spec {
    /// The app's PORT, the one in its name: instance 0's (`None` without a PORT).
    pub fn base_port(&self) -> Option<u16> {
        let port = self.port?;
        let offset = self.cluster.instance.unwrap_or(0) * self.cluster.port_step;
        Some(u16::try_from(u32::from(port).saturating_sub(offset)).unwrap_or(port))
    }
}

impl Spec {
    /// A spec with default policies for `cmd`, run in `cwd`.
    pub fn new(script: String, cmd: Vec<String>, cwd: String, port: Option<u16>) -> Spec {
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
            health: None,
            watchdog: None,
            cron_restart: None,
            watch: None,
            wanted: true,
            cluster: Cluster::default(),
            discard: Discard::default(),
            file: None,
            app: None,
            depends_on: Vec::new(),
        }
    }

    /// pm2's `increment_var` for instance `i`: the variable and the app's value of it (0
    /// when unset, as pm2 takes it) plus `i`. A value that is not a number is left as it
    /// is (planning refuses it; an edited record is not worth a crash).
    pub fn incremented(&self, i: u32) -> Option<(String, String)> {
        let var = self.cluster.increment_var.as_ref()?;
        let base = self
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.trim());
        let value = match base.map(str::parse::<i64>) {
            None => i64::from(i).to_string(),
            Some(Ok(n)) => n.saturating_add(i64::from(i)).to_string(),
            Some(Err(_)) => base.unwrap_or_default().to_string(),
        };
        Some((var.clone(), value))
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
