use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Signature, Type, Value,
};

use crate::{complete, selection, TpmPlugin};

/// `tpm restart`: stop, then start again.
pub struct Restart;

impl PluginCommand for Restart {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm restart"
    }

    fn description(&self) -> &str {
        "Restart processes: stop, then start again with a new pid, the same name and id."
    }

    fn extra_description(&self) -> &str {
        "Returns the restarted processes. Stopped and errored processes are started again; \
the restart counter goes up by one."
    }

    fn signature(&self) -> Signature {
        selection::names_arg(Signature::build(self.name()))
            .input_output_types(selection::input_types(Type::table()))
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        vec!["reload", "reboot", "bounce"]
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm restart api-8080",
                description: "Restart one process",
                result: None,
            },
            Example {
                example: "tpm list | where status == errored | tpm restart",
                description: "Restart every process that gave up",
                result: None,
            },
            Example {
                example: "tpm restart \"*\"",
                description: "Restart everything",
                result: None,
            },
            Example {
                example: "(tpm restart api-8080).restarts",
                description: "Each restart is counted",
                result: Some(Value::test_list(vec![Value::test_int(1)])),
            },
        ]
    }

    #[expect(deprecated, reason = "the completion API is marked experimental")]
    fn get_dynamic_completion(
        &self,
        _plugin: &TpmPlugin,
        engine: &EngineInterface,
        _call: DynamicCompletionCall,
        arg_type: ArgType,
        _experimental: nu_protocol::engine::ExperimentalMarker,
    ) -> Option<Vec<DynamicSuggestion>> {
        complete::positional_names(engine, &arg_type)
    }

    fn run(
        &self,
        plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        input: PipelineData,
    ) -> Result<PipelineData, LabeledError> {
        selection::act(
            plugin,
            engine,
            call,
            input,
            |t, n| t.restart(n),
            "restarted",
        )
    }
}
