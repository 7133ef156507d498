use std::path::PathBuf;
use std::time::Duration;

use nu_plugin::DynamicCompletionCall;
use nu_plugin::{EngineInterface, EvaluatedCall, PluginCommand, SimplePluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, Signature, Span, Spanned, SyntaxShape,
    Type, Value,
};
use tpm_core::logs::LogLimits;
use tpm_core::policy::{self, Policy};
use tpm_core::StartRequest;

use crate::context::{self, expand_tilde};
use crate::error::{self, Blame};
use crate::{complete, value, TpmPlugin};

/// `tpm start`: start a script or a command under supervision.
pub struct Start;

impl SimplePluginCommand for Start {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm start"
    }

    fn description(&self) -> &str {
        "Start a script or a command under supervision, named basename-PORT."
    }

    fn extra_description(&self) -> &str {
        "Returns the started process as a record (the row `tpm list` shows for it). \
A relative script path is taken from the current directory. .sh runs with bash, .py with \
python3, .js/.cjs/.mjs with node; other files must be executable. A command string is split \
like a shell would, then executed directly. \
The PORT comes from --port, the command's own --port/-p/number argument, $env.PORT, or a \
`PORT=N` / `export PORT=N` line in the script. The process gets Nushell's environment plus \
--env, which is kept for restarts."
    }

    fn signature(&self) -> Signature {
        Signature::build(PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::record())
            .required(
                "script",
                SyntaxShape::String,
                "A script (.sh, .py, .js, or any executable), a command string in quotes, or the name of a stopped process.",
            )
            .optional(
                "custom_name",
                SyntaxShape::String,
                "Custom name, used instead of the script's base name (as --name).",
            )
            .rest(
                "args",
                SyntaxShape::String,
                "Arguments for the script, after `--` (as in the CLI).",
            )
            .named(
                "name",
                SyntaxShape::String,
                "Custom name, used instead of the script's base name.",
                Some('n'),
            )
            .named(
                "port",
                SyntaxShape::Int,
                "The PORT (otherwise detected from the command, $env.PORT or the script).",
                Some('p'),
            )
            .named(
                "cwd",
                SyntaxShape::Directory,
                "Working directory of the process (default: the current directory).",
                None,
            )
            .named(
                "env",
                SyntaxShape::Record(Vec::new().into()),
                "Environment variables for the process, kept for restarts: {KEY: value}.",
                Some('e'),
            )
            .switch(
                "no-autorestart",
                "Do not restart the process when it exits.",
                None,
            )
            .named(
                "max-restarts",
                SyntaxShape::Int,
                "Quick exits (within 1s of starting) in a row before the process is marked errored (default 10; 0: never).",
                None,
            )
            .named(
                "restart-delay",
                SyntaxShape::OneOf(vec![SyntaxShape::Duration, SyntaxShape::Int]),
                "First restart delay (a duration, or milliseconds); doubles on each restart, up to 15s (default 100ms).",
                None,
            )
            .named(
                "kill-timeout",
                SyntaxShape::OneOf(vec![SyntaxShape::Duration, SyntaxShape::Int]),
                "Time between TERM and KILL when stopping (a duration, or milliseconds; default 3sec).",
                None,
            )
            .named(
                "max-log-size",
                SyntaxShape::OneOf(vec![SyntaxShape::Filesize, SyntaxShape::Int, SyntaxShape::String]),
                "Rotate a log file when it would grow past this size (a file size, bytes, or text like 10M; 0: never; default 10MiB).",
                None,
            )
            .named(
                "log-keep",
                SyntaxShape::Int,
                "Rotated log files kept per stream (default 5).",
                None,
            )
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        vec!["run", "launch", "spawn", "supervise", "daemon", "pm2"]
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm start server.sh",
                description: "Start a script; with `export PORT=3000` in it, it is named server-3000",
                result: None,
            },
            Example {
                example: "tpm start api/backend.sh api",
                description: "Start a script under a custom name: api-PORT",
                result: None,
            },
            Example {
                example: "tpm start \"python3 -m http.server 7777 --bind 127.0.0.1\" --name web",
                description: "Start a command; its PORT is its own number argument: web-7777",
                result: None,
            },
            Example {
                example: "with-env {PORT: 9001} { tpm start worker.sh }",
                description: "Give the PORT in the environment",
                result: None,
            },
            Example {
                example: "tpm start worker.sh --port 9002 --env {LOG_LEVEL: debug} --restart-delay 1sec -- --verbose",
                description: "Set variables, a slower restart, and arguments for the script",
                result: None,
            },
            Example {
                example: "(tpm start worker.sh --port 9000).name",
                description: "The started process's name: the script's base name and its PORT",
                result: Some(Value::test_string("worker-9000")),
            },
        ]
    }

    #[expect(deprecated, reason = "the completion API is marked experimental")]
    fn get_dynamic_completion(
        &self,
        _plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: DynamicCompletionCall,
        arg_type: ArgType,
        _experimental: nu_protocol::engine::ExperimentalMarker,
    ) -> Option<Vec<DynamicSuggestion>> {
        match arg_type {
            ArgType::Positional(0) => complete::start_target(engine, &call),
            _ => None,
        }
    }

    fn run(
        &self,
        plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        _input: &Value,
    ) -> Result<Value, LabeledError> {
        let head = call.head;
        let ctx = context::context(engine, head)?;
        let home = ctx.var("HOME").and_then(|h| h.to_str()).map(String::from);
        let home = home.as_deref();

        let Positionals {
            target,
            custom_name: positional_name,
            args,
        } = positionals(engine, call)?;
        let flag_name: Option<Spanned<String>> = call.get_flag("name")?;
        if let (Some(a), Some(b)) = (&positional_name, &flag_name) {
            return Err(LabeledError::new("two custom names given")
                .with_label("this one", a.span)
                .with_label("and this one", b.span)
                .with_code("tpm::usage")
                .with_help("give the custom name once: as the second argument or with --name"));
        }
        let name = positional_name.or(flag_name);
        let cwd: Option<Spanned<String>> = call.get_flag("cwd")?;
        let policy = policy_flags(call)?;
        let logs = log_flags(call)?;

        let blame = Blame {
            head,
            target: Some(target.span),
            name: name.as_ref().map(|n| n.span),
            cwd: cwd.as_ref().map(|c| c.span),
            selectors: Vec::new(),
        };
        let request = StartRequest {
            target: expand_tilde(&target.item, home),
            name: name.map(|n| n.item),
            port: port_flag(call)?,
            cwd: cwd.map(|c| PathBuf::from(expand_tilde(&c.item, home))),
            env: env_flag(call)?,
            args,
            policy: (policy != Policy::default()).then_some(policy),
            logs: (logs != LogLimits::default()).then_some(logs),
        };
        let tpm = context::open_with(plugin, ctx, head)?;
        let info = tpm
            .start(&request)
            .map_err(|e| error::labeled(&e, &blame))?;
        Ok(value::process(&info, head))
    }
}

/// The positional arguments as the CLI reads them: the script, maybe a custom name, and,
/// after `--`, the script's arguments.
struct Positionals {
    target: Spanned<String>,
    custom_name: Option<Spanned<String>>,
    args: Vec<String>,
}

/// Nushell drops a `--` and passes what follows as positional arguments, so where it stood is
/// read back from the source text between the arguments (flags and their values left out).
fn positionals(
    engine: &EngineInterface,
    call: &EvaluatedCall,
) -> Result<Positionals, LabeledError> {
    let all: Vec<Spanned<String>> = call.rest(0)?;
    let mut iter = all.iter();
    let Some(target) = iter.next().cloned() else {
        // Nushell checks the required argument; this is for a caller that did not.
        return Err(LabeledError::new("nothing to start")
            .with_label("a script or a command is needed", call.head)
            .with_code("tpm::usage"));
    };
    let dashes_at = (1..all.len())
        .find(|&i| double_dash_between(engine, call, all[i - 1].span, all[i].span))
        .unwrap_or(all.len());
    let before = &all[1..dashes_at];
    if let Some(extra) = before.get(1) {
        return Err(
            LabeledError::new(format!("unexpected argument {:?}", extra.item))
                .with_label("a third argument before `--`", extra.span)
                .with_code("tpm::usage")
                .with_help("arguments for the script go after `--`: tpm start app.sh -- --verbose"),
        );
    }
    Ok(Positionals {
        target,
        custom_name: before.first().cloned(),
        args: all[dashes_at..].iter().map(|a| a.item.clone()).collect(),
    })
}

/// Whether a `--` stands between two arguments. Flag names and values in the gap are blanked
/// out first, so that `--env {A: "x -- y"}` is not mistaken for one.
fn double_dash_between(engine: &EngineInterface, call: &EvaluatedCall, a: Span, b: Span) -> bool {
    if b.start <= a.end {
        return false;
    }
    let gap = Span::new(a.end, b.start);
    let Ok(mut text) = engine.get_span_contents(gap) else {
        return false;
    };
    let flag_spans = call.named.iter().flat_map(|(name, value)| {
        std::iter::once(name.span).chain(value.as_ref().map(Value::span))
    });
    for span in flag_spans {
        let (from, to) = (span.start.max(gap.start), span.end.min(gap.end));
        if from < to {
            text[from - gap.start..to - gap.start].fill(b' ');
        }
    }
    text.split(u8::is_ascii_whitespace)
        .any(|word| word == b"--")
}

fn port_flag(call: &EvaluatedCall) -> Result<Option<u16>, LabeledError> {
    let Some(port) = call.get_flag::<Spanned<i64>>("port")? else {
        return Ok(None);
    };
    match u16::try_from(port.item) {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(LabeledError::new(format!("{} is not a port", port.item))
            .with_label("not a port", port.span)
            .with_code("tpm::usage")
            .with_help("a port is a number from 1 to 65535")),
    }
}

/// `--env {KEY: value}`: text, numbers and booleans, as Nushell passes them to commands.
fn env_flag(call: &EvaluatedCall) -> Result<Vec<(String, String)>, LabeledError> {
    let Some(env) = call.get_flag_value("env") else {
        return Ok(Vec::new());
    };
    let record = env.as_record().map_err(LabeledError::from)?;
    record
        .iter()
        .map(|(key, value)| {
            if key.is_empty() || key.contains(['=', '\0']) {
                return Err(
                    LabeledError::new(format!("{key:?} cannot be a variable name"))
                        .with_label("bad variable name", env.span())
                        .with_code("tpm::usage")
                        .with_help("environment variable names are not empty and hold no '='"),
                );
            }
            match value {
                Value::String { .. }
                | Value::Int { .. }
                | Value::Float { .. }
                | Value::Bool { .. } => Ok((key.clone(), value.coerce_string()?)),
                other => Err(LabeledError::new(format!(
                    "--env {key}: a {} cannot be an environment variable",
                    other.get_type()
                ))
                .with_label("not text, a number or a boolean", other.span())
                .with_code("tpm::usage")
                .with_help("give the value as a string")),
            }
        })
        .collect()
}

/// The log rotation flags; the defaults are the CLI's.
fn log_flags(call: &EvaluatedCall) -> Result<LogLimits, LabeledError> {
    let defaults = LogLimits::default();
    let bad = |what: String, span| {
        LabeledError::new(what)
            .with_label("not a size", span)
            .with_code("tpm::usage")
            .with_help("give a file size (10MiB), a number of bytes, or text such as 10M or 512K")
    };
    let max_size = match call.get_flag_value("max-log-size") {
        None => defaults.max_size,
        Some(value) => {
            let span = value.span();
            match value {
                Value::Filesize { val, .. } => u64::try_from(val.get())
                    .map_err(|_| bad(format!("{} is not a size", val.get()), span))?,
                Value::Int { val, .. } => {
                    u64::try_from(val).map_err(|_| bad(format!("{val} is not a size"), span))?
                }
                Value::String { val, .. } => tpm_core::logs::parse_size(&val)
                    .ok_or_else(|| bad(format!("{val:?} is not a size"), span))?,
                other => return Err(bad(format!("a {} is not a size", other.get_type()), span)),
            }
        }
    };
    let keep = match call.get_flag::<Spanned<i64>>("log-keep")? {
        None => defaults.keep,
        Some(n) => u32::try_from(n.item).map_err(|_| {
            LabeledError::new(format!("{} is not a number of files", n.item))
                .with_label("not a count", n.span)
                .with_code("tpm::usage")
                .with_help("give 0 or more")
        })?,
    };
    Ok(LogLimits { max_size, keep })
}

/// The restart policy flags; the defaults are the CLI's.
fn policy_flags(call: &EvaluatedCall) -> Result<Policy, LabeledError> {
    let defaults = Policy::default();
    let max_restarts = match call.get_flag::<Spanned<i64>>("max-restarts")? {
        None => policy::DEFAULT_MAX_RESTARTS,
        Some(n) => u32::try_from(n.item).map_err(|_| {
            LabeledError::new(format!("{} is not a number of restarts", n.item))
                .with_label("not a count", n.span)
                .with_code("tpm::usage")
                .with_help("give 0 or more (0: never give up)")
        })?,
    };
    Ok(Policy {
        autorestart: !call.has_flag("no-autorestart")?,
        max_restarts,
        restart_delay: duration_flag(call, "restart-delay")?.unwrap_or(defaults.restart_delay),
        kill_timeout: duration_flag(call, "kill-timeout")?.unwrap_or(defaults.kill_timeout),
    })
}

/// A duration, or a number of milliseconds as the CLI takes it.
fn duration_flag(call: &EvaluatedCall, flag: &str) -> Result<Option<Duration>, LabeledError> {
    let Some(value) = call.get_flag_value(flag) else {
        return Ok(None);
    };
    let (nanos, span) = match value {
        Value::Duration {
            val, internal_span, ..
        } => (val, internal_span),
        Value::Int {
            val, internal_span, ..
        } => (val.saturating_mul(1_000_000), internal_span),
        other => return Err(LabeledError::from(other.as_duration().unwrap_err())),
    };
    u64::try_from(nanos)
        .map(|n| Some(Duration::from_nanos(n)))
        .map_err(|_| {
            LabeledError::new(format!("--{flag} cannot be negative"))
                .with_label("negative", span)
                .with_code("tpm::usage")
                .with_help("give a duration such as 500ms or 2sec")
        })
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

    #[test]
    fn delays_are_durations_or_milliseconds() {
        let c = call_with("restart-delay", Value::test_duration(1_500_000_000));
        assert_eq!(
            duration_flag(&c, "restart-delay").unwrap(),
            Some(Duration::from_millis(1500))
        );
        let c = call_with("kill-timeout", Value::test_int(250));
        assert_eq!(
            duration_flag(&c, "kill-timeout").unwrap(),
            Some(Duration::from_millis(250))
        );
        let c = call_with("kill-timeout", Value::test_int(-1));
        assert!(duration_flag(&c, "kill-timeout").is_err());
    }

    #[test]
    fn ports_are_checked_where_they_are_given() {
        assert_eq!(
            port_flag(&call_with("port", Value::test_int(8080))).unwrap(),
            Some(8080)
        );
        for bad in [0, 65536, -3] {
            let e = port_flag(&call_with("port", Value::test_int(bad))).unwrap_err();
            assert_eq!(e.msg, format!("{bad} is not a port"));
        }
    }

    #[test]
    fn env_values_are_text_numbers_or_booleans() {
        let record = Value::test_record(
            [
                ("LOG_LEVEL".to_string(), Value::test_string("debug")),
                ("WORKERS".to_string(), Value::test_int(4)),
                ("FAST".to_string(), Value::test_bool(true)),
            ]
            .into_iter()
            .collect(),
        );
        let got = env_flag(&call_with("env", record)).unwrap();
        assert_eq!(
            got,
            [
                ("LOG_LEVEL".to_string(), "debug".to_string()),
                ("WORKERS".into(), "4".into()),
                ("FAST".into(), "true".into()),
            ]
        );
        let nested = Value::test_record(
            [("X".to_string(), Value::test_list(vec![]))]
                .into_iter()
                .collect(),
        );
        assert!(env_flag(&call_with("env", nested)).is_err());
    }

    #[test]
    fn the_policy_defaults_are_the_clis() {
        let call = EvaluatedCall::new(Span::test_data());
        assert_eq!(policy_flags(&call).unwrap(), Policy::default());
    }
}
