use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Signature, Type, Value,
};

use crate::selection::{self, Action};
use crate::{complete, TpmPlugin};

/// `tpm restart`: stop, then start again.
pub struct Restart;

impl PluginCommand for Restart {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm restart"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns the restarted processes. Stopped and errored processes are started again; \
the restart counter goes up by one. A process is named by its name, its id, a pattern, or \
`all`. `tpm restart FILE` reads the ecosystem file again and restarts each of its apps (or \
those --only picks) as the file now says: an edited env, script or args takes effect."
    }

    fn signature(&self) -> Signature {
        selection::with_groups(selection::names_arg(Signature::build(self.name())))
            .switch(
                "with-dependants",
                "Also restart the running processes that depend on these (depends_on), stopped first and started again once these meet their condition.",
                None,
            )
            .input_output_types(selection::input_types(Type::table()))
        .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
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
                example: "tpm restart ecosystem.json --env production",
                description:
                    "Start the apps of a file again, as it now says, with its env_production",
                result: None,
            },
            Example {
                example: "(tpm restart api-8080).restarts",
                description: "Each restart is counted",
                result: Some(Value::test_list(vec![Value::test_int(1)])),
            },
            Example {
                example: "(tpm restart all).name",
                description: "Restart everything (`all` selects in name order)",
                result: Some(Value::test_list(vec![
                    Value::test_string("api-8080"),
                    Value::test_string("server-3000"),
                ])),
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
        selection::act(plugin, engine, call, input, Action::Restart)
    }
}
