//! The tetra module `shell/tpm.sh`, sourced by a tetra-style bootstrap.sh in real bash
//! and zsh: the `tetra_tpm_*` functions run tpm with their arguments untouched and return
//! its exit code, and sourcing leaks no option, no variable and nothing else.
//!
//! The shell side is `tests/fixtures/tetra/check_shim.sh`; these tests set the stage, run
//! it, and read its report.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use tpm_testkit::{free_port, program, Run, Sandbox};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tetra")
}

/// A tetra checkout: `bash/bootstrap.sh`, and `bash/tpm/tpm.sh` linked to the shim.
fn tetra_src(s: &Sandbox) -> PathBuf {
    let src = s.path().join("tetra-src");
    if src.exists() {
        return src;
    }
    std::fs::create_dir_all(src.join("bash/tpm")).unwrap();
    std::fs::copy(
        fixtures().join("bootstrap.sh"),
        src.join("bash/bootstrap.sh"),
    )
    .unwrap();
    symlink(repo().join("shell/tpm.sh"), src.join("bash/tpm/tpm.sh")).unwrap();
    src
}

/// PATH with the tpm under test first.
fn path_with_tpm(s: &Sandbox) -> std::ffi::OsString {
    let dir = s.tpm_binary().parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap()
}

/// A shell in the sandbox with its HOME elsewhere than the store's parent and no TETRA_DIR
/// in its environment: only bootstrap.sh's (unexported) TETRA_DIR leads tpm to the store.
fn shell(s: &Sandbox, argv: &[&str]) -> Command {
    let mut c = Command::new(program(argv[0]));
    s.apply_env(&mut c);
    let home = s.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    c.args(&argv[1..])
        .env_remove("TETRA_DIR")
        .env("HOME", home)
        .env("PATH", path_with_tpm(s))
        .env("TETRA_SRC", tetra_src(s))
        .env("STORE_DIR", s.tetra_dir());
    c
}

fn run(mut c: Command) -> Run {
    let out = c.output().expect("run the shell");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs check_shim.sh with `argv` (a shell and its flags) and asserts everything it reports.
/// `completion` is its line about the completers of `tetra_tpm_stop` and `tpm`.
fn check(argv: &[&str], env: &[(&str, &str)], completion: &str) {
    let s = Sandbox::new();
    let port = free_port();
    s.file(
        "my dir/server.sh",
        &format!(
            "#!/usr/bin/env bash\nexport PORT={port}\nfor a in \"$@\"; do echo \"arg=<$a>\"; done\nwhile true; do sleep 1; done\n"
        ),
        0o755,
    );
    s.file(
        "noport.sh",
        "#!/usr/bin/env bash\necho no port here\n",
        0o755,
    );
    let mut c = shell(&s, argv);
    c.arg(fixtures().join("check_shim.sh"))
        .env("SERVER_PORT", port.to_string());
    for (k, v) in env {
        c.env(k, v);
    }
    let run = run(c);
    let out = &run.stdout;
    let name = format!("server-{port}");
    let context = format!("--- stdout\n{out}\n--- stderr\n{}", run.stderr);
    let has = |text: &str| assert!(out.contains(text), "missing {text:?}\n{context}");
    let lacks = |text: &str| assert!(!out.contains(text), "unexpected {text:?}\n{context}");

    assert_eq!(run.code, 0, "{context}");
    has("done\n");
    // Started, with its arguments untouched: spaces, `*` and the empty one.
    has("exit 0: tetra_tpm_start my dir/server.sh -- two words * ");
    has(" arg=<two words>\n");
    has(" arg=<*>\n");
    has(" arg=<>\n");
    lacks("timed out");
    // Listed online, in the store bootstrap.sh named (not exported, not $HOME/tetra).
    let list_at = out.find("exit 0: tetra_tpm_list\n").expect(&context);
    let table = &out[..list_at];
    assert!(
        table
            .lines()
            .any(|l| l.contains(&name) && l.contains("online")),
        "{context}"
    );
    // `*` reached tpm as a pattern: stopped, and the JSON list says so.
    has(&format!("stopped {name}\nexit 0: tetra_tpm_stop *\n"));
    has("\"status\":\"stopped\"");
    has("exit 0: tetra_tpm_list --json\n");
    // tpm's exit codes come through.
    has("exit 64: tetra_tpm_start --no-such-flag\n");
    has("exit 65: tetra_tpm_start noport.sh\n");
    // A process without a PORT, through the module: named by its name alone.
    has("started noport (id ");
    has("exit 0: tetra_tpm_start noport.sh --no-port\n");
    has("exit 0: tetra_tpm_delete noport\n");
    has("exit 66: tetra_tpm_start missing.sh\n");
    has(&format!("exit 0: tetra_tpm_restart {name}\n"));
    has(&format!("exit 0: tetra_tpm_delete {name}\n"));
    has("Usage: tpm [COMMAND]");
    has("exit 0: tetra_tpm_help\n");
    has("exit 0: tetra_tpm ports --json\n");
    // Interactive shells complete `tpm` and the functions; scripts skip it.
    has(&format!("\ncompletion: {completion}\n"));
    assert!(s.list().is_empty(), "deleted, in the sandbox's store");
    assert!(!s.path().join("home/tetra").exists(), "used $HOME/tetra");
    // Nothing leaked: options and IFS as they were, no variable but bootstrap.sh's own
    // TETRA_DIR (still unexported), no function but the module's.
    has("options: unchanged\n");
    let new_variables: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("new variable: "))
        .collect();
    assert_eq!(new_variables, ["TETRA_DIR"], "{context}");
    has("TETRA_DIR exported: 0\n");
    for f in out.lines().filter_map(|l| l.strip_prefix("new function: ")) {
        assert!(
            f.starts_with("tetra_tpm")
                || f.starts_with("_tetra_tpm_")
                || f.starts_with("_clap_complete_tpm")
                || f.starts_with("_clap_dynamic_completer_tpm"),
            "the module defined {f}\n{context}"
        );
    }
}

#[test]
fn in_bash_the_tetra_functions_start_list_stop_and_delete_a_real_script() {
    check(&["bash", "--norc", "--noprofile"], &[], "");
}

#[test]
fn in_zsh_the_tetra_functions_start_list_stop_and_delete_a_real_script() {
    check(&["zsh", "-f"], &[], "none none");
}

#[test]
fn in_an_interactive_bash_under_set_euo_pipefail_nothing_leaks_and_completion_loads() {
    check(
        &["bash", "--norc", "--noprofile", "-i"],
        &[("STRICT", "1")],
        "_tetra_tpm_complete_bash _clap_complete_tpm ",
    );
}

#[test]
fn in_an_interactive_zsh_under_set_euo_pipefail_nothing_leaks_and_completion_loads() {
    check(
        &["zsh", "-f", "-i"],
        &[("STRICT", "1"), ("COMPINIT", "1")],
        "_tetra_tpm_complete_zsh _clap_dynamic_completer_tpm",
    );
}

#[test]
fn tpm_bin_names_the_binary_and_without_one_the_functions_say_how_to_get_it() {
    let s = Sandbox::new();
    let script = r#"
source "$TETRA_SRC/bash/bootstrap.sh" "$STORE_DIR"
rc=0; tetra_tpm_list || rc=$?; echo "not in PATH: $rc"
TPM_BIN="$TPM_UNDER_TEST"; rc=0; tetra_tpm_ports --json || rc=$?; echo "TPM_BIN: $rc"
TPM_BIN=/nowhere/tpm; rc=0; tetra_tpm_list || rc=$?; echo "wrong TPM_BIN: $rc"
"#;
    for sh in ["bash", "zsh"] {
        let mut c = shell(&s, &[sh, "-c", script]);
        // A PATH without any tpm (not even an installed one).
        c.env("PATH", "/usr/bin:/bin")
            .env("TPM_UNDER_TEST", s.tpm_binary());
        let run = run(c);
        let context = format!(
            "{sh}\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
        assert_eq!(run.code, 0, "{context}");
        assert!(run.stdout.contains("not in PATH: 127\n"), "{context}");
        assert!(run.stdout.contains("[]\nTPM_BIN: 0\n"), "{context}");
        assert!(run.stdout.contains("wrong TPM_BIN: 127\n"), "{context}");
        assert!(
            run.stderr
                .contains("tetra_tpm: cannot find the tpm binary (tpm)\n  help: install it"),
            "{context}"
        );
        assert!(
            run.stderr
                .contains("cannot find the tpm binary (/nowhere/tpm)"),
            "{context}"
        );
    }
}

#[test]
fn every_tpm_command_has_a_tetra_function_that_completes_like_it() {
    let s = Sandbox::new();
    let help = s.tpm(["help"]);
    help.ok();
    let commands: Vec<&str> = help
        .stdout
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        // A command's line is indented by two; a wrapped description's, by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(commands.contains(&"completions"), "{commands:?}");
    let mut script = String::from("source \"$TETRA_SRC/bash/bootstrap.sh\" \"$STORE_DIR\"\n");
    for cmd in &commands {
        script += &format!("type tetra_tpm_{cmd} >/dev/null && complete -p tetra_tpm_{cmd}\n");
    }
    let run = run(shell(
        &s,
        &["bash", "--norc", "--noprofile", "-i", "-c", &script],
    ));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for cmd in &commands {
        assert!(
            run.stdout
                .contains(&format!("-F _tetra_tpm_complete_bash tetra_tpm_{cmd}\n")),
            "tetra_tpm_{cmd}: {}",
            run.stdout
        );
    }
}
