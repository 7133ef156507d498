//! What `stop`, `restart` and `delete` do, once for every front end: which processes a
//! request selects, the rules between its flags, acting, waiting, and each process's
//! outcome. The CLI, the plugin and the web turn their input into an [`ActRequest`] and
//! render the [`Acted`] answer; none of them decides anything a user could see differ.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::info::ProcessInfo;
use crate::ops::{Each, FileChoice, Tpm};
use crate::options::{Opt, Options};

/// What a command does to the processes it selects. The web's start of a stopped process
/// is one too; the CLI and the plugin start through `tpm start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
    Delete,
}

impl Action {
    /// The command's word: `stop`.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Delete => "delete",
        }
    }

    /// What was done: `stopped`.
    pub fn done(self) -> &'static str {
        match self {
            Action::Start => "started",
            Action::Stop => "stopped",
            Action::Restart => "restarted",
            Action::Delete => "deleted",
        }
    }
}

/// `--only`/`--env NAME` given where no ecosystem file is among the targets.
pub const NEEDS_FILE: &str =
    "--only and --env choose apps of an ecosystem file, and none was given";

/// What a command that selected nothing says.
pub const NO_PROCESSES: &str = "no processes";

/// `tpm start TARGET --only ...` where TARGET is no ecosystem file.
pub fn only_without_file(target: &str) -> Error {
    Error::Usage(format!(
        "--only picks apps of an ecosystem file, and {target} is not one"
    ))
}

/// `tpm start FILE NAME` or `tpm start FILE -- ARGS`: those are each app's, in the file.
pub fn per_app_argument(file: &str) -> Error {
    Error::Usage(format!(
        "{file}: a name or arguments go in the file, for each app (`name`, `args`)"
    ))
}

/// `tpm describe` of a selector that names several processes.
pub fn describe_takes_one(selector: &str, count: usize) -> Error {
    Error::Usage(format!(
        "{selector} names {count} processes; describe takes one name or id"
    ))
}

/// `--wait` and `--wait-timeout` of `restart`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wait {
    /// `--wait`: return once each process is ready.
    pub wait: bool,
    /// `--wait-timeout`: how long (it implies `--wait`), over each process's own.
    pub timeout: Option<Duration>,
}

impl Wait {
    /// Whether to wait, and for how long when the caller said.
    pub fn wanted(self) -> Option<Option<Duration>> {
        (self.wait || self.timeout.is_some()).then_some(self.timeout)
    }
}

/// One `stop`, `restart` or `delete`, as any front end was asked it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActRequest {
    pub action: Action,
    /// Names, ids, `all`, patterns, app base names and ecosystem files.
    pub selectors: Vec<String>,
    pub choice: FileChoice,
    pub wait: Wait,
    /// A restart also restarts what depends on the selected processes (`depends_on`), in
    /// order: dependants stopped first, started again once their dependencies are.
    pub with_dependants: bool,
}

/// What a request did: each process's outcome, in order, and what was worth a warning.
#[derive(Debug)]
pub struct Acted {
    pub results: Each<ProcessInfo>,
    pub warnings: Vec<String>,
}

/// How one process's success reads, the same in every front end.
pub fn outcome_line(action: Action, info: &ProcessInfo) -> String {
    let name = &info.name;
    let pid = info.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    match action {
        // Started, then stopped by a command that raced with this one.
        Action::Restart if !info.status.is_active() => {
            format!(
                "{name} was restarted, then {} by another command",
                info.status
            )
        }
        Action::Restart | Action::Start => format!("{} {name}{pid}", action.done()),
        // Stopped, then started again by a command that raced with this one.
        Action::Stop if info.status.is_active() => {
            format!("{name} was restarted by another command{pid}")
        }
        _ => format!("{} {name}", action.done()),
    }
}

impl FileChoice {
    /// `--only` and `--env NAME`s of the commands that take a file among their targets:
    /// `--env` there names the file's `env_NAME` sections, never variables.
    pub fn from_flags(only: Vec<String>, env: &[String]) -> Result<FileChoice> {
        let mut options = Options::new();
        let def = Opt::Env.def();
        for raw in env {
            let value = def
                .parse_text(raw)
                .map_err(|e| Error::Usage(format!("--env {raw}: {e}")))?;
            options.set(Opt::Env, value);
        }
        if !options.env_vars().is_empty() {
            return Err(Error::Usage(
                "--env here takes a NAME (it applies the file's env_NAME); variables go in the file, or with `tpm start`".into(),
            ));
        }
        Ok(FileChoice::from_options(options, only))
    }

    /// Whether `--only` or `--env NAME` picked anything.
    pub fn picks(&self) -> bool {
        !self.only.is_empty() || !self.env_names.is_empty()
    }
}

impl Tpm {
    /// `--only` and `--env NAME` choose apps of a file: one must be among `selectors`.
    pub fn check_file_flags(&self, selectors: &[String], choice: &FileChoice) -> Result<()> {
        if choice.picks() && !selectors.iter().any(|s| self.is_ecosystem_file(s)) {
            return Err(Error::Usage(NEEDS_FILE.into()));
        }
        Ok(())
    }

    /// Runs a `stop`, `restart` or `delete`. `restart FILE` reads the file again: an edited
    /// app restarts as it now is (a plain restart would keep what it was started with).
    /// An error is of the request as a whole (bad flags, a name that does not exist);
    /// each process's own failure is in its result.
    pub fn act(&self, req: ActRequest) -> Result<Acted> {
        // A timeout given here wins over the one a process was started with, also for the
        // wait a process declared with --wait does at each restart.
        let tpm = self.clone().waiting_at_most(req.wait.timeout);
        let waited = |results: Each<ProcessInfo>| match req.wait.wanted() {
            Some(timeout) => tpm.wait_each(results, timeout),
            None => results,
        };
        if let (Action::Restart, [file]) = (req.action, req.selectors.as_slice()) {
            if tpm.is_ecosystem_file(file) {
                let plan = tpm.plan_file(file, &req.choice)?;
                let warnings = plan.warnings.clone();
                let results = waited(tpm.restart_file(plan));
                return Ok(Acted { results, warnings });
            }
        }
        let selected = tpm.select(&req.selectors, &req.choice)?;
        let names = selected.names;
        let results = match req.action {
            Action::Stop => tpm.stop(&names),
            Action::Restart if req.with_dependants => waited(tpm.restart_with_dependants(&names)),
            Action::Restart => waited(tpm.restart(&names)),
            Action::Delete => tpm.delete(&names),
            Action::Start => {
                return Err(Error::Usage(
                    "a start is planned (`tpm start`), not acted on by name".into(),
                ))
            }
        };
        Ok(Acted {
            results,
            warnings: selected.warnings,
        })
    }
}

/// What a command's positional arguments are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positional {
    None,
    /// Names, ids, `all`, patterns, app base names and ecosystem files (also piped in, in
    /// Nushell).
    Processes,
    /// A script, a command or an ecosystem file (`tpm start`).
    Target,
    /// Something of the command's own (an engine, a shell, a file).
    Other,
}

/// The flags several commands share, declared once with their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `--json` (the CLI's; the plugin returns data anyway).
    Json,
    /// `--only` and `--env NAME`: apps of an ecosystem file among the targets.
    File,
    /// `--wait` and `--wait-timeout`.
    Wait,
}

/// Where a command exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fronts {
    /// The CLI and the Nushell plugin.
    Both,
    /// The CLI only: in Nushell, `tpm WORD` says to run `^tpm WORD`.
    CliOnly,
}

/// One command, as every front end knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub positional: Positional,
    pub groups: &'static [Group],
    pub fronts: Fronts,
}

impl CommandDef {
    /// Its name and aliases.
    pub fn words(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }
}

const fn def(
    name: &'static str,
    aliases: &'static [&'static str],
    positional: Positional,
    groups: &'static [Group],
) -> CommandDef {
    CommandDef {
        name,
        aliases,
        positional,
        groups,
        fronts: Fronts::Both,
    }
}

/// Every command of tpm, in the order the plugin's `tpm` lists them. The front ends are checked
/// against it (a CLI subcommand or a plugin command missing here fails a test), and the
/// plugin's `tpm help`, its "no such command" and its CLI-only list read it.
pub const COMMANDS: &[CommandDef] = {
    use Group::{File, Json, Wait};
    use Positional::{None as NoArg, Other, Processes, Target};
    &[
        def("list", &["ls"], NoArg, &[Json]),
        def("ports", &[], NoArg, &[Json]),
        def("metrics", &[], NoArg, &[Json]),
        def("start", &[], Target, &[Json, Wait]),
        def("stop", &[], Processes, &[Json, File]),
        def("restart", &[], Processes, &[Json, File, Wait]),
        def("reload", &[], Processes, &[Json, File]),
        def("scale", &[], Other, &[Json]),
        def("delete", &["del"], Processes, &[Json, File]),
        def("logs", &[], Processes, &[Json]),
        def("flush", &[], Processes, &[Json]),
        def("events", &[], Processes, &[Json]),
        def("describe", &["show", "info"], Processes, &[Json]),
        def("doctor", &[], NoArg, &[Json]),
        def("resurrect", &[], Other, &[Json]),
        def("save", &[], Other, &[Json]),
        def("startup", &[], NoArg, &[Json]),
        def("unstartup", &[], NoArg, &[Json]),
        def("init", &[], Other, &[Json]),
        def("dump", &[], Processes, &[Json]),
        def("import", &[], Other, &[Json]),
        def("export", &[], Other, &[Json, File]),
        def("completions", &[], Other, &[]),
        CommandDef {
            fronts: Fronts::CliOnly,
            ..def("monit", &[], NoArg, &[])
        },
        CommandDef {
            fronts: Fronts::CliOnly,
            ..def("serve", &[], NoArg, &[])
        },
    ]
};

/// The command a word names (its name or an alias).
pub fn find(word: &str) -> Option<&'static CommandDef> {
    COMMANDS.iter().find(|c| c.words().any(|w| w == word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_names_one_command() {
        let mut words: Vec<&str> = COMMANDS.iter().flat_map(CommandDef::words).collect();
        let count = words.len();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), count, "a word names two commands");
        assert_eq!(find("del").map(|c| c.name), Some("delete"));
        assert_eq!(find("frobnicate"), None);
    }
}
