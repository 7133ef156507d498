use std::path::{Path, PathBuf};

use nu_plugin::DynamicCompletionCall;
use nu_plugin::{EngineInterface, EvaluatedCall, PluginCommand, SimplePluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, Signature, Span, Spanned, SyntaxShape,
    Type, Value,
};
use tpm_core::ops::FilePlan;
use tpm_core::options::{Opt, Value as OptValue};
use tpm_core::{ecosystem, FileChoice, StartRequest, Tpm};

use crate::context::{self, expand_tilde};
use crate::error::{self, Blame};
use crate::{complete, selection, start_options, value, TpmPlugin};

/// What the apps piped into `tpm start` are called in messages, where a file's path would be.
const INPUT_ORIGIN: &str = "<input>";

/// `tpm start`: start a script, a command, the apps of an ecosystem file, or apps piped in.
pub struct Start;

impl SimplePluginCommand for Start {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm start"
    }

    fn description(&self) -> &str {
        super::about(SimplePluginCommand::name(self))
    }

    fn extra_description(&self) -> &str {
        "A script or a command returns the started process as a record (the row `tpm list` \
shows for it). A relative script path is taken from the current directory. .sh runs with bash, \
.py with python3, .js/.cjs/.mjs with node; other files must be executable. A command string is \
split like a shell would, then executed directly. \
The PORT comes from --port, the command's own --port/-p/number argument, $env.PORT, or a \
`PORT=N` / `export PORT=N` line in the script. The process gets Nushell's environment plus \
--env, which is kept for restarts.

An ecosystem file (*.config.js|cjs|mjs, *.json, *.yaml|yml, *.toml, as pm2 writes them) \
returns a table of its apps: the `tpm list` columns plus `unchanged`, true for an app that was \
running already and was left as it was. --only picks apps by name; --env NAME applies their \
env_NAME over env (a record still sets variables). Every app is checked before any starts: a \
bad file starts nothing.

Apps can be piped in as data instead of a file: a list of records, one record, or a record \
with an `apps` list (so `open ecosystem.json | tpm start` works). The columns are ecosystem-file \
fields (script, name, port, cwd, env, args, ...); durations (restart_delay, kill_timeout) and \
file sizes (max_log_size) mean what they say, and relative paths are taken from the current \
directory."
    }

    fn signature(&self) -> Signature {
        let sig = Signature::build(PluginCommand::name(self))
            .input_output_types(vec![
                // A script or a command: its record. A file: a table of its apps.
                (Type::Nothing, Type::record()),
                (Type::Nothing, Type::table()),
                // Apps piped in: a table of them.
                (Type::record(), Type::table()),
                (Type::list(Type::Any), Type::table()),
            ])
            .optional(
                "script",
                SyntaxShape::String,
                "A script (.sh, .py, .js, or any executable), a command string in quotes, the name or id of a stopped process, or an ecosystem file. Not given when apps are piped in.",
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
        selection::only_flag(start_options::add_flags(sig))
            .switch(
                "force",
                "Start even when another process listens on the PORT.",
                None,
            )
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(SimplePluginCommand::name(self))
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
            Example {
                example: "tpm start ecosystem.json",
                description: "Start every app of an ecosystem file; a table of them comes back",
                result: None,
            },
            Example {
                example: "(tpm start ecosystem.json --only worker --env production).name",
                description: "Start one app of the file, with its env_production over its env",
                result: Some(Value::test_list(vec![Value::test_string("worker-4001")])),
            },
            Example {
                example: "([{name: web, script: server.sh, port: 4000, restart_delay: 2sec}] | tpm start).name",
                description: "Start apps given as records, whose columns are ecosystem-file fields",
                result: Some(Value::test_list(vec![Value::test_string("web-4000")])),
            },
            Example {
                example: "open ecosystem.json | tpm start --only web",
                description: "Start apps read as data (a record with an `apps` list, one app, or a list of apps)",
                result: None,
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
        input: &Value,
    ) -> Result<Value, LabeledError> {
        if !input.is_nothing() {
            return start_input(plugin, engine, call, input);
        }
        let head = call.head;
        let ctx = context::context(engine, head)?;
        let home = ctx.var("HOME").and_then(|h| h.to_str()).map(String::from);
        let home = home.as_deref();

        let Positionals {
            target,
            custom_name: positional_name,
            args,
            args_span,
        } = positionals(engine, call)?;
        let only = selection::only(call)?;
        let mut options = start_options::from_flags(call)?;
        let target_path = expand_tilde(&target.item, home);
        let tpm = context::open_with(plugin, ctx, head)?;
        if tpm.is_ecosystem_file(&target_path) {
            if let Some(extra) = positional_name.as_ref().map(|n| n.span).or(args_span) {
                return Err(per_app_argument(&target, extra));
            }
            let mut choice =
                FileChoice::from_options(options, only.map(|o| o.item).unwrap_or_default());
            choice.force = call.has_flag("force")?;
            let blame = Blame {
                head,
                target: Some(target.span),
                ..Blame::default()
            };
            let plan = tpm
                .plan_file(&target_path, &choice)
                .map_err(|e| error::labeled(&e, &blame))?;
            return start_apps(&tpm, plan, &blame);
        }
        if let Some(only) = only {
            return Err(LabeledError::new(
                tpm_core::command::only_without_file(&target.item).to_string(),
            )
            .with_label("not an ecosystem file", target.span)
            .with_label("needs an ecosystem file", only.span)
            .with_code("tpm::usage")
            .with_help("ecosystem files are named *.config.js, *.json, *.yaml or *.toml; `tpm init` writes one"));
        }

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
        let instances = options.instances().is_some();
        let mut request = StartRequest::new(target_path, options);
        request.force = call.has_flag("force")?;
        if instances || tpm.is_app_start(&request) {
            // Instances: a table of them, in instance order.
            let results = tpm
                .start_all(&request)
                .map_err(|e| error::labeled(&e, &blame))?;
            let rows = error::each(results, &blame, "started")?
                .iter()
                .map(|p| value::process(p, head))
                .collect();
            return Ok(Value::list(rows, head));
        }
        let info = tpm
            .start(&request)
            .map_err(|e| error::labeled(&e, &blame))?;
        Ok(value::process(&info, head))
    }
}

/// A custom name or script arguments given with an ecosystem file: they belong to one app,
/// so they go in the file, as the CLI says.
fn per_app_argument(file: &Spanned<String>, at: Span) -> LabeledError {
    LabeledError::new(tpm_core::command::per_app_argument(&file.item).to_string())
        .with_label("not with an ecosystem file", at)
        .with_code("tpm::usage")
        .with_help("set `name` and `args` for each app in the file, or pipe the apps in as records")
}

/// `[{name: web, script: server.sh}] | tpm start`, `open ecosystem.json | tpm start`: the
/// apps as data, read as an ecosystem file would be (the core's `document_from_value`),
/// relative paths from Nushell's directory.
fn start_input(
    plugin: &TpmPlugin,
    engine: &EngineInterface,
    call: &EvaluatedCall,
    input: &Value,
) -> Result<Value, LabeledError> {
    let head = call.head;
    let input_span = input.span();
    if let Some(script) = call.positional.first() {
        return Err(LabeledError::new("apps piped in and a script given: which to start?")
            .with_label("a script given", script.span())
            .with_label("and apps piped in", input_span)
            .with_code("tpm::usage")
            .with_help("pipe apps in (`[{name: web, script: server.sh}] | tpm start`), or give a script or a file, not both"));
    }
    if let Value::String { val, .. } = input {
        return Err(LabeledError::new("text piped into tpm start")
            .with_label("text, not apps", input_span)
            .with_code("tpm::usage")
            .with_help(format!(
                "give a file by name (`tpm start {}`), or pipe in records (`open ecosystem.json | tpm start`)",
                if ecosystem::format_of(Path::new(val.trim())).is_some() { val.trim() } else { "ecosystem.config.js" }
            )));
    }
    let only = selection::only(call)?;
    let options = start_options::from_flags(call)?;
    let json = start_options::to_json(input).map_err(|message| {
        LabeledError::new(format!("cannot start these apps: {message}"))
            .with_label(message, input_span)
            .with_code("tpm::usage")
            .with_help("apps are records of ecosystem-file fields: [{name: web, script: server.sh, port: 3000}]")
    })?;
    let tpm = context::open(plugin, engine, head)?;
    let blame = Blame {
        head,
        target: Some(input_span),
        ..Blame::default()
    };
    let in_input = |e: &tpm_core::Error| {
        let mut error = error::labeled(e, &blame);
        // The label names a file; here the apps came down the pipeline.
        if matches!(e, tpm_core::Error::Ecosystem { .. }) {
            if let Some(label) = error.labels.first_mut() {
                label.text = "in these apps".into();
            }
        }
        error
    };
    let document =
        ecosystem::document_from_value(json, Path::new(INPUT_ORIGIN), &tpm.context().cwd)
            .map_err(|e| in_input(&e))?;
    let mut choice = FileChoice::from_options(options, only.map(|o| o.item).unwrap_or_default());
    choice.force = call.has_flag("force")?;
    let plan = tpm
        .plan_document(document, &choice)
        .map_err(|e| in_input(&e))?;
    start_apps(&tpm, plan, &blame)
}

/// Starts the planned apps (those running already are left as they are); the table of them.
fn start_apps(tpm: &Tpm, plan: FilePlan, blame: &Blame) -> Result<Value, LabeledError> {
    error::warn_all(&plan.warnings);
    let started = error::each(tpm.start_file(plan), blame, "started")?;
    let rows = started
        .iter()
        .map(|a| value::app_start(a, blame.head))
        .collect();
    Ok(Value::list(rows, blame.head))
}

/// The positional arguments as the CLI reads them: the script, maybe a custom name, and,
/// after `--`, the script's arguments.
struct Positionals {
    target: Spanned<String>,
    custom_name: Option<Spanned<String>>,
    args: Vec<String>,
    /// Where the arguments after `--` are.
    args_span: Option<Span>,
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
            .with_label("a script, a command or an ecosystem file is needed", call.head)
            .with_code("tpm::usage")
            .with_help("tpm start server.sh, tpm start ecosystem.json, or pipe apps in: [{script: server.sh, port: 3000}] | tpm start"));
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
    let after = &all[dashes_at..];
    Ok(Positionals {
        target,
        custom_name: before.first().cloned(),
        args: after.iter().map(|a| a.item.clone()).collect(),
        args_span: after
            .first()
            .zip(after.last())
            .map(|(a, b)| Span::new(a.span.start, b.span.end)),
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
