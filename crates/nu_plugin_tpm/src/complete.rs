//! Completion of process names for Nushell, over the core's one completion function
//! (`tpm_core::complete::process_names`, which the CLI's completer calls too), plus `all`,
//! which every command that takes names accepts.

use std::path::Path;

use nu_plugin::{DynamicCompletionCall, EngineInterface};
use nu_protocol::ast::Expr;
use nu_protocol::engine::ArgType;
use nu_protocol::{DynamicSuggestion, Span};
use tpm_core::complete::{process_names, Candidate};
use tpm_core::ops::ALL;

use crate::context;

/// Every process name, its status as the description, then `all`; once a digit is typed,
/// the ids first (described by name and status), as the CLI's completer offers them.
pub fn names(engine: &EngineInterface, typed: &str) -> Option<Vec<DynamicSuggestion>> {
    let ctx = context::context(engine, Span::unknown()).ok()?;
    let candidates = process_names(&ctx);
    let mut out = Vec::new();
    if typed.starts_with(|c: char| c.is_ascii_digit()) {
        out.extend(ids(&candidates));
    }
    out.extend(suggestions(candidates, |_| true));
    Some(with_all(out))
}

/// The ids of the candidates that have one.
fn ids(candidates: &[Candidate]) -> Vec<DynamicSuggestion> {
    candidates
        .iter()
        .filter_map(|c| {
            Some(DynamicSuggestion {
                value: c.id?.to_string(),
                description: Some(format!("{} ({})", c.name, c.status)),
                ..DynamicSuggestion::default()
            })
        })
        .collect()
}

/// `all` after the names, unless a process has that name (it is then reached by name and
/// is listed already) or there is no process at all.
fn with_all(mut names: Vec<DynamicSuggestion>) -> Vec<DynamicSuggestion> {
    if !names.is_empty() && !names.iter().any(|s| s.value == ALL) {
        names.push(DynamicSuggestion {
            value: ALL.to_string(),
            description: Some("every process".into()),
            ..DynamicSuggestion::default()
        });
    }
    names
}

/// For commands whose every positional argument is a process (stop, restart, delete, logs,
/// dump); their flags take no names.
pub fn positional_names(
    engine: &EngineInterface,
    call: &DynamicCompletionCall,
    arg_type: &ArgType,
) -> Option<Vec<DynamicSuggestion>> {
    match arg_type {
        ArgType::Positional(index) => {
            names(engine, &typed_positional(call, *index).unwrap_or_default())
        }
        ArgType::Flag(_) => None,
    }
}

/// `tpm start`'s first argument is a script, a command, or the name of a stopped process.
/// Paths complete as paths (Nushell's own file completion); when what is typed so far starts
/// a stopped process's name, its names are offered together with the matching entries of the
/// current directory.
pub fn start_target(
    engine: &EngineInterface,
    call: &DynamicCompletionCall,
) -> Option<Vec<DynamicSuggestion>> {
    let typed = typed_positional(call, 0)?;
    if typed.contains('/') || typed.starts_with(['~', '.']) {
        return None;
    }
    let ctx = context::context(engine, Span::unknown()).ok()?;
    let mut out = suggestions(process_names(&ctx), |c| {
        !c.status.is_active() && c.name.starts_with(&typed)
    });
    if out.is_empty() {
        return None;
    }
    out.extend(directory_entries(&ctx.cwd, &typed));
    Some(out)
}

fn suggestions(
    candidates: Vec<Candidate>,
    keep: impl Fn(&Candidate) -> bool,
) -> Vec<DynamicSuggestion> {
    candidates
        .into_iter()
        .filter(keep)
        .map(|c| DynamicSuggestion {
            value: c.name,
            description: Some(c.status.to_string()),
            ..DynamicSuggestion::default()
        })
        .collect()
}

/// Files and folders of `dir` whose names start with `prefix` (folders end in `/`).
fn directory_entries(dir: &Path, prefix: &str) -> Vec<DynamicSuggestion> {
    let mut entries: Vec<DynamicSuggestion> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if !name.starts_with(prefix) || name.starts_with('.') {
                return None;
            }
            let is_dir = entry.file_type().ok()?.is_dir();
            Some(DynamicSuggestion {
                value: if is_dir { format!("{name}/") } else { name },
                append_whitespace: !is_dir,
                ..DynamicSuggestion::default()
            })
        })
        .collect();
    entries.sort_by(|a, b| a.value.cmp(&b.value));
    entries
}

/// What has been typed so far for positional argument `index` ("" when nothing yet), or
/// `None` when it is not plain text.
fn typed_positional(call: &DynamicCompletionCall, index: usize) -> Option<String> {
    let Some(expr) = call.call.positional_iter().nth(index) else {
        return Some(String::new());
    };
    let text = match &expr.expr {
        Expr::String(s) | Expr::RawString(s) | Expr::GlobPattern(s, _) => s.clone(),
        Expr::Garbage => String::new(),
        _ => return None,
    };
    // Only what is before the cursor counts.
    let before = call.pos.saturating_sub(expr.span.start);
    Some(match text.get(..before) {
        Some(head) if before < text.len() => head.to_string(),
        _ => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tpm_core::Status;

    #[test]
    fn every_candidate_becomes_a_suggestion_with_its_status() {
        let candidates = vec![
            Candidate {
                name: "api-8080".into(),
                status: Status::Online,
                id: Some(0),
            },
            Candidate {
                name: "web-7777".into(),
                status: Status::Stopped,
                id: Some(1),
            },
        ];
        let got = suggestions(candidates, |_| true);
        let pairs: Vec<(&str, Option<&str>)> = got
            .iter()
            .map(|s| (s.value.as_str(), s.description.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [("api-8080", Some("online")), ("web-7777", Some("stopped"))]
        );
        assert!(got.iter().all(|s| s.append_whitespace));
    }

    #[test]
    fn ids_are_described_by_name_and_status() {
        let candidates = vec![
            Candidate {
                name: "api-8080".into(),
                status: Status::Online,
                id: Some(3),
            },
            Candidate {
                name: "old-1".into(),
                status: Status::Stopped,
                id: None,
            },
        ];
        let got: Vec<(String, Option<String>)> = ids(&candidates)
            .into_iter()
            .map(|s| (s.value, s.description))
            .collect();
        assert_eq!(got, [("3".into(), Some("api-8080 (online)".into()))]);
    }

    #[test]
    fn all_comes_after_the_names_once_and_not_without_processes() {
        let named = |n: &str| DynamicSuggestion {
            value: n.into(),
            ..DynamicSuggestion::default()
        };
        let values =
            |v: Vec<DynamicSuggestion>| -> Vec<String> { v.into_iter().map(|s| s.value).collect() };
        assert_eq!(
            values(with_all(vec![named("api-1"), named("web-2")])),
            ["api-1", "web-2", "all"]
        );
        assert_eq!(values(with_all(vec![named("all")])), ["all"]);
        assert!(with_all(Vec::new()).is_empty());
    }

    #[test]
    fn directory_entries_match_the_prefix_and_folders_end_in_a_slash() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("server.sh"), "").unwrap();
        std::fs::write(d.path().join("other.sh"), "").unwrap();
        std::fs::create_dir(d.path().join("servers")).unwrap();
        let got: Vec<(String, bool)> = directory_entries(d.path(), "serv")
            .into_iter()
            .map(|s| (s.value, s.append_whitespace))
            .collect();
        assert_eq!(
            got,
            [("server.sh".into(), true), ("servers/".into(), false)]
        );
    }
}
