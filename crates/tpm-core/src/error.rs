//! The one error type of tpm. Each variant knows its exit code (the README's table) and a
//! help line telling the user what to do; front ends only render it.

use std::io;
use std::path::PathBuf;

/// Exit code for invalid usage or arguments.
pub const EXIT_USAGE: i32 = 64;
/// Exit code when no PORT could be detected.
pub const EXIT_NO_PORT: i32 = 65;
/// Exit code when the script or program is missing or cannot be run.
pub const EXIT_NOT_RUNNABLE: i32 = 66;
/// Exit code for every other failure.
pub const EXIT_FAILURE: i32 = 1;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of error an [`Error`] is, as each front end says it (see [`Error::class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// The plugin's label under the argument at fault.
    pub label: &'static str,
    /// The plugin's error code, `tpm::` and this.
    pub kind: &'static str,
    /// The CLI's exit code.
    pub exit_code: i32,
    /// The web API's HTTP status: what the caller sent is wrong (400), names nothing
    /// (404), or clashes with what is happening (409: running already, busy, its PORT held
    /// by another process); the rest is the server's side (500).
    pub http_status: u16,
}

impl Class {
    const fn caller(label: &'static str, kind: &'static str, exit_code: i32) -> Class {
        Class {
            label,
            kind,
            exit_code,
            http_status: 400,
        }
    }

    const fn conflict(label: &'static str, kind: &'static str) -> Class {
        Class {
            label,
            kind,
            exit_code: EXIT_FAILURE,
            http_status: 409,
        }
    }

    const fn server(label: &'static str, kind: &'static str, exit_code: i32) -> Class {
        Class {
            label,
            kind,
            exit_code,
            http_status: 500,
        }
    }

    /// The plugin's code: `tpm::usage`.
    pub fn code(&self) -> String {
        format!("tpm::{}", self.kind)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("invalid process name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error("no PORT found for {target}")]
    NoPort { target: String },

    #[error("script not found: {}", path.display())]
    ScriptNotFound { path: PathBuf },

    #[error("{}: not executable", path.display())]
    NotExecutable { path: PathBuf },

    #[error("command not found: {program}")]
    CommandNotFound { program: String },

    #[error("working directory not found: {}", path.display())]
    CwdNotFound { path: PathBuf },

    #[error("{name} could not be started: {message}")]
    ExecFailed { name: String, message: String },

    #[error("no process named {name}")]
    NotFound { name: String },

    #[error("{name} is already {status}{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    AlreadyRunning {
        name: String,
        status: String,
        pid: Option<u32>,
    },

    #[error("{name} is busy: {what}")]
    Busy { name: String, what: String },

    #[error("corrupt record {}: {detail}", path.display())]
    CorruptRecord { path: PathBuf, detail: String },

    #[error("{name}: the supervisor failed: {message}")]
    Supervisor { name: String, message: String },

    #[error("{} belongs to uid {owner}, not to you (uid {me}); tpm will not use another user's store", path.display())]
    ForeignStore { path: PathBuf, owner: u32, me: u32 },

    #[error("{var} is a relative path ({value:?}); tpm needs an absolute one, so that every folder sees the same processes")]
    RelativeStore { var: &'static str, value: String },

    #[error("{name}: its supervisor (pid {pid}) does not answer: {why}")]
    NotAnswering { name: String, pid: u32, why: String },

    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// An ecosystem file that cannot be read as apps: a syntax error, a wrong shape, an app
    /// whose fields make no sense, or JavaScript that threw. `app` is the app's label
    /// (its name, or `app #N`), `line` the 1-based line, when known.
    #[error("{}{}{}: {message}",
        file.display(),
        line.map(|n| format!(", line {n}")).unwrap_or_default(),
        app.as_ref().map(|a| format!(": {a}")).unwrap_or_default())]
    Ecosystem {
        file: PathBuf,
        app: Option<String>,
        line: Option<usize>,
        message: String,
    },

    /// A JavaScript ecosystem file, and no `node` on the caller's PATH to evaluate it.
    #[error("{} is JavaScript, and there is no `node` on PATH to evaluate it", file.display())]
    NodeMissing { file: PathBuf },

    /// The PORT of a new process is taken: something listens on it.
    #[error("{name}: port {port} is taken{}", holders_text(holders))]
    PortTaken {
        name: String,
        port: u16,
        holders: Vec<Holder>,
    },

    /// `tpm save` with nothing meant to run, over a dump that lists processes: pm2's most
    /// reported way of losing them all.
    #[error("no process is meant to run, and saving would empty {}, which lists some (or cannot be read)", file.display())]
    EmptyDump { file: PathBuf },

    /// `tpm import pm2` with no saved list where pm2 keeps it (or where it was said to be).
    #[error("no pm2 process list at {}", file.display())]
    NoPm2Dump { file: PathBuf },

    /// A file given as pm2's saved list that is not one (or is damaged): nothing is
    /// imported from it.
    #[error("{}: not pm2's saved process list: {message}", file.display())]
    BadPm2Dump { file: PathBuf, message: String },

    /// A wait for readiness that failed: the process exited first, or was not ready in
    /// time. `log` holds its last log lines.
    #[error("{name} is not ready: {why}{}", log_text(log))]
    NotReady {
        name: String,
        why: String,
        log: Vec<String>,
    },

    /// A record that would be larger than a record may be (see `record::MAX_RECORD`):
    /// never written, since tpm could not read it back. `fields` names what is large.
    #[error("{name}: its record would be {size} bytes, over the limit of {limit}{}",
        if fields.is_empty() { String::new() } else { format!(" ({})", fields.join("; ")) })]
    RecordTooLarge {
        name: String,
        size: usize,
        limit: usize,
        fields: Vec<String>,
    },

    /// A command whose work another command undid meanwhile (a reload of a process that a
    /// stop, say, then stopped): `what` says what the other did (`stopped`, `restarted`).
    #[error("{name} was {what} by another command during its {during}")]
    Overtaken {
        name: String,
        what: String,
        during: String,
    },

    /// Every problem found in an ecosystem file (or apps given as data), each with its
    /// file, app and line where known. The exit code and help are the first's.
    #[error("{} problems, nothing was done:{}", problems.len(), problems_text(problems))]
    Problems { problems: Vec<Error> },

    /// A process not started because a process it depends on (`depends_on`) did not meet
    /// its condition: it failed to start, was not ready in time, or did not complete
    /// with code 0. What already runs is left running.
    #[error("{name} was not started: it depends on {dependency} ({condition}), which {why}")]
    DependencyFailed {
        name: String,
        dependency: String,
        condition: String,
        why: String,
    },

    /// An app of an ecosystem file that cannot be started as written (its script is
    /// missing, it has no PORT, ...): the error says which file and which app, and keeps
    /// the exit code and help of what went wrong.
    #[error("{}: {app}: {source}", file.display())]
    App {
        file: PathBuf,
        app: String,
        source: Box<Error>,
    },
}

/// A process that holds a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
    /// Its tpm name, when tpm manages it.
    pub name: Option<String>,
}

fn problems_text(problems: &[Error]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}

fn log_text(log: &[String]) -> String {
    if log.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = log.iter().map(|l| format!("  | {l}")).collect();
    format!("; its last log lines:\n{}", lines.join("\n"))
}

fn holders_text(holders: &[Holder]) -> String {
    if holders.is_empty() {
        return " (by a process this user cannot see)".into();
    }
    let list: Vec<String> = holders
        .iter()
        .map(|h| {
            let managed = h
                .name
                .as_ref()
                .map(|n| format!(", tpm's {n}"))
                .unwrap_or_default();
            format!("pid {} `{}`{managed}", h.pid, h.command)
        })
        .collect();
    format!(" by {}", list.join("; "))
}

impl Error {
    /// The documented exit code for this error.
    pub fn exit_code(&self) -> i32 {
        self.class().exit_code
    }

    /// What kind of error this is, for every front end at once: the CLI's exit code, the
    /// plugin's label and code, the web's HTTP status. One table, so they cannot drift.
    pub fn class(&self) -> Class {
        use Class as C;
        match self {
            Error::Usage(_) => C::caller("invalid usage", "usage", EXIT_USAGE),
            Error::InvalidName { .. } => {
                C::caller("not a valid process name", "invalid_name", EXIT_USAGE)
            }
            Error::RelativeStore { .. } => {
                C::caller("not an absolute path", "relative_store", EXIT_USAGE)
            }
            Error::Ecosystem { .. } => C::caller("in this ecosystem file", "ecosystem", EXIT_USAGE),
            Error::RecordTooLarge { .. } => {
                C::caller("too large to keep", "record_too_large", EXIT_USAGE)
            }
            Error::NoPort { .. } => C::caller("no PORT found for this", "no_port", EXIT_NO_PORT),
            Error::ScriptNotFound { .. } => {
                C::caller("no such script", "script_not_found", EXIT_NOT_RUNNABLE)
            }
            Error::NotExecutable { .. } => {
                C::caller("cannot be run", "not_executable", EXIT_NOT_RUNNABLE)
            }
            Error::CommandNotFound { .. } => {
                C::caller("no such command", "command_not_found", EXIT_NOT_RUNNABLE)
            }
            Error::CwdNotFound { .. } => {
                C::caller("no such directory", "cwd_not_found", EXIT_NOT_RUNNABLE)
            }
            // Like a script whose interpreter is missing.
            Error::NodeMissing { .. } => {
                C::caller("needs node to be read", "node_missing", EXIT_NOT_RUNNABLE)
            }
            // What was to be read is not there (sysexits' EX_NOINPUT).
            Error::NoPm2Dump { .. } => {
                C::caller("no pm2 process list here", "no_pm2_dump", EXIT_NOT_RUNNABLE)
            }
            Error::BadPm2Dump { .. } => {
                C::caller("not pm2's process list", "bad_pm2_dump", EXIT_FAILURE)
            }
            Error::ExecFailed { .. } => {
                C::server("could not be started", "exec_failed", EXIT_NOT_RUNNABLE)
            }
            Error::NotFound { .. } => Class {
                http_status: 404,
                ..C::caller("no such process", "not_found", EXIT_FAILURE)
            },
            Error::AlreadyRunning { .. } => C::conflict("already running", "already_running"),
            Error::Busy { .. } => C::conflict("busy", "busy"),
            Error::NotAnswering { .. } => {
                C::conflict("its supervisor does not answer", "not_answering")
            }
            Error::NotReady { .. } => C::conflict("not ready", "not_ready"),
            Error::Overtaken { .. } => C::conflict("undone by another command", "overtaken"),
            Error::DependencyFailed { .. } => {
                C::conflict("a dependency failed", "dependency_failed")
            }
            Error::EmptyDump { .. } => C::conflict("would empty the dump", "empty_dump"),
            Error::PortTaken { .. } => C::conflict("its port is taken", "port_taken"),
            Error::CorruptRecord { .. } => {
                C::server("unreadable record", "corrupt_record", EXIT_FAILURE)
            }
            Error::Supervisor { .. } => {
                C::server("the supervisor failed", "supervisor", EXIT_FAILURE)
            }
            Error::ForeignStore { .. } => {
                C::server("another user's store", "foreign_store", EXIT_FAILURE)
            }
            Error::Io { .. } => C::server("input/output error", "io", EXIT_FAILURE),
            // An app of a file that cannot start: what went wrong is what it is.
            Error::App { source, .. } => source.class(),
            // Every problem of a file: the first's.
            Error::Problems { problems } => problems.first().map_or(
                C::caller("in this ecosystem file", "ecosystem", EXIT_USAGE),
                Error::class,
            ),
        }
    }

    /// One line telling the user what to do about it, where there is something to say.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            Error::Usage(_) => "run `tpm help` for usage".into(),
            Error::InvalidName { .. } => {
                "names use letters, digits, '.', '_' and '-', do not start with '.', and are at most 100 characters".into()
            }
            Error::NoPort { .. } => {
                "give one with --port N, set PORT=N in the environment, or add `export PORT=N` to the script; if it listens on no port (a worker, a bot, a cron job), give --no-port (in a file: port: false)".into()
            }
            Error::ScriptNotFound { .. } => "check the path (relative paths are resolved against the current directory)".into(),
            Error::NotExecutable { path } => format!(
                "run `chmod +x {}`, or use a .sh, .py, .js, .cjs or .mjs file, which tpm runs with its interpreter",
                path.display()
            ),
            Error::CommandNotFound { .. } => "check the spelling, or give the program's full path".into(),
            Error::CwdNotFound { .. } => "--cwd must name an existing directory".into(),
            Error::ExecFailed { name, .. } => format!("see `tpm logs {name}`"),
            Error::NotFound { .. } => "`tpm list` shows the processes tpm knows".into(),
            Error::AlreadyRunning { name, .. } => format!("use `tpm restart {name}` to restart it"),
            Error::Busy { .. } => "another tpm command is working on it; try again in a moment".into(),
            Error::CorruptRecord { path, .. } => format!(
                "inspect or remove {}; `tpm delete NAME` removes it",
                path.display()
            ),
            Error::Supervisor { name, .. } => format!("see `tpm logs {name}`"),
            Error::ForeignStore { .. } => {
                "set TETRA_DIR to a folder of your own (tpm keeps its files in $TETRA_DIR/tpm)".into()
            }
            Error::RelativeStore { var, value } => {
                format!("export {var}=\"$PWD/{value}\" (or another absolute path)")
            }
            Error::NotAnswering { pid, .. } => format!(
                "`kill -CONT {pid}` lets it go on; after `kill -KILL {pid}` the next tpm command stops what is left"
            ),
            Error::NotReady { name, .. } => format!(
                "see `tpm logs {name}`; it goes on running (or restarting): `tpm stop {name}` stops it"
            ),
            Error::Overtaken { name, .. } => format!(
                "the later command stands; `tpm describe {name}` shows how it is now, `tpm start {name}` runs it again"
            ),
            Error::DependencyFailed { dependency, .. } => format!(
                "see `tpm logs {dependency}` and `tpm describe {dependency}`; what started is left running, and `tpm start FILE` again starts the rest"
            ),
            Error::Io { .. } => return None,
            Error::Ecosystem { line: Some(n), .. } => format!(
                "fix the file at line {n}; `tpm init` writes a commented example of each format"
            ),
            Error::Ecosystem { app: Some(_), .. } => {
                "an app is an object of pm2's fields (`name`, `script`, `args`, `cwd`, `env`, ...); `tpm init` writes a commented example".into()
            }
            Error::Ecosystem { .. } => {
                "an ecosystem file holds `{ apps: [...] }`, a single app, or a list of apps; `tpm init` writes a commented example".into()
            }
            Error::NodeMissing { .. } => {
                "install Node.js (tpm evaluates .config.js, .cjs and .mjs files with the `node` on PATH), or write the apps as JSON, YAML or TOML".into()
            }
            Error::PortTaken { port, .. } => format!(
                "stop what holds it, give this process another port (--port), or start it anyway with --force (port {port} is then shared or it fails to bind)"
            ),
            Error::EmptyDump { .. } => {
                "start what should run first (then `tpm save`), or give --force to save the empty list".into()
            }
            Error::RecordTooLarge { .. } => {
                "a record is at most 64 KiB (65536 bytes), 4 KiB of which a new spec leaves for its state; large values do not belong in it: export the variable in the shell that runs tpm (that environment is kept beside the record, in envs/NAME.env, with no such limit), or put the value in a file the program reads".into()
            }
            Error::Problems { problems } => return problems.first().and_then(Error::help),
            Error::NoPm2Dump { .. } => {
                "run `pm2 save` where pm2 runs your apps (it writes $PM2_HOME/dump.pm2, ~/.pm2/dump.pm2 by default), or give the file: `tpm import pm2 FILE`".into()
            }
            Error::BadPm2Dump { file, .. } => format!(
                "pm2 keeps the list before its last save beside it: `tpm import pm2 {}.bak`; or run `pm2 save` again",
                file.display()
            ),
            Error::App { source, .. } => return source.help().map(|h| {
                format!("{h} (relative paths in an ecosystem file are taken from its folder, a script from its app's cwd)")
            }),
        })
    }

    /// `errors` as one error: `None` for none, the error itself for one, else
    /// [`Error::Problems`] (a list inside the list is flattened).
    pub fn all(errors: Vec<Error>) -> Option<Error> {
        let mut flat = Vec::with_capacity(errors.len());
        for e in errors {
            match e {
                Error::Problems { problems } => flat.extend(problems),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ => Some(Error::Problems { problems: flat }),
        }
    }

    /// The problems this error is: itself, or each of a list.
    pub fn problems(&self) -> &[Error] {
        match self {
            Error::Problems { problems } => problems,
            other => std::slice::from_ref(other),
        }
    }

    /// An I/O error for want of room (a full disk, or a quota).
    pub fn is_no_space(&self) -> bool {
        matches!(self, Error::Io { source, .. }
            if matches!(source.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)))
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
