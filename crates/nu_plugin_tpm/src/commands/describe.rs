use nu_plugin::{
    DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand, SimplePluginCommand,
};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, Signature, Spanned, SyntaxShape, Type,
    Value,
};

use crate::error::{self, Blame};
use crate::{complete, context, value, TpmPlugin};

const EXTRA: &str = "Returns a record: the columns of the process's `tpm list` row, then \
interpreter (the program that runs the script, or nothing), env (the variables set for it, \
secrets masked), max_restarts, restart_delay and kill_timeout (durations), log_max_size (a file \
size; 0 B: never rotated), log_keep, log_rotate (hourly, daily or nothing), log_max_age (a \
duration; 0: kept), log_max_total (a file size; 0 B: no limit), log_compress, log_rotate_size (where \
a file really rotates), log_files (a table: path, stream, size), tree (a table of its running processes: pid, \
ppid, command, rss), events (its last events, as `tpm events` rows) and created (a date). \
Its listening column is looked at now, not the supervisor's last look. \
The fields of the CLI's `tpm describe --json`, typed.";

/// `tpm describe`: everything about one process, as a record.
pub struct Describe;

impl SimplePluginCommand for Describe {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm describe"
    }

    fn description(&self) -> &str {
        super::about(SimplePluginCommand::name(self))
    }

    fn extra_description(&self) -> &str {
        EXTRA
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
                example: "tpm describe server-3000",
                description: "Everything about one process",
                result: None,
            },
            Example {
                example: "(tpm describe server-3000).kill_timeout",
                description: "How long a stop waits before KILL, as a duration",
                result: Some(Value::test_duration(3_000_000_000)),
            },
            Example {
                example: "(tpm describe 1).name",
                description: "A process by its id",
                result: Some(Value::test_string("api-8080")),
            },
            Example {
                example: "(tpm describe api-8080).listening",
                description: "Whether something listens on its PORT (backend.sh only prints)",
                result: Some(Value::test_bool(false)),
            },
            Example {
                example: "tpm describe server-3000 | get tree | select pid command rss",
                description: "Its running processes: the main one and all it started",
                result: None,
            },
            Example {
                example: "tpm describe server-3000 | get events | last 3",
                description: "Its last three events",
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
        _input: &Value,
    ) -> Result<Value, LabeledError> {
        run(plugin, engine, call)
    }
}

fn signature(name: &str) -> Signature {
    Signature::build(name)
        .input_output_types(vec![
            (Type::Nothing, Type::record()),
            (Type::Nothing, Type::list(Type::record())),
        ])
        .required(
            "name",
            SyntaxShape::String,
            "The process: its name or id (an app's name: a list, one per instance).",
        )
        .category(Category::System)
}

fn run(
    plugin: &TpmPlugin,
    engine: &EngineInterface,
    call: &EvaluatedCall,
) -> Result<Value, LabeledError> {
    let head = call.head;
    let name: Spanned<String> = call.req(0)?;
    let tpm = context::open(plugin, engine, head)?;
    let blame = Blame {
        head,
        target: Some(name.span),
        selectors: vec![name.clone()],
        ..Blame::default()
    };
    let names = tpm
        .resolve(std::slice::from_ref(&name.item))
        .map_err(|e| error::labeled(&e, &blame))?;
    let instances = tpm.instances_of(&name.item, &names);
    if instances.len() > 1 && instances.len() == names.len() {
        let rows = instances
            .iter()
            .map(|n| {
                tpm.describe(n)
                    .map(|d| value::describe(&d, head))
                    .map_err(|e| error::labeled(&e, &blame))
            })
            .collect::<Result<Vec<Value>, LabeledError>>()?;
        return Ok(Value::list(rows, head));
    }
    let [one] = names.as_slice() else {
        return Err(LabeledError::new(
            tpm_core::command::describe_takes_one(&name.item, names.len()).to_string(),
        )
        .with_label("more than one process", name.span)
        .with_code("tpm::usage")
        .with_help(format!(
            "describe each: tpm list | where name =~ \"{}\" | each {{ tpm describe $in.name }}",
            name.item.trim_matches('*')
        )));
    };
    let description = tpm.describe(one).map_err(|e| error::labeled(&e, &blame))?;
    Ok(value::describe(&description, head))
}

/// The CLI's aliases of `tpm describe`: `tpm show` and `tpm info`.
pub struct Alias {
    name: &'static str,
    example: &'static str,
}

pub const SHOW: Alias = Alias {
    name: "tpm show",
    example: "(tpm show 0).port",
};

pub const INFO: Alias = Alias {
    name: "tpm info",
    example: "(tpm info 0).port",
};

impl SimplePluginCommand for Alias {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        self.name
    }

    fn description(&self) -> &str {
        "Everything about one process (alias of `tpm describe`)."
    }

    fn extra_description(&self) -> &str {
        EXTRA
    }

    fn signature(&self) -> Signature {
        signature(self.name)
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![Example {
            example: self.example,
            description: "The port of the process whose id is 0",
            result: Some(Value::test_int(3000)),
        }]
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
        _input: &Value,
    ) -> Result<Value, LabeledError> {
        run(plugin, engine, call)
    }
}
