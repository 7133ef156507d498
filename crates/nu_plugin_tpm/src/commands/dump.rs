use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Signature, Type, Value,
};
use tpm_core::{ecosystem, FileChoice};

use super::init::{format_flag, format_suggestions};
use crate::{complete, context, error, selection, value, TpmPlugin};

/// `tpm dump`: the processes as an ecosystem document, as data.
pub struct Dump;

impl PluginCommand for Dump {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm dump"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns a record with an `apps` list: each process's name, script, port, cwd, env, \
args and the options it was started with that are not at their defaults. Values are in an \
ecosystem file's units, not Nushell's: plain ints for milliseconds (restart_delay, \
kill_timeout) and bytes (max_log_size), so `tpm dump | save apps.json` (or apps.yaml, \
apps.toml) writes a file that `tpm start apps.json` reads back to the same names, ports, \
commands, directories and environments. \
With no names, every process; names can be ids, `all`, patterns, or piped in. \
With --format, the file's text instead (js writes a module.exports)."
    }

    fn signature(&self) -> Signature {
        let mut types = selection::input_types(Type::record());
        types.extend(selection::input_types(Type::String));
        Signature::build(PluginCommand::name(self))
            .input_output_types(types)
            .rest(
                "names",
                nu_protocol::SyntaxShape::String,
                "Processes to dump: names, ids, `all`, patterns (default: all). Names can also be piped in.",
            )
            .named(
                "format",
                nu_protocol::SyntaxShape::String,
                "Return the file's text in this format instead of data: js, json, yaml or toml.",
                None,
            )
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm dump | save -f apps.json",
                description: "Save every process as an ecosystem file; `tpm start apps.json` brings them back",
                result: None,
            },
            Example {
                example: "(tpm dump).apps.name",
                description: "The apps of the document: one per process, in name order",
                result: Some(Value::test_list(vec![
                    Value::test_string("api-8080"),
                    Value::test_string("server-3000"),
                ])),
            },
            Example {
                example: "(tpm dump 0).apps.port",
                description: "Dump one process, by its id",
                result: Some(Value::test_list(vec![Value::test_int(3000)])),
            },
            Example {
                example: "tpm list | where status == online | tpm dump | save -f online.yaml",
                description: "Save the processes running now as a YAML file",
                result: None,
            },
            Example {
                example: "tpm dump api-8080 --format toml",
                description: "A process as TOML text",
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
            ArgType::Flag(flag) if flag == "format" => Some(format_suggestions()),
            other => complete::positional_names(engine, &call, &other),
        }
    }

    fn run(
        &self,
        plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        input: PipelineData,
    ) -> Result<PipelineData, LabeledError> {
        let head = call.head;
        let format = format_flag(call)?;
        let (selectors, piped_list) = selection::gather(call, input)?;
        let tpm = context::open(plugin, engine, head)?;
        // Nothing named and nothing piped: every process, as the CLI's `tpm dump`.
        let names = if selectors.is_empty() && !piped_list {
            tpm.resolve(&["*".to_string()])
                .map_err(|e| error::general(&e, head))?
        } else {
            selection::resolve(&tpm, head, selectors, &FileChoice::default())?.0
        };
        let document = tpm.dump(&names).map_err(|e| error::general(&e, head))?;
        let out = match format {
            None => value::from_json(&document, head),
            Some(format) => {
                let text = ecosystem::render(&document, format.item)
                    .map_err(|e| error::general(&e, format.span))?;
                Value::string(text, head)
            }
        };
        Ok(PipelineData::value(out, None))
    }
}
