//! The command line, as clap sees it. Behaviour lives in `commands/` and `tpm_core`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCompleter;

use crate::complete;
use crate::start_options::StartOptions;

#[derive(Debug, Parser)]
#[command(
    name = "tpm",
    version,
    about = "Tetra process manager: supervise long-running processes, named basename-PORT",
    long_about = None,
    after_help = "Processes live in $TETRA_DIR/tpm (default ~/tetra/tpm). Exit codes: 64 usage, 65 no PORT, 66 script not runnable, 1 other.",
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands' arguments; their help and aliases are the core's table's, set by
/// [`command`].
#[derive(Debug, Subcommand)]
pub enum Command {
    Start(StartArgs),
    List(JsonFlag),
    Stop(Targets),
    Restart(RestartArgs),
    Delete(Targets),
    Reload(ReloadArgs),
    Scale(ScaleArgs),
    Logs(LogsArgs),
    Flush(FlushArgs),
    Ports(JsonFlag),
    Metrics(MetricsArgs),
    Events(EventsArgs),
    Monit,
    Doctor(JsonFlag),
    Describe(DescribeArgs),
    Resurrect(ResurrectArgs),
    Save(SaveArgs),
    Startup(StartupArgs),
    Unstartup(JsonFlag),
    Init(InitArgs),
    Dump(DumpArgs),
    Import(ImportArgs),
    Export(ExportArgs),
    Completions(CompletionsArgs),
    Serve(crate::commands::serve::ServeArgs),
}

/// The command line: clap's definition, each subcommand's one-line help and visible
/// aliases from `tpm_core::command::COMMANDS`, so the CLI, its completions and its man
/// pages say what the plugin says.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    tpm_core::command::COMMANDS
        .iter()
        .fold(Cli::command(), |cli, def| {
            cli.mut_subcommand(def.name, |sub| {
                sub.about(def.about_line()).visible_aliases(def.aliases)
            })
        })
}

/// The command line parsed, as [`command`] defines it.
pub fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let mut matches = command().try_get_matches()?;
    Cli::from_arg_matches_mut(&mut matches)
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tpm metrics\n  tpm metrics -o /var/lib/node_exporter/textfile/tpm.prom   (node_exporter's textfile collector)\n  tpm metrics --json"
)]
pub struct MetricsArgs {
    /// Write the text to FILE, replacing it at once (never half written), instead of
    /// printing it
    #[arg(long, short = 'o', value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub output: Option<std::path::PathBuf>,
    /// OpenMetrics instead of the Prometheus text format
    #[arg(long)]
    pub openmetrics: bool,
    /// Print every series as JSON (metric, type, labels, value)
    #[arg(long, conflicts_with_all = ["output", "openmetrics"])]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Targets {
    /// Process names or ids, `all`, patterns (`*` matches any characters; quote it: "*"), or
    /// an ecosystem file (its apps)
    #[arg(required = true, value_name = "NAME|ID|all|FILE", add = ArgValueCompleter::new(complete::process_names))]
    pub names: Vec<String>,
    #[command(flatten)]
    pub file: FileArgs,
    /// Print the affected processes as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    #[command(flatten)]
    pub targets: Targets,
    /// Return once each process is ready; fail (exit 1, with its last log lines) if it
    /// exits or is not ready in time
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (milliseconds, or 500ms, 2s, 1m; default: the process's own,
    /// 30s unless it was started with another)
    #[arg(long, value_name = "MS", value_parser = wait_timeout)]
    pub wait_timeout: Option<std::time::Duration>,
    /// Also restart the running processes that depend on these (`depends_on`), stopped
    /// first and started again once these meet their condition
    #[arg(long)]
    pub with_dependants: bool,
}

/// `--wait-timeout`, read as the start option of the same name is.
fn wait_timeout(raw: &str) -> Result<std::time::Duration, String> {
    match tpm_core::options::Opt::WaitTimeout.def().parse_text(raw)? {
        tpm_core::options::Value::Millis(d) => Ok(d),
        _ => Err(format!("{raw:?} is not a duration")),
    }
}

/// How an ecosystem file given as a target is read.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// With an ecosystem file: only these apps, by name (comma-separated or repeated)
    #[arg(long, value_name = "APP")]
    pub only: Vec<String>,
    /// With an ecosystem file: apply its apps' env_NAME over their env (repeatable)
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub env: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tpm start server.sh\n  tpm start api/backend.sh api\n  tpm start \"python3 -m http.server 7777\" --name web\n  PORT=9000 tpm start worker.sh\n  tpm start app.js --port 4000 -- --verbose"
)]
pub struct StartArgs {
    /// A script (.sh, .py, .js, or any executable), a command string in quotes, the
    /// name or id of a stopped process, or an ecosystem file (*.config.js, .json, .yaml,
    /// .toml)
    #[arg(value_name = "SCRIPT|COMMAND|FILE", add = ArgValueCompleter::new(complete::start_target))]
    pub target: String,
    /// Custom name, used instead of the script's base name (as --name)
    #[arg(value_name = "CUSTOM_NAME", conflicts_with = "name")]
    pub custom_name: Option<String>,
    #[command(flatten)]
    pub options: StartOptions,
    /// With an ecosystem file: only these apps, by name (comma-separated or repeated)
    #[arg(long, value_name = "APP")]
    pub only: Vec<String>,
    /// Start even when another process listens on the PORT
    #[arg(long)]
    pub force: bool,
    /// Print the started process as JSON
    #[arg(long)]
    pub json: bool,
    /// Arguments for the script, after `--`
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "An app's instances are reloaded one at a time while the others serve; a process started\nwith --socket restarts behind the socket tpm holds. A single process without --socket is restarted (and tpm says so).\nA new process is ready once its tree listens on its PORT (with --socket, or if the old one did not\nlisten: once it has run for 0.5s).\nExamples:\n  tpm reload api-3000            # every instance of api-3000\n  tpm reload all\n  tpm reload ecosystem.config.js"
)]
pub struct ReloadArgs {
    #[command(flatten)]
    pub targets: Targets,
    /// How long each new process has to become ready before the reload stops (30s, 2m, ms)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    tpm_core::options::parse_millis(raw)
        .ok_or_else(|| format!("{raw:?} is not a duration (milliseconds, or 500ms, 2s, 1m)"))
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tpm start server.py -i 2 --socket   # server-3000-0, server-3000-1\n  tpm scale server-3000 4\n  tpm scale server-3000 +1\n  tpm scale server-3000 -2            # removes the highest-numbered instances"
)]
pub struct ScaleArgs {
    /// The app: its name (NAME-PORT, without the instance number)
    #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::process_names))]
    pub app: String,
    /// How many instances: N, +N (more) or -N (fewer)
    #[arg(value_name = "N|+N|-N", allow_hyphen_values = true)]
    pub count: String,
    /// Print the instances started and removed as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Process names; `*` shows every process's logs, each line prefixed by its name
    #[arg(required = true, value_name = "NAME|*", add = ArgValueCompleter::new(complete::process_names))]
    pub names: Vec<String>,
    /// How many lines to show
    #[arg(long, short = 'n', value_name = "N", default_value_t = 50)]
    pub lines: usize,
    /// Keep printing lines as they are written
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only lines from this time on: a duration back from now (10m, 2h, 7d) or a local time
    /// ("2024-01-15 10:30", 2024-01-15, 10:30)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only lines up to this time (as --since)
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only lines whose text matches this regular expression
    #[arg(long, value_name = "REGEX")]
    pub grep: Option<String>,
    /// Only stdout
    #[arg(long, conflicts_with = "err")]
    pub out: bool,
    /// Only stderr
    #[arg(long)]
    pub err: bool,
    /// Print one JSON object per line
    #[arg(long)]
    pub json: bool,
    /// Print the lines' bytes as written, control characters included, also on a terminal
    /// (elsewhere they always are; on a terminal they are shown escaped: `\e]0;...\a`)
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct FlushArgs {
    /// Process names or ids, `all`, or patterns (`*`); none: every process
    #[arg(value_name = "NAME|ID|all", add = ArgValueCompleter::new(complete::process_names))]
    pub names: Vec<String>,
    /// Print what was freed as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The process: its name or id
    #[arg(value_name = "NAME|ID", add = ArgValueCompleter::new(complete::process_names))]
    pub name: String,
    /// Print it as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tpm events                      # the last 50 events of every process\n  tpm events api-3000 --since 1h\n  tpm events -f                   # follow, also processes started later"
)]
pub struct EventsArgs {
    /// Processes (names, ids, patterns, all; default: all)
    #[arg(value_name = "NAME|ID|all", add = ArgValueCompleter::new(complete::process_names))]
    pub names: Vec<String>,
    /// Only events since then: a duration back (90s, 30m, 1h, 2d) or a time (2026-12-02 10:00)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// How many of the last events to show
    #[arg(long, short = 'n', value_name = "N", default_value_t = 50)]
    pub lines: usize,
    /// Keep printing events as they happen
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Print one JSON object per event
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "A process is meant to run from its start until you stop or delete it; a reboot or a killed supervisor do not change that.\nExamples:\n  tpm resurrect                  # after a reboot (tpm startup runs it at boot)\n  tpm resurrect apps.json        # a dump or an ecosystem file, e.g. on a new machine"
)]
pub struct ResurrectArgs {
    /// A dump or an ecosystem file to start the apps of (default: the processes meant to
    /// run; with none in the store, $TETRA_DIR/tpm/dump.json)
    #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub file: Option<String>,
    /// Print the processes as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "systemd: writes ~/.config/systemd/user/tpm.service and enables it; user units start at boot\nonly with lingering on (`sudo loginctl enable-linger $USER`, which tpm prints when needed).\nWithout systemd: an @reboot line in your crontab. `tpm unstartup` removes either."
)]
pub struct StartupArgs {
    /// Print what would be installed, and change nothing
    #[arg(long)]
    pub print: bool,
    /// How (default: systemd where it runs the machine, else cron)
    #[arg(long, value_enum)]
    pub method: Option<StartupMethod>,
    /// Print what was done as JSON
    #[arg(long)]
    pub json: bool,
}

/// The ways `tpm startup` runs tpm at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StartupMethod {
    Systemd,
    Cron,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The previous file is kept as FILE.bak; an empty list never replaces a non-empty one without --force."
)]
pub struct SaveArgs {
    /// Where to write (default: $TETRA_DIR/tpm/dump.json)
    #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub file: Option<std::path::PathBuf>,
    /// Replace a dump that lists processes with an empty one
    #[arg(long)]
    pub force: bool,
    /// Print what was saved as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tpm init                       # ecosystem.config.js\n  tpm init --format yaml         # ecosystem.yaml\n  tpm init apps.toml\nThen: tpm start ecosystem.config.js"
)]
pub struct InitArgs {
    /// The file to write (default: ecosystem.config.js, or ecosystem.FORMAT)
    #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub file: Option<std::path::PathBuf>,
    /// The file's format (default: the file name's, else js)
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// Replace the file if it exists
    #[arg(long)]
    pub force: bool,
    /// Print what was written as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tpm dump > ecosystem.json      # then, anywhere: tpm start ecosystem.json\n  tpm dump api-3000 --format yaml"
)]
pub struct DumpArgs {
    /// Processes to print (names, ids, patterns; default: all)
    #[arg(value_name = "NAME|ID|*", add = ArgValueCompleter::new(complete::process_names))]
    pub names: Vec<String>,
    /// The format (default: json)
    #[arg(long, value_enum, default_value = "json")]
    pub format: FileFormat,
    /// The same as --format json
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Names, scripts, arguments, interpreters, cwd, environment, instances and restart options are carried over;\na line per app says what could not be. Of the environment pm2 recorded, the variables this shell has\nwith the same value are left to come from the shell that starts the process; the others are kept,\nprivately, as the app's own (secrets masked in output). A name tpm has already is left as it is, so\na second import changes nothing (with --start, imported processes that are stopped are started).\nExamples:\n  pm2 save && pm2 kill && tpm import pm2 --start\n  tpm import pm2 ~/old-server/.pm2/dump.pm2"
)]
pub struct ImportArgs {
    /// The process manager to import from
    #[arg(value_enum)]
    pub from: ImportSource,
    /// Its saved list (default: $PM2_HOME/dump.pm2, else ~/.pm2/dump.pm2)
    #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub file: Option<std::path::PathBuf>,
    /// Start the apps pm2 was running (default: create them stopped)
    #[arg(long)]
    pub start: bool,
    /// Print what was imported as JSON
    #[arg(long)]
    pub json: bool,
}

/// The process managers `tpm import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportSource {
    Pm2,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Secrets are never written: the files take them from where each engine keeps them, and tpm says on stderr what to fill in.\nExamples:\n  tpm export systemd -o ~/.config/systemd/user   # then: systemctl --user daemon-reload\n  tpm export nomad api-3000 --format json\n  tpm export compose ecosystem.config.js --image node:22 -o deploy\n  tpm export kubernetes all --image registry.example/app:1.0 > tpm-apps.yaml"
)]
pub struct ExportArgs {
    /// The engine to write files for
    #[arg(value_enum)]
    pub engine: ExportEngine,
    /// Processes (names, ids, `all`, patterns) or an ecosystem file (its apps, without
    /// starting them); default: every process
    #[arg(value_name = "NAME|ID|all|FILE", add = ArgValueCompleter::new(complete::process_names))]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub file: FileArgs,
    /// Write the files into DIR (created if needed) instead of printing them
    #[arg(long, short = 'o', value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub output: Option<std::path::PathBuf>,
    /// With -o: replace files that tpm export did not write
    #[arg(long, requires = "output")]
    pub force: bool,
    /// compose, kubernetes: the container image to run the apps in (required there)
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// systemd: units for your user's manager, `systemctl --user` (the default)
    #[arg(long, conflicts_with = "system")]
    pub user: bool,
    /// systemd: system units, run as you (User=)
    #[arg(long)]
    pub system: bool,
    /// systemd: the version of the systemd that will run the units (default: this machine's)
    #[arg(long, value_name = "N")]
    pub systemd_version: Option<u32>,
    /// nomad: a job file (hcl, the default) or the HTTP API's JSON (json)
    #[arg(long, value_enum)]
    pub format: Option<NomadFormatArg>,
    /// Print what was written (or the files, without -o) as JSON
    #[arg(long)]
    pub json: bool,
}

/// The engines `tpm export` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportEngine {
    Systemd,
    Nomad,
    Compose,
    Kubernetes,
}

/// Nomad's job formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NomadFormatArg {
    Hcl,
    Json,
}

/// The ecosystem file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    Js,
    Json,
    Yaml,
    Toml,
}

impl FileFormat {
    pub fn core(self) -> tpm_core::ecosystem::Format {
        use tpm_core::ecosystem::Format;
        match self {
            FileFormat::Js => Format::Js,
            FileFormat::Json => Format::Json,
            FileFormat::Yaml => Format::Yaml,
            FileFormat::Toml => Format::Toml,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Install it (./install.sh does), or load it in the running shell:\n  bash: source <(tpm completions bash)\n  zsh:  source <(tpm completions zsh)     (after compinit)\n  fish: tpm completions fish | source"
)]
pub struct CompletionsArgs {
    /// The shell to print the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells `tpm completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clap_definition_is_consistent() {
        command().debug_assert();
    }

    /// The flags each shared group of the core's table stands for, by their long names.
    fn group_flags(group: tpm_core::command::Group) -> &'static [&'static str] {
        use tpm_core::command::Group;
        match group {
            Group::Json => &["json"],
            Group::File => &["only", "env"],
            Group::Wait => &["wait", "wait-timeout"],
        }
    }

    #[test]
    fn every_subcommand_is_the_core_tables_with_its_aliases_and_groups() {
        let cli = command();
        let mut seen = Vec::new();
        for sub in cli.get_subcommands() {
            let name = sub.get_name();
            let Some(def) = tpm_core::command::find(name) else {
                panic!("tpm {name} is not in tpm_core::command::COMMANDS");
            };
            assert_eq!(def.name, name);
            let aliases: Vec<&str> = sub.get_visible_aliases().collect();
            assert_eq!(aliases, def.aliases, "the aliases of tpm {name}");
            assert_eq!(
                sub.get_about().map(ToString::to_string).as_deref(),
                Some(def.about_line()),
                "the help of tpm {name}"
            );
            let longs: Vec<&str> = sub.get_arguments().filter_map(|a| a.get_long()).collect();
            for group in def.groups {
                for flag in group_flags(*group) {
                    assert!(
                        longs.contains(flag),
                        "tpm {name} lacks --{flag} ({group:?})"
                    );
                }
            }
            seen.push(name);
        }
        for def in tpm_core::command::COMMANDS {
            assert!(seen.contains(&def.name), "the CLI lacks tpm {}", def.name);
        }
    }
}
