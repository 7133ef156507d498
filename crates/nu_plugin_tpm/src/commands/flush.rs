use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    record, Category, DynamicSuggestion, Example, LabeledError, PipelineData, Signature, Type,
    Value,
};

use crate::{complete, context, error, selection, TpmPlugin};

/// `tpm flush`: empty processes' logs.
pub struct Flush;

impl PluginCommand for Flush {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm flush"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Without a name, every process's logs (as pm2's flush). Returns one row per process: \
name, freed (a file size: what the log files held) and removed (how many rotated files went). \
A running process goes on logging into its emptied files. A process is named by its name, its \
id, a pattern or `all`."
    }

    fn signature(&self) -> Signature {
        selection::names_arg(Signature::build(self.name()))
            .input_output_types(selection::input_types(Type::table()))
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm flush server-3000",
                description: "Empty one process's logs",
                result: None,
            },
            Example {
                example: "tpm flush",
                description: "Empty every process's logs",
                result: None,
            },
            Example {
                example: "tpm flush | get freed | math sum",
                description: "How much room the logs took",
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
        complete::positional_names(engine, &call, &arg_type)
    }

    fn run(
        &self,
        plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        input: PipelineData,
    ) -> Result<PipelineData, LabeledError> {
        let head = call.head;
        let (mut selectors, _) = selection::gather(call, input)?;
        if selectors.is_empty() {
            selectors.push(nu_protocol::Spanned {
                item: tpm_core::ops::ALL.to_string(),
                span: head,
            });
        }
        let tpm = context::open(plugin, engine, head)?;
        let (names, blame) =
            selection::resolve(&tpm, head, selectors, &tpm_core::FileChoice::default())?;
        let mut rows = Vec::new();
        for (_, result) in tpm.flush(&names) {
            let f = result.map_err(|e| error::labeled(&e, &blame))?;
            rows.push(Value::record(
                record! {
                    "name" => Value::string(f.name, head),
                    "freed" => Value::filesize(i64::try_from(f.freed).unwrap_or(i64::MAX), head),
                    "removed" => Value::int(i64::from(f.removed), head),
                },
                head,
            ));
        }
        Ok(PipelineData::value(Value::list(rows, head), None))
    }
}
