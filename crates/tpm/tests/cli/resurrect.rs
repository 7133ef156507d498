//! Surviving a reboot: what is meant to run comes back with `tpm resurrect`, with its id,
//! port and environment; `tpm save` never loses a dump; `tpm startup` installs what runs
//! resurrect at boot, and `tpm unstartup` removes exactly that.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tpm_testkit::{alive, free_port, program, wait_for, Run, Sandbox};

/// A script that prints its PORT and two variables, then waits.
fn server(s: &Sandbox) {
    s.file(
        "srv.sh",
        "echo \"port=$PORT greeting=$GREETING from_shell=$FROM_SHELL\"\nexec sleep 100000\n",
        0o644,
    );
}

/// A boot id file, as the kernel's (`/proc/sys/kernel/random/boot_id`).
fn boot(s: &Sandbox, id: &str) -> PathBuf {
    s.file(&format!("boot-{id}"), &format!("{id}\n"), 0o644)
}

fn tpm_in(s: &Sandbox, boot: &Path, extra: &[(&str, &str)], args: &[&str]) -> Run {
    let mut env: Vec<(&str, &str)> = vec![("TPM_BOOT_ID_FILE", boot.to_str().unwrap())];
    env.extend_from_slice(extra);
    s.tpm_env(&env, args)
}

/// Every supervisor and process of the sandbox, killed at once, as a power cut would.
fn kill_everything(s: &Sandbox) {
    let killed = s.processes();
    for p in &killed {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    // Gone means dead, not only unreadable: a dying process loses its environment (so
    // `processes` no longer sees it) before its open files, and so its lock, are released;
    // a zombie has released them.
    wait_for("every process to be gone", || {
        s.processes().is_empty() && killed.iter().all(|p| !alive(p.pid))
    });
}

fn list_in(s: &Sandbox, boot: &Path) -> Vec<Value> {
    match tpm_in(s, boot, &[], &["list", "--json"]).ok().json() {
        Value::Array(items) => items,
        other => panic!("{other}"),
    }
}

/// The last line each process wrote, once it says its port.
fn said(s: &Sandbox, name: &str) -> String {
    let mut line = String::new();
    wait_for(&format!("{name} to say its port"), || {
        line = s
            .log(name, "out")
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        line.contains("port=")
    });
    line.split_once(' ')
        .map(|(_, l)| l.split_once(' ').map_or("", |x| x.1).to_string())
        .unwrap_or_default()
}

#[test]
fn after_a_reboot_resurrect_brings_back_exactly_what_was_meant_to_run() {
    let s = Sandbox::new();
    server(&s);
    let before = boot(&s, "11111111-1111-1111-1111-111111111111");
    let (a, b, c) = (free_port(), free_port(), free_port());
    let shell = [("FROM_SHELL", "yes")];
    for (port, name) in [(a, "a"), (b, "b"), (c, "c")] {
        tpm_in(
            &s,
            &before,
            &shell,
            &[
                "start",
                "srv.sh",
                "--name",
                name,
                "--port",
                &port.to_string(),
                "--env",
                &format!("GREETING=hi-{name}"),
            ],
        )
        .ok();
    }
    tpm_in(&s, &before, &[], &["stop", &format!("c-{c}")]).ok();
    let ids: Vec<(String, Value)> = list_in(&s, &before)
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["id"].clone()))
        .collect();

    // The machine goes down: every process dies at once, and it comes back as another boot.
    kill_everything(&s);
    let after = boot(&s, "22222222-2222-2222-2222-222222222222");
    let listed = list_in(&s, &after);
    assert!(
        listed.iter().all(|p| p["status"] == "stopped"),
        "{listed:?}"
    );

    // Resurrected from a shell that lacks FROM_SHELL: each gets what it was started with.
    let out = tpm_in(&s, &after, &[], &["resurrect"]);
    out.ok();
    let started: BTreeSet<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("started ")?.split(' ').next())
        .collect();
    assert_eq!(
        started,
        BTreeSet::from([format!("a-{a}").as_str(), format!("b-{b}").as_str()])
    );
    for (name, port) in [(format!("a-{a}"), a), (format!("b-{b}"), b)] {
        let greeting = &name[..1];
        assert_eq!(
            said(&s, &name),
            format!("port={port} greeting=hi-{greeting} from_shell=yes")
        );
    }
    let now = list_in(&s, &after);
    for (name, id) in &ids {
        let p = now.iter().find(|p| &p["name"] == name).unwrap();
        assert_eq!(&p["id"], id, "{name} keeps its id");
        let expected = if name.starts_with('c') {
            "stopped"
        } else {
            "online"
        };
        assert_eq!(p["status"], expected, "{name}");
    }
    // Once is enough: a second resurrect starts nothing.
    let again = tpm_in(&s, &after, &[], &["resurrect"]);
    again.ok();
    assert!(
        again.stdout.starts_with("nothing to resurrect"),
        "{}",
        again.stdout
    );
    // Cleaned up in the boot they run in (the sandbox's own cleanup sees the machine's).
    tpm_in(&s, &after, &[], &["delete", "all"]).ok();
}

#[test]
fn killed_supervisors_are_resurrected_and_two_resurrects_start_each_once() {
    let s = Sandbox::new();
    server(&s);
    let ports: Vec<u16> = (0..5).map(|_| free_port()).collect();
    for (i, p) in ports.iter().enumerate() {
        s.tpm_env(
            &[("FROM_SHELL", "yes")],
            [
                "start",
                "srv.sh",
                "--port",
                &p.to_string(),
                "--env",
                &format!("GREETING=hi-{i}"),
            ],
        )
        .ok();
    }
    let stopped = format!("srv-{}", ports[4]);
    s.tpm(["stop", &stopped]).ok();
    let ids: Vec<(String, Value)> = s
        .list()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["id"].clone()))
        .collect();
    // Every supervisor and process killed, in this boot: the stopped one stays stopped.
    kill_everything(&s);
    for p in s.list() {
        let expected = if p["name"] == stopped.as_str() {
            "stopped"
        } else {
            "errored"
        };
        assert_eq!(p["status"], expected, "{p}");
    }
    // Two resurrects at once, from shells without FROM_SHELL.
    let runs: Vec<std::process::Child> = (0..2)
        .map(|_| {
            s.command()
                .arg("resurrect")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<String> = runs
        .into_iter()
        .map(|c| String::from_utf8_lossy(&c.wait_with_output().unwrap().stdout).into_owned())
        .collect();
    let started: BTreeSet<&str> = outputs
        .iter()
        .flat_map(|o| o.lines())
        .filter_map(|l| l.strip_prefix("started ")?.split(' ').next())
        .collect();
    let count = outputs
        .iter()
        .flat_map(|o| o.lines())
        .filter(|l| l.starts_with("started "))
        .count();
    assert_eq!(count, 4, "each started exactly once: {outputs:?}");
    let expected: BTreeSet<String> = ports[..4].iter().map(|p| format!("srv-{p}")).collect();
    assert_eq!(
        started,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    let supervisors: Vec<_> = s
        .processes()
        .into_iter()
        .filter(|p| p.cmdline.contains("__tpm_supervise"))
        .collect();
    assert_eq!(supervisors.len(), 4, "{supervisors:?}");
    // Each with its id, port and environment; the stopped one as it was.
    for (i, port) in ports[..4].iter().enumerate() {
        assert_eq!(
            said(&s, &format!("srv-{port}")),
            format!("port={port} greeting=hi-{i} from_shell=yes")
        );
    }
    let now = s.list();
    for (name, id) in &ids {
        let p = now.iter().find(|p| &p["name"] == name).unwrap();
        assert_eq!(&p["id"], id, "{name} keeps its id");
        let expected = if *name == stopped {
            "stopped"
        } else {
            "online"
        };
        assert_eq!(p["status"], expected, "{name}");
    }
}

#[test]
fn a_shutdowns_sigterm_stops_a_process_but_leaves_it_meant_to_run() {
    let s = Sandbox::new();
    server(&s);
    let (a, b) = (free_port(), free_port());
    for port in [a, b] {
        s.tpm(["start", "srv.sh", "--port", &port.to_string()]).ok();
    }
    let (a, b) = (format!("srv-{a}"), format!("srv-{b}"));
    s.tpm(["stop", &b]).ok();
    // A shutdown (or `systemctl stop` of the startup unit) sends SIGTERM to every
    // supervisor: the process stops as for `tpm stop`, but was not stopped by the user.
    let supervisor = s.list().iter().find(|p| p["name"] == a.as_str()).unwrap()["supervisor"]
        .as_u64()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    s.wait_status(&a, "stopped");
    let wanted =
        |name: &str| s.list().iter().find(|p| p["name"] == name).unwrap()["wanted"].clone();
    assert_eq!(
        wanted(&a),
        Value::Bool(true),
        "SIGTERM leaves it meant to run"
    );
    assert_eq!(wanted(&b), Value::Bool(false), "tpm stop does not");
    // doctor says so, and what to do.
    let doctor = s.tpm(["doctor", "--json"]).json();
    let down: Vec<&Value> = doctor
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "down")
        .collect();
    assert_eq!(down.len(), 1, "{doctor}");
    let message = down[0]["message"].as_str().unwrap();
    assert!(message.contains(&a) && !message.contains(&b), "{message}");
    assert!(down[0]["help"].as_str().unwrap().contains("tpm resurrect"));
    let out = s.tpm(["resurrect"]);
    out.ok();
    assert!(
        out.stdout.starts_with(&format!("started {a} ")),
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    s.wait_status(&a, "online");
    assert_eq!(
        s.list().iter().find(|p| p["name"] == b.as_str()).unwrap()["status"],
        "stopped"
    );
}

#[test]
fn save_keeps_a_backup_never_empties_a_dump_and_resurrect_falls_back_to_it() {
    let s = Sandbox::new();
    server(&s);
    let port = free_port();
    let name = format!("srv-{port}");
    s.tpm([
        "start",
        "srv.sh",
        "--port",
        &port.to_string(),
        "--env",
        "API_TOKEN=t0ken",
    ])
    .ok();
    let out = s.tpm(["save"]);
    out.ok();
    let dump = s.store().join("dump.json");
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(
        text.contains("\"API_TOKEN\": \"t0ken\""),
        "save keeps secrets: {text}"
    );
    assert_eq!(
        std::fs::metadata(&dump).unwrap().permissions().mode() & 0o777,
        0o600
    );
    s.tpm(["save"]).ok();
    assert!(s.store().join("dump.json.bak").exists());
    s.tpm(["delete", "all"]).ok();
    let refused = s.tpm(["save"]);
    refused.code(1);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(&dump).unwrap(),
        text,
        "the dump is untouched"
    );

    // The store lost its records and the dump is corrupt: the .bak brings them back.
    std::fs::write(&dump, "{\"apps\": [").unwrap();
    let out = s.tpm(["resurrect"]);
    out.ok();
    assert!(
        out.stdout.contains(&format!("started {name}")),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("dump.json.bak"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&dump).unwrap(),
        "{\"apps\": [",
        "kept as it was"
    );
    assert!(said(&s, &name).starts_with(&format!("port={port}")));
    // A save now keeps the unreadable dump aside, and the good .bak as it was.
    let bak = s.store().join("dump.json.bak");
    let good = std::fs::read_to_string(&bak).unwrap();
    let out = s.tpm(["save"]);
    out.ok();
    assert!(out.stdout.contains("dump.json.corrupt"), "{}", out.stdout);
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), good);
    assert_eq!(
        std::fs::read_to_string(s.store().join("dump.json.corrupt")).unwrap(),
        "{\"apps\": ["
    );
    assert!(std::fs::read_to_string(&dump).unwrap().contains(&name));
}

#[test]
fn secrets_are_never_printed_and_a_masked_dump_does_not_start() {
    let s = Sandbox::new();
    server(&s);
    let port = free_port().to_string();
    s.tpm([
        "start",
        "srv.sh",
        "--port",
        &port,
        "--env",
        "DB_PASSWORD=hunter2",
        "--env",
        "GREETING=hi",
    ])
    .ok();
    let name = format!("srv-{port}");
    for args in [
        vec!["list", "--json"],
        vec!["list"],
        vec!["describe", &name],
        vec!["describe", &name, "--json"],
        vec!["events", &name, "--json"],
        vec!["dump"],
        vec!["dump", "--format", "yaml"],
        vec!["restart", &name, "--json"],
    ] {
        let out = s.tpm(&args);
        out.ok();
        assert!(out.stdout.contains(&name), "{args:?}: {}", out.stdout);
        assert!(
            !out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"),
            "{args:?}: {}",
            out.stdout
        );
    }
    let again = s.tpm(["start", "srv.sh", "--port", &port, "--json"]);
    again.code(1);
    assert!(!again.stdout.contains("hunter2") && !again.stderr.contains("hunter2"));
    let dump = s.tpm(["dump"]);
    assert!(
        dump.stdout.contains("\"DB_PASSWORD\": \"<hidden by tpm>\""),
        "{}",
        dump.stdout
    );
    s.file("apps.json", &dump.stdout, 0o644);
    s.tpm(["delete", "all"]).ok();
    let out = s.tpm(["start", "apps.json"]);
    out.code(64);
    assert!(out.stderr.contains("DB_PASSWORD"), "{}", out.stderr);
    assert!(s.list().is_empty());
}

#[test]
fn startup_print_is_a_unit_systemd_accepts() {
    let s = Sandbox::new();
    let out = s.tpm(["startup", "--print", "--method", "systemd"]);
    out.ok();
    let unit: String = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    let file = s.file("tpm.service", &unit, 0o644);
    let verify = std::process::Command::new(program("systemd-analyze"))
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && complaints.trim().is_empty(),
        "{complaints}\n{unit}"
    );
    for line in ["Type=oneshot", "RemainAfterExit=yes", "resurrect"] {
        assert!(unit.contains(line), "{line}: {unit}");
    }
}

/// A PATH holding fake `systemctl`, `loginctl` and `crontab` that log their arguments (and
/// keep the crontab in a file), then the real bin folders.
fn fake_tools(s: &Sandbox) -> String {
    let bin = s.path().join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = s.path().join("calls.log");
    let tab = s.path().join("crontab.txt");
    for (tool, body) in [
        ("systemctl", format!("echo \"systemctl $*\" >> {}\n", log.display())),
        ("loginctl", format!("echo \"loginctl $*\" >> {}\necho Linger=no\n", log.display())),
        (
            "crontab",
            format!(
                "if [ \"$1\" = -l ]; then [ -f {t} ] && cat {t} || {{ echo 'no crontab' >&2; exit 1; }}; else cat > {t}; fi\n",
                t = tab.display()
            ),
        ),
    ] {
        let path = bin.join(tool);
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn startup_with_cron_adds_one_line_and_unstartup_removes_only_it() {
    let s = Sandbox::new();
    let path = fake_tools(&s);
    let tab = s.path().join("crontab.txt");
    std::fs::write(&tab, "0 3 * * * backup.sh\n").unwrap();
    let env = [("PATH", path.as_str())];
    s.tpm_env(&env, ["startup", "--method", "cron"]).ok();
    let text = std::fs::read_to_string(&tab).unwrap();
    assert!(text.starts_with("0 3 * * * backup.sh\n@reboot "), "{text}");
    assert!(
        text.trim_end().ends_with(&format!(
            "resurrect >>{}/tpm/startup.log 2>&1 # tpm startup",
            s.tetra_dir().display()
        )),
        "{text}"
    );
    // cron would turn a bare % into a new line: it is escaped.
    let percent = s.path().join("te%tra");
    let printed = s.tpm_env(
        &[("TETRA_DIR", percent.to_str().unwrap())],
        ["startup", "--print", "--method", "cron"],
    );
    printed.ok();
    assert!(printed.stdout.contains("te\\%tra"), "{}", printed.stdout);
    assert!(
        !printed.stdout.replace("\\%", "").contains('%'),
        "{}",
        printed.stdout
    );
    // Twice is the same as once.
    s.tpm_env(&env, ["startup", "--method", "cron"]).ok();
    assert_eq!(std::fs::read_to_string(&tab).unwrap(), text);
    s.tpm_env(&env, ["unstartup"]).ok();
    assert_eq!(
        std::fs::read_to_string(&tab).unwrap(),
        "0 3 * * * backup.sh\n"
    );
}

#[test]
fn startup_with_systemd_writes_and_enables_a_user_unit_and_says_what_needs_root() {
    let s = Sandbox::new();
    let path = fake_tools(&s);
    let config = s.path().join("config");
    let env = [
        ("PATH", path.as_str()),
        ("XDG_CONFIG_HOME", config.to_str().unwrap()),
        ("USER", "alice"),
    ];
    let out = s.tpm_env(&env, ["startup", "--method", "systemd"]);
    out.ok();
    let unit = config.join("systemd/user/tpm.service");
    assert!(std::fs::read_to_string(&unit)
        .unwrap()
        .contains("resurrect"));
    assert!(
        out.stdout.contains("sudo loginctl enable-linger alice"),
        "{}",
        out.stdout
    );
    let calls = std::fs::read_to_string(s.path().join("calls.log")).unwrap();
    assert!(
        calls.contains("systemctl --user daemon-reload\nsystemctl --user enable tpm.service\n"),
        "{calls}"
    );
    s.tpm_env(&env, ["unstartup"]).ok();
    assert!(!unit.exists());
    let calls = std::fs::read_to_string(s.path().join("calls.log")).unwrap();
    assert!(
        calls.contains("systemctl --user disable tpm.service"),
        "{calls}"
    );
    // A unit tpm did not write is never replaced.
    std::fs::create_dir_all(unit.parent().unwrap()).unwrap();
    std::fs::write(&unit, "[Unit]\nDescription=mine\n").unwrap();
    s.tpm_env(&env, ["startup", "--method", "systemd"]).code(64);
    s.tpm_env(&env, ["unstartup"]).ok();
    assert!(unit.exists(), "not ours: left alone");
}

#[test]
fn resurrect_a_file_starts_its_apps_on_a_new_machine() {
    let s = Sandbox::new();
    server(&s);
    let port = free_port();
    s.file(
        "apps.json",
        &format!(r#"{{"apps": [{{"name": "web", "script": "srv.sh", "port": {port}}}]}}"#),
        0o644,
    );
    let out = s.tpm(["resurrect", "apps.json"]);
    out.ok();
    assert!(
        out.stdout.contains(&format!("started web-{port}")),
        "{}",
        out.stdout
    );
    let out = s.tpm(["resurrect", "apps.json"]);
    assert!(
        out.stdout.starts_with("nothing to resurrect"),
        "{}",
        out.stdout
    );
}

/// tpm installed in a folder whose name holds `$`, `%` and a space, and in one with a quote
/// and a backslash: the printed unit runs that very binary (`systemd-analyze verify`
/// finds it executable), its path written by systemd's rules for a program.
#[test]
fn startup_runs_tpm_from_a_folder_with_odd_characters() {
    let s = Sandbox::new();
    for folder in ["bin$x 100%", "bin\"q\\b"] {
        let dir = s.path().join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("tpm");
        // current_exe() is the real file, so a link by name would not do: a hard link (or
        // a copy where the build folder is on another file system).
        if std::fs::hard_link(s.tpm_binary(), &bin).is_err() {
            std::fs::copy(s.tpm_binary(), &bin).unwrap();
        }
        let odd = Sandbox::with_tpm(bin.clone());
        let out = odd.tpm(["startup", "--print", "--method", "systemd"]);
        out.ok();
        let unit: String = out
            .stdout
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect();
        let file = s.file(&format!("tpm-{}.service", folder.len()), &unit, 0o644);
        let verify = std::process::Command::new(program("systemd-analyze"))
            .arg("verify")
            .arg(&file)
            .output()
            .unwrap();
        let complaints = String::from_utf8_lossy(&verify.stderr);
        assert!(
            verify.status.success() && complaints.trim().is_empty(),
            "{complaints}\n{unit}"
        );
        let path = bin.to_str().unwrap().replace('%', "%%");
        let exec = if folder.contains('"') {
            format!(
                "ExecStart=/usr/bin/env \"{}\" \"resurrect\"\n",
                path.replace('\\', "\\\\").replace('"', "\\\"")
            )
        } else {
            format!("ExecStart=\"{path}\" \"resurrect\"\n")
        };
        assert!(unit.contains(&exec), "{exec}not in:\n{unit}");
    }
}
