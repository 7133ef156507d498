use std::time::Duration;

use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Signature, SyntaxShape, Type,
    Value,
};

use crate::error;
use crate::selection;
use crate::{complete, context, value, TpmPlugin};

/// `tpm reload`: a rolling restart.
pub struct Reload;

impl PluginCommand for Reload {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm reload"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "Returns the reloaded processes, with a `reload` column saying how: `rolling` (one \
of several instances, while the others served), `socket` (behind the socket tpm holds for \
it, `--socket`), `restart` (a single process, or an instance alone on its port, without \
--socket: a plain restart, which refuses connections meanwhile), or `started` (it was not running). A new process is ready \
once its tree listens on its PORT (with --socket, or when the old one did not listen: once \
it has run for half a second). One \
that is not ready within --timeout stops the reload: the processes not reloaded yet keep \
running as they were, and the command fails."
    }

    fn signature(&self) -> Signature {
        selection::with_groups(selection::names_arg(Signature::build(self.name())))
            .named(
                "timeout",
                SyntaxShape::OneOf(vec![SyntaxShape::Duration, SyntaxShape::Int]),
                "How long each new process has to become ready (a duration, or milliseconds; default: 30sec).",
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
                example: "tpm start server.sh --name web --instances 2 | ignore; (tpm reload web-3000).reload",
                description: "Reload the two instances of web-3000, one at a time, while the other serves",
                result: Some(Value::test_list(vec![
                    Value::test_string("rolling"),
                    Value::test_string("rolling"),
                ])),
            },
            Example {
                example: "tpm start server.sh --name web | ignore; (tpm reload web-3000 --timeout 10sec).reload",
                description: "One process without --socket: a plain restart, and said so",
                result: Some(Value::test_list(vec![Value::test_string("restart")])),
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
        let head = call.head;
        // A negative is no positive duration either: the core says so as it does for zero.
        let given = match call.get_flag_value("timeout") {
            None => None,
            Some(Value::Duration { val, .. }) => {
                Some(Duration::from_nanos(u64::try_from(val).unwrap_or(0)))
            }
            Some(Value::Int { val, .. }) => {
                Some(Duration::from_millis(u64::try_from(val).unwrap_or(0)))
            }
            Some(other) => {
                return Err(LabeledError::new("--timeout takes a duration")
                    .with_label("not a duration", other.span())
                    .with_code("tpm::usage")
                    .with_help("give a duration (10sec, 2min) or milliseconds"))
            }
        };
        let timeout = tpm_core::command::reload_timeout(given).map_err(|e| {
            let span = call.get_flag_value("timeout").map_or(head, |v| v.span());
            error::labeled(
                &e,
                &error::Blame {
                    target: Some(span),
                    ..error::Blame::at(head)
                },
            )
        })?;
        let (choice, flag) = selection::file_choice(call)?;
        let selectors = selection::selectors(call, input)?;
        let tpm = context::open(plugin, engine, head)?;
        let (names, blame) = selection::resolve_picked(&tpm, head, selectors, &choice, flag)?;
        let reload = tpm.reload(&names, timeout);
        for note in &reload.notes {
            eprintln!("tpm: {note}");
        }
        let done = error::each(reload.done, &blame, "reloaded")?;
        let rows = done
            .iter()
            .map(|r| {
                let Value::Record { val, .. } = value::process(&r.info, head) else {
                    unreachable!("a process is a record")
                };
                let mut record = val.into_owned();
                record.push("reload", Value::string(r.kind.as_str(), head));
                Value::record(record, head)
            })
            .collect();
        Ok(PipelineData::value(Value::list(rows, head), None))
    }
}
