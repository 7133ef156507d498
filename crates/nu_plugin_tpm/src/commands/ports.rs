use nu_plugin::{EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::{Category, Example, LabeledError, Signature, Type, Value};

use crate::{context, error, value, TpmPlugin};

/// `tpm ports`: the PORT of every process.
pub struct Ports;

impl SimplePluginCommand for Ports {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm ports"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "The columns are the fields of the CLI's `tpm ports --json`: name, port, status, and \
listening (whether some process listens on the port over TCP right now)."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::table())
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm ports",
                description:
                    "Every process's name, PORT, status, and whether the port is listening",
                result: None,
            },
            Example {
                example: "(tpm ports).port",
                description: "The ports in use by tpm's processes",
                result: Some(Value::test_list(vec![
                    Value::test_int(3000),
                    Value::test_int(8080),
                ])),
            },
            Example {
                example: "tpm ports | where status == online and not $it.listening",
                description: "Processes that run but do not (yet) listen on their PORT",
                result: None,
            },
        ]
    }

    fn run(
        &self,
        plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        _input: &Value,
    ) -> Result<Value, LabeledError> {
        let tpm = context::open(plugin, engine, call.head)?;
        let (ports, problems) = tpm.ports().map_err(|e| error::general(&e, call.head))?;
        error::warn(&problems);
        let rows = ports.iter().map(|p| value::port(p, call.head)).collect();
        Ok(Value::list(rows, call.head))
    }
}
