use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Signature, Type, Value,
};

use crate::selection::{self, Action};
use crate::{complete, TpmPlugin};

/// `tpm delete`: stop, then forget.
pub struct Delete;

const EXTRA: &str = "Returns each deleted process as it was just before it was removed. \
A record that cannot be read is removed too. A process is named by its name, its id, a \
pattern, or `all`; an ecosystem file names its apps that were started.";

impl PluginCommand for Delete {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm delete"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        EXTRA
    }

    fn signature(&self) -> Signature {
        signature(self.name())
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm delete server-3000",
                description: "Stop a process and remove all its files",
                result: None,
            },
            Example {
                example: "tpm delete all",
                description: "Delete every process",
                result: None,
            },
            Example {
                example: "tpm delete ecosystem.json",
                description: "Delete the apps of an ecosystem file",
                result: None,
            },
            Example {
                example: "tpm list | where status == stopped | tpm delete",
                description: "Forget the processes that are stopped",
                result: None,
            },
            Example {
                example: "(tpm delete server-3000).name",
                description: "The deleted processes are returned",
                result: Some(Value::test_list(vec![Value::test_string("server-3000")])),
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
        run(plugin, engine, call, input)
    }
}

fn signature(name: &str) -> Signature {
    selection::with_groups(selection::names_arg(Signature::build(name)))
        .input_output_types(selection::input_types(Type::table()))
        .category(Category::System)
}

fn run(
    plugin: &TpmPlugin,
    engine: &EngineInterface,
    call: &EvaluatedCall,
    input: PipelineData,
) -> Result<PipelineData, LabeledError> {
    selection::act(plugin, engine, call, input, Action::Delete)
}

/// `tpm del`: the CLI's alias of `tpm delete`.
pub struct Del;

impl PluginCommand for Del {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm del"
    }

    fn description(&self) -> &str {
        "Stop processes and remove their record, pid file and logs (alias of `tpm delete`)."
    }

    fn extra_description(&self) -> &str {
        EXTRA
    }

    fn signature(&self) -> Signature {
        signature(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![Example {
            example: "(tpm del api-8080).name",
            description: "Delete a process; the deleted processes are returned",
            result: Some(Value::test_list(vec![Value::test_string("api-8080")])),
        }]
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
        run(plugin, engine, call, input)
    }
}
