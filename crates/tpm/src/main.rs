//! `tpm`: the bash/zsh front end. Parses arguments, calls `tpm_core`, renders the result.

mod cli;
mod commands;
mod complete;
mod man;
mod render;
mod start_options;

use std::io::Write;
use std::process::ExitCode;

use tpm_core::error::EXIT_USAGE;
use tpm_core::{Context, Tpm};

use crate::cli::Command;

fn main() -> ExitCode {
    // First: this binary may have been re-executed as a process's supervisor.
    tpm_core::supervisor::run_if_requested();
    // Second: a shell asking for completions (`COMPLETE=bash tpm -- tpm stop w`) is
    // answered, and the process exits, before anything else is read or printed.
    clap_complete::CompleteEnv::with_factory(cli::command).complete();
    // Like other Unix tools, die quietly when the reader of our output goes away
    // (`tpm logs -f | head`). Rust ignores SIGPIPE by default.
    // SAFETY: setting a signal's disposition to the default before any thread exists.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    ExitCode::from(run() as u8)
}

fn run() -> i32 {
    // `tpm __man DIR` (install.sh): the manual pages, from the definition parsed below.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == man::REQUEST) {
        return man::run(args.next().as_deref().map(std::path::Path::new));
    }
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            // clap quotes the arguments in its errors, coloured on a terminal, as they are:
            // with a control character among them, its plain text (from which clap drops
            // escape sequences), through the printer that escapes the rest.
            let hostile = std::env::args_os().any(|a| {
                let a = a.to_string_lossy();
                tpm_core::terminal::shown(&a) != a
            });
            if e.use_stderr() && hostile {
                render::eline(e.render().to_string().trim_end());
            } else {
                let _ = e.print();
            }
            return code;
        }
    };
    let Some(command) = cli.command else {
        let _ = cli::command().print_help();
        return 0;
    };
    // Needs no store: answered before one is opened.
    if let Command::Completions(args) = command {
        return commands::completions::run(args);
    }
    let tpm = match open() {
        Ok(tpm) => tpm,
        Err(e) => return render::error(&e),
    };
    for warning in tpm.warnings() {
        render::eline(&format!("tpm: warning: {warning}"));
    }
    let result = match command {
        Command::Start(args) => commands::start::run(&tpm, args),
        Command::List(args) => commands::list::run(&tpm, args),
        Command::Stop(args) => commands::stop::run(&tpm, args, tpm_core::command::Action::Stop),
        Command::Restart(args) => commands::stop::restart(&tpm, args),
        Command::Delete(args) => commands::stop::run(&tpm, args, tpm_core::command::Action::Delete),
        Command::Reload(args) => commands::reload::run(&tpm, args),
        Command::Scale(args) => commands::scale::run(&tpm, args),
        Command::Logs(args) => commands::logs::run(&tpm, args),
        Command::Flush(args) => commands::flush::run(&tpm, args),
        Command::Ports(args) => commands::ports::run(&tpm, args),
        Command::Metrics(args) => commands::metrics::run(&tpm, args),
        Command::Events(args) => commands::events::run(&tpm, args),
        Command::Describe(args) => commands::describe::run(&tpm, args),
        Command::Doctor(args) => commands::doctor::run(&tpm, args),
        Command::Monit => commands::monit::run(&tpm),
        Command::Resurrect(args) => commands::resurrect::run(&tpm, args),
        Command::Save(args) => commands::save::run(&tpm, args),
        Command::Startup(args) => commands::startup::run(&tpm, args),
        Command::Unstartup(args) => commands::startup::remove(&tpm, args),
        Command::Init(args) => commands::init::run(&tpm, args),
        Command::Dump(args) => commands::dump::run(&tpm, args),
        Command::Import(args) => commands::import::run(&tpm, args),
        Command::Export(args) => commands::export::run(&tpm, args),
        Command::Serve(args) => commands::serve::run(&tpm, args),
        Command::Completions(_) => unreachable!("answered above"),
    };
    let _ = std::io::stdout().flush();
    match result {
        Ok(code) => code,
        Err(e) => render::error(&e),
    }
}

fn open() -> tpm_core::Result<Tpm> {
    let ctx = Context::from_process()?;
    let exe = std::env::current_exe().map_err(|e| tpm_core::Error::Supervisor {
        name: "tpm".into(),
        message: format!("cannot find the tpm binary to run supervisors: {e}"),
    })?;
    Tpm::new(ctx, exe)
}
