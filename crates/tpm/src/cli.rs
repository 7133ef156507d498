//! The command line, as clap sees it. Behaviour lives in `commands/` and `tpm_core`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};
use clap_complete::{ArgValueCandidates, ArgValueCompleter};

use crate::complete;

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a script or a command under supervision
    Start(StartArgs),
    /// List processes
    #[command(visible_alias = "ls")]
    List(JsonFlag),
    /// Stop processes (TERM to the whole tree, KILL after the kill timeout)
    Stop(Targets),
    /// Restart processes (stop, then start again with a new pid)
    Restart(Targets),
    /// Stop processes and remove their record, pid file and logs
    #[command(visible_alias = "del")]
    Delete(Targets),
    /// Show the last lines of processes' stdout and stderr
    Logs(LogsArgs),
    /// Show the PORT of every process
    Ports(JsonFlag),
    /// Print the shell script that makes Tab complete tpm's commands and process names
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Targets {
    /// Process names; `*` matches any characters (quote it: "*")
    #[arg(required = true, value_name = "NAME|*", add = ArgValueCandidates::new(complete::process_names))]
    pub names: Vec<String>,
    /// Print the affected processes as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tpm start server.sh\n  tpm start api/backend.sh api\n  tpm start \"python3 -m http.server 7777\" --name web\n  PORT=9000 tpm start worker.sh\n  tpm start app.js --port 4000 -- --verbose"
)]
pub struct StartArgs {
    /// A script (.sh, .py, .js, or any executable), a command string in quotes, or the
    /// name of a stopped process
    #[arg(value_name = "SCRIPT|COMMAND", add = ArgValueCompleter::new(complete::start_target))]
    pub target: String,
    /// Custom name, used instead of the script's base name (as --name)
    #[arg(value_name = "CUSTOM_NAME", conflicts_with = "name")]
    pub custom_name: Option<String>,
    /// Custom name, used instead of the script's base name
    #[arg(long, short = 'n')]
    pub name: Option<String>,
    /// The PORT (otherwise: the command's own --port/-p/number argument, $PORT, or a
    /// PORT= line in the script)
    #[arg(long, short = 'p', value_parser = parse_port)]
    pub port: Option<u16>,
    /// Working directory of the process (default: the current directory)
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable for the process (repeatable)
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Do not restart the process when it exits
    #[arg(long)]
    pub no_autorestart: bool,
    /// Quick exits (within 1s of starting) in a row before the process is marked errored
    #[arg(long, value_name = "N", default_value_t = tpm_core::policy::DEFAULT_MAX_RESTARTS)]
    pub max_restarts: u32,
    /// First restart delay in milliseconds; doubles on each restart, up to 15s
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub restart_delay: u64,
    /// Milliseconds between TERM and KILL when stopping
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub kill_timeout: u64,
    /// Rotate a log file when it would grow past this size (e.g. 10M, 512K; 0: never)
    #[arg(long, value_name = "SIZE", default_value = "10M", value_parser = parse_size)]
    pub max_log_size: u64,
    /// Rotated log files kept per stream (NAME.out.1 is the newest)
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub log_keep: u32,
    /// Print the started process as JSON
    #[arg(long)]
    pub json: bool,
    /// Arguments for the script, after `--`
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Process names; `*` shows every process's logs, each line prefixed by its name
    #[arg(required = true, value_name = "NAME|*", add = ArgValueCandidates::new(complete::process_names))]
    pub names: Vec<String>,
    /// How many lines to show
    #[arg(long, short = 'n', value_name = "N", default_value_t = 50)]
    pub lines: usize,
    /// Keep printing lines as they are written
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Print one JSON object per line
    #[arg(long)]
    pub json: bool,
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

fn parse_port(raw: &str) -> Result<u16, String> {
    tpm_core::port::parse_port(raw).ok_or_else(|| format!("{raw:?} is not a port (1-65535)"))
}

fn parse_size(raw: &str) -> Result<u64, String> {
    tpm_core::logs::parse_size(raw)
        .ok_or_else(|| format!("{raw:?} is not a size (such as 10M, 512K or 4096)"))
}

fn parse_env(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{raw:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
