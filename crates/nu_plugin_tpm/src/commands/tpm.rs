use nu_plugin::{EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::{
    Category, Example, LabeledError, PipelineData, Signature, Span, Spanned, SyntaxShape, Type,
    Value,
};

use super::subcommands;
use crate::TpmPlugin;

/// The bare `tpm`: its help, and a clear error for a subcommand that does not exist.
///
/// With this command registered, `tpm <anything>` is parsed by Nushell and no longer reaches
/// an external `tpm` binary (`^tpm` still does), so a word that is no subcommand lands here.
pub struct Tpm;

impl SimplePluginCommand for Tpm {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm"
    }

    fn description(&self) -> &str {
        "Tetra process manager: supervise long-running processes, named basename-PORT."
    }

    fn extra_description(&self) -> &str {
        "Every command returns data: `tpm list | where status == online`, \
`tpm logs web-8080 | where stream == err`, `tpm events | where event == exited`, \
`tpm describe web-8080 | get tree`. Apps can be declared: `tpm init` writes a starter \
ecosystem file, `tpm start ecosystem.json` starts its apps, records piped into `tpm start` \
start too, and `tpm dump | save apps.json` writes the processes back as such a file. \
`tpm save`, `tpm resurrect` and `tpm startup` bring back what is meant to run after a reboot. \
Processes live in $env.TETRA_DIR/tpm (default ~/tetra/tpm), shared with the `tpm` command of \
bash and zsh."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::String)
            .optional(
                "command",
                SyntaxShape::String,
                "`help`, optionally followed by a subcommand's name.",
            )
            .rest("rest", SyntaxShape::String, "The subcommand for `help`.")
            .switch("version", "The plugin's version.", None)
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        vec!["process", "manager", "supervisor", "pm2", "tetra"]
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm",
                description: "The commands of tpm",
                result: None,
            },
            Example {
                example: "tpm help start",
                description: "The help of `tpm start` (same as `help tpm start`)",
                result: None,
            },
            Example {
                example: "tpm help dump",
                description: "The help of `tpm dump`: the processes as an ecosystem file",
                result: None,
            },
            Example {
                example: "tpm help events",
                description: "The help of `tpm events`: what happened to the processes",
                result: None,
            },
            Example {
                example: "tpm --version",
                description: "The plugin's version",
                result: Some(Value::test_string(env!("CARGO_PKG_VERSION"))),
            },
        ]
    }

    fn run(
        &self,
        _plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        _input: &Value,
    ) -> Result<Value, LabeledError> {
        let head = call.head;
        if call.has_flag("version")? {
            return Ok(Value::string(env!("CARGO_PKG_VERSION"), head));
        }
        let command: Option<Spanned<String>> = call.opt(0)?;
        let rest: Vec<Spanned<String>> = call.rest(1)?;
        match command {
            None => help_of(engine, head, &[]),
            Some(c) if c.item == "help" => help_of(engine, head, &rest),
            Some(c) => Err(no_such_command(&c)),
        }
    }
}

/// The help of `tpm`, or of `tpm WORDS...` through Nushell's own `help`.
fn help_of(
    engine: &EngineInterface,
    head: Span,
    words: &[Spanned<String>],
) -> Result<Value, LabeledError> {
    let Some(first) = words.first() else {
        return Ok(Value::string(engine.get_help()?, head));
    };
    if !subcommands().contains(&first.item.as_str()) {
        return Err(no_such_command(first));
    }
    let Some(help) = engine.find_decl("help")? else {
        // An engine without `help` (a test engine): say where it is.
        return Ok(Value::string(
            format!("run `help tpm {}`", first.item),
            head,
        ));
    };
    let mut call = EvaluatedCall::new(head).with_positional(Value::string("tpm", head));
    for word in words {
        call.add_positional(Value::string(&word.item, word.span));
    }
    let out = engine.call_decl(help, call, PipelineData::empty(), true, false)?;
    Ok(out.into_value(head)?)
}

fn no_such_command(word: &Spanned<String>) -> LabeledError {
    if super::cli_only().contains(&word.item.as_str()) {
        return cli_only(word);
    }
    let commands = subcommands();
    let close = commands
        .iter()
        .map(|c| (distance(c, &word.item), c))
        .filter(|&(d, _)| d <= 2)
        .min()
        .map(|(_, c)| c);
    let help = match close {
        Some(c) => format!("did you mean `tpm {c}`? `help tpm` lists the commands"),
        None => format!(
            "the commands are: {}; `help tpm` shows them",
            commands.join(", ")
        ),
    };
    LabeledError::new(format!("tpm has no command `{}`", word.item))
        .with_label("no such command", word.span)
        .with_code("tpm::usage")
        .with_help(help)
}

/// A command of the CLI's that the plugin does not have (yet).
fn cli_only(word: &Spanned<String>) -> LabeledError {
    LabeledError::new(format!(
        "`tpm {}` is in the tpm binary, not (yet) in the Nushell plugin",
        word.item
    ))
    .with_label("the CLI's command", word.span)
    .with_code("tpm::usage")
    .with_help(format!(
        "run the binary: ^tpm {} (both share the store)",
        word.item
    ))
}

/// Edit distance (insertions, deletions, substitutions), for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str) -> Spanned<String> {
        Spanned {
            item: text.into(),
            span: Span::test_data(),
        }
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("stop", "stop"), 0);
        assert_eq!(distance("stop", "stp"), 1);
        assert_eq!(distance("list", "lsit"), 2);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn an_unknown_command_suggests_a_close_one() {
        let e = no_such_command(&word("stp"));
        assert_eq!(e.msg, "tpm has no command `stp`");
        assert_eq!(
            e.help.as_deref(),
            Some("did you mean `tpm stop`? `help tpm` lists the commands")
        );
        let e = no_such_command(&word("lgos"));
        assert!(e.help.unwrap().starts_with("did you mean `tpm logs`"));
        let e = no_such_command(&word("frobnicate"));
        assert!(e.help.unwrap().starts_with("the commands are: list, ls"));
        let e = no_such_command(&word("evnets"));
        assert!(e.help.unwrap().starts_with("did you mean `tpm events`"));
        let e = cli_only(&word("frobnicate"));
        assert_eq!(
            e.help.as_deref(),
            Some("run the binary: ^tpm frobnicate (both share the store)")
        );
    }
}
