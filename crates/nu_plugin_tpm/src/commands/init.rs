use std::path::Path;

use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, Record, Signature, Spanned, SyntaxShape,
    Type, Value,
};
use tpm_core::ecosystem::{self, Format};

use crate::context::{self, expand_tilde};
use crate::error::{self, Blame};
use crate::TpmPlugin;

/// `tpm init`: write a commented starter ecosystem file.
pub struct Init;

impl SimplePluginCommand for Init {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm init"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns what was written: a record of the file (its full path) and its format. The \
starter has two apps, a script with its settings and a command string; edit it, then \
`tpm start` it. The format is --format's, else the file name's, else js; a file that exists \
is kept unless --force."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::record())
            .optional(
                "file",
                SyntaxShape::String,
                "The file to write (default: ecosystem.config.js, or ecosystem.FORMAT).",
            )
            .named(
                "format",
                SyntaxShape::String,
                "The file's format: js, json, yaml or toml (default: the file name's, else js).",
                None,
            )
            .switch("force", "Replace the file if it exists.", None)
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm init",
                description: "Write ecosystem.config.js, as pm2's init does",
                result: None,
            },
            Example {
                example: "(tpm init --format yaml).format",
                description: "Write ecosystem.yaml; the record says which file and format",
                result: Some(Value::test_string("yaml")),
            },
            Example {
                example: "tpm init apps.toml",
                description: "Write apps.toml, in the format its name says",
                result: None,
            },
            Example {
                example: "tpm init ecosystem.json --force",
                description: "Replace ecosystem.json with the starter",
                result: None,
            },
        ]
    }

    #[expect(deprecated, reason = "the completion API is marked experimental")]
    fn get_dynamic_completion(
        &self,
        _plugin: &TpmPlugin,
        _engine: &EngineInterface,
        _call: DynamicCompletionCall,
        arg_type: ArgType,
        _experimental: nu_protocol::engine::ExperimentalMarker,
    ) -> Option<Vec<DynamicSuggestion>> {
        match arg_type {
            ArgType::Flag(flag) if flag == "format" => Some(format_suggestions()),
            _ => None,
        }
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
        let format = format_flag(call)?;
        let force = call.has_flag("force")?;
        let ctx = context::context(engine, head)?;
        let home = ctx.var("HOME").and_then(|h| h.to_str()).map(String::from);
        let path = file
            .as_ref()
            .map(|f| expand_tilde(&f.item, home.as_deref()));
        let tpm = context::open_with(plugin, ctx, head)?;
        // What can go wrong is about the file: it exists, or its name is no ecosystem
        // file's, or it disagrees with --format.
        let blame = Blame {
            head,
            target: file.as_ref().map(|f| f.span).or(format.map(|f| f.span)),
            ..Blame::default()
        };
        let (written, format) = ecosystem::write_starter(
            &tpm.context().cwd,
            path.as_deref().map(Path::new),
            format.map(|f| f.item),
            force,
        )
        .map_err(|e| error::labeled(&e, &blame))?;
        let mut record = Record::new();
        record.push("file", Value::string(written.to_string_lossy(), head));
        record.push("format", Value::string(format_name(format), head));
        Ok(Value::record(record, head))
    }
}

/// `--format`, checked against the names the core reads.
pub fn format_flag(call: &EvaluatedCall) -> Result<Option<Spanned<Format>>, LabeledError> {
    let Some(name) = call.get_flag::<Spanned<String>>("format")? else {
        return Ok(None);
    };
    match Format::parse(&name.item) {
        Some(format) => Ok(Some(Spanned {
            item: format,
            span: name.span,
        })),
        None => Err(
            LabeledError::new(format!("no ecosystem file format {:?}", name.item))
                .with_label("not js, json, yaml or toml", name.span)
                .with_code("tpm::usage")
                .with_help(format!(
                    "--format takes one of: {}",
                    Format::NAMES.join(", ")
                )),
        ),
    }
}

/// A format's name as `--format` takes it.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Js => "js",
        Format::Json => "json",
        Format::Yaml => "yaml",
        Format::Toml => "toml",
    }
}

/// The formats, for `--format <Tab>`.
pub fn format_suggestions() -> Vec<DynamicSuggestion> {
    Format::NAMES
        .iter()
        .map(|name| DynamicSuggestion {
            value: name.to_string(),
            ..DynamicSuggestion::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_the_name_format_takes() {
        for name in Format::NAMES {
            let format = Format::parse(name).unwrap();
            assert_eq!(format_name(format), name);
        }
    }
}
