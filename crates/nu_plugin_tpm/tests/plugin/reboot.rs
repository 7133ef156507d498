//! Surviving a reboot, in the real `nu`: `tpm save` writes the dump (and never empties one
//! that lists processes unless forced), `tpm resurrect` brings back what is meant to run and
//! returns it, `tpm startup` installs what runs the `tpm` binary's resurrect at boot, and
//! `tpm unstartup` removes exactly that.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use tpm_testkit::{alive, binary, wait_for};

use crate::world::World;

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Kills every supervisor with SIGKILL, as a crash would, and waits until they and their
/// processes are gone.
fn kill_every_supervisor(world: &World) {
    let running = world.sandbox.list();
    let pids: Vec<(u32, u32)> = running
        .iter()
        .map(|p| {
            let pid = |k: &str| p[k].as_u64().unwrap_or_else(|| panic!("{k} of {p}")) as u32;
            (pid("supervisor"), pid("pid"))
        })
        .collect();
    for &(supervisor, process) in &pids {
        kill(Pid::from_raw(supervisor as i32), Signal::SIGKILL).expect("kill the supervisor");
        // The POSIX backend has no parent-death signal: the process would live on until
        // the next command; a crash of the machine takes it too.
        if tpm_testkit::posix_backend() {
            let _ = kill(Pid::from_raw(process as i32), Signal::SIGKILL);
        }
    }
    wait_for("the supervisors and their processes to be gone", || {
        pids.iter().all(|&(s, p)| !alive(s) && !alive(p))
    });
}

#[test]
fn save_then_resurrect_after_every_supervisor_was_killed_brings_them_back() {
    let world = World::running();
    let saved = world.nu_json("tpm save");
    assert_eq!(strings(&saved["names"]), ["api-8080", "server-3000"]);
    let dump = world.sandbox.store().join("dump.json");
    assert_eq!(saved["file"], dump.to_str().unwrap());
    assert_eq!(saved["backup"], Value::Null);
    let before = world.sandbox.list();

    kill_every_supervisor(&world);
    let back = world.nu_json("tpm resurrect");
    let rows = back.as_array().expect("a table");
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{back}");
    for row in rows {
        // The same processes, with their ids and ports, running again.
        let was = before
            .iter()
            .find(|p| p["name"] == row["name"])
            .unwrap_or_else(|| panic!("{row} was not running before"));
        assert_eq!(row["id"], was["id"]);
        assert_eq!(row["port"], was["port"]);
        assert_eq!(row["status"], "online");
        assert_ne!(row["pid"], was["pid"]);
        assert!(alive(row["pid"].as_u64().unwrap() as u32), "{row}");
    }
    for name in names {
        world.sandbox.wait_status(name, "online");
    }
    // Nothing left to start: an empty table.
    assert_eq!(world.nu_json("tpm resurrect"), json!([]));

    // A store without records (a new machine) resurrects from the dump.
    world.sandbox.tpm(["delete", "all"]).ok();
    let back = world.nu_json("tpm resurrect | get name");
    assert_eq!(strings(&back), ["api-8080", "server-3000"]);
    assert_eq!(
        world.nu_json("tpm list | get status"),
        json!(["online", "online"])
    );
}

#[test]
fn resurrect_a_file_starts_the_apps_that_are_not_running() {
    let world = World::files();
    let started = world.nu_json("tpm resurrect ecosystem.json | select name status");
    assert_eq!(
        started,
        json!([
            {"name": "web-4000", "status": "online"},
            {"name": "worker-4001", "status": "online"},
        ])
    );
    assert_eq!(world.nu_json("tpm resurrect ecosystem.json"), json!([]));
    let run = world.nu("tpm resurrect missing.json");
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("missing.json"), "{}", run.stderr);
}

#[test]
fn save_refuses_to_empty_a_dump_that_lists_processes() {
    let world = World::running();
    world.nu_json("tpm save");
    world.sandbox.tpm(["stop", "all"]).ok();
    let run = world.nu("tpm save");
    assert_ne!(run.code, 0);
    let err = &run.stderr;
    assert!(err.contains("tpm::empty_dump"), "{err}");
    assert!(err.contains("would empty the dump"), "{err}");
    assert!(err.contains("give --force"), "{err}");
    // The label is on the command.
    let marks = err.lines().find(|l| l.contains('^')).expect("a label");
    assert_eq!(
        marks.find('^').unwrap() - marks.find(':').unwrap() - 2,
        0,
        "{err}"
    );
    let dump = world.sandbox.store().join("dump.json");
    let text = std::fs::read_to_string(&dump).expect("the dump");
    assert!(text.contains("server-3000"), "kept as it was: {text}");

    let forced = world.nu_json("tpm save --force");
    assert_eq!(forced["names"], json!([]));
    let backup = world.sandbox.store().join("dump.json.bak");
    assert_eq!(forced["backup"], backup.to_str().unwrap());
    assert!(std::fs::read_to_string(&backup)
        .unwrap()
        .contains("server-3000"));
}

#[test]
fn startup_print_returns_what_runs_the_tpm_binary_at_boot() {
    let world = World::files();
    let tpm = binary("tpm");
    let cron = world.nu_json("tpm startup --print --method cron");
    assert_eq!(cron["method"], "cron");
    assert_eq!(cron["file"], Value::Null);
    let line = cron["text"].as_str().expect("the line");
    let tetra = world.sandbox.tetra_dir();
    assert!(
        line.starts_with(&format!("@reboot TETRA_DIR={} PATH=", tetra.display())),
        "{line}"
    );
    assert!(
        line.ends_with(&format!(
            " {} resurrect >>{}/tpm/startup.log 2>&1 # tpm startup",
            tpm.display(),
            tetra.display()
        )),
        "the tpm binary, not the plugin: {line}"
    );
    // The CLI's `--print --json` says the same.
    let cli = world
        .sandbox
        .tpm(["startup", "--print", "--method", "cron", "--json"])
        .ok()
        .json();
    assert_eq!(cli["text"], cron["text"]);

    let systemd = world.nu_json("tpm startup --print --method systemd");
    assert_eq!(systemd["method"], "systemd");
    let unit = world.path().join(".config/systemd/user/tpm.service");
    assert_eq!(systemd["file"], unit.to_str().unwrap());
    let text = systemd["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("ExecStart=\"{}\" \"resurrect\"", tpm.display())),
        "{text}"
    );
    assert!(!unit.exists(), "--print changes nothing");

    let run = world.nu("tpm startup --print --method launchd");
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("not systemd or cron"), "{}", run.stderr);
}

#[test]
fn startup_and_unstartup_with_cron_add_and_remove_only_tpms_line() {
    let world = World::files();
    let fakes = world.fake_boot_tools();
    let tab = world.path().join("crontab.txt");
    std::fs::write(&tab, "0 3 * * * backup.sh\n").unwrap();
    let with_fakes = |script: &str| {
        world.nu_json(&format!(
            "$env.PATH = ($env.PATH | prepend '{}'); {script}",
            fakes.display()
        ))
    };
    let done = with_fakes("tpm startup --method cron");
    assert_eq!(
        done,
        json!({"done": ["added an @reboot line to your crontab"], "todo": []})
    );
    let text = std::fs::read_to_string(&tab).unwrap();
    assert!(text.starts_with("0 3 * * * backup.sh\n@reboot "), "{text}");
    assert!(text.trim_end().ends_with("# tpm startup"), "{text}");
    let done = with_fakes("tpm unstartup");
    assert_eq!(
        done,
        json!({"done": ["removed tpm's @reboot line from your crontab"], "todo": []})
    );
    assert_eq!(
        std::fs::read_to_string(&tab).unwrap(),
        "0 3 * * * backup.sh\n"
    );
    // Nothing left to remove.
    assert_eq!(with_fakes("tpm unstartup"), json!({"done": [], "todo": []}));
}

#[test]
fn secrets_are_never_shown_by_the_plugin_and_save_keeps_them() {
    let world = World::files();
    world
        .nu("tpm start worker.sh --port 9300 --env {DB_PASSWORD: hunter2, API_TOKEN: t0ken9, GREETING: hi}")
        .ok();
    // Every command that shows a process, as a value and as what nu prints.
    for script in [
        "tpm restart worker-9300",
        "tpm list",
        "tpm describe worker-9300",
        "tpm dump",
        "tpm events worker-9300",
        "tpm export systemd",
    ] {
        for shown in [
            world.nu(&format!("{script} | to json -r")),
            world.nu(&format!("{script} | table -e")),
        ] {
            assert_eq!(shown.code, 0, "{script}: {}", shown.stderr);
            assert!(
                shown.stdout.contains("worker-9300"),
                "{script}: {}",
                shown.stdout
            );
            for secret in ["hunter2", "t0ken9"] {
                assert!(
                    !shown.stdout.contains(secret) && !shown.stderr.contains(secret),
                    "{script} shows {secret}: {}{}",
                    shown.stdout,
                    shown.stderr
                );
            }
        }
    }
    let env = world.nu_json("(tpm dump).apps.0.env");
    assert_eq!(env["DB_PASSWORD"], "<hidden by tpm>", "{env}");
    assert_eq!(env["API_TOKEN"], "<hidden by tpm>", "{env}");
    assert_eq!(env["GREETING"], "hi", "{env}");
    let env = world.nu_json("(tpm describe worker-9300).env");
    assert_eq!(env["DB_PASSWORD"], "<hidden by tpm>", "{env}");
    // What save writes to the private store keeps the real values: resurrect needs them.
    world.nu("tpm save").ok();
    let dump = std::fs::read_to_string(world.sandbox.store().join("dump.json")).unwrap();
    assert!(
        dump.contains("hunter2") && dump.contains("t0ken9"),
        "{dump}"
    );
}
