use nu_plugin::{EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::{Category, Example, LabeledError, Record, Signature, Type, Value};

use crate::context;
use crate::error::{self, Blame};
use crate::TpmPlugin;

/// `tpm doctor`: what is wrong with the store and the machine, and what to do.
pub struct Doctor;

impl SimplePluginCommand for Doctor {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm doctor"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns a table of findings: check (store, supervisor, record, port, listening, orphan, \
processes), severity (ok, warning or problem), message, help (what to do), and the name and pid \
it is about, when there is one. A warning (a process online for a while with nothing listening \
on its port) may be fine: a worker never listens. `tpm doctor | where severity == problem` \
lists what needs doing."
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
                example: "tpm doctor | where severity == problem | get help",
                description: "What to do about each problem",
                result: None,
            },
            Example {
                example: "tpm doctor | where check == orphan | get pid",
                description: "The pids of processes tpm started whose supervisor is gone",
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
        let head = call.head;
        let tpm = context::open(plugin, engine, head)?;
        let findings = tpm
            .doctor()
            .map_err(|e| error::labeled(&e, &Blame::at(head)))?;
        let rows = findings
            .into_iter()
            .map(|f| {
                let text = |v: Option<String>| {
                    v.map_or_else(|| Value::nothing(head), |v| Value::string(v, head))
                };
                let mut r = Record::new();
                r.push("check", Value::string(f.check, head));
                r.push(
                    "severity",
                    Value::string(
                        match f.severity {
                            tpm_core::ops::Severity::Ok => "ok",
                            tpm_core::ops::Severity::Warning => "warning",
                            tpm_core::ops::Severity::Problem => "problem",
                        },
                        head,
                    ),
                );
                r.push("message", Value::string(f.message, head));
                r.push("help", text(f.help));
                r.push("name", text(f.name));
                r.push(
                    "pid",
                    f.pid
                        .map_or_else(|| Value::nothing(head), |p| Value::int(i64::from(p), head)),
                );
                Value::record(r, head)
            })
            .collect();
        Ok(Value::list(rows, head))
    }
}
