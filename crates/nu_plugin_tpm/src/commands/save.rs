use std::path::Path;

use nu_plugin::{EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::{
    Category, Example, LabeledError, Record, Signature, Spanned, SyntaxShape, Type, Value,
};

use crate::context::{self, expand_tilde};
use crate::error::{self, Blame};
use crate::TpmPlugin;

/// `tpm save`: write the processes meant to run to the dump `tpm resurrect` reads.
pub struct Save;

impl SimplePluginCommand for Save {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm save"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns what was written: a record of the file (its full path), the names of the \
processes in it, kept (processes whose record cannot be read, written as the dump it replaced \
had them), warnings (one per such record, also said on stderr), and backup, where the file it \
replaced was kept (FILE.bak), or nothing. The \
dump is an ecosystem file with the real values of the variables (it is private to you), written \
atomically; `tpm resurrect` starts its apps when the store has no record (a new machine), and \
`tpm resurrect FILE` or `tpm start FILE` read it anywhere. An empty list never replaces a dump \
that lists processes unless --force."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::record())
            .optional(
                "file",
                SyntaxShape::String,
                "Where to write (default: $env.TETRA_DIR/tpm/dump.json).",
            )
            .switch(
                "force",
                "Replace a dump that lists processes with an empty one.",
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
                example: "tpm save",
                description: "Save the processes meant to run, for `tpm resurrect`",
                result: None,
            },
            Example {
                example: "(tpm save).names",
                description: "The processes saved",
                result: Some(Value::test_list(vec![
                    Value::test_string("api-8080"),
                    Value::test_string("server-3000"),
                ])),
            },
            Example {
                example: "tpm save apps.json | get backup",
                description:
                    "Save to a file of your own; the file it replaced is kept as apps.json.bak",
                result: None,
            },
            Example {
                example: "tpm stop all; tpm save --force",
                description: "Save that nothing is meant to run, over a dump that lists processes",
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
        let file: Option<Spanned<String>> = call.opt(0)?;
        let force = call.has_flag("force")?;
        let ctx = context::context(engine, head)?;
        let home = ctx.var("HOME").and_then(|h| h.to_str()).map(String::from);
        let path = file
            .as_ref()
            .map(|f| expand_tilde(&f.item, home.as_deref()));
        let tpm = context::open_with(plugin, ctx, head)?;
        // An empty dump refused is the command's doing (labelled on its head); a file that
        // cannot be written is the file's.
        let saved = tpm
            .save(path.as_deref().map(Path::new), force)
            .map_err(|e| {
                let mut labeled = error::labeled(&e, &Blame::at(head));
                if let (tpm_core::Error::Io { .. }, Some(file)) = (&e, &file) {
                    if let Some(label) = labeled.labels.first_mut() {
                        label.span = file.span;
                    }
                }
                labeled
            })?;
        for warning in &saved.warnings {
            eprintln!("tpm: warning: {warning}");
        }
        let mut record = Record::new();
        record.push("file", Value::string(saved.file.to_string_lossy(), head));
        record.push(
            "names",
            Value::list(
                saved
                    .names
                    .iter()
                    .map(|n| Value::string(n.as_str(), head))
                    .collect(),
                head,
            ),
        );
        record.push(
            "kept",
            Value::list(
                saved
                    .kept
                    .iter()
                    .map(|n| Value::string(n.as_str(), head))
                    .collect(),
                head,
            ),
        );
        record.push(
            "warnings",
            Value::list(
                saved
                    .warnings
                    .iter()
                    .map(|w| Value::string(w, head))
                    .collect(),
                head,
            ),
        );
        record.push(
            "backup",
            saved.backup.map_or_else(
                || Value::nothing(head),
                |b| Value::string(b.to_string_lossy(), head),
            ),
        );
        Ok(Value::record(record, head))
    }
}
