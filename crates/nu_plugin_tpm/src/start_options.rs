//! The start options as Nushell flags, made from the core's one table
//! (`tpm_core::options::START_OPTIONS`), and Nushell values turned into option values.
//!
//! Values keep their Nushell types: durations for delays and timeouts (or milliseconds, as
//! in the CLI), file sizes for sizes, records for `--env`, lists for arguments. The same
//! conversion reads the records piped into `tpm start` (`[{name: web, script: server.sh}]`),
//! whose columns are ecosystem-file fields.

use nu_plugin::EvaluatedCall;
use nu_protocol::{LabeledError, Signature, Span, SyntaxShape, Value};
use tpm_core::options::{Kind, OptionDef, START_OPTIONS};
use tpm_core::Options;

/// Adds a flag for every start option that has one.
pub fn add_flags(mut sig: Signature) -> Signature {
    for def in START_OPTIONS {
        let Some(flag) = def.flag else { continue };
        let help = match def.default_text() {
            Some(default) if !def.is_switch() => format!("{} (default: {default}).", def.help),
            _ => format!("{}.", def.help),
        };
        sig = if def.is_switch() {
            sig.switch(flag, help, def.short)
        } else {
            sig.named(flag, shape(def.kind), help, def.short)
        };
    }
    sig
}

/// The shape Nushell checks a flag's value against.
fn shape(kind: Kind) -> SyntaxShape {
    match kind {
        Kind::Text => SyntaxShape::String,
        Kind::Port | Kind::Count => SyntaxShape::Int,
        Kind::Dir => SyntaxShape::Directory,
        Kind::Env => SyntaxShape::OneOf(vec![
            SyntaxShape::Record(Vec::new().into()),
            SyntaxShape::String,
        ]),
        Kind::Bool => SyntaxShape::Boolean,
        Kind::Instances => SyntaxShape::OneOf(vec![SyntaxShape::Int, SyntaxShape::String]),
        Kind::Millis => SyntaxShape::OneOf(vec![SyntaxShape::Duration, SyntaxShape::Int]),
        Kind::Size => SyntaxShape::OneOf(vec![
            SyntaxShape::Filesize,
            SyntaxShape::Int,
            SyntaxShape::String,
        ]),
        Kind::Words => SyntaxShape::OneOf(vec![
            SyntaxShape::List(Box::new(SyntaxShape::String)),
            SyntaxShape::String,
        ]),
        Kind::Paths => SyntaxShape::OneOf(vec![
            SyntaxShape::List(Box::new(SyntaxShape::String)),
            SyntaxShape::Boolean,
            SyntaxShape::String,
        ]),
        Kind::Signal => SyntaxShape::OneOf(vec![SyntaxShape::String, SyntaxShape::Int]),
        Kind::Codes => SyntaxShape::OneOf(vec![
            SyntaxShape::List(Box::new(SyntaxShape::Int)),
            SyntaxShape::Int,
            SyntaxShape::String,
        ]),
    }
}

/// The start options given as flags of `call`.
pub fn from_flags(call: &EvaluatedCall) -> Result<Options, LabeledError> {
    let mut options = Options::new();
    for def in START_OPTIONS {
        let Some(flag) = def.flag else { continue };
        if def.is_switch() {
            if call.has_flag(flag)? {
                options.set(def.id, tpm_core::options::Value::Bool(def.switch_value()));
            }
        } else if let Some(value) = call.get_flag_value(flag) {
            options.set(def.id, option_value(def, &value, &format!("--{flag}"))?);
        }
    }
    Ok(options)
}

/// One Nushell value as the value of option `def`; `what` names it in errors.
pub fn option_value(
    def: &OptionDef,
    value: &Value,
    what: &str,
) -> Result<tpm_core::options::Value, LabeledError> {
    let span = value.span();
    let parsed = match value {
        // Text is read as the CLI reads it (`10M`, `2s`, `KEY=VALUE`, `production`).
        Value::String { val, .. } => def.parse_text(val),
        other => to_json(other).and_then(|json| def.parse_json(&json)),
    };
    parsed.map_err(|message| usage(format!("{what}: {message}"), span))
}

/// A Nushell value in an ecosystem file's terms: durations in milliseconds, file sizes in
/// bytes, records as objects.
pub fn to_json(value: &Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        Value::Nothing { .. } => J::Null,
        Value::Bool { val, .. } => J::Bool(*val),
        Value::Int { val, .. } => J::from(*val),
        Value::Float { val, .. } => serde_json::Number::from_f64(*val)
            .map(J::Number)
            .ok_or_else(|| format!("{val} is not a number a file can hold"))?,
        Value::String { val, .. } | Value::Glob { val, .. } => J::String(val.clone()),
        Value::Duration { val, .. } => {
            if *val < 0 {
                return Err("a duration cannot be negative".into());
            }
            J::from(val / 1_000_000)
        }
        Value::Filesize { val, .. } => J::from(val.get()),
        Value::List { vals, .. } => J::Array(vals.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Record { val, .. } => J::Object(
            val.iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => return Err(format!("a {} cannot be a start option", other.get_type())),
    })
}

fn usage(message: String, span: Span) -> LabeledError {
    LabeledError::new(message.clone())
        .with_label(message, span)
        .with_code("tpm::usage")
        .with_help("`help tpm start` lists each option and what it takes")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use nu_protocol::Spanned;
    use tpm_core::options::{EnvItem, Opt, Value as V};

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

    fn one(flag: &str, value: Value) -> Result<Options, LabeledError> {
        from_flags(&call_with(flag, value))
    }

    #[test]
    fn every_option_with_a_flag_is_in_the_signature() {
        let sig = add_flags(Signature::build("tpm start"));
        for def in START_OPTIONS {
            if let Some(flag) = def.flag {
                assert!(sig.get_long_flag(flag).is_some(), "--{flag}");
            }
        }
    }

    #[test]
    fn delays_are_durations_or_milliseconds() {
        let o = one("restart-delay", Value::test_duration(1_500_000_000)).unwrap();
        assert_eq!(
            o.get(Opt::RestartDelay),
            Some(&V::Millis(Duration::from_millis(1500)))
        );
        let o = one("kill-timeout", Value::test_int(250)).unwrap();
        assert_eq!(
            o.get(Opt::KillTimeout),
            Some(&V::Millis(Duration::from_millis(250)))
        );
        assert!(one("kill-timeout", Value::test_int(-1)).is_err());
        assert!(one("kill-timeout", Value::test_duration(-5)).is_err());
    }

    #[test]
    fn ports_are_checked_where_they_are_given() {
        let o = one("port", Value::test_int(8080)).unwrap();
        assert_eq!(o.port(), Some(8080));
        for bad in [0, 65536, -3] {
            assert!(one("port", Value::test_int(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_are_file_sizes_bytes_or_text() {
        let o = one("max-log-size", Value::test_filesize(2048)).unwrap();
        assert_eq!(o.get(Opt::MaxLogSize), Some(&V::Size(2048)));
        let o = one("max-log-size", Value::test_string("1M")).unwrap();
        assert_eq!(o.get(Opt::MaxLogSize), Some(&V::Size(1 << 20)));
        assert!(one("max-log-size", Value::test_string("big")).is_err());
    }

    #[test]
    fn env_values_are_text_numbers_or_booleans_or_an_env_name() {
        let record = Value::test_record(
            [
                ("LOG_LEVEL".to_string(), Value::test_string("debug")),
                ("WORKERS".to_string(), Value::test_int(4)),
            ]
            .into_iter()
            .collect(),
        );
        let o = one("env", record).unwrap();
        assert_eq!(
            o.env_vars(),
            [
                ("LOG_LEVEL".to_string(), "debug".to_string()),
                ("WORKERS".into(), "4".into()),
            ]
        );
        let o = one("env", Value::test_string("production")).unwrap();
        assert_eq!(
            o.get(Opt::Env),
            Some(&V::Env(vec![EnvItem::Named("production".into())]))
        );
        let nested = Value::test_record(
            [("X".to_string(), Value::test_list(vec![]))]
                .into_iter()
                .collect(),
        );
        assert!(one("env", nested).is_err());
    }

    #[test]
    fn no_flags_means_no_options() {
        assert!(from_flags(&EvaluatedCall::new(Span::test_data()))
            .unwrap()
            .is_empty());
    }
}
