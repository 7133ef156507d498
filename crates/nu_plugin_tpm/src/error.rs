//! Core errors as Nushell `LabeledError`s: the core's message, a label under the argument
//! that caused it, and the core's help line. Nothing here decides what is an error; it only
//! says where to point.

use nu_protocol::{LabeledError, ShellError, Span, Spanned};
use tpm_core::Error;

/// Where the arguments of one call are, so an error can point at the one at fault.
#[derive(Debug, Default, Clone)]
pub struct Blame {
    pub head: Span,
    /// `tpm start`'s script, command or ecosystem file; the apps piped into it; the
    /// ecosystem file given to `stop`, `restart`, `delete`.
    pub target: Option<Span>,
    /// `tpm start`'s custom name (second argument or `--name`).
    pub name: Option<Span>,
    pub cwd: Option<Span>,
    /// The names and patterns given to `stop`, `restart`, `delete`, `logs`.
    pub selectors: Vec<Spanned<String>>,
}

impl Blame {
    pub fn at(head: Span) -> Blame {
        Blame {
            head,
            ..Blame::default()
        }
    }

    fn selector(&self, name: &str) -> Option<Span> {
        self.selectors
            .iter()
            .find(|s| s.item == name)
            .map(|s| s.span)
    }
}

/// The span of the argument at fault, or the command's head.
fn span_for(e: &Error, b: &Blame) -> Span {
    let found = match e {
        Error::NotFound { name } | Error::InvalidName { name, .. } => {
            b.selector(name).or(b.name).or(b.target)
        }
        Error::CwdNotFound { .. } => b.cwd,
        Error::Usage(_)
        | Error::NoPort { .. }
        | Error::ScriptNotFound { .. }
        | Error::NotExecutable { .. }
        | Error::CommandNotFound { .. }
        | Error::Ecosystem { .. }
        | Error::NodeMissing { .. }
        | Error::NoPm2Dump { .. }
        | Error::BadPm2Dump { .. }
        | Error::App { .. }
        | Error::Problems { .. } => b.target,
        Error::EmptyDump { .. } => None,
        Error::PortTaken { .. } | Error::RecordTooLarge { .. } => b.target,
        Error::ExecFailed { name, .. }
        | Error::AlreadyRunning { name, .. }
        | Error::Busy { name, .. }
        | Error::Supervisor { name, .. }
        | Error::NotAnswering { name, .. }
        | Error::NotReady { name, .. }
        | Error::DependencyFailed { name, .. }
        | Error::Overtaken { name, .. } => b.selector(name).or(b.target),
        Error::CorruptRecord { .. }
        | Error::ForeignStore { .. }
        | Error::RelativeStore { .. }
        | Error::Io { .. } => None,
    };
    found.unwrap_or(b.head)
}

/// One core error, pointed at its argument.
pub fn labeled(e: &Error, blame: &Blame) -> LabeledError {
    let class = e.class();
    let mut error = LabeledError::new(e.to_string())
        .with_label(class.label, span_for(e, blame))
        .with_code(class.code());
    if let Some(help) = e.help() {
        error = error.with_help(help);
    }
    error
}

/// A core error that no argument caused (opening the store, listing).
pub fn general(e: &Error, head: Span) -> LabeledError {
    labeled(e, &Blame::at(head))
}

/// Records that could not be read do not stop a listing; like the CLI, say so on stderr.
pub fn warn(problems: &[tpm_core::store::Problem]) {
    for problem in problems {
        eprintln!("tpm: warning: {}", problem.error);
    }
}

/// What the core found worth a warning (an ecosystem file's unknown fields, an app of a
/// file that is not started): on stderr, as the CLI says it, so the table stays data.
pub fn warn_all(warnings: &[String]) {
    for warning in warnings {
        eprintln!("tpm: warning: {warning}");
    }
}

/// The outcome of an operation on several processes: the affected ones, or, if any failed,
/// one error saying which failed (each pointed at its name) and which were done.
pub fn each<T>(
    results: Vec<(tpm_core::Name, tpm_core::Result<T>)>,
    blame: &Blame,
    verb: &str,
) -> Result<Vec<T>, LabeledError> {
    let total = results.len();
    let mut done = Vec::new();
    let mut done_names = Vec::new();
    let mut failed = Vec::new();
    for (name, result) in results {
        match result {
            Ok(v) => {
                done.push(v);
                done_names.push(name.to_string());
            }
            Err(e) => failed.push(labeled(&e, blame)),
        }
    }
    match failed.len() {
        0 => Ok(done),
        1 if done.is_empty() => Err(failed.remove(0)),
        n => {
            let summary = if done_names.is_empty() {
                format!("none was {verb}")
            } else {
                format!("{verb}: {}", done_names.join(", "))
            };
            let mut error = LabeledError::new(format!("{n} of {total} processes failed"))
                .with_label(summary, blame.head)
                .with_code("tpm::some_failed")
                .with_help("the errors below say what failed for each; the others were done");
            for e in failed {
                error = error.with_inner(ShellError::from(e));
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: usize) -> Span {
        Span::new(a, a + 1)
    }

    #[test]
    fn an_unknown_name_points_at_that_name_with_the_core_help() {
        let blame = Blame {
            head: span(0),
            selectors: vec![
                Spanned {
                    item: "web-8080".into(),
                    span: span(10),
                },
                Spanned {
                    item: "nope-1".into(),
                    span: span(20),
                },
            ],
            ..Blame::default()
        };
        let e = labeled(
            &Error::NotFound {
                name: "nope-1".into(),
            },
            &blame,
        );
        assert_eq!(e.msg, "no process named nope-1");
        assert_eq!(e.labels[0].span, span(20));
        assert_eq!(e.labels[0].text, "no such process");
        assert_eq!(
            e.help.as_deref(),
            Some("`tpm list` shows the processes tpm knows")
        );
        assert_eq!(e.code.as_deref(), Some("tpm::not_found"));
    }

    #[test]
    fn start_errors_point_at_the_script_the_directory_or_the_name() {
        let blame = Blame {
            head: span(0),
            target: Some(span(5)),
            name: Some(span(7)),
            cwd: Some(span(9)),
            selectors: vec![],
        };
        let no_port = Error::NoPort {
            target: "x.sh".into(),
        };
        assert_eq!(labeled(&no_port, &blame).labels[0].span, span(5));
        let cwd = Error::CwdNotFound {
            path: "/nowhere".into(),
        };
        assert_eq!(labeled(&cwd, &blame).labels[0].span, span(9));
        let bad = Error::InvalidName {
            name: "a b-1".into(),
            reason: "x",
        };
        assert_eq!(labeled(&bad, &blame).labels[0].span, span(7));
        let io = Error::Io {
            action: "cannot read",
            path: "/x".into(),
            source: std::io::Error::other("boom"),
        };
        let e = labeled(&io, &blame);
        assert_eq!(e.labels[0].span, span(0));
        assert!(e.help.is_none());
    }

    #[test]
    fn partial_failures_say_what_was_done_and_what_failed() {
        let name = |s: &str| tpm_core::Name::parse(s).unwrap();
        let results: Vec<(tpm_core::Name, tpm_core::Result<u8>)> = vec![
            (name("a-1"), Ok(1)),
            (
                name("b-2"),
                Err(Error::Busy {
                    name: "b-2".into(),
                    what: "x".into(),
                }),
            ),
            (
                name("c-3"),
                Err(Error::Busy {
                    name: "c-3".into(),
                    what: "x".into(),
                }),
            ),
        ];
        let e = each(results, &Blame::at(span(0)), "stopped").unwrap_err();
        assert_eq!(e.msg, "2 of 3 processes failed");
        assert_eq!(e.labels[0].text, "stopped: a-1");
        assert_eq!(e.inner.len(), 2);

        let ok: Vec<(tpm_core::Name, tpm_core::Result<u8>)> = vec![(name("a-1"), Ok(1))];
        assert_eq!(each(ok, &Blame::at(span(0)), "stopped").unwrap(), [1]);
    }
}
