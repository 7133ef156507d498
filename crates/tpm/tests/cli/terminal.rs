//! What a terminal gets of text tpm did not write: a process's output, argv and environment,
//! names from files, errors quoting them. On a pseudo-terminal (`script`), control
//! characters are shown escaped (`\e]52;...`) and none reaches the terminal; `--raw`, a pipe
//! or a file get the bytes as written.

use std::process::Command;

use tpm_testkit::{free_port, program, wait_for, Follower, Run, Sandbox};

/// A window title, a clipboard write, a screen clear, a bell and a carriage return.
const OUT: &str = "out \x1b]0;pwned-title\x07 \x1b]52;c;aGk=\x07 \x1b[2J bell\x07 cr\rX";
const OUT_SHOWN: &str = "out \\e]0;pwned-title\\a \\e]52;c;aGk=\\a \\e[2J bell\\a cr\\rX";
/// The argv[0] the process takes (`exec -a`): a clipboard write.
const ARGV_SHOWN: &str = "\\e]52;c;YXJndg==\\a";
/// A variable given with --env: a title.
const ENV_SHOWN: &str = "V=\\e]0;env-title\\a";

/// `tpm ARGS` with its stdout and stderr on a pseudo-terminal (`script`), as a user sees it:
/// what reached the terminal, with the terminal's `\r\n` line ends made `\n`.
fn terminal(s: &Sandbox, args: &[&str]) -> Run {
    let out = script(s, args).output().expect("run script");
    let mut run = Run::from_output(out);
    run.stdout = run.stdout.replace("\r\n", "\n");
    run
}

/// `script` running `tpm ARGS` on a pseudo-terminal of its own (`-e`: tpm's exit code).
fn script(s: &Sandbox, args: &[&str]) -> Command {
    program("script");
    let words: Vec<String> = [s.tpm_binary().to_str().unwrap()]
        .iter()
        .chain(args)
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect();
    let mut c = Command::new("script");
    s.apply_env(&mut c);
    c.env("SHELL", "/bin/sh")
        .env("TERM", "xterm-256color")
        .args(["-q", "-e", "-f", "-c"])
        .arg(format!("exec {}", words.join(" ")))
        .arg("/dev/null");
    c
}

/// Whether `text` holds a control character a terminal would obey (tab and line feed are
/// text).
fn obeyed(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
}

/// A process that writes control sequences to stdout and stderr, runs with a variable
/// holding one, then takes an argv[0] holding one; returns its name once all are there.
fn hostile(s: &Sandbox) -> String {
    s.file(
        "hostile.sh",
        "#!/usr/bin/env bash\n\
         printf 'out \\033]0;pwned-title\\007 \\033]52;c;aGk=\\007 \\033[2J bell\\007 cr\\rX\\n'\n\
         printf 'err \\033]0;err-title\\007\\n' >&2\n\
         exec -a \"$(printf '\\033]52;c;YXJndg==\\007')\" sleep 100000\n",
        0o755,
    );
    let port = free_port();
    s.tpm([
        "start",
        "hostile.sh",
        "--port",
        &port.to_string(),
        "--env",
        "V=\x1b]0;env-title\x07",
    ])
    .ok();
    let name = format!("hostile-{port}");
    wait_for("the output and the new argv[0]", || {
        s.log(&name, "out").contains("cr\rX")
            && s.tpm(["describe", &name, "--json"])
                .stdout
                .contains("]52;c;YXJndg==")
    });
    name
}

#[test]
fn logs_on_a_terminal_show_control_characters_escaped_and_raw_keeps_them() {
    let s = Sandbox::new();
    let name = hostile(&s);
    let out = terminal(&s, &["logs", &name]);
    out.ok();
    assert!(!obeyed(&out.stdout), "{:?}", out.stdout);
    assert!(out.stdout.contains(OUT_SHOWN), "{}", out.stdout);
    assert!(
        out.stdout.contains("err \\e]0;err-title\\a"),
        "{}",
        out.stdout
    );
    // --raw on a terminal, and a pipe: the bytes as written.
    let raw = terminal(&s, &["logs", &name, "--raw"]);
    raw.ok();
    assert!(raw.stdout.contains(OUT), "{:?}", raw.stdout);
    let piped = s.tpm(["logs", &name]);
    piped.ok();
    assert!(piped.stdout.contains(OUT), "{:?}", piped.stdout);
    assert!(!piped.stdout.contains("\\e]"), "{:?}", piped.stdout);
    // JSON on a terminal is JSON: its escapes, the same value.
    let json = terminal(&s, &["logs", &name, "--json", "--out"]);
    assert!(!obeyed(&json.stdout), "{:?}", json.stdout);
    let line: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(line["line"], OUT);

    // Following, on a terminal: each line escaped as it comes; with --raw, as written.
    for (raw, expected) in [(false, OUT_SHOWN), (true, OUT)] {
        let mut args = vec!["logs", name.as_str(), "-f", "--out"];
        if raw {
            args.push("--raw");
        }
        let mut follower = Follower::spawn(script(&s, &args));
        let lines = follower.until(|l| l.contains("cr"));
        let last = lines.last().unwrap().trim_end_matches('\r');
        assert!(last.ends_with(expected), "raw {raw}: {last:?}");
        assert_eq!(obeyed(last), raw, "raw {raw}: {last:?}");
    }
}

#[test]
fn describe_on_a_terminal_shows_argv_and_environment_escaped() {
    let s = Sandbox::new();
    let name = hostile(&s);
    let out = terminal(&s, &["describe", &name]);
    out.ok();
    assert!(!obeyed(&out.stdout), "{:?}", out.stdout);
    assert!(out.stdout.contains(ARGV_SHOWN), "{}", out.stdout);
    assert!(out.stdout.contains(ENV_SHOWN), "{}", out.stdout);
    // To a pipe: as they are.
    let piped = s.tpm(["describe", &name]);
    piped.ok();
    assert!(
        piped.stdout.contains("\x1b]52;c;YXJndg==\x07"),
        "{:?}",
        piped.stdout
    );
    assert!(
        piped.stdout.contains("V=\x1b]0;env-title\x07"),
        "{:?}",
        piped.stdout
    );
}

#[test]
fn list_and_errors_on_a_terminal_show_names_from_files_escaped() {
    let s = Sandbox::new();
    let port = free_port();
    s.file("w.sh", "exec sleep 100000\n", 0o644);
    s.tpm(["start", "w.sh", "--port", &port.to_string()]).ok();
    // A file in the store whose name is not a process name: `list` warns about it.
    let bad = "\x1b]0;store-title\x07\x1b[2J.meta";
    s.file(&format!("tetra/tpm/processes/{bad}"), "junk\n", 0o600);
    let out = terminal(&s, &["list"]);
    out.ok();
    assert!(!obeyed(&out.stdout), "{:?}", out.stdout);
    assert!(
        out.stdout.contains("\\e]0;store-title\\a\\e[2J.meta"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!("w-{port}")), "{}", out.stdout);
    let piped = s.tpm(["list"]);
    assert!(piped.stderr.contains(bad), "{:?}", piped.stderr);

    // An app's name from an ecosystem file, in the error that refuses it (a name holding a
    // control character is not made safe: it is refused).
    let file = s.file(
        "apps.json",
        &serde_json::json!({ "apps": [{ "name": "\x1b]0;eco-title\x07", "script": "w.sh", "port": free_port() }] })
            .to_string(),
        0o644,
    );
    let out = terminal(&s, &["start", file.to_str().unwrap()]);
    out.code(64);
    assert!(!obeyed(&out.stdout), "{:?}", out.stdout);
    assert!(out.stdout.contains("\\e]0;eco-title\\a"), "{}", out.stdout);
    let piped = s.tpm(["start", file.to_str().unwrap()]);
    piped.code(64);
    assert!(
        piped.stderr.contains("\x1b]0;eco-title\x07"),
        "{:?}",
        piped.stderr
    );
    // A name typed on the command line, in the error that refuses it.
    let out = terminal(&s, &["logs", "\x1b]0;typed\x07"]);
    out.code(64);
    assert!(!obeyed(&out.stdout), "{:?}", out.stdout);
    assert!(out.stdout.contains("]0;typed"), "{}", out.stdout);
    // A flag's value, in the error of the argument parser.
    let out = terminal(&s, &["logs", "x", "--lines", "1\x1b]0;flag-title\x07\r2"]);
    out.code(64);
    assert!(!obeyed(&out.stdout), "{:?}", out.stdout);
    assert!(out.stdout.contains("--lines"), "{}", out.stdout);
}
