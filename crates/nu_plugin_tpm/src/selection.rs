//! Which processes a command acts on: names and `*` patterns given as arguments, plus names
//! piped in (strings, or rows with a `name` column, such as `tpm list`'s), so that
//! `tpm list | where status == errored | tpm restart` works.

use nu_plugin::EvaluatedCall;
use nu_protocol::{LabeledError, PipelineData, ShellError, Signature, Span, Spanned, Type, Value};
use tpm_core::{Name, Tpm};

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
        nu_protocol::SyntaxShape::String,
        "Process names; `*` matches any characters (quote it: \"api-*\"). Names can also be piped in.",
    )
}

/// The names and patterns of this call, each with where it came from.
pub fn selectors(
    call: &EvaluatedCall,
    input: PipelineData,
) -> Result<Vec<Spanned<String>>, LabeledError> {
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
    if out.is_empty() && !piped_list {
        return Err(LabeledError::new("no process given")
            .with_label("which processes?", call.head)
            .with_code("tpm::usage")
            .with_help(
                "give names or patterns (`tpm stop web-8080`, `tpm stop \"*\"`), or pipe in rows of `tpm list`",
            ));
    }
    Ok(out)
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

/// The processes the selectors name, in order, once each; an error points at the name.
pub fn resolve(
    tpm: &Tpm,
    head: Span,
    selectors: Vec<Spanned<String>>,
) -> Result<(Vec<Name>, Blame), LabeledError> {
    let raw: Vec<String> = selectors.iter().map(|s| s.item.clone()).collect();
    let blame = Blame {
        head,
        selectors,
        ..Blame::default()
    };
    match tpm.resolve(&raw) {
        Ok(names) => Ok((names, blame)),
        Err(e) => Err(error::labeled(&e, &blame)),
    }
}

/// Runs `stop`, `restart` or `delete` on the processes of this call; returns their records.
pub fn act(
    plugin: &crate::TpmPlugin,
    engine: &nu_plugin::EngineInterface,
    call: &EvaluatedCall,
    input: PipelineData,
    op: impl FnOnce(&Tpm, &[Name]) -> tpm_core::ops::Each<tpm_core::ProcessInfo>,
    verb: &str,
) -> Result<PipelineData, LabeledError> {
    let head = call.head;
    let selectors = selectors(call, input)?;
    let tpm = crate::context::open(plugin, engine, head)?;
    let (names, blame) = resolve(&tpm, head, selectors)?;
    let done = error::each(op(&tpm, &names), &blame, verb)?;
    let rows = done
        .iter()
        .map(|p| crate::value::process(p, head))
        .collect();
    Ok(PipelineData::value(Value::list(rows, head), None))
}
