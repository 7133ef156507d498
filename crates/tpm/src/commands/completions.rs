//! `tpm completions SHELL`: the script that registers tpm with a shell's completion.
//!
//! It is clap_complete's registration for its dynamic engine: at each Tab the shell runs
//! `COMPLETE=SHELL tpm -- WORDS...`, which `main` answers before anything else (subcommands,
//! flags, and live process names from `crate::complete`). The files in `completions/` are
//! exactly this output; a test fails when they are stale.

use std::io::Write;

use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};

use crate::cli::{CompletionsArgs, Shell};

/// The command completed, and the program each Tab calls back (found on PATH, so the
/// script stays the same wherever tpm is installed).
const BIN: &str = "tpm";
/// clap_complete's default variable, the one `main` listens to.
const VAR: &str = "COMPLETE";

pub fn run(args: CompletionsArgs) -> i32 {
    let mut out = std::io::stdout().lock();
    match out
        .write_all(script(args.shell).as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => 0,
        Err(_) => tpm_core::error::EXIT_FAILURE,
    }
}

/// The script for `shell`, ending with one newline.
pub fn script(shell: Shell) -> String {
    let (completer, header): (&dyn EnvCompleter, &str) = match shell {
        Shell::Bash => (&Bash, BASH_HEADER),
        Shell::Zsh => (&Zsh, ZSH_HEADER),
        Shell::Fish => (&Fish, FISH_HEADER),
    };
    let mut registration = Vec::new();
    // Writing into memory cannot fail.
    let _ = completer.write_registration(VAR, BIN, BIN, BIN, &mut registration);
    let registration = String::from_utf8_lossy(&registration);
    let registration = registration.trim();
    match shell {
        // `#compdef tpm` must stay the first line: compinit reads it.
        Shell::Zsh => {
            let (compdef, rest) = registration.split_once('\n').unwrap_or((registration, ""));
            format!("{compdef}\n{header}{rest}\n{ZSH_FIRST_TAB}")
        }
        Shell::Bash | Shell::Fish => format!("{header}{registration}\n"),
    }
}

const BASH_HEADER: &str = "\
# bash completion for tpm; written by `tpm completions bash`, do not edit.
# At each Tab, bash runs `COMPLETE=bash tpm -- WORDS...`, which answers with tpm's
# subcommands, flags and the names of your processes. Install this file as
# ~/.local/share/bash-completion/completions/tpm, or load it now:
#   source <(tpm completions bash)
";

const ZSH_HEADER: &str = "\
# zsh completion for tpm; written by `tpm completions zsh`, do not edit.
# At each Tab, zsh runs `COMPLETE=zsh tpm -- WORDS...`, which answers with tpm's
# subcommands, flags, and the names of your processes with their status. Install this
# file as _tpm in a folder of your fpath (before compinit runs), or load it now, after
# compinit:
#   source <(tpm completions zsh)
";

/// Autoloaded from fpath, this file is the body of the function `_tpm`, called for the
/// first Tab; clap's lines above only define and register the completer, so that Tab
/// would complete nothing. Complete it too.
const ZSH_FIRST_TAB: &str = "\
# Autoloaded by compinit as _tpm: complete this first Tab too, not only the next ones.
if [[ ${funcstack[1]-} == _tpm ]]; then
    _clap_dynamic_completer_tpm \"$@\"
fi
";

const FISH_HEADER: &str = "\
# fish completion for tpm; written by `tpm completions fish`, do not edit.
# At each Tab, fish runs `COMPLETE=fish tpm -- WORDS...`, which answers with tpm's
# subcommands, flags, and the names of your processes with their status. Install this
# file as ~/.config/fish/completions/tpm.fish, or load it now:
#   tpm completions fish | source
";
