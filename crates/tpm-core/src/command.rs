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

/// Words given comma-separated (`web,api`) or one by one, blanks left out.
pub fn comma_words(given: &[String]) -> Vec<String> {
    given
        .iter()
        .flat_map(|text| text.split(','))
        .map(str::trim)
        .filter(|word| !word.is_empty())
        .map(String::from)
        .collect()
}

/// `--only`'s app names as given, comma-separated (`--only web,api`) or one by one:
/// blanks are left out, and an `--only` that names no app is a usage error (it would
/// otherwise pick nothing, or everything).
pub fn only_apps(given: Vec<String>) -> Result<Vec<String>> {
    let apps = comma_words(&given);
    if apps.is_empty() && !given.is_empty() {
        return Err(Error::Usage(
            "--only names no app: give their names, --only web,api".into(),
        ));
    }
    Ok(apps)
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

/// `reload --timeout`: how long each new process has to become ready, 30s unless given.
/// Zero would give none the time: the reload would stop at its first process.
pub fn reload_timeout(timeout: Option<Duration>) -> Result<Duration> {
    match timeout {
        None => Ok(crate::ops::DEFAULT_READY_TIMEOUT),
        Some(t) if t.is_zero() => Err(Error::Usage(
            "--timeout must be a positive duration (30s, 2m, or milliseconds)".into(),
        )),
        Some(t) => Ok(t),
    }
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
        let only = only_apps(only)?;
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
    /// The one-line help, a sentence with its period: the plugin shows it as it is, the
    /// CLI (clap's `--help`, the completions, the man page) without the period.
    pub about: &'static str,
    /// More words Nushell's `help --find` finds the command by.
    pub search: &'static [&'static str],
    pub positional: Positional,
    pub groups: &'static [Group],
    pub fronts: Fronts,
}

impl CommandDef {
    /// Its name and aliases.
    pub fn words(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }

    /// The one-line help as a command line shows it: without the period.
    pub fn about_line(&self) -> &'static str {
        self.about.strip_suffix('.').unwrap_or(self.about)
    }

    const fn search(self, search: &'static [&'static str]) -> CommandDef {
        CommandDef { search, ..self }
    }

    const fn cli_only(self) -> CommandDef {
        CommandDef {
            fronts: Fronts::CliOnly,
            ..self
        }
    }
}

const fn def(
    name: &'static str,
    aliases: &'static [&'static str],
    positional: Positional,
    groups: &'static [Group],
    about: &'static str,
) -> CommandDef {
    CommandDef {
        name,
        aliases,
        about,
        search: &[],
        positional,
        groups,
        fronts: Fronts::Both,
    }
}

/// Every command of tpm, in the order the plugin's `tpm` lists them. The CLI's subcommands
/// and the plugin's commands take their help and aliases from here and their shared flags
/// from the groups; a CLI subcommand or a plugin command missing here fails a test, and the
/// plugin's `tpm help`, its "no such command" and its CLI-only list read it.
pub const COMMANDS: &[CommandDef] = {
    use Group::{File, Json, Wait};
    use Positional::{None as NoArg, Other, Processes, Target};
    &[
        def("list", &["ls"], NoArg, &[Json], "List processes.")
            .search(&["ls", "ps", "processes", "status", "pm2"]),
        def("ports", &[], NoArg, &[Json], "Show the PORT of every process.")
            .search(&["port", "listen", "network"]),
        def(
            "metrics",
            &[],
            NoArg,
            &[Json],
            "Print every process's metrics for Prometheus (what `tpm serve` answers at /metrics).",
        )
        .search(&["prometheus", "openmetrics", "monitoring", "grafana"]),
        def(
            "start",
            &[],
            Target,
            &[Json, Wait],
            "Start a script or a command under supervision.",
        )
        .search(&[
            "run",
            "launch",
            "spawn",
            "supervise",
            "daemon",
            "pm2",
            "ecosystem",
            "apps",
        ]),
        def(
            "stop",
            &[],
            Processes,
            &[Json, File],
            "Stop processes (TERM to the whole tree, KILL after the kill timeout).",
        )
        .search(&["kill", "terminate", "halt"]),
        def(
            "restart",
            &[],
            Processes,
            &[Json, File, Wait],
            "Restart processes (stop, then start again with a new pid).",
        )
        .search(&["reload", "reboot", "bounce"]),
        def(
            "reload",
            &[],
            Processes,
            &[Json, File],
            "Restart processes one at a time, each new one ready before the next: no refused connection with instances or --socket.",
        )
        .search(&["rolling", "zero-downtime", "graceful", "restart"]),
        def(
            "scale",
            &[],
            Other,
            &[Json],
            "Run more or fewer instances of an app (N, +N or -N; the highest numbers go first).",
        )
        .search(&["instances", "cluster", "replicas"]),
        def(
            "delete",
            &["del"],
            Processes,
            &[Json, File],
            "Stop processes and remove their record, pid file and logs.",
        )
        .search(&["del", "remove", "rm", "forget"]),
        def(
            "logs",
            &[],
            Processes,
            &[Json],
            "Show the last lines of processes' stdout and stderr.",
        )
        .search(&["log", "output", "stdout", "stderr", "tail"]),
        def(
            "flush",
            &[],
            Processes,
            &[Json],
            "Empty processes' logs: the current files truncated, rotated ones removed (all without a name).",
        )
        .search(&["log", "clear", "truncate", "empty"]),
        def(
            "events",
            &[],
            Processes,
            &[Json],
            "Show what happened: starts, exits, restarts, verdicts, stops (newest last).",
        )
        .search(&[
            "history", "exits", "crashes", "restarts", "audit", "timeline",
        ]),
        def(
            "describe",
            &["show", "info"],
            Processes,
            &[Json],
            "Everything about one process: spec, state, process tree, logs, last events.",
        )
        .search(&["show", "info", "inspect", "details", "tree", "pm2"]),
        def(
            "doctor",
            &[],
            NoArg,
            &[Json],
            "Check the store and the machine: ports held by others, orphans, unreadable records.",
        )
        .search(&["check", "health", "diagnose", "orphan", "port"]),
        def(
            "resurrect",
            &[],
            Other,
            &[Json],
            "Start every process meant to run that is not running (after a reboot), or a file's apps.",
        )
        .search(&["reboot", "restore", "boot", "revive", "pm2"]),
        def(
            "save",
            &[],
            Other,
            &[Json],
            "Write the processes meant to run to $TETRA_DIR/tpm/dump.json (or FILE), for resurrect.",
        )
        .search(&["dump", "backup", "persist", "reboot", "pm2"]),
        def(
            "startup",
            &[],
            NoArg,
            &[Json],
            "Run `tpm resurrect` at boot: a systemd user unit, or a crontab line without systemd.",
        )
        .search(&["boot", "reboot", "systemd", "cron", "service", "pm2"]),
        def(
            "unstartup",
            &[],
            NoArg,
            &[Json],
            "Remove what `tpm startup` added.",
        )
        .search(&["boot", "systemd", "cron", "remove", "pm2"]),
        def(
            "init",
            &[],
            Other,
            &[Json],
            "Write a commented starter ecosystem file (ecosystem.config.js, or --format).",
        )
        .search(&["ecosystem", "config", "new", "starter", "template", "pm2"]),
        def(
            "dump",
            &[],
            Processes,
            &[Json],
            "Print processes as an ecosystem file that `tpm start` reads back.",
        )
        .search(&["save", "export", "ecosystem", "backup", "pm2"]),
        def(
            "import",
            &[],
            Other,
            &[Json],
            "Create pm2's saved processes (`pm2 save`'s dump.pm2) in tpm: stopped, or started with --start.",
        )
        .search(&["pm2", "migrate", "dump", "move", "resurrect"]),
        def(
            "export",
            &[],
            Other,
            &[Json, File],
            "Write processes as files another engine runs: systemd, Nomad, compose, Kubernetes.",
        )
        .search(&[
            "systemd",
            "nomad",
            "docker",
            "compose",
            "kubernetes",
            "k8s",
            "deploy",
        ]),
        def(
            "completions",
            &[],
            Other,
            &[],
            "Print the shell script that makes Tab complete tpm's commands and process names.",
        )
        .search(&["completion", "tab", "bash", "zsh", "fish"]),
        def(
            "monit",
            &[],
            NoArg,
            &[],
            "A live view of every process: CPU and memory over the last minute, logs, keys to act.",
        )
        .cli_only(),
        def(
            "serve",
            &[],
            NoArg,
            &[],
            "Serve the web dashboard and the HTTP API (http://127.0.0.1:4444/).",
        )
        .cli_only(),
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

    #[test]
    fn only_takes_commas_or_words_and_at_least_one_app() {
        let given = |w: &[&str]| only_apps(w.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            given(&["web, api", "worker"]).ok(),
            Some(vec!["web".to_string(), "api".into(), "worker".into()])
        );
        assert_eq!(given(&[]).ok(), Some(vec![]));
        assert!(matches!(given(&[" , "]), Err(Error::Usage(_))));
        assert!(matches!(given(&[""]), Err(Error::Usage(_))));
    }

    #[test]
    fn a_reload_timeout_is_positive_and_30s_unless_given() {
        assert_eq!(reload_timeout(None).ok(), Some(Duration::from_secs(30)));
        assert_eq!(
            reload_timeout(Some(Duration::from_millis(5))).ok(),
            Some(Duration::from_millis(5))
        );
        assert!(matches!(
            reload_timeout(Some(Duration::ZERO)),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn every_command_has_a_one_line_sentence() {
        for c in COMMANDS {
            assert!(c.about.ends_with('.'), "{}", c.name);
            assert!(!c.about.contains('\n'), "{}", c.name);
            assert!(!c.about_line().ends_with('.'), "{}", c.name);
        }
    }
}
