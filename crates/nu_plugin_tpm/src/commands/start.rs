use std::path::PathBuf;

use nu_plugin::DynamicCompletionCall;
use nu_plugin::{EngineInterface, EvaluatedCall, PluginCommand, SimplePluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, Signature, Span, Spanned, SyntaxShape,
    Type, Value,
};
use tpm_core::options::{Opt, Value as OptValue};
use tpm_core::StartRequest;

use crate::context::{self, expand_tilde};
use crate::error::{self, Blame};
use crate::{complete, start_options, value, TpmPlugin};

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
        let sig = Signature::build(PluginCommand::name(self))
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
            );
        start_options::add_flags(sig).category(Category::System)
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
        let mut options = start_options::from_flags(call)?;
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
        if let Some(name) = &name {
            options.set(Opt::Name, OptValue::Text(name.item.clone()));
        }
        if let Some(cwd) = &cwd {
            options.set(
                Opt::Cwd,
                OptValue::Dir(PathBuf::from(expand_tilde(&cwd.item, home))),
            );
        }
        if !args.is_empty() {
            options.set(Opt::Args, OptValue::Words(args));
        }

        let blame = Blame {
            head,
            target: Some(target.span),
            name: name.as_ref().map(|n| n.span),
            cwd: cwd.as_ref().map(|c| c.span),
            selectors: Vec::new(),
        };
        let request = StartRequest::new(expand_tilde(&target.item, home), options);
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
