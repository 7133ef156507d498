use nu_plugin::{EngineInterface, EvaluatedCall, PluginCommand, SimplePluginCommand};
use nu_protocol::{Category, Example, LabeledError, Signature, Span, Type, Value};

use crate::{context, error, value, TpmPlugin};

/// `tpm list`: every process, a row each.
pub struct List;

impl SimplePluginCommand for List {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm list"
    }

    fn description(&self) -> &str {
        super::about(SimplePluginCommand::name(self))
    }

    fn extra_description(&self) -> &str {
        "The columns are the fields of the CLI's `tpm list --json`: name, id, status, pid, port, \
listening (whether its tree listens on the PORT, as its supervisor last looked), uptime (a \
duration), restarts, cpu (percent of one core used by its whole tree over the last few \
seconds), mem (a file size: the tree's resident memory), started (a date), \
script, cmd, cwd, type, exit_code, reason, supervisor (its pid), autorestart, log_dropped, \
wanted (whether it is meant to run), restarts_24h, uptime_pct_24h (the percent of the last \
24 hours it was online while meant to run) and tracking (cgroup or process-tree: how the \
process's tree is found). \
A value that does not apply (the pid of a stopped process) is nothing. \
Statuses: launching, online, waiting, stopping, stopped, errored."
    }

    fn signature(&self) -> Signature {
        signature(PluginCommand::name(self))
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(SimplePluginCommand::name(self))
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm list",
                description: "Every process, with its status, pid, port, uptime, cpu and memory",
                result: None,
            },
            Example {
                example: "tpm list | where status == online | get name",
                description: "The names of the processes running now",
                result: None,
            },
            Example {
                example: "tpm list | sort-by mem | last 3",
                description: "The three processes using the most memory",
                result: None,
            },
            Example {
                example: "tpm list | where status == errored | select name exit_code reason",
                description: "Why the processes that gave up did so",
                result: None,
            },
            Example {
                example: "(tpm list).name",
                description: "Every process name, in id order",
                result: Some(Value::test_list(vec![
                    Value::test_string("server-3000"),
                    Value::test_string("api-8080"),
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
        run(plugin, engine, call.head)
    }
}

fn signature(name: &str) -> Signature {
    Signature::build(name)
        .input_output_type(Type::Nothing, Type::table())
        .category(Category::System)
}

fn run(plugin: &TpmPlugin, engine: &EngineInterface, head: Span) -> Result<Value, LabeledError> {
    let tpm = context::open(plugin, engine, head)?;
    let listing = tpm.list().map_err(|e| error::general(&e, head))?;
    error::warn(&listing.problems);
    let rows = listing
        .processes
        .iter()
        .map(|p| value::process(p, head))
        .collect();
    Ok(Value::list(rows, head))
}

/// `tpm ls`: the CLI's alias of `tpm list`.
pub struct Ls;

impl SimplePluginCommand for Ls {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm ls"
    }

    fn description(&self) -> &str {
        "List every process tpm knows, as a table (alias of `tpm list`)."
    }

    fn signature(&self) -> Signature {
        signature(PluginCommand::name(self))
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![Example {
            example: "(tpm ls).name",
            description: "Every process name, in id order",
            result: Some(Value::test_list(vec![
                Value::test_string("server-3000"),
                Value::test_string("api-8080"),
            ])),
        }]
    }

    fn run(
        &self,
        plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        _input: &Value,
    ) -> Result<Value, LabeledError> {
        run(plugin, engine, call.head)
    }
}
