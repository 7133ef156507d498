use std::path::PathBuf;

use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Record, Signature, Spanned,
    SyntaxShape, Type, Value,
};
use tpm_core::export::{self, Asked, Engine, ExportOptions, NomadFormat};

use crate::context::{self, expand_tilde};
use crate::error::{self, Blame};
use crate::{complete, selection, TpmPlugin};

/// `tpm export`: the processes as files another engine runs.
pub struct Export;

const ENGINES: [&str; 4] = ["systemd", "nomad", "compose", "kubernetes"];

impl PluginCommand for Export {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm export"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns a table of the files: path and text (without -o), or the paths written and \
what to do next (with -o DIR). Targets are names, ids, `all`, patterns, or an ecosystem file \
(its apps, planned and not started); default: every process. compose and kubernetes run \
containers and need --image. Secrets are never written: stderr says what to fill in. A file in \
DIR that tpm export did not write is never replaced without --force."
    }

    fn signature(&self) -> Signature {
        let sig = Signature::build(PluginCommand::name(self))
            .input_output_types(vec![(Type::Nothing, Type::table())])
            .required(
                "engine",
                SyntaxShape::String,
                "The engine: systemd, nomad, compose or kubernetes.",
            )
            .rest(
                "targets",
                SyntaxShape::String,
                "Processes (names, ids, `all`, patterns) or an ecosystem file; default: every process.",
            )
            .named("output", SyntaxShape::Directory, "Write the files into DIR instead of returning them.", Some('o'))
            .switch("force", "With --output: replace files that tpm export did not write.", None)
            .named("image", SyntaxShape::String, "compose, kubernetes: the container image to run the apps in.", None)
            .switch("user", "systemd: units for your user's manager (the default).", None)
            .switch("system", "systemd: system units, run as you (User=).", None)
            .named("systemd-version", SyntaxShape::Int, "systemd: the version of the systemd that will run the units (default: this machine's).", None)
            .named("format", SyntaxShape::String, "nomad: a job file (hcl, the default) or the HTTP API's JSON (json).", None);
        selection::with_groups(sig).category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm export systemd api-8080 | get text | first",
                description: "The systemd unit of one process",
                result: None,
            },
            Example {
                example: "tpm export systemd -o ~/.config/systemd/user",
                description: "Every process as a user unit, written where systemd finds them",
                result: None,
            },
            Example {
                example: "tpm export kubernetes --image registry.example/app:1.0 | get text | save tpm-apps.yaml",
                description: "Kubernetes manifests for an image that holds the apps",
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
        let words = |list: &[&str]| {
            Some(
                list.iter()
                    .map(|w| DynamicSuggestion {
                        value: w.to_string(),
                        ..DynamicSuggestion::default()
                    })
                    .collect(),
            )
        };
        match arg_type {
            ArgType::Positional(0) => words(&ENGINES),
            ArgType::Flag(flag) if flag == "format" => words(&["hcl", "json"]),
            ArgType::Positional(n) => {
                complete::positional_names(engine, &call, &ArgType::Positional(n))
            }
            _ => None,
        }
    }

    fn run(
        &self,
        plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        _input: PipelineData,
    ) -> Result<PipelineData, LabeledError> {
        let head = call.head;
        let name: Spanned<String> = call.req(0)?;
        let Some(which) = Engine::parse(&name.item) else {
            return Err(
                LabeledError::new(format!("{:?} is no engine tpm exports to", name.item))
                    .with_label("not an engine", name.span)
                    .with_code("tpm::usage")
                    .with_help("give systemd, nomad, compose or kubernetes"),
            );
        };
        let targets: Vec<String> = call.rest(1)?;
        let format: Option<Spanned<String>> = call.get_flag("format")?;
        let nomad_format =
            match format.as_ref().map(|f| f.item.as_str()) {
                None => None,
                Some("hcl") => Some(NomadFormat::Hcl),
                Some("json") => Some(NomadFormat::Json),
                Some(other) => return Err(LabeledError::new(format!(
                    "{other:?} is not a Nomad format"
                ))
                .with_label("hcl or json", format.map_or(head, |f| f.span))
                .with_code("tpm::usage")
                .with_help(
                    "give --format hcl (a job file) or --format json (the HTTP API's JSON)",
                )),
            };
        let systemd_version = match call.get_flag::<Spanned<i64>>("systemd-version")? {
            None => None,
            Some(v) => Some(u32::try_from(v.item).map_err(|_| {
                LabeledError::new(format!("{} is not a systemd version", v.item))
                    .with_label("not a version", v.span)
                    .with_code("tpm::usage")
            })?),
        };
        let asked = Asked {
            image: call.get_flag("image")?,
            user: call.has_flag("user")?,
            system: call.has_flag("system")?,
            systemd_version,
            nomad_format,
        };
        let ctx = context::context(engine, head)?;
        let home = ctx.var("HOME").and_then(|h| h.to_str()).map(String::from);
        let output: Option<Spanned<String>> = call.get_flag("output")?;
        let tpm = context::open_with(plugin, ctx, head)?;
        let blame = Blame::at(head);
        let options = ExportOptions::from_asked(which, &asked, tpm.context())
            .map_err(|e| error::labeled(&e, &blame))?;
        let (choice, _) = selection::file_choice(call)?;
        let targets = targets
            .into_iter()
            .map(|t| expand_tilde(&t, home.as_deref()))
            .collect::<Vec<_>>();
        let (apps, warnings) = tpm
            .export_apps(&targets, &choice)
            .map_err(|e| error::labeled(&e, &blame))?;
        for w in warnings {
            eprintln!("tpm: warning: {w}");
        }
        let out = export::render(which, &apps, &options).map_err(|e| error::labeled(&e, &blame))?;
        for note in &out.notes {
            eprintln!("tpm: note: {note}");
        }
        let rows: Vec<Value> = match output {
            None => out
                .files
                .iter()
                .map(|f| {
                    let mut r = Record::new();
                    r.push("path", Value::string(f.path.to_string_lossy(), head));
                    r.push("text", Value::string(&f.text, head));
                    Value::record(r, head)
                })
                .collect(),
            Some(dir) => {
                let dir = PathBuf::from(expand_tilde(&dir.item, home.as_deref()));
                let dir = tpm.context().cwd.join(dir);
                let written = export::write(&dir, &out.files, call.has_flag("force")?)
                    .map_err(|e| error::labeled(&e, &blame))?;
                let next: Vec<Value> = export::next_steps(which, &options, &dir)
                    .into_iter()
                    .map(|s| Value::string(s, head))
                    .collect();
                written
                    .into_iter()
                    .map(|p| {
                        let mut r = Record::new();
                        r.push("path", Value::string(p.to_string_lossy(), head));
                        r.push("next", Value::list(next.clone(), head));
                        Value::record(r, head)
                    })
                    .collect()
            }
        };
        Ok(PipelineData::Value(Value::list(rows, head), None))
    }
}
