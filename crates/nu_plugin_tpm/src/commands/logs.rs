use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Signature, Spanned,
    SyntaxShape, Type, Value,
};
use tpm_core::logs::LogLine;

use crate::follow::{self, Follower};
use crate::{complete, context, error, selection, value, TpmPlugin};

/// The CLI's default for `--lines`.
const DEFAULT_LINES: usize = 50;

/// `tpm logs`: the last lines of processes' stdout and stderr, as rows.
pub struct Logs;

impl PluginCommand for Logs {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm logs"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "The columns are the fields of the CLI's `tpm logs --json`: name, time (a date), \
stream (out or err) and line. tpm's own lines (exits, restarts, kills) are on err and start \
with [tpm]. With --follow the table is a stream that goes on as lines are written, until \
interrupted (ctrl-c) or no longer read (`first 10`). A process is named by its name, its id \
(`tpm logs 0`), a pattern, `all`, or an ecosystem file (its started apps)."
    }

    fn signature(&self) -> Signature {
        selection::names_arg(Signature::build(self.name()))
            .input_output_types(selection::input_types(Type::table()))
            .named(
                "lines",
                SyntaxShape::Int,
                "How many lines to show, per process (default 50).",
                Some('n'),
            )
            .switch(
                "follow",
                "Keep streaming lines as they are written.",
                Some('f'),
            )
            .named(
                "since",
                SyntaxShape::Any,
                "Only lines from this time on: a date, a duration back from now (10min, 2hr, 7day), or text as the CLI takes it (\"2024-01-15 10:30\", 10:30).",
                None,
            )
            .named(
                "until",
                SyntaxShape::Any,
                "Only lines up to this time (as --since).",
                None,
            )
            .named(
                "grep",
                SyntaxShape::String,
                "Only lines whose text matches this regular expression.",
                None,
            )
            .switch("out", "Only stdout.", None)
            .switch("err", "Only stderr.", None)
            .switch(
                "raw",
                "The lines as written, control characters included: always so here, where Nushell renders the values (the CLI escapes them on a terminal unless --raw).",
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
                example: "tpm logs server-3000",
                description: "The last 50 lines of a process's stdout and stderr",
                result: None,
            },
            Example {
                example: "tpm logs api-8080 | where stream == err",
                description: "Only what it wrote to stderr (and tpm's own [tpm] lines)",
                result: None,
            },
            Example {
                example: "tpm logs all --lines 10 | sort-by time",
                description: "The last lines of every process, one timeline",
                result: None,
            },
            Example {
                example: "tpm logs 1 --lines 5",
                description: "The last lines of the process whose id is 1",
                result: None,
            },
            Example {
                example: "tpm logs server-3000 --follow | where line =~ error",
                description: "Watch for errors as they are written (ctrl-c to stop)",
                result: None,
            },
            Example {
                example: "tpm logs server-3000 --since 1hr --grep 'error|warn'",
                description: "The last hour's lines that mention an error or a warning",
                result: None,
            },
            Example {
                example: "(tpm logs server-3000 --lines 1).line",
                description: "The text of the last line, without its timestamp",
                result: Some(Value::test_list(vec![Value::test_string(
                    "Starting server on port 3000",
                )])),
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
        let lines = lines_flag(call)?;
        let follow = call.has_flag("follow")?;
        let filter = filter_flags(call)?;
        let selectors = selection::selectors(call, input)?;
        let tpm = context::open(plugin, engine, head)?;
        // An ecosystem file names its started apps here too; `--only` and `--env` are
        // `stop`'s and `restart`'s, as in the CLI, whose `logs` has neither.
        let choice = tpm_core::FileChoice::default();
        let raw: Vec<String> = selectors.iter().map(|s| s.item.clone()).collect();
        let open_ended = raw
            .iter()
            .any(|r| r.contains('*') || r == tpm_core::ops::ALL);
        if follow && open_ended {
            // A pattern also follows the processes it matches later (none yet is fine).
            let blame = error::Blame {
                head,
                selectors,
                ..error::Blame::default()
            };
            let follow = move |follower: &Follower<LogLine>| {
                let sent = |line| follower.send(line);
                if let Err(e) =
                    tpm.follow_logs(&raw, lines, &filter, || follower.keep_going(), sent)
                {
                    follower.fail(error::labeled(&e, &blame));
                }
            };
            return follow::stream(engine, head, "tpm logs --follow", follow, value::log_line);
        }
        let (names, blame) = selection::resolve(&tpm, head, selectors, &choice)?;
        if !follow {
            let past = tpm
                .logs_filtered(&names, lines, &filter)
                .map_err(|e| error::labeled(&e, &blame))?;
            let rows = past.iter().map(|l| value::log_line(l, head)).collect();
            return Ok(PipelineData::value(Value::list(rows, head), None));
        }

        // Following: the last lines, then each new one (the core starts following exactly
        // where those last lines end).
        let follow = move |follower: &Follower<LogLine>| {
            let sent = |line| follower.send(line);
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            if let Err(e) = tpm.follow_logs(&names, lines, &filter, || follower.keep_going(), sent)
            {
                follower.fail(error::labeled(&e, &blame));
            }
        };
        follow::stream(engine, head, "tpm logs --follow", follow, value::log_line)
    }
}

/// `--since`, `--until`, `--grep`, `--out`, `--err`: the core's filter. A date or a
/// duration is taken as it is typed; text as the CLI reads it.
fn filter_flags(call: &EvaluatedCall) -> Result<tpm_core::logs::Filter, LabeledError> {
    let when = |flag: &str| -> Result<Option<(String, nu_protocol::Span)>, LabeledError> {
        let Some(v) = call.get_flag_value(flag) else {
            return Ok(None);
        };
        let span = v.span();
        let text = match &v {
            Value::Date { val, .. } => val.to_rfc3339(),
            Value::Duration { val, .. } => format!("{}ms", val / 1_000_000),
            Value::String { val, .. } => val.clone(),
            other => {
                return Err(LabeledError::new(format!(
                    "--{flag} takes a date, a duration or text, not {}",
                    other.get_type()
                ))
                .with_label("not a time", span)
                .with_code("tpm::usage")
                .with_help("give a date (2024-01-15), a duration (10min), or text such as 10:30"))
            }
        };
        Ok(Some((text, span)))
    };
    let since = when("since")?;
    let until = when("until")?;
    let grep: Option<String> = call.get_flag("grep")?;
    tpm_core::logs::Filter::parse(
        since.as_ref().map(|s| s.0.as_str()),
        until.as_ref().map(|s| s.0.as_str()),
        grep.as_deref(),
        call.has_flag("out")?,
        call.has_flag("err")?,
    )
    .map_err(|e| {
        LabeledError::new(e)
            .with_label("bad filter", call.head)
            .with_code("tpm::usage")
            .with_help("see `help tpm logs`")
    })
}

pub(super) fn lines_flag(call: &EvaluatedCall) -> Result<usize, LabeledError> {
    match call.get_flag::<Spanned<i64>>("lines")? {
        None => Ok(DEFAULT_LINES),
        Some(n) => usize::try_from(n.item).map_err(|_| {
            LabeledError::new(format!("--lines {} is negative", n.item))
                .with_label("not a number of lines", n.span)
                .with_code("tpm::usage")
                .with_help("give 0 or more")
        }),
    }
}
