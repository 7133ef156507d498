use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Signature, Span, SyntaxShape,
    Type, Value,
};
use tpm_core::events::{self, Event};
use tpm_core::ops::ALL;
use tpm_core::FileChoice;

use super::logs::lines_flag;
use crate::follow::{self, Follower};
use crate::{complete, context, error, selection, value, TpmPlugin};

/// `tpm events`: what happened to processes (starts, exits, restarts, verdicts, stops), as
/// rows, oldest first; with `--follow`, a stream of the events as they happen.
pub struct Events;

impl PluginCommand for Events {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm events"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "The columns are the fields of the CLI's `tpm events --json`: time (a date), name, \
event, pid, code (the exit code, or 128 + the signal), signal (SIGKILL...), ran (how long the \
run lasted) and after (the delay before a restart) as durations, by (user, policy or system), \
count (processes killed, log rotations, or failed liveness checks) and reason; a field an \
event does not have is nothing. Events: start_requested, spawned, spawn_failed, exited, \
restart_scheduled, errored, stop_requested, killed, stopped, listening, ready, \
supervisor_lost, restart_requested, reload_failed, log_rotated, reloaded, health (its liveness \
check changed its verdict), notify (STOPPING=1, RELOADING=1 or a refused MAINPID= on \
NOTIFY_SOCKET). \
With no names (or `all`), every process. --since takes a duration back (1hr, or the CLI's \
text: 90s, 30m, 1h, 2d) or a date (2026-12-02T10:00:00+01:00, or text: \"2026-12-02 10:00\"). \
With --follow the table is a stream that goes on as events happen, until interrupted (ctrl-c) \
or no longer read (`first 2`); with no names (or `all`) it follows processes created later \
too."
    }

    fn signature(&self) -> Signature {
        Signature::build(PluginCommand::name(self))
            .input_output_types(selection::input_types(Type::table()))
            .rest(
                "names",
                SyntaxShape::String,
                "Processes: names, ids, `all`, patterns (default: all). Names can also be piped in.",
            )
            .named(
                "since",
                SyntaxShape::OneOf(vec![
                    SyntaxShape::Duration,
                    SyntaxShape::DateTime,
                    SyntaxShape::String,
                ]),
                "Only events since then: a duration back (1hr, or 90s, 30m, 1h, 2d) or a date.",
                None,
            )
            .named(
                "lines",
                SyntaxShape::Int,
                "How many of the last events to show (default 50).",
                Some('n'),
            )
            .switch(
                "follow",
                "Keep streaming events as they happen.",
                Some('f'),
            )
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm events",
                description: "The last 50 events of every process",
                result: None,
            },
            Example {
                example: "tpm events | where event == exited | select time name code signal ran",
                description: "Every exit, with its code or signal and how long the run lasted",
                result: None,
            },
            Example {
                example: "tpm events | where event == exited | group-by name",
                description: "The exits, by process",
                result: None,
            },
            Example {
                example: "tpm events api-8080 --since 1hr",
                description: "What happened to one process in the last hour",
                result: None,
            },
            Example {
                example: "(tpm events server-3000).event",
                description: "A process's history: asked to start, then spawned",
                result: Some(Value::test_list(vec![
                    Value::test_string("start_requested"),
                    Value::test_string("spawned"),
                ])),
            },
            Example {
                example: "tpm events --follow | where event in [exited errored]",
                description: "Watch for exits and verdicts as they happen, processes created later too (ctrl-c to stop)",
                result: None,
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
        let since = since_flag(call, events::now_ms())?;
        let lines = lines_flag(call)?;
        let follow = call.has_flag("follow")?;
        let (selectors, piped_list) = selection::gather(call, input)?;
        let tpm = context::open(plugin, engine, head)?;
        // Nothing named and nothing piped: every process, as the CLI's `tpm events`.
        let every = selectors.is_empty() && !piped_list;
        let follow_all = every || selectors.iter().any(|s| s.item == ALL || s.item == "*");
        let names = if every {
            tpm.resolve(&["*".to_string()])
                .map_err(|e| error::general(&e, head))?
        } else {
            selection::resolve(&tpm, head, selectors, &FileChoice::default())?.0
        };
        let past = tpm.events(&names, since, lines);
        if !follow {
            let rows = past.iter().map(|e| value::event(e, head)).collect();
            return Ok(PipelineData::value(Value::list(rows, head), None));
        }

        // Following: the last events, then each new one.
        let follow = move |follower: &Follower<Event>| {
            if !past.into_iter().all(|event| follower.send(event)) {
                return;
            }
            let followed = (!follow_all).then_some(names.as_slice());
            let sent = |event| follower.send(event);
            if let Err(e) = tpm.follow_events(followed, || follower.keep_going(), sent) {
                follower.fail(error::general(&e, head));
            }
        };
        follow::stream(engine, head, "tpm events --follow", follow, value::event)
    }
}

/// `--since`, as milliseconds since the Unix epoch (0 without it): a Nushell duration back
/// from `now_ms` or a date, or the CLI's text (`1h`, `2d`, `2026-12-02 10:00`), which the
/// core reads.
fn since_flag(call: &EvaluatedCall, now_ms: i64) -> Result<i64, LabeledError> {
    let Some(value) = call.get_flag_value("since") else {
        return Ok(0);
    };
    let span = value.span();
    match value {
        Value::Duration { val, .. } if val >= 0 => Ok(now_ms - val / 1_000_000),
        Value::Duration { .. } => Err(bad_since("a negative duration", span)),
        Value::Date { val, .. } => Ok(val.timestamp_millis()),
        Value::String { val, .. } => {
            events::parse_since(&val, now_ms).ok_or_else(|| bad_since(&format!("{val:?}"), span))
        }
        other => Err(bad_since(&format!("a {}", other.get_type()), span)),
    }
}

fn bad_since(what: &str, span: Span) -> LabeledError {
    LabeledError::new(format!("--since {what}: expected a duration back or a time"))
        .with_label("not a duration or a time", span)
        .with_code("tpm::usage")
        .with_help("a duration (1hr, 30min, or 90s, 30m, 1h, 2d) or a time (2026-12-02T10:00:00+01:00, \"2026-12-02 10:00\")")
}

#[cfg(test)]
mod tests {
    use super::*;
    use nu_protocol::Spanned;

    fn call_with(value: Value) -> EvaluatedCall {
        EvaluatedCall::new(Span::test_data()).with_named(
            Spanned {
                item: "since".to_string(),
                span: Span::test_data(),
            },
            value,
        )
    }

    #[test]
    fn since_takes_a_duration_a_date_or_the_clis_text() {
        let now = 10 * 86_400_000;
        let hour = 3_600_000_000_000;
        assert_eq!(
            since_flag(&call_with(Value::test_duration(hour)), now).unwrap(),
            now - 3_600_000
        );
        assert_eq!(
            since_flag(&call_with(Value::test_string("2d")), now).unwrap(),
            now - 2 * 86_400_000
        );
        let date = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:00:00+00:00").unwrap();
        assert_eq!(
            since_flag(&call_with(Value::test_date(date)), now).unwrap(),
            1_796_205_600_000
        );
        assert_eq!(
            since_flag(&EvaluatedCall::new(Span::test_data()), now).unwrap(),
            0
        );
        let e = since_flag(&call_with(Value::test_string("soon")), now).unwrap_err();
        assert_eq!(
            e.msg,
            "--since \"soon\": expected a duration back or a time"
        );
        assert_eq!(e.code.as_deref(), Some("tpm::usage"));
        assert!(since_flag(&call_with(Value::test_duration(-1)), now).is_err());
    }

    #[test]
    fn the_help_names_every_event() {
        let help = PluginCommand::extra_description(&Events);
        for kind in tpm_core::events::Kind::ALL {
            assert!(help.contains(kind.as_str()), "{kind:?}");
        }
    }
}
