use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, Record, Signature, Span, Spanned,
    SyntaxShape, Type, Value,
};
use tpm_core::startup::{self, Method, Outcome, Startup as Plan};

use crate::{context, error, TpmPlugin};

/// The methods, as `--method` takes them.
const METHODS: [(&str, Method); 2] = [("systemd", Method::Systemd), ("cron", Method::Cron)];

/// `tpm startup`: run the CLI's `tpm resurrect` at boot.
pub struct Startup;

impl SimplePluginCommand for Startup {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm startup"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns what was done and what is left for you to run, `{done: [...], todo: [...]}` \
(enabling lingering needs root: `sudo loginctl enable-linger $USER`). With --print, changes \
nothing and returns what it would install, `{method, file, text}` (file is nothing for cron). \
systemd (where it runs the machine): writes ~/.config/systemd/user/tpm.service and enables \
it; user units start at boot only with lingering on. Otherwise: an @reboot line in your \
crontab. What runs at boot is the `tpm` binary (the one beside this plugin, else the first \
on PATH), with this $env.TETRA_DIR and $env.PATH; `tpm unstartup` removes what this added."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::record())
            .switch(
                "print",
                "Return what would be installed, and change nothing.",
                None,
            )
            .named(
                "method",
                SyntaxShape::String,
                "How: systemd or cron (default: systemd where it runs the machine, else cron).",
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
                example: "tpm startup",
                description: "Install it; `todo` lists what needs root or a user session",
                result: None,
            },
            Example {
                example: "tpm startup --print --method cron | get text",
                description: "The crontab line it would add, changing nothing",
                result: None,
            },
            Example {
                example: "(tpm startup --print --method cron).method",
                description:
                    "With --print, the method, the unit's file (none for cron) and the text",
                result: Some(Value::test_string("cron")),
            },
            Example {
                example: "tpm startup --print --method systemd | get file",
                description: "Where the systemd user unit would go",
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
            ArgType::Flag(flag) if flag == "method" => Some(method_suggestions()),
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
        let print = call.has_flag("print")?;
        let method = match call.get_flag::<Spanned<String>>("method")? {
            Some(name) => method_of(&name)?,
            None => Method::detect(),
        };
        let ctx = context::context(engine, head)?;
        // The unit runs the CLI: Nushell and this plugin are not there at boot.
        let bin = plugin.cli_binary(&ctx).ok_or_else(|| no_cli(head))?;
        let tpm = context::open_with(plugin, ctx, head)?;
        // The store's folder, as the unit must name it: TETRA_DIR is the store's parent.
        let root = tpm.store().root();
        let tetra_dir = root.parent().unwrap_or(root).to_path_buf();
        let plan = Plan::new(method, &bin, tpm.context(), &tetra_dir)
            .map_err(|e| error::general(&e, head))?;
        if print {
            let mut record = Record::new();
            record.push("method", Value::string(method_name(method), head));
            record.push(
                "file",
                plan.unit_path.as_ref().map_or_else(
                    || Value::nothing(head),
                    |p| Value::string(p.to_string_lossy(), head),
                ),
            );
            record.push("text", Value::string(&plan.text, head));
            return Ok(Value::record(record, head));
        }
        let outcome = plan
            .install(tpm.context())
            .map_err(|e| error::general(&e, head))?;
        Ok(outcome_record(&outcome, head))
    }
}

/// `tpm unstartup`: remove what `tpm startup` added, and nothing else.
pub struct Unstartup;

impl SimplePluginCommand for Unstartup {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm unstartup"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns what was done, `{done: [...], todo: [...]}`: done is empty when `tpm startup` \
had not been run. A unit or a crontab line tpm did not write is never touched."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::record())
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![Example {
            example: "tpm unstartup | get done",
            description: "Remove the unit or crontab line `tpm startup` added; what was removed",
            result: None,
        }]
    }

    fn run(
        &self,
        _plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        _input: &Value,
    ) -> Result<Value, LabeledError> {
        let head = call.head;
        let ctx = context::context(engine, head)?;
        let outcome = startup::uninstall(&ctx).map_err(|e| error::general(&e, head))?;
        Ok(outcome_record(&outcome, head))
    }
}

fn method_of(name: &Spanned<String>) -> Result<Method, LabeledError> {
    METHODS
        .iter()
        .find(|(n, _)| *n == name.item)
        .map(|&(_, method)| method)
        .ok_or_else(|| {
            LabeledError::new(format!("no startup method {:?}", name.item))
                .with_label("not systemd or cron", name.span)
                .with_code("tpm::usage")
                .with_help("--method takes systemd or cron (without it: systemd where it runs the machine, else cron)")
        })
}

fn method_name(method: Method) -> &'static str {
    METHODS
        .iter()
        .find(|(_, m)| *m == method)
        .map_or("systemd", |(name, _)| name)
}

fn method_suggestions() -> Vec<DynamicSuggestion> {
    METHODS
        .iter()
        .map(|(name, _)| DynamicSuggestion {
            value: name.to_string(),
            ..DynamicSuggestion::default()
        })
        .collect()
}

fn no_cli(head: Span) -> LabeledError {
    LabeledError::new("the tpm binary is not installed, and it is what runs at boot")
        .with_label("needs the tpm binary", head)
        .with_code("tpm::not_installed")
        .with_help("install it (./install.sh), or put it on $env.PATH or beside the plugin: at boot there is no Nushell to run the plugin")
}

fn outcome_record(outcome: &Outcome, head: Span) -> Value {
    let texts = |lines: &[String]| {
        Value::list(lines.iter().map(|l| Value::string(l, head)).collect(), head)
    };
    let mut record = Record::new();
    record.push("done", texts(&outcome.done));
    record.push("todo", texts(&outcome.todo));
    Value::record(record, head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_the_name_method_takes() {
        for (name, method) in METHODS {
            let spanned = Spanned {
                item: name.to_string(),
                span: Span::test_data(),
            };
            assert_eq!(method_of(&spanned).unwrap(), method);
            assert_eq!(method_name(method), name);
        }
        let bad = Spanned {
            item: "launchd".to_string(),
            span: Span::test_data(),
        };
        let e = method_of(&bad).unwrap_err();
        assert_eq!(e.msg, "no startup method \"launchd\"");
        assert_eq!(e.labels[0].text, "not systemd or cron");
    }
}
