//! The documented exit codes: 64 usage, 65 no PORT, 66 not runnable, 1 other.

use tpm_testkit::Sandbox;

#[test]
fn bare_tpm_and_tpm_help_print_usage_and_exit_0() {
    let s = Sandbox::new();
    for args in [vec![], vec!["help"], vec!["--help"]] {
        let run = s.tpm(&args);
        run.ok();
        assert!(
            run.stdout.contains("Usage: tpm"),
            "{args:?}: {}",
            run.stdout
        );
        assert!(run.stdout.contains("start") && run.stdout.contains("ports"));
    }
}

#[test]
fn usage_errors_exit_64() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3000);
    for args in [
        vec!["start", "--bogus", "server.sh"],
        vec!["start"],
        vec!["frobnicate"],
        vec!["stop"],
        vec!["logs", "x-1", "--lines", "many"],
        vec!["start", "server.sh", "--port", "0"],
        vec!["start", "server.sh", "--port", "70000"],
        vec!["start", "server.sh", "--env", "NOEQUALS"],
        vec!["start", "server.sh", "a", "--name", "b"],
    ] {
        s.tpm(&args).code(64);
    }
}

#[test]
fn bad_names_exit_64_and_touch_no_path() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3000);
    for bad in ["../x", "a/b", ".x", "", "x y", &"n".repeat(500)] {
        s.tpm(["stop", bad]).code(64);
        s.tpm(["start", "server.sh", "--name", bad]).code(64);
    }
    assert!(!s.path().join("x.meta").exists() && !s.tetra_dir().join("x.meta").exists());
    assert!(s.list().is_empty(), "nothing was created");
}

#[test]
fn no_port_exits_65_and_says_how_to_give_one() {
    let s = Sandbox::new();
    s.file("noport.sh", "#!/bin/bash\nsleep 100\n", 0o755);
    let run = s.tpm(["start", "noport.sh"]);
    run.code(65);
    assert!(run.stderr.contains("--port"), "{}", run.stderr);
    assert!(run.stderr.contains("PORT="), "{}", run.stderr);
    s.tpm_env(&[("PORT", "notaport")], ["start", "noport.sh"])
        .code(65);
    assert!(s.list().is_empty());
}

#[test]
fn missing_or_unrunnable_scripts_exit_66() {
    let s = Sandbox::new();
    s.file("plain", "#!/bin/sh\necho\n", 0o644);
    s.file("data.txt", "PORT=1\n", 0o644);
    s.tpm(["start", "missing.sh", "--port", "3000"]).code(66);
    s.tpm(["start", "./nope/server.sh", "--port", "3000"])
        .code(66);
    s.tpm(["start", "plain", "--port", "3000"]).code(66);
    s.tpm(["start", "data.txt"]).code(66);
    s.tpm(["start", "no-such-program-zz --port 3000"]).code(66);
    assert!(s.list().is_empty());
}

#[test]
fn an_exec_failure_is_66_and_leaves_no_record_claiming_online() {
    let s = Sandbox::new();
    // Executable, with an interpreter that does not exist: only exec can find out.
    s.file("broken", "#!/nonexistent/interpreter\n", 0o755);
    let run = s.tpm(["start", "broken", "--port", "3100"]);
    run.code(66);
    assert!(
        run.stderr.contains("/nonexistent") || run.stderr.contains("No such file"),
        "{}",
        run.stderr
    );
    let p = s.get("broken-3100").expect("the record says what happened");
    assert_eq!(p["status"], "errored");
    assert!(
        p["reason"].as_str().unwrap_or("").contains("cannot run"),
        "{p}"
    );
    assert!(p["pid"].is_null());
    assert!(!s.store().join("pids/broken-3100.pid").exists());
}

#[test]
fn unknown_processes_exit_1() {
    let s = Sandbox::new();
    for cmd in ["stop", "restart", "delete", "logs"] {
        let run = s.tpm([cmd, "ghost-1"]);
        run.code(1);
        assert!(
            run.stderr.contains("no process named ghost-1"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn starting_an_online_name_fails_with_1_and_changes_nothing() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3000);
    s.tpm(["start", "server.sh"]).ok();
    let before = s.record_as_commanded("server-3000");
    let run = s.tpm(["start", "server.sh"]);
    run.code(1);
    assert!(run.stderr.contains("already online"), "{}", run.stderr);
    assert_eq!(s.record_as_commanded("server-3000"), before);
    assert_eq!(s.list().len(), 1);
}

/// `reload --timeout 0` gives no new process the time to be ready: a usage error, as the
/// plugin says, and the running process is left as it was.
#[test]
fn a_reload_timeout_of_zero_is_a_usage_error() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3000);
    s.tpm(["start", "server.sh"]).ok();
    s.wait_status("server-3000", "online");
    let pid = s.get("server-3000").map(|p| p["pid"].clone());
    let run = s.tpm(["reload", "server-3000", "--timeout", "0"]);
    run.code(64);
    assert!(run.stderr.contains("--timeout"), "{}", run.stderr);
    assert_eq!(s.get("server-3000").map(|p| p["pid"].clone()), pid);
    s.tpm(["delete", "all"]).ok();
}
