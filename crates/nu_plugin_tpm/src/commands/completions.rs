use std::process::{Command, Stdio};

use nu_plugin::{EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::{Category, Example, LabeledError, Signature, Spanned, SyntaxShape, Type, Value};

use crate::{context, TpmPlugin};

/// `tpm completions SHELL`: the `tpm` binary's completion script for bash, zsh or fish.
///
/// Nushell completes `tpm` itself (the plugin's own completion); this command is here so
/// that `tpm completions` still works from Nushell, where the plugin's bare `tpm` hides the
/// external binary. The script registers that binary, so it is what that binary prints.
pub struct Completions;

const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

impl SimplePluginCommand for Completions {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm completions"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "The script registers the `tpm` binary with that shell's completion, with live process \
names. It is what `tpm completions SHELL` prints in that shell; the binary is looked for beside \
this plugin, then on PATH. Nushell needs no script: the plugin completes its own commands."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_type(Type::Nothing, Type::String)
            .required("shell", SyntaxShape::String, "bash, zsh or fish.")
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm completions zsh | lines | first",
                description: "The first line of the zsh script (`#compdef tpm`)",
                result: None,
            },
            Example {
                example:
                    "tpm completions bash | save -f ~/.local/share/bash-completion/completions/tpm",
                description: "Install the bash completion for the tpm binary",
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
        let shell: Spanned<String> = call.req(0)?;
        if !SHELLS.contains(&shell.item.as_str()) {
            return Err(
                LabeledError::new(format!("no completion script for {:?}", shell.item))
                    .with_label("not bash, zsh or fish", shell.span)
                    .with_code("tpm::usage")
                    .with_help("Nushell needs none: the plugin completes tpm's commands itself"),
            );
        }
        let ctx = context::context(engine, call.head)?;
        let bin = plugin.cli_binary(&ctx).ok_or_else(|| {
            LabeledError::new("the tpm binary is not installed")
                .with_label("its completion script comes from it", call.head)
                .with_code("tpm::not_installed")
                .with_help("install it (./install.sh) or put it on PATH")
        })?;
        let out = Command::new(&bin)
            .args(["completions", &shell.item])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                LabeledError::new(format!("cannot run {}: {e}", bin.display()))
                    .with_label("here", call.head)
            })?;
        if !out.status.success() {
            return Err(LabeledError::new(format!(
                "{} completions {} failed: {}",
                bin.display(),
                shell.item,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
            .with_label("here", call.head));
        }
        Ok(Value::string(
            String::from_utf8_lossy(&out.stdout),
            call.head,
        ))
    }
}
