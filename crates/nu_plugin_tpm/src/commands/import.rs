use std::path::Path;

use nu_plugin::{EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::{
    Category, Example, LabeledError, Record, Signature, Spanned, SyntaxShape, Type, Value,
};

use crate::context::{self, expand_tilde};
use crate::error::{self, Blame};
use crate::{value, TpmPlugin};

/// `tpm import pm2`: pm2's saved processes made into tpm's.
pub struct Import;

impl SimplePluginCommand for Import {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm import"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Reads $env.PM2_HOME/dump.pm2 (~/.pm2/dump.pm2 by default), or FILE, and returns a row \
per process, as `tpm list` shows it, with `app` (its name in pm2), `action` (created, started, \
exists: tpm had it and left it as it was; failed: see `error`) and `notes` (what could not be \
carried over). Names, scripts, arguments, interpreters, cwd, environment, instances and restart \
options are carried over. Of the environment pm2 recorded, the variables this shell has with the \
same value are left to come from the shell that starts the process; the others are kept, \
privately, as the app's own (secrets are masked wherever tpm shows them). Running it again \
changes nothing; with --start it starts imported processes that are stopped. A list that cannot \
be read creates nothing."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::table())
            .required(
                "from",
                SyntaxShape::String,
                "The process manager to import from: pm2.",
            )
            .optional(
                "file",
                SyntaxShape::String,
                "Its saved list (default: $env.PM2_HOME/dump.pm2, else ~/.pm2/dump.pm2).",
            )
            .switch(
                "start",
                "Start the apps pm2 was running (default: create them stopped).",
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
                example: "tpm import pm2",
                description: "Create the processes `pm2 save` saved, stopped",
                result: None,
            },
            Example {
                example: "(tpm import pm2 pm2/dump.pm2).name",
                description: "The processes made from a list pm2 saved elsewhere",
                result: Some(Value::test_list(vec![Value::test_string("web-4500")])),
            },
            Example {
                example: "tpm import pm2 pm2/dump.pm2 --start | select name action status",
                description: "Create them and start those pm2 was running",
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
        let from: Spanned<String> = call.req(0)?;
        if from.item != "pm2" {
            return Err(
                LabeledError::new(format!("tpm imports from pm2, not from {}", from.item))
                    .with_label("not a process manager tpm imports from", from.span)
                    .with_code("tpm::usage")
                    .with_help("tpm import pm2 [FILE]"),
            );
        }
        let file: Option<Spanned<String>> = call.opt(1)?;
        let start = call.has_flag("start")?;
        let ctx = context::context(engine, head)?;
        let home = ctx.var("HOME").and_then(|h| h.to_str()).map(String::from);
        let path = file
            .as_ref()
            .map(|f| expand_tilde(&f.item, home.as_deref()));
        let tpm = context::open_with(plugin, ctx, head)?;
        let blame = Blame {
            head,
            target: file.as_ref().map(|f| f.span),
            ..Blame::default()
        };
        let import = tpm
            .import_pm2(path.as_deref().map(Path::new), start)
            .map_err(|e| error::labeled(&e, &blame))?;
        let rows = import
            .rows()
            .iter()
            .map(|row| {
                let mut record = match row.info {
                    Some(info) => match value::process(info, head) {
                        Value::Record { val, .. } => val.into_owned(),
                        _ => Record::new(),
                    },
                    None => {
                        let mut r = Record::new();
                        r.push(
                            "name",
                            row.name.map_or_else(
                                || Value::nothing(head),
                                |n| Value::string(n.as_str(), head),
                            ),
                        );
                        r
                    }
                };
                record.push("app", Value::string(row.app, head));
                record.push("action", Value::string(row.action_str(), head));
                record.push(
                    "notes",
                    Value::list(
                        row.notes.iter().map(|n| Value::string(n, head)).collect(),
                        head,
                    ),
                );
                record.push(
                    "error",
                    row.error.map_or_else(
                        || Value::nothing(head),
                        |e| Value::string(e.to_string(), head),
                    ),
                );
                Value::record(record, head)
            })
            .collect();
        Ok(Value::list(rows, head))
    }
}
