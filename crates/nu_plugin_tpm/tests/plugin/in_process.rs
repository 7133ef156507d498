//! In-process: the plugin's commands in `nu-plugin-test-support`'s engine (core language
//! only: no `where`, `get` or `to json`; pipelines are tested with the real `nu`).

use std::collections::BTreeSet;

use nu_plugin::{Plugin, PluginCommand};
use nu_plugin_test_support::PluginTest;
use nu_plugin_tpm::TpmPlugin;
use nu_protocol::{Category, Span, Value};
use tpm_testkit::binary;

use crate::world::World;

fn plugin() -> TpmPlugin {
    // Supervisors are the built plugin binary, which calls `run_if_requested` first.
    TpmPlugin::new(binary("nu_plugin_tpm"))
}

/// A test engine whose environment and directory are the world's.
fn engine(world: &World) -> PluginTest {
    engine_for(plugin(), world)
}

/// A test engine of `plugin` in the world.
fn engine_for(plugin: TpmPlugin, world: &World) -> PluginTest {
    let mut test = PluginTest::new("tpm", plugin.into()).expect("a test engine");
    let state = test.engine_state_mut();
    let text = |s: &std::path::Path| Value::string(s.to_string_lossy(), Span::unknown());
    state.add_env_var("PWD".into(), text(world.path()));
    state.add_env_var("HOME".into(), text(world.path()));
    state.add_env_var("TETRA_DIR".into(), text(&world.sandbox.tetra_dir()));
    let path = std::env::var("PATH").unwrap_or_default();
    state.add_env_var("PATH".into(), Value::string(path, Span::unknown()));
    test
}

/// Evaluates Nushell source in the world's test engine; the error as text.
fn eval(world: &World, source: &str) -> Result<Value, String> {
    let data = engine(world).eval(source).map_err(|e| format!("{e:?}"))?;
    data.into_value(Span::test_data())
        .map_err(|e| format!("{e:?}"))
}

fn command(name: &str) -> Box<dyn PluginCommand<Plugin = TpmPlugin>> {
    plugin()
        .commands()
        .into_iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no command {name}"))
}

#[test]
fn every_command_is_documented_with_examples() {
    for c in plugin().commands() {
        let s = c.signature();
        assert!(
            c.name() == "tpm" || c.name().starts_with("tpm "),
            "{}",
            c.name()
        );
        assert_eq!(s.name, c.name());
        assert_eq!(s.category, Category::System, "{}", c.name());
        assert!(c.description().ends_with('.'), "{}", c.name());
        assert!(!c.examples().is_empty(), "{} has no example", c.name());
        for e in c.examples() {
            // Each example runs a tpm command first, or pipes data into the command.
            assert!(
                e.example.starts_with("tpm")
                    || e.example.starts_with("(tpm")
                    || e.example.starts_with("with-env")
                    || e.example.contains(&format!("| {}", c.name())),
                "{}: {}",
                c.name(),
                e.example
            );
        }
    }
}

/// The CLI's subcommands and their long flags, from its `--help` (without `--json`, which
/// Nushell does not need, and `--help`, which Nushell adds).
/// A command's names (with aliases) and its flags (long name, short letter).
type CliCommand = (Vec<String>, BTreeSet<(String, Option<char>)>);

fn cli_commands() -> Vec<CliCommand> {
    let help = |args: &[&str]| {
        let out = std::process::Command::new(binary("tpm"))
            .args(args)
            .output()
            .expect("run tpm --help");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let top = help(&["--help"]);
    let mut out = Vec::new();
    let section = top
        .split("Commands:\n")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .expect("a Commands: section");
    // A command's line is indented by two spaces; a description clap wraps goes on in lines
    // indented further (the aliases too: `[aliases:\n      show, info]`).
    let mut command_lines: Vec<String> = Vec::new();
    for line in section.lines() {
        match command_lines.last_mut() {
            Some(last) if line.starts_with("   ") => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ if line.starts_with("  ") => command_lines.push(line.to_string()),
            _ => {}
        }
    }
    for line in command_lines {
        let name = line
            .split_whitespace()
            .next()
            .expect("a command")
            .to_string();
        if name == "help" {
            continue;
        }
        let mut names = vec![name.clone()];
        if let Some(aliases) = line
            .split("[alias: ")
            .nth(1)
            .or_else(|| line.split("[aliases: ").nth(1))
        {
            let aliases = aliases.trim_end().trim_end_matches(']');
            names.extend(aliases.split(", ").map(String::from));
        }
        let flags = help(&[&name, "--help"])
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let (short, rest) = match l.strip_prefix('-') {
                    Some(r) if !r.starts_with('-') => (r.chars().next(), l.get(4..)?),
                    _ => (None, l),
                };
                // `--watch[=<PATH>]`, and its help's `--watch=src` going on below: `watch`.
                let long = rest
                    .strip_prefix("--")?
                    .split([' ', '<', '[', '='])
                    .next()?;
                Some((long.to_string(), short))
            })
            .filter(|(long, _)| long != "json" && long != "help")
            .collect();
        out.push((names, flags));
    }
    assert!(out.len() >= 7, "parsed too few CLI commands: {out:?}");
    let describe = out.iter().find(|(names, _)| names[0] == "describe");
    assert_eq!(
        describe.map(|(names, _)| names.as_slice()),
        Some(&["describe".to_string(), "show".into(), "info".into()][..]),
        "the aliases of describe, as the parser read them"
    );
    out
}

/// The CLI's commands the plugin does not have yet (the plugin's `commands::CLI_ONLY`: `tpm
/// WORD` in Nushell says to run `^tpm WORD`). Each must still be missing from the plugin and
/// present in the CLI, so the list shrinks as they are added.
const CLI_ONLY: [&str; 2] = ["monit", "serve"];

#[test]
fn the_plugin_has_every_cli_command_and_flag() {
    let cli = cli_commands();
    for word in CLI_ONLY {
        assert!(
            cli.iter().any(|(names, _)| names.iter().any(|n| n == word)),
            "{word} is no CLI command any more: take it off CLI_ONLY"
        );
        let name = format!("tpm {word}");
        assert!(
            plugin().commands().iter().all(|c| c.name() != name),
            "the plugin has {name} now: take it off CLI_ONLY"
        );
    }
    for (names, cli_flags) in cli {
        if names.iter().any(|n| CLI_ONLY.contains(&n.as_str())) {
            continue;
        }
        for name in names {
            let c = command(&format!("tpm {name}"));
            let flags: BTreeSet<(String, Option<char>)> = c
                .signature()
                .named
                .iter()
                .filter(|f| f.long != "help")
                .map(|f| (f.long.clone(), f.short))
                .collect();
            assert_eq!(flags, cli_flags, "the flags of tpm {name}");
        }
    }
}

#[test]
fn commands_that_take_names_take_them_from_arguments_and_input() {
    for name in [
        "tpm stop",
        "tpm restart",
        "tpm delete",
        "tpm del",
        "tpm logs",
        "tpm events",
    ] {
        let s = command(name).signature();
        assert_eq!(
            s.rest_positional.as_ref().map(|r| r.name.as_str()),
            Some("names")
        );
        let inputs: Vec<String> = s
            .input_output_types
            .iter()
            .map(|(i, _)| i.to_string())
            .collect();
        assert_eq!(
            inputs,
            ["nothing", "string", "list<string>", "record", "table"]
        );
    }
}

/// Runs every example that has a result, in its world.
fn examples_hold(name: &str, world: World) {
    let c = command(name);
    engine(&world)
        .test_examples(&c.examples())
        .unwrap_or_else(|e| panic!("the examples of {name}: {e:?}"));
}

#[test]
fn examples_of_tpm_hold() {
    examples_hold("tpm", World::files());
}

#[test]
fn examples_of_tpm_list_and_ls_hold() {
    examples_hold("tpm list", World::running());
    examples_hold("tpm ls", World::running());
}

#[test]
fn examples_of_tpm_ports_hold() {
    examples_hold("tpm ports", World::running());
}

#[test]
fn examples_of_tpm_start_hold() {
    examples_hold("tpm start", World::files());
}

#[test]
fn examples_of_tpm_stop_hold() {
    examples_hold("tpm stop", World::running());
}

#[test]
fn examples_of_tpm_restart_hold() {
    examples_hold("tpm restart", World::running());
}

#[test]
fn examples_of_tpm_delete_and_del_hold() {
    examples_hold("tpm delete", World::running());
    examples_hold("tpm del", World::running());
}

#[test]
fn examples_of_tpm_logs_hold() {
    examples_hold("tpm logs", World::running());
}

#[test]
fn examples_of_tpm_init_and_dump_hold() {
    examples_hold("tpm init", World::files());
    examples_hold("tpm dump", World::running());
}

#[test]
fn examples_of_tpm_events_hold() {
    examples_hold("tpm events", World::running());
}

#[test]
fn examples_of_tpm_describe_show_and_info_hold() {
    examples_hold("tpm describe", World::running());
    examples_hold("tpm show", World::running());
    examples_hold("tpm info", World::running());
}

#[test]
fn examples_of_tpm_resurrect_and_save_hold() {
    examples_hold("tpm resurrect", World::running());
    examples_hold("tpm save", World::running());
}

#[test]
fn examples_of_tpm_startup_and_unstartup_hold() {
    // Only examples with a result run here, and they change nothing (`--print`).
    examples_hold("tpm startup", World::files());
    examples_hold("tpm unstartup", World::files());
}

#[test]
fn describe_is_one_record_with_typed_columns_in_process() {
    let world = World::running();
    let value = eval(&world, "tpm describe server-3000").expect("tpm describe");
    let record = value.as_record().expect("a record");
    let columns: Vec<&str> = record.columns().map(String::as_str).collect();
    let mut want: Vec<&str> = nu_plugin_tpm::value::PROCESS_COLUMNS.to_vec();
    want.extend(nu_plugin_tpm::value::DESCRIBE_COLUMNS);
    assert_eq!(columns, want);
    let get = |c: &str| record.get(c).unwrap_or_else(|| panic!("no {c}"));
    assert_eq!(get("name").as_str().unwrap(), "server-3000");
    assert_eq!(get("restart_delay").as_duration().unwrap(), 100_000_000);
    assert_eq!(get("kill_timeout").as_duration().unwrap(), 3_000_000_000);
    assert_eq!(get("log_max_size").as_filesize().unwrap().get(), 10 << 20);
    assert!(get("env").as_record().is_ok());
    assert!(get("created").as_date().is_ok());
    let tree = get("tree").as_list().unwrap();
    let main = tree[0].as_record().unwrap();
    assert_eq!(
        main.get("pid").unwrap().as_int().unwrap(),
        get("pid").as_int().unwrap()
    );
    assert!(main.get("rss").unwrap().as_filesize().is_ok());
    let files = get("log_files").as_list().unwrap();
    let streams: Vec<&str> = files
        .iter()
        .map(|f| {
            f.as_record()
                .unwrap()
                .get("stream")
                .unwrap()
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(streams, ["out", "err"]);
    let events = get("events").as_list().unwrap();
    let first = events[0].as_record().unwrap();
    assert_eq!(
        first.get("event").unwrap().as_str().unwrap(),
        "start_requested"
    );
    assert!(first.get("time").unwrap().as_date().is_ok());

    let text = eval(&world, "tpm describe \"*\"").expect_err("two processes");
    assert!(
        text.contains("* names 2 processes; describe takes one name or id"),
        "{text}"
    );
    let text = eval(&world, "tpm describe nope-1").expect_err("no such process");
    assert!(text.contains("no process named nope-1"), "{text}");
}

#[test]
fn events_are_typed_rows_in_process() {
    let world = World::running();
    let value = eval(&world, "tpm events api-8080").expect("tpm events");
    let rows = value.as_list().expect("a table");
    let row = rows[1].as_record().expect("a row");
    let columns: Vec<&str> = row.columns().map(String::as_str).collect();
    assert_eq!(columns, nu_plugin_tpm::value::EVENT_COLUMNS);
    assert_eq!(row.get("event").unwrap().as_str().unwrap(), "spawned");
    assert!(row.get("time").unwrap().as_date().is_ok());
    assert!(row.get("pid").unwrap().as_int().is_ok());
    assert!(row.get("code").unwrap().is_nothing());
    let every = eval(&world, "tpm events").expect("every process's");
    assert_eq!(every.as_list().unwrap().len(), 4);
    let last = eval(&world, "tpm events --lines 1").expect("the last one");
    assert_eq!(last.as_list().unwrap().len(), 1);
    let text = eval(&world, "tpm events --since soon").expect_err("not a time");
    assert!(
        text.contains("expected a duration back or a time"),
        "{text}"
    );
}

#[test]
fn startup_needs_the_tpm_binary_and_says_so() {
    let world = World::files();
    // A plugin with no `tpm` beside it, and a PATH without one.
    let lonely = world.path().join("plugin/nu_plugin_tpm");
    let mut test = engine_for(TpmPlugin::new(lonely), &world);
    let empty = world.path().join("empty").to_string_lossy().into_owned();
    test.engine_state_mut()
        .add_env_var("PATH".into(), Value::string(empty, Span::unknown()));
    let error = match test.eval("tpm startup --print --method cron") {
        Ok(data) => data
            .into_value(Span::test_data())
            .expect_err("no tpm binary"),
        Err(e) => e,
    };
    let text = format!("{error:?}");
    assert!(text.contains("the tpm binary is not installed"), "{text}");
    assert!(text.contains("tpm::not_installed"), "{text}");
}

#[test]
fn start_takes_a_script_a_file_or_apps_piped_in() {
    let s = command("tpm start").signature();
    let types: Vec<(String, String)> = s
        .input_output_types
        .iter()
        .map(|(i, o)| (i.to_string(), o.to_string()))
        .collect();
    let pair = |i: &str, o: &str| (i.to_string(), o.to_string());
    assert_eq!(
        types,
        [
            pair("nothing", "record"),
            pair("nothing", "table"),
            pair("record", "table"),
            pair("list<any>", "table"),
        ]
    );
    assert!(s.required_positional.is_empty(), "the script is optional");
    assert!(s.get_long_flag("only").is_some());
}

#[test]
fn a_file_started_in_process_is_a_table_with_unchanged() {
    let world = World::files();
    let value = eval(&world, "tpm start ecosystem.json").expect("tpm start FILE");
    let rows = value.as_list().expect("a table");
    let names: Vec<&str> = rows
        .iter()
        .map(|r| {
            r.as_record()
                .unwrap()
                .get("name")
                .unwrap()
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["web-4000", "worker-4001"]);
    let unchanged = |v: &Value| {
        v.as_list().unwrap()[0]
            .as_record()
            .unwrap()
            .get("unchanged")
            .and_then(|u| u.as_bool().ok())
    };
    assert_eq!(unchanged(&value), Some(false));
    let again = eval(&world, "tpm start ecosystem.json --only web").expect("again");
    assert_eq!(unchanged(&again), Some(true));
    let text = eval(&world, "tpm start missing.json").expect_err("no such file");
    assert!(text.contains("script not found"), "{text}");
}

#[test]
fn dump_is_data_in_the_files_units_in_process() {
    let world = World::running();
    world
        .sandbox
        .tpm([
            "start",
            "worker.sh",
            "--port",
            "9400",
            "--kill-timeout",
            "700",
        ])
        .ok();
    let value = eval(&world, "tpm dump worker-9400").expect("tpm dump");
    let apps = value
        .as_record()
        .unwrap()
        .get("apps")
        .unwrap()
        .as_list()
        .unwrap();
    let app = apps[0].as_record().unwrap();
    assert_eq!(app.get("name").unwrap().as_str().unwrap(), "worker-9400");
    assert_eq!(app.get("kill_timeout").unwrap().as_int().unwrap(), 700);
    assert_eq!(app.get("port").unwrap().as_int().unwrap(), 9400);
    let text = eval(&world, "tpm dump worker-9400 --format yaml").expect("as YAML");
    assert!(
        text.as_str().unwrap().contains("kill_timeout: 700"),
        "{text:?}"
    );
}

#[test]
fn list_rows_are_typed_in_process() {
    let world = World::running();
    let value = eval(&world, "tpm list").expect("tpm list");
    let rows = value.as_list().expect("a list");
    assert_eq!(rows.len(), 2);
    let row = rows[0].as_record().expect("a record");
    assert_eq!(
        row.get("name").and_then(|v| v.as_str().ok()),
        Some("server-3000")
    );
    assert_eq!(
        row.get("status").and_then(|v| v.as_str().ok()),
        Some("online")
    );
    assert!(row.get("uptime").is_some_and(|v| v.as_duration().is_ok()));
    assert!(row.get("mem").is_some_and(|v| v.as_filesize().is_ok()));
    assert!(row.get("started").is_some_and(|v| v.as_date().is_ok()));
    assert!(row.get("pid").is_some_and(|v| v.as_int().is_ok()));
}

#[test]
fn an_unknown_name_is_an_error_in_process() {
    let world = World::files();
    let text = eval(&world, "tpm stop nope-1").expect_err("no such process");
    assert!(text.contains("no process named nope-1"), "{text}");
}
