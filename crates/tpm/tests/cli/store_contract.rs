//! The on-disk contract: record keys, shell-readable quoting, modes, corrupt records.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use tpm_testkit::Sandbox;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn records_have_the_file_contract_keys_and_bash_can_eval_them() {
    let s = Sandbox::new();
    s.file("my app/server.sh", "PORT=3600\nsleep 300\n", 0o644);
    s.tpm(["start", "my app/server.sh", "--env", "MSG=it's here"])
        .ok();
    s.wait_status("server-3600", "online");
    let meta = s.store().join("processes/server-3600.meta");
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"eval "$(cat "$1")"; echo "$script|$pid|$port|$start_time|$type|$status|$env""#)
        .arg("_")
        .arg(&meta)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let f: Vec<&str> = text.trim_end().split('|').collect();
    assert_eq!(f[0], s.path().join("my app/server.sh").to_str().unwrap());
    let pid = std::fs::read_to_string(s.store().join("pids/server-3600.pid")).unwrap();
    assert_eq!(
        f[1],
        pid.trim(),
        "the pid file holds the same pid, digits only"
    );
    assert_eq!((f[2], f[4], f[5]), ("3600", "cli", "online"));
    assert!(f[3].parse::<i64>().unwrap() > 1_600_000_000);
    assert_eq!(f[6], "'MSG=it'\\''s here'");
    assert_eq!(std::fs::read_to_string(&meta).unwrap().lines().count(), 1);
}

#[test]
fn the_store_is_private() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3601);
    s.tpm(["start", "server.sh"]).ok();
    for dir in ["processes", "pids", "logs"] {
        assert_eq!(mode(&s.store().join(dir)), 0o700, "{dir}");
    }
    for file in [
        "processes/server-3601.meta",
        "pids/server-3601.pid",
        "logs/server-3601.out",
        "logs/server-3601.err",
    ] {
        assert_eq!(mode(&s.store().join(file)), 0o600, "{file}");
    }
}

#[test]
fn records_of_the_shell_version_are_read() {
    let s = Sandbox::new();
    let dir = s.store().join("processes");
    std::fs::create_dir_all(&dir).unwrap();
    // The shell tpm's own example record, with a pid that is certainly not ours to trust.
    std::fs::write(
        dir.join("legacy-3000.meta"),
        "script=/path/to/script.sh pid=1 port=3000 start_time=1694123456 type=cli\n",
    )
    .unwrap();
    let p = s.get("legacy-3000").expect("listed");
    assert_eq!(p["status"], "stopped");
    assert!(
        p["pid"].is_null(),
        "an unverifiable pid is never shown as running"
    );
    s.tpm(["stop", "legacy-3000"]).ok();
    let ports = s.tpm(["ports"]).ok().stdout.clone();
    assert_eq!(ports.trim(), "Process: legacy, Port: 3000");
}

#[test]
fn list_table_has_the_documented_columns() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3603);
    s.tpm(["start", "server.sh"]).ok();
    let run = s.tpm(["list"]);
    let out = &run.ok().stdout;
    for col in [
        "id", "name", "status", "pid", "port", "uptime", "restarts", "cpu", "mem",
    ] {
        assert!(
            out.lines().nth(1).unwrap().contains(&format!(" {col} ")),
            "{col}: {out}"
        );
    }
    assert!(out.starts_with('┌') && out.trim_end().ends_with('┘'));
    let row = out.lines().nth(3).unwrap();
    assert!(
        row.contains("server-3603") && row.contains("online") && row.contains("3603"),
        "{row}"
    );
    assert_eq!(
        s.tpm(["ls"]).ok().stdout.lines().count(),
        out.lines().count(),
        "ls is list"
    );
}

#[test]
fn records_of_earlier_versions_list_and_dump() {
    let s = Sandbox::new();
    let dir = s.store().join("processes");
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tpm-core/tests/fixtures/records");
    for (fixture, name) in [
        ("shell-cli.meta", "script-3000"),
        ("shell-ecosystem.meta", "server-4000"),
        ("tpm-0.1.0.meta", "server-3000"),
    ] {
        std::fs::copy(fixtures.join(fixture), dir.join(format!("{name}.meta"))).unwrap();
    }
    let list = s.list();
    let seen: Vec<(&str, &str)> = list
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    // The 0.1.0 record's supervisor is long gone, so it does not run; nothing is signalled.
    assert_eq!(seen.len(), 3, "{list:?}");
    assert!(list.iter().all(|p| p["pid"].is_null()), "{list:?}");
    assert_eq!(s.get("server-4000").unwrap()["type"], "ecosystem");
    let dump = s.tpm(["dump"]);
    dump.ok();
    assert!(
        dump.stdout.contains("\"NODE_ENV\": \"production\""),
        "{}",
        dump.stdout
    );
    assert!(
        dump.stdout.contains("\"GREETING\": \"hello world\""),
        "{}",
        dump.stdout
    );
}
