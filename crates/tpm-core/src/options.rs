//! The start options, declared once.
//!
//! Every option a process can be started with is one [`OptionDef`] in [`START_OPTIONS`]: its
//! flag, its field name in ecosystem files (pm2's name where pm2 has one), the other names
//! pm2 files use for it, its kind, its default and its help. The CLI builds its flags from
//! this table, the Nushell plugin its signature, and ecosystem files, piped records and
//! `tpm dump` their fields; [`Options`] holds the values given, typed by kind, and
//! `ops::plan` turns them into a [`Spec`](crate::spec::Spec).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::policy;
use crate::rotation;

/// Identifies a start option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opt {
    Name,
    Port,
    NoPort,
    Cwd,
    Env,
    Interpreter,
    InterpreterArgs,
    Args,
    Autorestart,
    MaxRestarts,
    RestartDelay,
    KillTimeout,
    MinUptime,
    StopSignal,
    StopExitCodes,
    ReadyLine,
    ReadyHttp,
    ReadyCheck,
    Wait,
    WaitTimeout,
    MaxMemory,
    CronRestart,
    Watch,
    WatchIgnore,
    MaxLogSize,
    LogKeep,
    Instances,
    PortStep,
    Socket,
    LogRotate,
    LogMaxAge,
    LogMaxTotal,
    LogCompress,
    InstanceVar,
    IncrementVar,
    OutFile,
    ErrorFile,
    ReadyNotify,
    Watchdog,
    HealthHttp,
    HealthTcp,
    HealthCmd,
    HealthInterval,
    HealthTimeout,
    HealthRetries,
    HealthStartPeriod,
    HealthAction,
}

/// What values an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// A TCP port, 1-65535.
    Port,
    /// A folder; relative to the caller's folder (or the ecosystem file's).
    Dir,
    /// Environment variables: `KEY=VALUE` (repeatable) on a command line, an object in a
    /// file. On a command line a bare `NAME` picks an ecosystem file's `env_NAME`.
    Env,
    /// On or off. A flag named `no-...` turns it off.
    Bool,
    /// A whole number, 0 or more.
    Count,
    /// A duration: milliseconds as a number, or text with a unit (`500ms`, `2s`, `1m`).
    Millis,
    /// A size in bytes: a number, or text with a binary unit (`512K`, `10M`, `1G`).
    Size,
    /// A list of words: an array, or one string split as a shell would.
    Words,
    /// How many instances: a whole number from 1, `max` or `0` (one per core), or `-N` (one
    /// per core but N, at least one), as pm2 reads them. See [`INSTANCES_TEXT`].
    Instances,
    /// A signal: a name (`TERM`, `SIGQUIT`, `int`) or a number.
    Signal,
    /// Exit codes (0-255): a list, a number, or text (`0,143`).
    Codes,
    /// Paths or patterns: repeatable on a command line (one each), a list (or one string)
    /// in a file. For `watch`, a file's `true` is the default path and `false` none.
    Paths,
}

/// A default, as the user sees it and as the spec gets it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    /// No fixed default: the help text says what happens.
    None,
    Bool(bool),
    Count(u32),
    Millis(Duration),
    Size(u64),
}

/// The values a numeric option accepts, both ends included, in its unit: a count,
/// milliseconds, or bytes. Checked wherever a value is read (command line, plugin, file), so an
/// absurd value is a usage error (exit 64) before anything runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: u64,
    pub max: u64,
}

/// One start option.
#[derive(Debug)]
pub struct OptionDef {
    pub id: Opt,
    /// The long flag of the CLI and the plugin (`max-restarts`); `None` for a field that
    /// only files have (the CLI takes `args` after `--`).
    pub flag: Option<&'static str>,
    pub short: Option<char>,
    /// The field in ecosystem files, piped records and `tpm dump`.
    pub field: &'static str,
    /// Other names pm2 files use for the same field.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub default: Default,
    /// The placeholder in usage lines (`MS`, `SIZE`).
    pub value_name: &'static str,
    /// The largest value a numeric option (`Count`, `Millis`, `Size`) accepts, in its unit
    /// (the smallest is 0); `None` for the others. Every numeric option has one (a test
    /// checks), documented in the README.
    pub max: Option<u64>,
    pub help: &'static str,
}

/// A duration as the milliseconds a row's `max` is in.
const fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Where each option's row is in [`START_OPTIONS`], by the option's discriminant, worked out
/// when tpm is compiled: a row missing in the middle of the options or given twice fails
/// the build, so that [`Opt::def`] can never answer with another option's row.
const ROWS: [usize; START_OPTIONS.len()] = {
    let mut rows = [usize::MAX; START_OPTIONS.len()];
    let mut i = 0;
    while i < START_OPTIONS.len() {
        let id = START_OPTIONS[i].id as usize;
        assert!(
            id < START_OPTIONS.len(),
            "an option without a row in START_OPTIONS"
        );
        assert!(
            rows[id] == usize::MAX,
            "an option with two rows in START_OPTIONS"
        );
        rows[id] = i;
        i += 1;
    }
    rows
};

/// Every start option. The order is the order of `--help` and of `tpm dump`'s fields.
pub const START_OPTIONS: &[OptionDef] = &[
    OptionDef {
        id: Opt::Name,
        flag: Some("name"),
        short: Some('n'),
        field: "name",
        aliases: &[],
        kind: Kind::Text,
        default: Default::None,
        value_name: "NAME",
        max: None,
        help: "Custom name, used instead of the script's base name (NAME-PORT)",
    },
    OptionDef {
        id: Opt::Port,
        flag: Some("port"),
        short: Some('p'),
        field: "port",
        aliases: &[],
        kind: Kind::Port,
        default: Default::None,
        value_name: "PORT",
        max: None,
        help: "The PORT (otherwise: the command's own --port/-p/number argument, $PORT, or a PORT= line in the script)",
    },
    OptionDef {
        id: Opt::NoPort,
        flag: Some("no-port"),
        short: None,
        field: "no_port",
        aliases: &[],
        kind: Kind::Bool,
        default: Default::Bool(false),
        value_name: "BOOL",
        max: None,
        help: "It listens on no PORT (a worker, a bot, a cron job): named by its name alone, instances NAME-0, NAME-1 ... (in a file: port: false or null, or no PORT anywhere)",
    },
    OptionDef {
        id: Opt::Cwd,
        flag: Some("cwd"),
        short: None,
        field: "cwd",
        aliases: &[],
        kind: Kind::Dir,
        default: Default::None,
        value_name: "DIR",
        max: None,
        help: "Working directory of the process (default: the current directory; in a file, the file's folder)",
    },
    OptionDef {
        id: Opt::Env,
        flag: Some("env"),
        short: Some('e'),
        field: "env",
        aliases: &[],
        kind: Kind::Env,
        default: Default::None,
        value_name: "KEY=VALUE",
        max: None,
        help: "Set an environment variable for the process (repeatable); with an ecosystem file, a NAME without '=' also applies the file's env_NAME",
    },
    OptionDef {
        id: Opt::Interpreter,
        flag: Some("interpreter"),
        short: None,
        field: "interpreter",
        aliases: &["exec_interpreter"],
        kind: Kind::Text,
        default: Default::None,
        value_name: "PROGRAM",
        max: None,
        help: "Program that runs the script (default: bash for .sh, python3 for .py, node for .js; none: run it directly)",
    },
    OptionDef {
        id: Opt::InterpreterArgs,
        flag: Some("interpreter-args"),
        short: None,
        field: "interpreter_args",
        aliases: &["node_args"],
        kind: Kind::Words,
        default: Default::None,
        value_name: "ARGS",
        max: None,
        help: "Arguments for the interpreter, before the script (split like a shell would)",
    },
    OptionDef {
        id: Opt::Args,
        flag: None,
        short: None,
        field: "args",
        aliases: &[],
        kind: Kind::Words,
        default: Default::None,
        value_name: "ARGS",
        max: None,
        help: "Arguments for the script (on the command line: after --)",
    },
    OptionDef {
        id: Opt::Autorestart,
        flag: Some("no-autorestart"),
        short: None,
        field: "autorestart",
        aliases: &[],
        kind: Kind::Bool,
        default: Default::Bool(true),
        value_name: "BOOL",
        max: None,
        help: "Do not restart the process when it exits",
    },
    OptionDef {
        id: Opt::MaxRestarts,
        flag: Some("max-restarts"),
        short: None,
        field: "max_restarts",
        aliases: &[],
        kind: Kind::Count,
        default: Default::Count(policy::DEFAULT_MAX_RESTARTS),
        value_name: "N",
        max: Some(policy::MAX_MAX_RESTARTS as u64),
        help: "Quick exits (within 1s of starting) in a row before the process is marked errored (0: never give up)",
    },
    OptionDef {
        id: Opt::RestartDelay,
        flag: Some("restart-delay"),
        short: None,
        field: "restart_delay",
        // pm2's exponential backoff is what tpm's restart delay always does (it doubles).
        aliases: &["exp_backoff_restart_delay"],
        kind: Kind::Millis,
        default: Default::Millis(policy::DEFAULT_RESTART_DELAY),
        value_name: "MS",
        max: Some(ms(policy::MAX_RESTART_DELAY)),
        help: "First restart delay (milliseconds, or 500ms, 2s); doubles on each restart, up to 15s",
    },
    OptionDef {
        id: Opt::KillTimeout,
        flag: Some("kill-timeout"),
        short: None,
        field: "kill_timeout",
        aliases: &[],
        kind: Kind::Millis,
        default: Default::Millis(policy::DEFAULT_KILL_TIMEOUT),
        value_name: "MS",
        max: Some(ms(policy::MAX_KILL_TIMEOUT)),
        help: "Time between the stop signal and KILL when stopping (milliseconds, or 500ms, 2s)",
    },
    OptionDef {
        id: Opt::MinUptime,
        flag: Some("min-uptime"),
        short: None,
        field: "min_uptime",
        aliases: &[],
        kind: Kind::Millis,
        default: Default::Millis(policy::DEFAULT_MIN_UPTIME),
        value_name: "MS",
        max: Some(ms(policy::MAX_MIN_UPTIME)),
        help: "A run shorter than this is a quick exit; quick exits in a row for 3 times this long make the process errored (milliseconds, or 500ms, 2s)",
    },
    OptionDef {
        id: Opt::StopSignal,
        flag: Some("stop-signal"),
        short: None,
        field: "stop_signal",
        aliases: &["kill_signal"],
        kind: Kind::Signal,
        default: Default::None,
        value_name: "SIGNAL",
        max: None,
        help: "Signal that asks the process to stop (default: TERM; nginx wants QUIT, many apps INT)",
    },
    OptionDef {
        id: Opt::StopExitCodes,
        flag: Some("stop-exit-codes"),
        short: None,
        field: "stop_exit_codes",
        aliases: &[],
        kind: Kind::Codes,
        default: Default::None,
        value_name: "CODES",
        max: None,
        help: "Exit codes that are a normal end, not restarted (0,143)",
    },
    OptionDef {
        id: Opt::ReadyLine,
        flag: Some("ready-line"),
        short: None,
        field: "ready_line",
        aliases: &[],
        kind: Kind::Text,
        default: Default::None,
        value_name: "REGEX",
        max: None,
        help: "Ready once a line of its output matches this regular expression (default: once its tree listens on the PORT)",
    },
    OptionDef {
        id: Opt::ReadyHttp,
        flag: Some("ready-http"),
        short: None,
        field: "ready_http",
        aliases: &[],
        kind: Kind::Text,
        default: Default::None,
        value_name: "PATH",
        max: None,
        help: "Ready once http://127.0.0.1:PORT/PATH answers 2xx",
    },
    OptionDef {
        id: Opt::ReadyCheck,
        flag: Some("no-ready-check"),
        short: None,
        field: "ready_check",
        aliases: &[],
        kind: Kind::Bool,
        default: Default::Bool(true),
        value_name: "BOOL",
        max: None,
        help: "No readiness check: ready as soon as it runs",
    },
    OptionDef {
        id: Opt::Wait,
        flag: Some("wait"),
        short: None,
        field: "wait_ready",
        aliases: &[],
        kind: Kind::Bool,
        default: Default::Bool(false),
        value_name: "BOOL",
        max: None,
        help: "Return once the process is ready; fail (exit 1, with its last log lines) if it exits or is not ready in time; its restarts wait too",
    },
    OptionDef {
        id: Opt::WaitTimeout,
        flag: Some("wait-timeout"),
        short: None,
        field: "listen_timeout",
        aliases: &[],
        kind: Kind::Millis,
        default: Default::Millis(crate::readiness::DEFAULT_WAIT_TIMEOUT),
        value_name: "MS",
        max: Some(ms(crate::readiness::MAX_WAIT_TIMEOUT)),
        help: "How long --wait waits for the process to be ready (milliseconds, or 500ms, 2s, 1m)",
    },
    OptionDef {
        id: Opt::MaxMemory,
        flag: Some("max-memory"),
        short: None,
        field: "max_memory_restart",
        aliases: &[],
        kind: Kind::Size,
        default: Default::Size(0),
        value_name: "SIZE",
        max: Some(policy::MAX_MAX_MEMORY),
        help: "Restart it when its tree's resident memory stays above this (50M, 1G; 0: never)",
    },
    OptionDef {
        id: Opt::CronRestart,
        flag: Some("cron-restart"),
        short: None,
        field: "cron_restart",
        aliases: &["cron"],
        kind: Kind::Text,
        default: Default::None,
        value_name: "EXPR",
        max: None,
        help: "Restart it on this schedule (cron, local time: \"0 4 * * *\" is 04:00 daily; a sixth field in front is seconds, as pm2 takes)",
    },
    OptionDef {
        id: Opt::Watch,
        flag: Some("watch"),
        short: None,
        field: "watch",
        aliases: &[],
        kind: Kind::Paths,
        default: Default::None,
        value_name: "PATH",
        max: None,
        help: "Restart it when files under PATH change (without PATH: its cwd; a PATH is joined with '=' and may be repeated); .git, node_modules and tpm's own files are left out",
    },
    OptionDef {
        id: Opt::WatchIgnore,
        flag: Some("watch-ignore"),
        short: None,
        field: "ignore_watch",
        aliases: &[],
        kind: Kind::Paths,
        default: Default::None,
        value_name: "GLOB",
        max: None,
        help: "With --watch: leave out files and folders matching GLOB (*.log, tmp; repeatable)",
    },
    OptionDef {
        id: Opt::MaxLogSize,
        flag: Some("max-log-size"),
        short: None,
        field: "max_log_size",
        aliases: &[],
        kind: Kind::Size,
        default: Default::Size(rotation::DEFAULT_MAX_SIZE),
        value_name: "SIZE",
        max: Some(rotation::MAX_SIZE),
        help: "Rotate a log file when it would grow past this size (10M, 512K, bytes; 0: never)",
    },
    OptionDef {
        id: Opt::LogKeep,
        flag: Some("log-keep"),
        short: None,
        field: "log_keep",
        aliases: &[],
        kind: Kind::Count,
        default: Default::Count(rotation::DEFAULT_KEEP),
        value_name: "N",
        max: Some(rotation::MAX_KEEP as u64),
        help: "Rotated log files kept per stream (NAME.out.1 is the newest)",
    },
    OptionDef {
        id: Opt::Instances,
        flag: Some("instances"),
        short: Some('i'),
        field: "instances",
        aliases: &[],
        kind: Kind::Instances,
        default: Default::None,
        value_name: "N|max",
        max: None,
        help: "Run N copies, named NAME-PORT-0 ... NAME-PORT-(N-1), each with TPM_INSTANCE and NODE_APP_INSTANCE set: 1 to 256; max or 0: one per core; -N: one per core but N (at least one), as pm2",
    },
    OptionDef {
        id: Opt::PortStep,
        flag: Some("port-step"),
        short: None,
        field: "port_step",
        aliases: &[],
        kind: Kind::Count,
        default: Default::Count(0),
        value_name: "K",
        max: Some(MAX_PORT_STEP as u64),
        help: "With instances: instance i gets PORT + K*i (pm2's increment_var; 0: all share the PORT)",
    },
    OptionDef {
        id: Opt::Socket,
        flag: Some("socket"),
        short: None,
        field: "socket",
        aliases: &[],
        kind: Kind::Bool,
        default: Default::Bool(false),
        value_name: "BOOL",
        max: None,
        help: "tpm holds the PORT's listening socket and passes it as fd 3 (LISTEN_FDS=1, systemd's protocol): restarts and crashes queue connections instead of refusing them",
    },
    OptionDef {
        id: Opt::LogRotate,
        flag: Some("log-rotate"),
        short: None,
        field: "log_rotate",
        aliases: &[],
        kind: Kind::Text,
        default: Default::None,
        value_name: "WHEN",
        max: None,
        help: "Also rotate the logs at each turn of the local hour or day: hourly, daily or none (default: by size only)",
    },
    OptionDef {
        id: Opt::LogMaxAge,
        flag: Some("log-max-age"),
        short: None,
        field: "log_max_age",
        aliases: &[],
        kind: Kind::Millis,
        default: Default::Millis(Duration::ZERO),
        value_name: "AGE",
        max: Some(ms(rotation::MAX_AGE)),
        help: "Remove rotated log files last written longer ago than this (7d, 12h; 0: keep them)",
    },
    OptionDef {
        id: Opt::LogMaxTotal,
        flag: Some("log-max-total"),
        short: None,
        field: "log_max_total",
        aliases: &[],
        kind: Kind::Size,
        default: Default::Size(0),
        value_name: "SIZE",
        max: Some(rotation::MAX_SIZE),
        help: "All of the process's log files together stay under this size, the oldest removed first (0: no limit but max-log-size x (log-keep + 1) per stream)",
    },
    OptionDef {
        id: Opt::LogCompress,
        flag: Some("no-log-compress"),
        short: None,
        field: "log_compress",
        aliases: &[],
        kind: Kind::Bool,
        default: Default::Bool(rotation::DEFAULT_COMPRESS),
        value_name: "BOOL",
        max: None,
        help: "Keep rotated log files plain (by default NAME.out.2 on are gzip-compressed: NAME.out.2.gz)",
    },
    OptionDef {
        id: Opt::InstanceVar,
        flag: None,
        short: None,
        field: "instance_var",
        aliases: &[],
        kind: Kind::Text,
        default: Default::None,
        value_name: "VAR",
        max: None,
        help: "With instances: a variable that also carries the instance number (besides TPM_INSTANCE and NODE_APP_INSTANCE)",
    },
    OptionDef {
        id: Opt::IncrementVar,
        flag: None,
        short: None,
        field: "increment_var",
        aliases: &[],
        kind: Kind::Text,
        default: Default::None,
        value_name: "VAR",
        max: None,
        help: "With instances: instance i gets this variable's value plus i (PORT: port_step 1)",
    },
    OptionDef {
        id: Opt::OutFile,
        flag: None,
        short: None,
        field: "out_file",
        aliases: &["output", "out", "out_log"],
        kind: Kind::Text,
        default: Default::None,
        value_name: "PATH",
        max: None,
        help: "pm2's file for the output: /dev/null (or NULL) throws it away; tpm keeps any other in its own log file",
    },
    OptionDef {
        id: Opt::ErrorFile,
        flag: None,
        short: None,
        field: "error_file",
        aliases: &["error", "err", "err_file", "err_log"],
        kind: Kind::Text,
        default: Default::None,
        value_name: "PATH",
        max: None,
        help: "pm2's file for the errors: /dev/null (or NULL) throws them away; tpm keeps any other in its own log file",
    },
    OptionDef {
        id: Opt::ReadyNotify,
        flag: Some("ready-notify"),
        short: None,
        field: "ready_notify",
        aliases: &[],
        kind: Kind::Bool,
        default: Default::Bool(false),
        value_name: "BOOL",
        max: None,
        help: "Ready once it sends READY=1 on NOTIFY_SOCKET (systemd's notify protocol, Type=notify)",
    },
    OptionDef {
        id: Opt::Watchdog,
        flag: Some("watchdog"),
        short: None,
        field: "watchdog",
        aliases: &["watchdog_sec"],
        kind: Kind::Millis,
        default: Default::None,
        value_name: "MS",
        max: Some(ms(crate::health::MAX_INTERVAL)),
        help: "Restart it when its WATCHDOG=1 pings on NOTIFY_SOCKET stop for this long (WATCHDOG_USEC is set; 30s)",
    },
    OptionDef {
        id: Opt::HealthHttp,
        flag: Some("health-http"),
        short: None,
        field: "health_http",
        aliases: &[],
        kind: Kind::Text,
        default: Default::None,
        value_name: "PATH",
        max: None,
        help: "Liveness check for its whole life: http://127.0.0.1:PORT/PATH answers 2xx",
    },
    OptionDef {
        id: Opt::HealthTcp,
        flag: Some("health-tcp"),
        short: None,
        field: "health_tcp",
        aliases: &[],
        kind: Kind::Bool,
        default: Default::Bool(false),
        value_name: "BOOL",
        max: None,
        help: "Liveness check for its whole life: 127.0.0.1:PORT accepts a connection",
    },
    OptionDef {
        id: Opt::HealthCmd,
        flag: Some("health-cmd"),
        short: None,
        field: "health_cmd",
        aliases: &[],
        kind: Kind::Text,
        default: Default::None,
        value_name: "CMD",
        max: None,
        help: "Liveness check for its whole life: this command (sh -c, in its folder and environment) exits 0",
    },
    OptionDef {
        id: Opt::HealthInterval,
        flag: Some("health-interval"),
        short: None,
        field: "health_interval",
        aliases: &[],
        kind: Kind::Millis,
        default: Default::Millis(crate::health::DEFAULT_INTERVAL),
        value_name: "MS",
        max: Some(ms(crate::health::MAX_INTERVAL)),
        help: "How often the liveness check runs",
    },
    OptionDef {
        id: Opt::HealthTimeout,
        flag: Some("health-timeout"),
        short: None,
        field: "health_timeout",
        aliases: &[],
        kind: Kind::Millis,
        default: Default::Millis(crate::health::DEFAULT_TIMEOUT),
        value_name: "MS",
        max: Some(ms(crate::health::MAX_TIMEOUT)),
        help: "How long one liveness check may take before it counts as failed",
    },
    OptionDef {
        id: Opt::HealthRetries,
        flag: Some("health-retries"),
        short: None,
        field: "health_retries",
        aliases: &[],
        kind: Kind::Count,
        default: Default::Count(crate::health::DEFAULT_RETRIES),
        value_name: "N",
        max: Some(crate::health::MAX_RETRIES as u64),
        help: "Failed liveness checks in a row that make it unhealthy",
    },
    OptionDef {
        id: Opt::HealthStartPeriod,
        flag: Some("health-start-period"),
        short: None,
        field: "health_start_period",
        aliases: &[],
        kind: Kind::Millis,
        default: Default::Millis(std::time::Duration::ZERO),
        value_name: "MS",
        max: Some(ms(crate::health::MAX_INTERVAL)),
        help: "After each start, failed liveness checks in this window do not count",
    },
    OptionDef {
        id: Opt::HealthAction,
        flag: Some("health-action"),
        short: None,
        field: "health_action",
        aliases: &[],
        kind: Kind::Text,
        default: Default::None,
        value_name: "ACTION",
        max: None,
        help: "What an unhealthy process gets: restart (the default) or mark (only shown)",
    },
];

/// The most instances one app may have.
pub const MAX_INSTANCES: u32 = 256;

/// What `--instances` takes, for errors and help (pm2's meanings of `0` and `-N`).
pub const INSTANCES_TEXT: &str = "1 to 256; max or 0: one per core; -N: one per core but N";
/// The largest `--port-step`.
pub const MAX_PORT_STEP: u32 = 1000;

impl Opt {
    /// This option's definition.
    pub fn def(self) -> &'static OptionDef {
        // Every `Opt` has exactly one row (checked as `ROWS` is built, and by a test for
        // the last option).
        &START_OPTIONS[ROWS[self as usize]]
    }
}

impl OptionDef {
    /// The accepted values of a numeric option (`Count`, `Millis`, `Size`); `None` for the
    /// others. Every numeric option has one (a test checks), documented in the README.
    pub fn range(&self) -> Option<Range> {
        self.max.map(|max| Range { min: 0, max })
    }

    /// The range as the user reads it: `0 to 600000 ms (10 min)`, `0 to 1G`.
    pub fn range_text(&self) -> Option<String> {
        let r = self.range()?;
        Some(match self.kind {
            Kind::Millis => format!("{} to {} ms ({})", r.min, r.max, human_millis(r.max)),
            Kind::Size => format!("{} to {}", format_size(r.min), format_size(r.max)),
            _ => format!("{} to {}", r.min, r.max),
        })
    }

    /// Checks a numeric value (in the option's unit) against [`OptionDef::range`].
    fn in_range(&self, raw: &str, n: u64) -> Result<u64, String> {
        match (self.range(), self.range_text()) {
            (Some(r), Some(text)) if n < r.min || n > r.max => {
                Err(format!("{} is out of range ({text})", raw.trim()))
            }
            _ => Ok(n),
        }
    }

    /// The definition whose flag is `flag` (without dashes).
    pub fn by_flag(flag: &str) -> Option<&'static OptionDef> {
        START_OPTIONS.iter().find(|d| d.flag == Some(flag))
    }

    /// The definition a file field names (its field name or a pm2 alias).
    pub fn by_field(field: &str) -> Option<&'static OptionDef> {
        START_OPTIONS
            .iter()
            .find(|d| d.field == field || d.aliases.contains(&field))
    }

    /// The default as text for help screens (`100ms`, `10M`), if there is one.
    pub fn default_text(&self) -> Option<String> {
        match self.default {
            Default::None => None,
            Default::Bool(b) => Some(b.to_string()),
            Default::Count(n) => Some(n.to_string()),
            Default::Millis(d) => Some(d.as_millis().to_string()),
            Default::Size(n) => Some(format_size(n)),
        }
    }

    /// Whether the flag is a switch (takes no value).
    pub fn is_switch(&self) -> bool {
        self.kind == Kind::Bool
    }

    /// The value a switch flag sets: `--no-autorestart` sets `autorestart` to false (a
    /// flag `no-FIELD` turns FIELD off); `--wait` and `--no-port` (field `no_port`) set
    /// theirs to true.
    pub fn switch_value(&self) -> bool {
        self.flag
            .and_then(|f| f.strip_prefix("no-"))
            .is_none_or(|rest| rest.replace('-', "_") != self.field)
    }

    /// Parses one command-line value of this option.
    pub fn parse_text(&self, raw: &str) -> Result<Value, String> {
        let bad = |what: &str| format!("{raw:?} is not {what}");
        Ok(match self.kind {
            Kind::Text => {
                if raw.is_empty() {
                    return Err("the value is empty".into());
                }
                if self.id == Opt::LogRotate {
                    rotation::Every::parse(raw)?;
                }
                if matches!(self.id, Opt::InstanceVar | Opt::IncrementVar) {
                    check_env_key(raw)?;
                }
                if self.id == Opt::HealthAction {
                    crate::health::HealthAction::parse(raw)?;
                }
                Value::Text(raw.to_string())
            }
            Kind::Port => {
                Value::Port(crate::port::parse_port(raw).ok_or_else(|| bad("a port (1-65535)"))?)
            }
            Kind::Dir => Value::Dir(PathBuf::from(raw)),
            Kind::Env => match raw.split_once('=') {
                Some((k, v)) => {
                    check_env_key(k)?;
                    Value::Env(vec![EnvItem::Var(k.to_string(), v.to_string())])
                }
                None => {
                    check_env_key(raw)?;
                    Value::Env(vec![EnvItem::Named(raw.to_string())])
                }
            },
            Kind::Bool => match raw {
                "true" | "yes" | "on" | "1" => Value::Bool(true),
                "false" | "no" | "off" | "0" => Value::Bool(false),
                _ => return Err(bad("true or false")),
            },
            Kind::Count => {
                let digits = raw.trim();
                let n: u64 = match digits.parse() {
                    Ok(n) => n,
                    // More digits than u64 holds: a number, too large for any range.
                    Err(_) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                        u64::MAX
                    }
                    Err(_) => return Err(bad("a whole number (0 or more)")),
                };
                let n = self.in_range(raw, n)?;
                Value::Count(u32::try_from(n).map_err(|_| bad("a whole number (0 or more)"))?)
            }
            Kind::Millis => {
                let ms = millis_f64(raw)
                    .ok_or_else(|| bad("a duration (milliseconds, or 500ms, 2s, 1m)"))?;
                // Anything past u64 is out of any range: checked as u64::MAX.
                let whole = if ms >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    ms.ceil() as u64
                };
                self.in_range(raw, whole)?;
                Value::Millis(Duration::from_micros((ms * 1e3).round() as u64))
            }
            Kind::Size => {
                let n = rotation::parse_size(raw)
                    .or_else(|| too_large_size(raw))
                    .ok_or_else(|| bad("a size (such as 10M, 512K or 4096)"))?;
                Value::Size(self.in_range(raw, n)?)
            }
            Kind::Words => Value::Words(
                shell_words::split(raw).map_err(|e| format!("cannot split {raw:?}: {e}"))?,
            ),
            Kind::Instances => {
                let raw = raw.trim();
                let n = if raw == "max" {
                    0
                } else {
                    raw.parse::<i64>()
                        .map_err(|_| bad(&format!("a number of instances ({INSTANCES_TEXT})")))?
                };
                if n.unsigned_abs() > u64::from(MAX_INSTANCES) {
                    return Err(format!("{raw} is out of range ({INSTANCES_TEXT})"));
                }
                match u32::try_from(n) {
                    Ok(0) => Value::PerCore(0),
                    Ok(n) => Value::Count(n),
                    // -N: checked above to be at most MAX_INSTANCES.
                    Err(_) => {
                        Value::PerCore(u32::try_from(n.unsigned_abs()).unwrap_or(MAX_INSTANCES))
                    }
                }
            }
            Kind::Signal => Value::Signal(policy::parse_signal(raw)?),
            // `--watch` alone: the default path.
            Kind::Paths if raw.is_empty() => Value::Paths(Vec::new()),
            Kind::Paths => Value::Paths(vec![raw.to_string()]),
            Kind::Codes => Value::Codes(policy::ExitCodes::parse(raw)?),
        })
    }

    /// Reads this option's value from a file field (JSON, or YAML/TOML/JS converted to it).
    pub fn parse_json(&self, json: &serde_json::Value) -> Result<Value, String> {
        use serde_json::Value as J;
        let kind_name = match self.kind {
            Kind::Text | Kind::Dir => "a string",
            Kind::Port => "a port number, or false for none",
            Kind::Env => "an object of variables",
            Kind::Bool => "true or false",
            Kind::Count => "a whole number",
            Kind::Millis => "milliseconds (a number) or a duration such as \"2s\"",
            Kind::Size => "bytes (a number) or a size such as \"10M\"",
            Kind::Words => "a list of strings, or one string",
            Kind::Instances => "a number of instances, \"max\", or -N",
            Kind::Signal => "a signal name such as \"SIGINT\", or its number",
            Kind::Codes => "a list of exit codes, or one",
            Kind::Paths => "a list of paths or patterns, one, or true",
        };
        // A number of the wrong kind (-5, 1.5) is shown as it is: "a number" says nothing.
        let wrong = || match json {
            J::Number(n) => format!("expected {kind_name}, found {n}"),
            _ => format!("expected {kind_name}, found {}", describe(json)),
        };
        match (self.kind, json) {
            (
                Kind::Text
                | Kind::Dir
                | Kind::Port
                | Kind::Count
                | Kind::Millis
                | Kind::Size
                | Kind::Words
                | Kind::Signal
                | Kind::Codes
                | Kind::Instances,
                J::String(s),
            ) => self.parse_text(s),
            (Kind::Signal | Kind::Codes, J::Number(n)) => self.parse_text(&n.to_string()),
            (Kind::Paths, J::String(s)) => Ok(Value::Paths(vec![s.clone()])),
            (Kind::Paths, J::Bool(true)) => Ok(Value::Paths(Vec::new())),
            (Kind::Paths, J::Bool(false)) => Ok(Value::Bool(false)),
            (Kind::Paths, J::Array(items)) => items
                .iter()
                .map(|item| match item {
                    J::String(s) => Ok(s.clone()),
                    other => Err(format!(
                        "expected strings in the list, found {}",
                        describe(other)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Paths),
            (Kind::Codes, J::Array(items)) => {
                let mut codes = policy::ExitCodes::empty();
                for item in items {
                    match item.as_u64().and_then(|c| u8::try_from(c).ok()) {
                        Some(c) => codes.insert(i32::from(c)),
                        None => return Err(format!("{item} is not an exit code (0-255)")),
                    }
                }
                Ok(Value::Codes(codes))
            }
            // As pm2: 0 is one per core, -1 one per core but one.
            (Kind::Instances, J::Number(n)) => match n.as_i64() {
                Some(n) => self.parse_text(&n.to_string()),
                None => Err(format!(
                    "{n} is not a number of instances ({INSTANCES_TEXT})"
                )),
            },
            // pm2 files say "no port" with false or null; `Options::set` reads it as no_port.
            (Kind::Port, J::Bool(false) | J::Null) => Ok(Value::Bool(false)),
            (Kind::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
            (Kind::Bool, J::String(s)) => self.parse_text(s),
            (Kind::Port | Kind::Count | Kind::Millis | Kind::Size, J::Number(n)) => {
                let n = n.as_u64().ok_or_else(wrong)?;
                if self.kind != Kind::Port {
                    self.in_range(&n.to_string(), n)?;
                }
                Ok(match self.kind {
                    Kind::Port => Value::Port(
                        u16::try_from(n)
                            .ok()
                            .filter(|&p| p > 0)
                            .ok_or_else(|| format!("{n} is not a port (1-65535)"))?,
                    ),
                    Kind::Count => {
                        Value::Count(u32::try_from(n).map_err(|_| format!("{n} is too large"))?)
                    }
                    Kind::Millis => Value::Millis(Duration::from_millis(n)),
                    _ => Value::Size(n),
                })
            }
            (Kind::Env, J::Object(map)) => {
                let mut vars = Vec::with_capacity(map.len());
                for (k, v) in map {
                    check_env_key(k)?;
                    let text = match v {
                        J::String(s) => s.clone(),
                        J::Number(n) => n.to_string(),
                        J::Bool(b) => b.to_string(),
                        other => {
                            return Err(format!(
                                "{k}: expected text, a number or a boolean, found {}",
                                describe(other)
                            ))
                        }
                    };
                    if text.contains('\0') {
                        return Err(format!("{k}: a value cannot hold a NUL byte"));
                    }
                    vars.push(EnvItem::Var(k.clone(), text));
                }
                Ok(Value::Env(vars))
            }
            (Kind::Words, J::Array(items)) => items
                .iter()
                .map(|item| match item {
                    J::String(s) => Ok(s.clone()),
                    J::Number(n) => Ok(n.to_string()),
                    J::Bool(b) => Ok(b.to_string()),
                    other => Err(format!(
                        "expected strings in the list, found {}",
                        describe(other)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Words),
            _ => Err(wrong()),
        }
    }
}

/// A value given for an option.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Port(u16),
    Dir(PathBuf),
    Env(Vec<EnvItem>),
    Bool(bool),
    Count(u32),
    /// Instances: one per core but this many (at least one); `0` is pm2's `max`.
    PerCore(u32),
    Millis(Duration),
    Size(u64),
    Words(Vec<String>),
    Signal(nix::sys::signal::Signal),
    Codes(policy::ExitCodes),
    Paths(Vec<String>),
}

impl Value {
    /// The value as a file field (what `tpm dump` writes and `parse_json` reads back).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Text(s) => J::String(s.clone()),
            Value::Dir(p) => J::String(p.to_string_lossy().into_owned()),
            Value::Port(p) => J::from(*p),
            Value::Bool(b) => J::Bool(*b),
            Value::Count(n) => J::from(*n),
            Value::PerCore(0) => J::String("max".into()),
            Value::PerCore(n) => J::from(-i64::from(*n)),
            Value::Millis(d) => J::from(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            Value::Size(n) => J::from(*n),
            Value::Words(w) => J::Array(w.iter().cloned().map(J::String).collect()),
            Value::Signal(sig) => J::String(sig.as_str().to_string()),
            Value::Codes(codes) => J::Array(codes.iter().map(J::from).collect()),
            Value::Paths(p) if p.is_empty() => J::Bool(true),
            Value::Paths(p) => J::Array(p.iter().cloned().map(J::String).collect()),
            Value::Env(items) => J::Object(
                items
                    .iter()
                    .filter_map(|i| match i {
                        EnvItem::Var(k, v) => Some((k.clone(), J::String(v.clone()))),
                        EnvItem::Named(_) => None,
                    })
                    .collect(),
            ),
        }
    }
}

/// One `--env` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvItem {
    /// `KEY=VALUE`.
    Var(String, String),
    /// `NAME`: apply an ecosystem file's `env_NAME`.
    Named(String),
}

/// The options given for one start, each at most once (`env` accumulates).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    values: Vec<(Opt, Value)>,
}

impl Options {
    pub fn new() -> Options {
        Options::default()
    }

    /// Sets an option; `env` items and paths add to those given before, the others replace.
    /// A file's `port: false` (or `null`) is `no_port`.
    pub fn set(&mut self, opt: Opt, value: Value) {
        if opt == Opt::Port && value == Value::Bool(false) {
            self.remove(Opt::Port);
            return self.set(Opt::NoPort, Value::Bool(true));
        }
        if let Value::Paths(more) = &value {
            if let Some((_, Value::Paths(items))) = self.values.iter_mut().find(|(o, _)| *o == opt)
            {
                items.extend(more.iter().cloned());
                return;
            }
        }
        if let (Opt::Env, Value::Env(more)) = (opt, &value) {
            if let Some((_, Value::Env(items))) =
                self.values.iter_mut().find(|(o, _)| *o == Opt::Env)
            {
                items.extend(more.iter().cloned());
                return;
            }
        }
        match self.values.iter_mut().find(|(o, _)| *o == opt) {
            Some(slot) => slot.1 = value,
            None => self.values.push((opt, value)),
        }
    }

    pub fn get(&self, opt: Opt) -> Option<&Value> {
        self.values.iter().find(|(o, _)| *o == opt).map(|(_, v)| v)
    }

    pub fn remove(&mut self, opt: Opt) -> Option<Value> {
        let i = self.values.iter().position(|(o, _)| *o == opt)?;
        Some(self.values.remove(i).1)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The options given, in the order they were set.
    pub fn iter(&self) -> impl Iterator<Item = (Opt, &Value)> {
        self.values.iter().map(|(o, v)| (*o, v))
    }

    pub fn text(&self, opt: Opt) -> Option<&str> {
        match self.get(opt)? {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn port(&self) -> Option<u16> {
        match self.get(Opt::Port)? {
            Value::Port(p) => Some(*p),
            _ => None,
        }
    }

    /// `--no-port` (a file's `port: false`): it listens on no PORT.
    pub fn no_port(&self) -> bool {
        self.bool(Opt::NoPort)
    }

    pub fn dir(&self, opt: Opt) -> Option<&std::path::Path> {
        match self.get(opt)? {
            Value::Dir(p) => Some(p),
            _ => None,
        }
    }

    pub fn words(&self, opt: Opt) -> Option<&[String]> {
        match self.get(opt)? {
            Value::Words(w) => Some(w),
            _ => None,
        }
    }

    /// The `KEY=VALUE` pairs of `env`, in order (a later one of the same key wins when
    /// applied).
    pub fn env_vars(&self) -> Vec<(String, String)> {
        self.env_items()
            .filter_map(|i| match i {
                EnvItem::Var(k, v) => Some((k.clone(), v.clone())),
                EnvItem::Named(_) => None,
            })
            .collect()
    }

    /// The `env` names given (`--env production`).
    pub fn env_names(&self) -> Vec<String> {
        self.env_items()
            .filter_map(|i| match i {
                EnvItem::Named(n) => Some(n.clone()),
                EnvItem::Var(..) => None,
            })
            .collect()
    }

    fn env_items(&self) -> impl Iterator<Item = &EnvItem> {
        match self.get(Opt::Env) {
            Some(Value::Env(items)) => items.iter(),
            _ => [].iter(),
        }
    }

    /// A bool option, or its default.
    pub fn bool(&self, opt: Opt) -> bool {
        match (self.get(opt), opt.def().default) {
            (Some(Value::Bool(b)), _) => *b,
            (_, Default::Bool(b)) => b,
            _ => false,
        }
    }

    /// A count option, or its default.
    pub fn count(&self, opt: Opt) -> u32 {
        match (self.get(opt), opt.def().default) {
            (Some(Value::Count(n)), _) => *n,
            (_, Default::Count(n)) => n,
            _ => 0,
        }
    }

    /// A duration option, or its default.
    pub fn millis(&self, opt: Opt) -> Duration {
        match (self.get(opt), opt.def().default) {
            (Some(Value::Millis(d)), _) => *d,
            (_, Default::Millis(d)) => d,
            _ => Duration::ZERO,
        }
    }

    /// How many instances were asked for: `None` without `--instances` (one process, named
    /// without an instance number), else 1 to [`MAX_INSTANCES`] (`max` and `0` are one per
    /// core, `-N` one per core but N, at least one: pm2's reading).
    pub fn instances(&self) -> Option<u32> {
        match self.get(Opt::Instances)? {
            Value::PerCore(fewer) => Some(cores().saturating_sub(*fewer).clamp(1, MAX_INSTANCES)),
            Value::Count(n) => Some(*n),
            _ => None,
        }
    }

    /// A size option, or its default.
    pub fn size(&self, opt: Opt) -> u64 {
        match (self.get(opt), opt.def().default) {
            (Some(Value::Size(n)), _) => *n,
            (_, Default::Size(n)) => n,
            _ => 0,
        }
    }

    /// The stop signal given, or the policy's default.
    pub fn signal(&self, opt: Opt) -> nix::sys::signal::Signal {
        match self.get(opt) {
            Some(Value::Signal(sig)) => *sig,
            _ => policy::DEFAULT_STOP_SIGNAL,
        }
    }

    /// The paths or patterns given (`None`: not given, or turned off with `false`).
    pub fn paths(&self, opt: Opt) -> Option<&[String]> {
        match self.get(opt)? {
            Value::Paths(p) => Some(p),
            _ => None,
        }
    }

    /// The exit codes given (none by default).
    pub fn codes(&self, opt: Opt) -> policy::ExitCodes {
        match self.get(opt) {
            Some(Value::Codes(codes)) => *codes,
            _ => policy::ExitCodes::empty(),
        }
    }
}

impl fmt::Display for Opt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.def().field)
    }
}

/// The cores this machine has (pm2's `max` instances), at least one.
fn cores() -> u32 {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .try_into()
        .unwrap_or(1)
}

/// An environment variable name that can be stored and passed on.
fn check_env_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.contains(['=', '\0']) {
        return Err(format!("{key:?} cannot be a variable name"));
    }
    Ok(())
}

/// `500`, `500ms`, `1.5s`, `2m`, `1h`: a duration; a bare number is milliseconds.
pub fn parse_millis(raw: &str) -> Option<Duration> {
    let ms = millis_f64(raw)?;
    (ms < 1e15).then(|| Duration::from_micros((ms * 1e3).round() as u64))
}

/// [`parse_millis`] as a number of milliseconds, however large.
fn millis_f64(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "" | "ms" => 1.0,
        "s" | "sec" => 1e3,
        "m" | "min" => 60e3,
        "h" | "hr" => 3600e3,
        "d" | "day" | "days" => 86_400e3,
        _ => return None,
    };
    let ms = number * scale;
    (ms.is_finite() && ms >= 0.0).then_some(ms)
}

/// A size whose digits overflow u64 (`99999999999999999999G`): too large, not malformed.
fn too_large_size(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let digits = raw.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    // A size's unit only (`50X` is no size at all, however small).
    let unit = raw[digits.len()..].to_ascii_lowercase();
    let known = matches!(
        unit.trim_end_matches("ib").trim_end_matches('b'),
        "" | "k" | "m" | "g"
    );
    (known && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(u64::MAX)
}

/// `600000` ms → `10 min`, for range texts.
fn human_millis(ms: u64) -> String {
    match ms {
        m if m >= 86_400_000 && m.is_multiple_of(86_400_000) => format!("{} d", m / 86_400_000),
        m if m >= 3_600_000 && m.is_multiple_of(3_600_000) => format!("{} h", m / 3_600_000),
        m if m >= 60_000 && m.is_multiple_of(60_000) => format!("{} min", m / 60_000),
        m => format!("{} s", m as f64 / 1000.0),
    }
}

/// `10485760` → `10M`: the shortest exact form, for help screens and dumps.
pub fn format_size(bytes: u64) -> String {
    for (unit, scale) in [("G", 1u64 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if bytes >= scale && bytes.is_multiple_of(scale) {
            return format!("{}{unit}", bytes / scale);
        }
    }
    bytes.to_string()
}

/// A JSON value's kind, as messages name it (`a number`, `an object`).
pub(crate) fn describe(json: &serde_json::Value) -> &'static str {
    use serde_json::Value as J;
    match json {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "a list",
        J::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_option_has_one_row_and_unique_names() {
        let all = [
            Opt::Name,
            Opt::Port,
            Opt::NoPort,
            Opt::Cwd,
            Opt::Env,
            Opt::Interpreter,
            Opt::InterpreterArgs,
            Opt::Args,
            Opt::Autorestart,
            Opt::MaxRestarts,
            Opt::RestartDelay,
            Opt::KillTimeout,
            Opt::MinUptime,
            Opt::StopSignal,
            Opt::StopExitCodes,
            Opt::ReadyLine,
            Opt::ReadyHttp,
            Opt::ReadyCheck,
            Opt::Wait,
            Opt::WaitTimeout,
            Opt::MaxMemory,
            Opt::CronRestart,
            Opt::Watch,
            Opt::WatchIgnore,
            Opt::MaxLogSize,
            Opt::LogKeep,
            Opt::Instances,
            Opt::PortStep,
            Opt::Socket,
            Opt::LogRotate,
            Opt::LogMaxAge,
            Opt::LogMaxTotal,
            Opt::LogCompress,
            Opt::InstanceVar,
            Opt::IncrementVar,
            Opt::OutFile,
            Opt::ErrorFile,
            Opt::ReadyNotify,
            Opt::Watchdog,
            Opt::HealthHttp,
            Opt::HealthTcp,
            Opt::HealthCmd,
            Opt::HealthInterval,
            Opt::HealthTimeout,
            Opt::HealthRetries,
            Opt::HealthStartPeriod,
            Opt::HealthAction,
        ];
        assert_eq!(all.len(), START_OPTIONS.len());
        for opt in all {
            assert_eq!(
                START_OPTIONS.iter().filter(|d| d.id == opt).count(),
                1,
                "{opt:?}"
            );
        }
        let mut names: Vec<&str> = START_OPTIONS
            .iter()
            .flat_map(|d| {
                d.flag
                    .into_iter()
                    .chain([d.field])
                    .chain(d.aliases.iter().copied())
            })
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        // A flag may equal its own field (`port`), never another option's name.
        for d in START_OPTIONS {
            for other in START_OPTIONS.iter().filter(|o| o.id != d.id) {
                // Fields only files have (no flag) may be several.
                assert!(d.flag.is_none() || d.flag != other.flag, "{:?}", d.id);
                assert!(other.flag != Some(d.field) && !other.aliases.contains(&d.field));
            }
        }
        assert!(names.len() <= n);
    }

    #[test]
    fn command_line_values_parse_by_kind() {
        let v = |opt: Opt, raw: &str| opt.def().parse_text(raw);
        assert_eq!(
            v(Opt::RestartDelay, "250"),
            Ok(Value::Millis(Duration::from_millis(250)))
        );
        assert_eq!(
            v(Opt::RestartDelay, "1.5s"),
            Ok(Value::Millis(Duration::from_millis(1500)))
        );
        assert_eq!(
            v(Opt::KillTimeout, "2m"),
            Ok(Value::Millis(Duration::from_secs(120)))
        );
        assert!(v(Opt::KillTimeout, "soon").is_err());
        assert!(v(Opt::KillTimeout, "-5").is_err());
        assert_eq!(v(Opt::MaxLogSize, "10M"), Ok(Value::Size(10 << 20)));
        assert_eq!(v(Opt::Port, "8080"), Ok(Value::Port(8080)));
        assert!(v(Opt::Port, "0").is_err() && v(Opt::Port, "70000").is_err());
        assert_eq!(
            v(Opt::Env, "A=b=c"),
            Ok(Value::Env(vec![EnvItem::Var("A".into(), "b=c".into())]))
        );
        assert_eq!(
            v(Opt::Env, "production"),
            Ok(Value::Env(vec![EnvItem::Named("production".into())]))
        );
        assert!(v(Opt::Env, "=x").is_err());
        assert_eq!(
            v(
                Opt::InterpreterArgs,
                "--max-old-space-size=512 '--title=a b'"
            ),
            Ok(Value::Words(vec![
                "--max-old-space-size=512".into(),
                "--title=a b".into()
            ]))
        );
    }

    #[test]
    fn file_values_parse_by_kind_and_say_what_was_expected() {
        let j = |opt: Opt, v: serde_json::Value| opt.def().parse_json(&v);
        assert_eq!(
            j(Opt::RestartDelay, json!(4000)),
            Ok(Value::Millis(Duration::from_secs(4)))
        );
        assert_eq!(
            j(Opt::RestartDelay, json!("4s")),
            Ok(Value::Millis(Duration::from_secs(4)))
        );
        assert_eq!(j(Opt::Autorestart, json!(false)), Ok(Value::Bool(false)));
        assert_eq!(j(Opt::Port, json!(3000)), Ok(Value::Port(3000)));
        assert_eq!(j(Opt::Port, json!("3000")), Ok(Value::Port(3000)));
        assert_eq!(
            j(Opt::Args, json!("--a 'b c'")),
            Ok(Value::Words(vec!["--a".into(), "b c".into()]))
        );
        assert_eq!(
            j(Opt::Args, json!(["x", 1])),
            Ok(Value::Words(vec!["x".into(), "1".into()]))
        );
        assert_eq!(
            j(Opt::Env, json!({"A": "x", "N": 4, "B": true})),
            // In the order written.
            Ok(Value::Env(vec![
                EnvItem::Var("A".into(), "x".into()),
                EnvItem::Var("N".into(), "4".into()),
                EnvItem::Var("B".into(), "true".into()),
            ]))
        );
        assert_eq!(
            j(Opt::MaxRestarts, json!("ten")).unwrap_err(),
            "\"ten\" is not a whole number (0 or more)"
        );
        assert_eq!(
            j(Opt::MaxRestarts, json!(-1)).unwrap_err(),
            "expected a whole number, found -1"
        );
        assert!(j(Opt::Env, json!({"A": {"nested": 1}})).is_err());
        assert!(j(Opt::Port, json!(0)).is_err());
        // pm2 files say "no PORT" with false or null.
        assert_eq!(j(Opt::Port, json!(false)), Ok(Value::Bool(false)));
        assert_eq!(j(Opt::Port, json!(null)), Ok(Value::Bool(false)));
        assert!(j(Opt::Port, json!(true)).is_err());
        let mut o = Options::new();
        o.set(Opt::Port, Value::Port(3000));
        o.set(Opt::Port, Value::Bool(false));
        assert!(o.no_port() && o.port().is_none());
        assert!(Opt::NoPort.def().switch_value(), "--no-port sets no_port");
        assert!(!Opt::Autorestart.def().switch_value());
        assert!(!Opt::ReadyCheck.def().switch_value());
        assert!(j(Opt::Name, json!(["x"])).is_err());
    }

    #[test]
    fn file_values_round_trip_through_json() {
        for (opt, raw) in [
            (Opt::RestartDelay, "1500"),
            (Opt::MaxLogSize, "512K"),
            (Opt::Port, "3000"),
            (Opt::Env, "A=1"),
            (Opt::Args, "--x 'y z'"),
            (Opt::Name, "api"),
            (Opt::LogKeep, "3"),
            (Opt::MinUptime, "2s"),
            (Opt::StopSignal, "QUIT"),
            (Opt::StopExitCodes, "0,143"),
        ] {
            let value = opt.def().parse_text(raw).unwrap();
            assert_eq!(opt.def().parse_json(&value.to_json()), Ok(value), "{opt:?}");
        }
    }

    #[test]
    fn every_numeric_option_has_a_range_checked_wherever_it_is_read() {
        for def in START_OPTIONS {
            let numeric = matches!(def.kind, Kind::Count | Kind::Millis | Kind::Size);
            assert_eq!(def.range().is_some(), numeric, "{:?}", def.id);
            let Some(r) = def.range() else { continue };
            let max = r.max.to_string();
            assert!(
                def.parse_text(&max).is_ok(),
                "{:?} takes its maximum",
                def.id
            );
            assert!(def.parse_json(&json!(r.max)).is_ok(), "{:?}", def.id);
            for over in [
                (r.max + 1).to_string(),
                u64::MAX.to_string(),
                "1".repeat(30),
            ] {
                let err = def.parse_text(&over).unwrap_err();
                assert!(err.contains("out of range"), "{:?} {over}: {err}", def.id);
            }
            let err = def.parse_json(&json!(r.max + 1)).unwrap_err();
            assert!(err.contains("out of range"), "{:?}: {err}", def.id);
        }
        let v = |opt: Opt, raw: &str| opt.def().parse_text(raw);
        assert_eq!(
            v(Opt::KillTimeout, "18446744073709551615").unwrap_err(),
            "18446744073709551615 is out of range (0 to 600000 ms (10 min))"
        );
        assert!(v(Opt::KillTimeout, "10min").is_ok() && v(Opt::KillTimeout, "11m").is_err());
        assert!(v(Opt::LogKeep, "4294967295").is_err() && v(Opt::LogKeep, "10000000").is_err());
        assert!(v(Opt::MaxLogSize, "1024G").is_ok() && v(Opt::MaxLogSize, "1025G").is_err());
        // A unit that is no size's is malformed, not too large.
        assert!(v(Opt::MaxMemory, "50X")
            .unwrap_err()
            .contains("is not a size"));
        assert!(v(Opt::MaxMemory, "99999999999999999999G")
            .unwrap_err()
            .contains("out of range"));
        assert!(v(Opt::RestartDelay, "1h").is_ok() && v(Opt::RestartDelay, "61m").is_err());
    }

    #[test]
    fn pm2_names_find_their_option() {
        assert_eq!(
            OptionDef::by_field("node_args").map(|d| d.id),
            Some(Opt::InterpreterArgs)
        );
        assert_eq!(
            OptionDef::by_field("exec_interpreter").map(|d| d.id),
            Some(Opt::Interpreter)
        );
        assert_eq!(
            OptionDef::by_field("kill_timeout").map(|d| d.id),
            Some(Opt::KillTimeout)
        );
        assert_eq!(
            OptionDef::by_field("instances").map(|d| d.id),
            Some(Opt::Instances)
        );
        assert_eq!(
            OptionDef::by_flag("no-autorestart").map(|d| d.switch_value()),
            Some(false)
        );
    }

    #[test]
    fn defaults_read_from_the_table() {
        let o = Options::new();
        assert_eq!(o.count(Opt::MaxRestarts), policy::DEFAULT_MAX_RESTARTS);
        assert_eq!(o.millis(Opt::KillTimeout), policy::DEFAULT_KILL_TIMEOUT);
        assert!(o.bool(Opt::Autorestart));
        assert_eq!(Opt::MaxLogSize.def().default_text().as_deref(), Some("10M"));
    }

    #[test]
    fn instances_are_a_number_max_zero_or_fewer_than_the_cores() {
        let v = |raw: &str| Opt::Instances.def().parse_text(raw);
        assert_eq!(v("4"), Ok(Value::Count(4)));
        assert_eq!(v("max"), Ok(Value::PerCore(0)));
        assert_eq!(v("0"), Ok(Value::PerCore(0)));
        assert_eq!(v("-1"), Ok(Value::PerCore(1)));
        assert_eq!(v("-256"), Ok(Value::PerCore(256)));
        assert!(v("many").is_err() && v("0.5").is_err());
        for out in ["257", "5000", "-257", "100000"] {
            let err = v(out).unwrap_err();
            assert!(
                err.contains("max or 0: one per core") && err.contains("-N"),
                "{err}"
            );
        }
        let j = |json: serde_json::Value| Opt::Instances.def().parse_json(&json);
        assert_eq!(j(json!(2)), Ok(Value::Count(2)));
        assert_eq!(j(json!("max")), Ok(Value::PerCore(0)));
        assert_eq!(j(json!(0)), Ok(Value::PerCore(0)));
        assert_eq!(j(json!(-1)), Ok(Value::PerCore(1)));
        assert_eq!(j(json!("-1")), Ok(Value::PerCore(1)));
        assert!(j(json!(1.5)).is_err());
        assert_eq!(Value::PerCore(0).to_json(), json!("max"));
        assert_eq!(Value::PerCore(2).to_json(), json!(-2));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let mut o = Options::new();
        assert_eq!(o.instances(), None);
        for (value, n) in [
            (Value::PerCore(0), cores),
            (Value::PerCore(1), cores.saturating_sub(1).max(1)),
            (Value::PerCore(256), 1),
            (Value::Count(3), 3),
        ] {
            o.set(Opt::Instances, value.clone());
            assert_eq!(o.instances(), Some(n), "{value:?}");
        }
    }

    #[test]
    fn env_accumulates_other_options_replace() {
        let mut o = Options::new();
        o.set(
            Opt::Env,
            Value::Env(vec![EnvItem::Var("A".into(), "1".into())]),
        );
        o.set(
            Opt::Env,
            Value::Env(vec![EnvItem::Named("production".into())]),
        );
        o.set(Opt::Port, Value::Port(1));
        o.set(Opt::Port, Value::Port(2));
        assert_eq!(o.env_vars(), [("A".to_string(), "1".to_string())]);
        assert_eq!(o.env_names(), ["production"]);
        assert_eq!(o.port(), Some(2));
    }
}
