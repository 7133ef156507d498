//! Which processes a command acts on: names, ids, `all`, `*` patterns and ecosystem files
//! given as arguments, plus names piped in (strings, or rows with a `name` column, such as
//! `tpm list`'s), so that `tpm list | where status == errored | tpm restart` works.
//!
//! What each argument means is the core's to decide (`Tpm::select`): this file only gathers
//! the arguments with their spans, so an error can point at the one at fault.

use nu_plugin::EvaluatedCall;
use nu_protocol::{
    LabeledError, PipelineData, ShellError, Signature, Span, Spanned, SyntaxShape, Type, Value,
};
pub use tpm_core::command::Action;
use tpm_core::command::{ActRequest, Wait};
use tpm_core::{FileChoice, Name, Tpm};

use crate::error::{self, Blame};

/// The input types of a command that takes processes from its input too.
pub fn input_types(output: Type) -> Vec<(Type, Type)> {
    [
        Type::Nothing,
        Type::String,
        Type::list(Type::String),
        Type::record(),
        Type::table(),
    ]
    .into_iter()
    .map(|input| (input, output.clone()))
    .collect()
}

/// Adds the `...names` argument.
pub fn names_arg(signature: Signature) -> Signature {
    signature.rest(
        "names",
        SyntaxShape::String,
        "Process names or ids, `all`, patterns (`*` matches any characters; quote it: \"api-*\"), or an ecosystem file (its apps). Names can also be piped in.",
    )
}

/// Adds `--only`, as `tpm start FILE` and the commands that take a file have it.
pub fn only_flag(signature: Signature) -> Signature {
    signature.named(
        "only",
        SyntaxShape::OneOf(vec![
            SyntaxShape::List(Box::new(SyntaxShape::String)),
            SyntaxShape::String,
        ]),
        "With an ecosystem file: only these apps, by name (a list, or comma-separated text).",
        None,
    )
}

/// Adds `--only` and `--env NAME` for the ecosystem files among the names (the CLI's
/// `stop|restart|delete FILE --only a,b --env production`).
fn file_flags(signature: Signature) -> Signature {
    only_flag(signature).named(
        "env",
        SyntaxShape::OneOf(vec![
            SyntaxShape::List(Box::new(SyntaxShape::String)),
            SyntaxShape::String,
        ]),
        "With an ecosystem file: apply its apps' env_NAME over their env (a name, or a list of names applied in order).",
        Some('e'),
    )
}

/// `--only`: the app names, with where they were given; `None` without the flag.
pub fn only(call: &EvaluatedCall) -> Result<Option<Spanned<Vec<String>>>, LabeledError> {
    let Some(value) = call.get_flag_value("only") else {
        return Ok(None);
    };
    let span = value.span();
    let item = tpm_core::command::only_apps(texts(&value)?).map_err(|e| {
        error::labeled(
            &e,
            &error::Blame {
                target: Some(span),
                ..error::Blame::at(span)
            },
        )
    })?;
    Ok(Some(Spanned { item, span }))
}

/// A list of strings, or one.
fn texts(value: &Value) -> Result<Vec<String>, LabeledError> {
    match value {
        Value::List { vals, .. } => vals
            .iter()
            .map(|v| v.coerce_string().map_err(LabeledError::from))
            .collect(),
        other => Ok(vec![other.coerce_string().map_err(LabeledError::from)?]),
    }
}

/// `--env`'s names: a list of strings, or comma-separated text, empty words left out.
fn words(value: &Value, flag: &str) -> Result<Vec<String>, LabeledError> {
    let words = tpm_core::command::comma_words(&texts(value)?);
    if words.is_empty() {
        return Err(LabeledError::new(format!("{flag} names no app"))
            .with_label("no app name here", value.span())
            .with_code("tpm::usage")
            .with_help(format!("{flag} web,api, or {flag} [web api]")));
    }
    Ok(words)
}

/// `--only` and `--env NAME` of `stop`, `restart`, `delete`, and the span of the first of
/// them given (for "they need a file"). What they may hold is the core's rule
/// (`FileChoice::from_flags`).
pub fn file_choice(call: &EvaluatedCall) -> Result<(FileChoice, Option<Span>), LabeledError> {
    let only = only(call)?;
    let env = call.get_flag_value("env");
    let env_words = match &env {
        Some(value) => words(value, "--env")?,
        None => Vec::new(),
    };
    let span = only
        .as_ref()
        .map(|o| o.span)
        .or(env.as_ref().map(Value::span));
    let choice = FileChoice::from_flags(only.map(|o| o.item).unwrap_or_default(), &env_words)
        .map_err(|e| {
            let at = env.as_ref().map_or(call.head, Value::span);
            error::labeled(&e, &Blame::at(at))
        })?;
    Ok((choice, span))
}

/// The names, ids, patterns and files of this call, each with where it came from. None at
/// all is an error, unless an empty list was piped in (`[] | tpm stop` stops nothing).
pub fn selectors(
    call: &EvaluatedCall,
    input: PipelineData,
) -> Result<Vec<Spanned<String>>, LabeledError> {
    let (out, piped_list) = gather(call, input)?;
    if out.is_empty() && !piped_list {
        return Err(LabeledError::new("no process given")
            .with_label("which processes?", call.head)
            .with_code("tpm::usage")
            .with_help(
                "give names, ids or patterns (`tpm stop web-8080`, `tpm stop 0`, `tpm stop all`), or pipe in rows of `tpm list`",
            ));
    }
    Ok(out)
}

/// The selectors of this call, and whether a list was piped in.
pub fn gather(
    call: &EvaluatedCall,
    input: PipelineData,
) -> Result<(Vec<Spanned<String>>, bool), LabeledError> {
    let mut out = Vec::new();
    for value in &call.positional {
        out.push(Spanned {
            item: value.coerce_string().map_err(LabeledError::from)?,
            span: value.span(),
        });
    }
    let input = input.into_value(call.head).map_err(LabeledError::from)?;
    let piped_list = matches!(input, Value::List { .. });
    from_input(&input, &mut out)?;
    Ok((out, piped_list))
}

fn from_input(value: &Value, out: &mut Vec<Spanned<String>>) -> Result<(), LabeledError> {
    let span = value.span();
    match value {
        Value::Nothing { .. } => Ok(()),
        Value::String { val, .. } => {
            out.push(Spanned {
                item: val.clone(),
                span,
            });
            Ok(())
        }
        Value::Record { val, .. } => match val.get("name") {
            Some(Value::String { val: name, .. }) => {
                out.push(Spanned {
                    item: name.clone(),
                    span,
                });
                Ok(())
            }
            _ => Err(not_a_process(span, "a record without a `name` column")),
        },
        Value::List { vals, .. } => vals.iter().try_for_each(|v| from_input(v, out)),
        Value::Error { error, .. } => Err(LabeledError::from(ShellError::clone(error))),
        other => Err(not_a_process(span, &other.get_type().to_string())),
    }
}

fn not_a_process(span: Span, what: &str) -> LabeledError {
    LabeledError::new(format!("cannot take {what} as a process"))
        .with_label("not a process name", span)
        .with_code("tpm::usage")
        .with_help("pipe in process names, or rows with a `name` column (from `tpm list`)")
}

/// The processes the selectors name, in order, once each; an error points at the selector
/// (or at the ecosystem file) at fault. What the core found worth a warning (apps of a file
/// that are not started) goes to stderr.
pub fn resolve(
    tpm: &Tpm,
    head: Span,
    selectors: Vec<Spanned<String>>,
    choice: &FileChoice,
) -> Result<(Vec<Name>, Blame), LabeledError> {
    resolve_picked(tpm, head, selectors, choice, None)
}

/// [`resolve`], where `flag` is where `--only`/`--env` were given.
pub fn resolve_picked(
    tpm: &Tpm,
    head: Span,
    selectors: Vec<Spanned<String>>,
    choice: &FileChoice,
    flag: Option<Span>,
) -> Result<(Vec<Name>, Blame), LabeledError> {
    let raw: Vec<String> = selectors.iter().map(|s| s.item.clone()).collect();
    let blame = blame(tpm, head, selectors, flag);
    match tpm.select(&raw, choice) {
        Ok(selected) => {
            error::warn_all(&selected.warnings);
            Ok((selected.names, blame))
        }
        Err(e) => Err(error::labeled(&e, &blame)),
    }
}

/// Where the first ecosystem file among the selectors is, if any.
fn first_file(tpm: &Tpm, selectors: &[Spanned<String>]) -> Option<Span> {
    selectors
        .iter()
        .find(|s| tpm.is_ecosystem_file(&s.item))
        .map(|s| s.span)
}

/// Where an error of a selection points: at the ecosystem file among the selectors, else
/// at `--only`/`--env` (which need one), else at the selector it names.
fn blame(tpm: &Tpm, head: Span, selectors: Vec<Spanned<String>>, flag: Option<Span>) -> Blame {
    Blame {
        head,
        target: first_file(tpm, &selectors).or(flag),
        selectors,
        ..Blame::default()
    }
}

/// Runs `stop`, `restart` or `delete` (`Tpm::act`) on the processes of this call; returns
/// their records.
pub fn act(
    plugin: &crate::TpmPlugin,
    engine: &nu_plugin::EngineInterface,
    call: &EvaluatedCall,
    input: PipelineData,
    action: Action,
) -> Result<PipelineData, LabeledError> {
    let head = call.head;
    let (choice, flag) = file_choice(call)?;
    let selectors = selectors(call, input)?;
    let tpm = crate::context::open(plugin, engine, head)?;
    let wait = Wait {
        wait: call.has_flag("wait")?,
        timeout: wait_timeout(call)?,
    };
    let request = ActRequest {
        action,
        selectors: selectors.iter().map(|s| s.item.clone()).collect(),
        choice,
        wait,
        with_dependants: action == Action::Restart && call.has_flag("with-dependants")?,
    };
    let blame = blame(&tpm, head, selectors, flag);
    let acted = tpm.act(request).map_err(|e| error::labeled(&e, &blame))?;
    error::warn_all(&acted.warnings);
    let done = error::each(acted.results, &blame, action.done())?;
    let rows = done
        .iter()
        .map(|p| crate::value::process(p, head))
        .collect();
    Ok(PipelineData::value(Value::list(rows, head), None))
}

/// The wait group: `--wait` and `--wait-timeout`.
fn wait_flags(sig: Signature) -> Signature {
    sig.switch(
        "wait",
        "Return once each process is ready; fail if it exits or is not ready in time.",
        None,
    )
    .named(
        "wait-timeout",
        SyntaxShape::OneOf(vec![SyntaxShape::Duration, SyntaxShape::Int]),
        "How long --wait waits (a duration, or milliseconds; default: the process's own, 30sec unless started with another).",
        None,
    )
}

/// A command's shared flags, from the groups the core's table gives it (each group's
/// flags are declared once, here), by the command's name.
pub fn with_groups(sig: Signature) -> Signature {
    use tpm_core::command::{Group, Positional};
    let Some(def) = sig
        .name
        .strip_prefix("tpm ")
        .and_then(tpm_core::command::find)
    else {
        return sig;
    };
    def.groups.iter().fold(sig, |sig, group| match group {
        // The plugin returns data: `--json` is the CLI's.
        Group::Json => sig,
        Group::File => file_flags(sig),
        // `tpm start`'s --wait and --wait-timeout are start options (options.rs), added
        // with the others.
        Group::Wait if def.positional == Positional::Target => sig,
        Group::Wait => wait_flags(sig),
    })
}

/// `--wait-timeout`, when given (it wins over each process's own).
fn wait_timeout(call: &EvaluatedCall) -> Result<Option<std::time::Duration>, LabeledError> {
    let Some(value) = call.get_flag_value("wait-timeout") else {
        return Ok(None);
    };
    let def = tpm_core::options::Opt::WaitTimeout.def();
    Ok(
        match crate::start_options::option_value(def, &value, "--wait-timeout")? {
            tpm_core::options::Value::Millis(d) => Some(d),
            _ => None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_with(flag: &str, value: Value) -> EvaluatedCall {
        EvaluatedCall::new(Span::test_data()).with_named(
            Spanned {
                item: flag.to_string(),
                span: Span::test_data(),
            },
            value,
        )
    }

    fn list(words: &[&str]) -> Value {
        Value::test_list(words.iter().map(|w| Value::test_string(*w)).collect())
    }

    #[test]
    fn only_takes_a_list_or_comma_separated_text() {
        let got = only(&call_with("only", Value::test_string("web, api,")))
            .unwrap()
            .unwrap();
        assert_eq!(got.item, ["web", "api"]);
        let got = only(&call_with("only", list(&["web", "api-8080"])))
            .unwrap()
            .unwrap();
        assert_eq!(got.item, ["web", "api-8080"]);
        assert!(only(&call_with("only", Value::test_string(" , "))).is_err());
        assert!(only(&EvaluatedCall::new(Span::test_data()))
            .unwrap()
            .is_none());
    }

    #[test]
    fn env_with_a_file_takes_names_and_refuses_variables() {
        let (choice, span) = file_choice(&call_with("env", list(&["production", "eu"]))).unwrap();
        assert_eq!(choice.env_names, ["production", "eu"]);
        assert!(choice.overrides.is_empty());
        assert!(span.is_some());
        let e = file_choice(&call_with("env", Value::test_string("A=1"))).unwrap_err();
        assert!(e.msg.contains("takes a NAME"), "{}", e.msg);
        let (choice, span) = file_choice(&EvaluatedCall::new(Span::test_data())).unwrap();
        assert_eq!(choice, FileChoice::default());
        assert!(span.is_none());
    }
}
