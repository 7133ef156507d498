//! The user's context, from Nushell: its environment (as strings, the way Nushell passes it to
//! an external command) and its current directory. The plugin process's own environment and
//! directory are not the user's and are never used.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use nu_plugin::EngineInterface;
use nu_protocol::{LabeledError, Span, Spanned, Value};
use tpm_core::{Context, Tpm};

use crate::TpmPlugin;

/// A `Tpm` for this call: Nushell's environment and directory, this plugin as supervisor.
pub fn open(plugin: &TpmPlugin, engine: &EngineInterface, head: Span) -> Result<Tpm, LabeledError> {
    let ctx = context(engine, head)?;
    open_with(plugin, ctx, head)
}

/// Opens the store for a context already read; says on stderr what opening it repaired
/// (as the CLI does).
pub fn open_with(plugin: &TpmPlugin, ctx: Context, head: Span) -> Result<Tpm, LabeledError> {
    let tpm = Tpm::new(ctx, plugin.supervisor_exe.clone())
        .map_err(|e| crate::error::general(&e, head))?;
    for warning in tpm.warnings() {
        eprintln!("tpm: warning: {warning}");
    }
    Ok(tpm)
}

/// Nushell's environment and current directory.
pub fn context(engine: &EngineInterface, head: Span) -> Result<Context, LabeledError> {
    let engine_error = |what: &str, e: nu_protocol::ShellError| {
        LabeledError::new(format!("tpm cannot read Nushell's {what}"))
            .with_label(e.to_string(), head)
    };
    let cwd = engine
        .get_current_dir()
        .map_err(|e| engine_error("current directory", e))?;
    let vars = engine
        .get_env_vars()
        .map_err(|e| engine_error("environment", e))?;
    Ok(Context {
        env: env_strings(&vars, |closure, value| {
            engine.eval_closure(closure, vec![value.clone()], None).ok()
        }),
        cwd: PathBuf::from(cwd),
    })
}

/// The environment as an external command started by Nushell would get it: a variable with a
/// `to_string` closure in `$env.ENV_CONVERSIONS` is converted by it; PATH lists are joined
/// with `:`; strings, numbers and booleans are passed as text; anything else is left out.
pub fn env_strings(
    vars: &HashMap<String, Value>,
    mut convert: impl FnMut(&Spanned<nu_protocol::engine::Closure>, &Value) -> Option<Value>,
) -> Vec<(OsString, OsString)> {
    let conversions = vars.get("ENV_CONVERSIONS");
    let home = vars.get("HOME").and_then(|h| h.coerce_str().ok());
    let mut env: Vec<(OsString, OsString)> = vars
        .iter()
        .filter_map(|(key, value)| {
            let converted = to_string_closure(conversions, key).and_then(|c| convert(&c, value));
            let text = match converted.as_ref().unwrap_or(value) {
                Value::List { vals, .. } if key.eq_ignore_ascii_case("path") => {
                    let dirs: Vec<String> = vals
                        .iter()
                        .filter_map(|v| v.coerce_str().ok())
                        .map(|d| expand_tilde(&d, home.as_deref()))
                        .collect();
                    dirs.join(":")
                }
                other => other.coerce_string().ok()?,
            };
            Some((OsString::from(key), OsString::from(text)))
        })
        .collect();
    // A stable order, so a process's environment does not depend on hashing.
    env.sort();
    env
}

fn to_string_closure(
    conversions: Option<&Value>,
    key: &str,
) -> Option<Spanned<nu_protocol::engine::Closure>> {
    let conversion = conversions?.as_record().ok()?.get(key)?;
    let closure = conversion.as_record().ok()?.get("to_string")?;
    Some(Spanned {
        item: closure.as_closure().ok()?.clone(),
        span: closure.span(),
    })
}

/// `~` and `~/x`, as Nushell expands them in paths.
pub fn expand_tilde(path: &str, home: Option<&str>) -> String {
    match (path.strip_prefix('~'), home) {
        (Some(""), Some(home)) => home.to_string(),
        (Some(rest), Some(home)) if rest.starts_with('/') => Path::new(home)
            .join(rest.trim_start_matches('/'))
            .to_string_lossy()
            .into_owned(),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: Vec<(&str, Value)>) -> HashMap<String, Value> {
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    fn s(text: &str) -> Value {
        Value::test_string(text)
    }

    #[test]
    fn strings_numbers_and_path_lists_become_text_and_the_rest_is_left_out() {
        let vars = vars(vec![
            ("HOME", s("/home/u")),
            ("PATH", Value::test_list(vec![s("/bin"), s("~/bin")])),
            ("PORT", Value::test_int(9000)),
            ("DEBUG", Value::test_bool(true)),
            ("ENV_CONVERSIONS", Value::test_record(Default::default())),
            ("NESTED", Value::test_list(vec![s("a")])),
        ]);
        let env = env_strings(&vars, |_, _| None);
        let got: Vec<(String, String)> = env
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        let want = [
            ("DEBUG", "true"),
            ("HOME", "/home/u"),
            ("PATH", "/bin:/home/u/bin"),
            ("PORT", "9000"),
        ];
        assert_eq!(
            got,
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
    }

    #[test]
    fn tilde_expands_only_as_a_whole_first_component() {
        let home = Some("/h");
        assert_eq!(expand_tilde("~", home), "/h");
        assert_eq!(expand_tilde("~/a/b", home), "/h/a/b");
        assert_eq!(expand_tilde("~bob/a", home), "~bob/a");
        assert_eq!(expand_tilde("a/~", home), "a/~");
        assert_eq!(expand_tilde("~/a", None), "~/a");
    }
}
