//! Live values for shell completion (clap_complete's dynamic engine, `COMPLETE=SHELL tpm`).
//!
//! The names come from [`tpm_core::complete::process_names`], the one completion function
//! every front end calls; this file only turns them into clap's candidates. `cli.rs`
//! attaches these functions to the arguments they complete.
//!
//! They run inside the user's Tab press: fast, silent (they never print, never fail), and
//! empty when the store does not exist yet.

use std::ffi::OsStr;

use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use tpm_core::complete::Candidate;
use tpm_core::Context;

/// Every process, each described by its status (zsh and fish show it beside the name).
/// clap keeps those that start with what is typed.
pub fn process_names() -> Vec<CompletionCandidate> {
    processes().into_iter().map(candidate).collect()
}

/// `tpm start`'s target: files and folders, then the processes that are not running
/// (`tpm start NAME` starts a stopped or errored process again).
pub fn start_target(current: &OsStr) -> Vec<CompletionCandidate> {
    let mut out = PathCompleter::any().complete(current);
    let Some(typed) = current.to_str() else {
        return out;
    };
    out.extend(
        processes()
            .into_iter()
            .filter(|p| !p.status.is_active() && p.name.starts_with(typed))
            .map(candidate),
    );
    out
}

fn processes() -> Vec<Candidate> {
    match Context::from_process() {
        Ok(ctx) => tpm_core::complete::process_names(&ctx),
        Err(_) => Vec::new(),
    }
}

fn candidate(p: Candidate) -> CompletionCandidate {
    CompletionCandidate::new(p.name).help(Some(p.status.as_str().into()))
}
