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

/// The processes whose name starts with what is typed, each described by its status (zsh
/// and fish show it beside the name), and `all`; once a digit is typed, the ids too.
pub fn process_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(typed) = current.to_str() else {
        return Vec::new();
    };
    let processes = processes();
    if processes.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<CompletionCandidate> = Vec::new();
    if typed.starts_with(|c: char| c.is_ascii_digit()) {
        out.extend(processes.iter().filter_map(|p| {
            let id = p.id?.to_string();
            id.starts_with(typed).then(|| {
                CompletionCandidate::new(id).help(Some(format!("{} ({})", p.name, p.status).into()))
            })
        }));
    }
    if tpm_core::ops::ALL.starts_with(typed) {
        out.push(CompletionCandidate::new(tpm_core::ops::ALL).help(Some("every process".into())));
    }
    out.extend(
        processes
            .into_iter()
            .filter(|p| p.name.starts_with(typed))
            .map(candidate),
    );
    out
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
