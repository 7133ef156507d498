//! The start options as clap flags, made from the core's one table
//! (`tpm_core::options::START_OPTIONS`): names, short flags, placeholders, help, defaults
//! and value parsing all come from there, so a new option needs no change here.

use clap::builder::ValueParser;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches, ValueHint};
use tpm_core::options::{Kind, OptionDef, Value, START_OPTIONS};
use tpm_core::Options;

/// The start options given on the command line (flags at their defaults are left out).
#[derive(Debug, Clone, Default)]
pub struct StartOptions(pub Options);

impl Args for StartOptions {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(START_OPTIONS.iter().filter_map(flag))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for StartOptions {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut options = Options::new();
        for def in START_OPTIONS {
            let Some(id) = def.flag else { continue };
            if matches.value_source(id) != Some(ValueSource::CommandLine) {
                continue;
            }
            if def.is_switch() {
                if matches.get_flag(id) {
                    options.set(def.id, Value::Bool(def.switch_value()));
                }
            } else if let Some(values) = matches.get_many::<Value>(id) {
                for value in values {
                    options.set(def.id, value.clone());
                }
            }
        }
        Ok(StartOptions(options))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The clap flag of one option; `None` for a field that has no flag.
fn flag(def: &'static OptionDef) -> Option<Arg> {
    let id = def.flag?;
    let mut arg = Arg::new(id).long(id).help(def.help);
    if let Some(short) = def.short {
        arg = arg.short(short);
    }
    if def.is_switch() {
        return Some(arg.action(ArgAction::SetTrue));
    }
    arg = arg
        .value_name(def.value_name)
        .value_parser(ValueParser::new(move |raw: &str| def.parse_text(raw)))
        .action(match def.kind {
            Kind::Env | Kind::Paths => ArgAction::Append,
            _ => ArgAction::Set,
        });
    // `--watch` alone watches the cwd; a path needs `=` (`--watch=src`), so that the word
    // after `--watch` stays the script.
    if def.id == tpm_core::options::Opt::Watch {
        arg = arg
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("");
    }
    if let Some(default) = def.default_text() {
        arg = arg.default_value(default);
    }
    match def.kind {
        Kind::Dir => arg = arg.value_hint(ValueHint::DirPath),
        Kind::Paths => arg = arg.value_hint(ValueHint::AnyPath),
        // Interpreter arguments begin with dashes: `--interpreter-args --inspect`.
        Kind::Words => arg = arg.allow_hyphen_values(true),
        // pm2's `-i -1`: one per core but one.
        Kind::Instances => arg = arg.allow_negative_numbers(true),
        _ => {}
    }
    Some(arg)
}
