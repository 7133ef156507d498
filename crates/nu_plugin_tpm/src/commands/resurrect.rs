use nu_plugin::{EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::{Category, Example, LabeledError, Signature, Spanned, SyntaxShape, Type, Value};
use tpm_core::ops::{AppStart, Each};
use tpm_core::FileChoice;

use crate::context::{self, expand_tilde};
use crate::error::{self, Blame};
use crate::{value, TpmPlugin};

/// `tpm resurrect`: start every process meant to run that is not running, or a file's apps.
pub struct Resurrect;

impl SimplePluginCommand for Resurrect {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm resurrect"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns the processes it started, as `tpm list` shows them: an empty table when \
every process meant to run is running. A process is meant to run from its start until you stop \
or delete it; a reboot or a killed supervisor do not change that. Each comes back with its id, \
port and the environment it was started with. With no record in the store (a new machine), the \
dump `tpm save` wrote ($env.TETRA_DIR/tpm/dump.json) is started instead; with FILE, the apps of \
that dump or ecosystem file that are not running. `tpm startup` runs the CLI's resurrect at \
boot."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::table())
            .optional(
                "file",
                SyntaxShape::String,
                "A dump or an ecosystem file to start the apps of (default: the processes meant to run).",
            )
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm resurrect",
                description:
                    "After a reboot: start what is meant to run; the started processes come back",
                result: None,
            },
            Example {
                example: "(tpm resurrect).name",
                description: "Nothing to start when every process meant to run is running",
                result: Some(Value::test_list(vec![])),
            },
            Example {
                example: "(tpm resurrect ecosystem.json).name",
                description: "Start the apps of a dump or an ecosystem file that are not running",
                result: Some(Value::test_list(vec![
                    Value::test_string("web-4000"),
                    Value::test_string("worker-4001"),
                ])),
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
        let file: Option<Spanned<String>> = call.opt(0)?;
        let ctx = context::context(engine, head)?;
        let home = ctx.var("HOME").and_then(|h| h.to_str()).map(String::from);
        let tpm = context::open_with(plugin, ctx, head)?;
        let blame = Blame {
            head,
            target: file.as_ref().map(|f| f.span),
            ..Blame::default()
        };
        let processes: Each<AppStart> = match &file {
            Some(file) => {
                let path = expand_tilde(&file.item, home.as_deref());
                let plan = tpm
                    .plan_file(&path, &FileChoice::default())
                    .map_err(|e| error::labeled(&e, &blame))?;
                error::warn_all(&plan.warnings);
                tpm.start_file(plan)
            }
            None => {
                let done = tpm.resurrect().map_err(|e| error::general(&e, head))?;
                error::warn_all(&done.warnings);
                done.processes
            }
        };
        // Those that were running already are not news: only what was started is returned.
        let started: Each<AppStart> = processes
            .into_iter()
            .filter(|(_, result)| !result.as_ref().is_ok_and(|app| app.unchanged))
            .collect();
        let started = error::each(started, &blame, "started")?;
        let rows = started
            .iter()
            .map(|app| value::process(&app.info, head))
            .collect();
        Ok(Value::list(rows, head))
    }
}
