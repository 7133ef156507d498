//! Every example of every command, run in the real `nu`, each in a fresh examples' world;
//! where an example gives its result, the result must be the same. (`--follow` examples run
//! until interrupted; streaming is tested in `real_nu`.)

use nu_plugin::Plugin;
use nu_plugin_tpm::TpmPlugin;
use tpm_testkit::binary;

use crate::world::{json_of, World};

fn run_examples(name: &str, world: fn() -> World) {
    run_examples_after(name, world, |_| String::new());
}

/// Runs the examples, each after the Nushell code `prelude` gives for its world.
fn run_examples_after(name: &str, world: fn() -> World, prelude: fn(&World) -> String) {
    let plugin = TpmPlugin::new(binary("nu_plugin_tpm"));
    let command = plugin
        .commands()
        .into_iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no command {name}"));
    for example in command.examples() {
        if example.example.contains("--follow") {
            continue;
        }
        let world = world();
        let got = world.nu_json(&format!("{}{} | collect", prelude(&world), example.example));
        if let Some(expected) = &example.result {
            assert_eq!(
                got,
                json_of(expected),
                "the result of `{}`",
                example.example
            );
        }
    }
}

#[test]
fn examples_of_tpm_run_in_nu() {
    run_examples("tpm", World::files);
}

#[test]
fn examples_of_tpm_list_and_ls_run_in_nu() {
    run_examples("tpm list", World::running);
    run_examples("tpm ls", World::running);
}

#[test]
fn examples_of_tpm_ports_run_in_nu() {
    run_examples("tpm ports", World::running);
}

#[test]
fn examples_of_tpm_metrics_run_in_nu() {
    run_examples("tpm metrics", World::running);
}

#[test]
fn examples_of_tpm_start_run_in_nu() {
    run_examples("tpm start", World::files);
}

#[test]
fn examples_of_tpm_stop_run_in_nu() {
    run_examples("tpm stop", World::running);
}

#[test]
fn examples_of_tpm_restart_run_in_nu() {
    run_examples("tpm restart", World::running);
}

#[test]
fn examples_of_tpm_delete_and_del_run_in_nu() {
    run_examples("tpm delete", World::running);
    run_examples("tpm del", World::running);
}

#[test]
fn examples_of_tpm_logs_run_in_nu() {
    run_examples("tpm logs", World::running);
}

#[test]
fn examples_of_tpm_init_and_dump_run_in_nu() {
    run_examples("tpm init", World::files);
    run_examples("tpm dump", World::running);
}

#[test]
fn examples_of_tpm_events_run_in_nu() {
    run_examples("tpm events", World::running);
}

#[test]
fn examples_of_tpm_describe_show_and_info_run_in_nu() {
    run_examples("tpm describe", World::running);
    run_examples("tpm show", World::running);
    run_examples("tpm info", World::running);
}

#[test]
fn examples_of_tpm_resurrect_and_save_run_in_nu() {
    run_examples("tpm resurrect", World::running);
    run_examples("tpm save", World::running);
}

#[test]
fn examples_of_tpm_startup_and_unstartup_run_in_nu() {
    // With fake systemctl, loginctl and crontab first on PATH: the machine's are not touched.
    let fakes = |world: &World| {
        format!(
            "$env.PATH = ($env.PATH | prepend '{}'); ",
            world.fake_boot_tools().display()
        )
    };
    run_examples_after("tpm startup", World::files, fakes);
    run_examples_after("tpm unstartup", World::files, fakes);
}

#[test]
fn examples_of_tpm_reload_and_scale_run_in_nu() {
    run_examples("tpm reload", World::files);
    run_examples("tpm scale", World::files);
}

#[test]
fn examples_of_tpm_import_run_in_nu() {
    // pm2's saved list as `pm2 save` writes it (the fields tpm reads, and some it drops):
    // `web`, server.sh with PORT 4500 and a secret, and $env.PM2_HOME pointing at it.
    let prelude = |world: &World| {
        let dir = world.path().display().to_string();
        let home = world.path().join("pm2");
        std::fs::create_dir_all(&home).unwrap();
        let dump = serde_json::json!([{
            "name": "web", "pm_exec_path": format!("{dir}/server.sh"), "pm_cwd": dir,
            "exec_interpreter": "bash", "node_args": [], "exec_mode": "fork_mode",
            "status": "online", "autorestart": true, "vizion": true, "pm_id": 0,
            "unique_id": "0b7c", "env": {"PORT": 4500, "API_TOKEN": "t0k", "PM2_USAGE": "CLI"}
        }]);
        std::fs::write(home.join("dump.pm2"), dump.to_string()).unwrap();
        format!("$env.PM2_HOME = '{}'; ", home.display())
    };
    run_examples_after("tpm import", World::files, prelude);
}
