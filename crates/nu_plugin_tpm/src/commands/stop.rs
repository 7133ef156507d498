use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Signature, Type, Value,
};

use crate::selection::{self, Action};
use crate::{complete, TpmPlugin};

/// `tpm stop`: stop processes, whole trees.
pub struct Stop;

impl PluginCommand for Stop {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm stop"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns the stopped processes, as `tpm list` shows them. Their records, logs and \
names stay: `tpm start NAME` or `tpm restart NAME` starts them again. A process is named by \
its name, its id (`tpm stop 0`), a pattern, or `all`; an ecosystem file names its apps that \
were started (`--only` picks some, `--env NAME` is needed when the names depend on it)."
    }

    fn signature(&self) -> Signature {
        selection::with_groups(selection::names_arg(Signature::build(self.name())))
            .input_output_types(selection::input_types(Type::table()))
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm stop server-3000",
                description: "Stop one process",
                result: None,
            },
            Example {
                example: "tpm stop \"api-*\"",
                description: "Stop every process whose name starts with api-",
                result: None,
            },
            Example {
                example: "tpm stop all",
                description: "Stop every process",
                result: None,
            },
            Example {
                example: "tpm stop ecosystem.json --only web",
                description: "Stop the web app of an ecosystem file",
                result: None,
            },
            Example {
                example: "(tpm stop 1).name",
                description: "Stop a process by its id",
                result: Some(Value::test_list(vec![Value::test_string("api-8080")])),
            },
            Example {
                example: "tpm list | where port >= 8000 | tpm stop",
                description: "Stop the processes piped in",
                result: None,
            },
            Example {
                example: "(tpm stop server-3000).status",
                description: "The stopped processes are returned",
                result: Some(Value::test_list(vec![Value::test_string("stopped")])),
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
        selection::act(plugin, engine, call, input, Action::Stop)
    }
}
