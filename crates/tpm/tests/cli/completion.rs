//! Completion without a shell: what the binary answers to the protocol the completion
//! scripts speak (`COMPLETE=SHELL tpm -- tpm WORDS...`), and the scripts themselves.

use std::path::Path;
use std::time::{Duration, Instant};

use tpm_testkit::{free_port, Run, Sandbox};

/// Asks for the candidates of the last word of `tpm WORDS...`, as `shell`'s script does.
fn complete(s: &Sandbox, shell: &str, words: &[&str]) -> Run {
    let index = words.len().to_string(); // the last word; `tpm` is word 0
    let mut args = vec!["--", "tpm"];
    args.extend_from_slice(words);
    s.tpm_env(
        &[
            ("COMPLETE", shell),
            ("_CLAP_COMPLETE_INDEX", &index),
            ("_CLAP_IFS", "\n"),
        ],
        args,
    )
}

/// The candidates fish gets, one `value\tdescription` per line; asserts a silent success.
#[track_caller]
fn fish(s: &Sandbox, words: &[&str]) -> Vec<String> {
    let run = complete(s, "fish", words);
    run.ok();
    assert_eq!(run.stderr, "", "completion must be silent");
    run.stdout.lines().map(str::to_string).collect()
}

/// Only the values, flags left out.
fn values(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .filter(|v| !v.starts_with('-'))
        .collect()
}

/// Three processes: web-P and api-P online, worker-P stopped. Returns their names.
fn three_processes(s: &Sandbox) -> [String; 3] {
    let names = ["web", "worker", "api"].map(|base| {
        let port = free_port();
        s.server_script(&format!("{base}.sh"), port);
        s.tpm(["start", &format!("{base}.sh")]).ok();
        format!("{base}-{port}")
    });
    s.tpm(["stop", &names[1]]).ok();
    names
}

#[test]
fn subcommands_complete_from_the_clap_definition() {
    let s = Sandbox::new();
    assert_eq!(
        fish(&s, &["sto"]),
        ["stop\tStop processes (TERM to the whole tree, KILL after the kill timeout)"]
    );
    let all = fish(&s, &[""]);
    let all = values(&all);
    // clap offers one spelling per command: the first in order of `delete` and `del`.
    for sub in [
        "start",
        "list",
        "stop",
        "restart",
        "del",
        "logs",
        "ports",
        "completions",
        "help",
    ] {
        assert!(all.contains(&sub), "{sub} missing from {all:?}");
    }
    assert_eq!(values(&fish(&s, &["dele"])), ["delete"]);
    assert_eq!(values(&fish(&s, &["l"])), ["list", "logs"]);
}

#[test]
fn the_hidden_supervisor_mode_never_shows_in_completions_or_help() {
    let s = Sandbox::new();
    for words in [&[""][..], &["__"], &["help", ""]] {
        let out = fish(&s, words).join("\n");
        assert!(!out.contains("__tpm"), "{words:?}: {out}");
    }
    for args in [&["--help"][..], &["help"]] {
        let help = s.tpm(args);
        help.ok();
        assert!(!help.stdout.contains("__tpm"), "{}", help.stdout);
    }
}

#[test]
fn flags_complete_with_their_help() {
    let s = Sandbox::new();
    let flags = fish(&s, &["logs", "--"]);
    assert!(
        flags.contains(&"--lines\tHow many lines to show".to_string()),
        "{flags:?}"
    );
    assert!(flags.contains(&"--follow\tKeep printing lines as they are written".to_string()));
    assert_eq!(
        fish(&s, &["stop", "--j"]),
        ["--json\tPrint the affected processes as JSON"]
    );
}

#[test]
fn every_argument_that_takes_a_name_offers_the_live_processes_with_their_status() {
    let s = Sandbox::new();
    let [web, worker, api] = three_processes(&s);
    for sub in ["stop", "restart", "delete", "del", "logs"] {
        let lines = fish(&s, &[sub, ""]);
        let names: Vec<&String> = lines.iter().filter(|l| !l.starts_with('-')).collect();
        // `all`, then the names sorted; each described by its status now.
        assert_eq!(
            names,
            [
                &"all\tevery process".to_string(),
                &format!("{api}\tonline"),
                &format!("{web}\tonline"),
                &format!("{worker}\tstopped"),
            ],
            "tpm {sub}"
        );
    }
    assert_eq!(
        fish(&s, &["stop", "w"]),
        [format!("{web}\tonline"), format!("{worker}\tstopped")]
    );
    assert_eq!(fish(&s, &["stop", "we"]), [format!("{web}\tonline")]);
    // Names take several values: the next one completes too.
    assert_eq!(
        fish(&s, &["logs", &web, "a"]),
        ["all\tevery process".to_string(), format!("{api}\tonline")]
    );
    // Once a digit is typed, the ids, each with its process (web is 0, worker 1, api 2).
    assert_eq!(fish(&s, &["stop", "1"]), [format!("1\t{worker} (stopped)")]);
    assert_eq!(fish(&s, &["restart", "2"]), [format!("2\t{api} (online)")]);
    assert_eq!(
        fish(&s, &["restart", "--json", "wo"]),
        [format!("{worker}\tstopped")]
    );
    // A name that matches nothing gets nothing.
    assert!(fish(&s, &["stop", "zzz"]).is_empty());
}

#[test]
fn bash_gets_bare_names_and_zsh_gets_name_colon_status() {
    let s = Sandbox::new();
    let [web, ..] = three_processes(&s);
    let bash = complete(&s, "bash", &["stop", "we"]);
    bash.ok();
    assert_eq!(bash.stdout, web);
    assert_eq!(bash.stderr, "");
    let zsh = complete(&s, "zsh", &["stop", "we"]);
    zsh.ok();
    assert_eq!(zsh.stdout, format!("{web}:online"));
    assert_eq!(zsh.stderr, "");
}

#[test]
fn start_offers_files_and_folders_then_the_processes_that_are_not_running() {
    let s = Sandbox::new();
    let [web, worker, _] = three_processes(&s);
    std::fs::create_dir(s.path().join("www")).unwrap();
    let got = values(&fish(&s, &["start", "w"]))
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    // web is online, so `tpm start web-P` would fail: not offered.
    assert_eq!(got, ["web.sh", "worker.sh", "www/", worker.as_str()]);
    assert!(!got.contains(&web));
}

#[test]
fn without_a_store_completion_is_empty_silent_and_creates_nothing() {
    let s = Sandbox::new();
    assert!(!s.tetra_dir().exists());
    for words in [&["stop", ""][..], &["logs", "w"], &["start", "x"]] {
        let lines = fish(&s, words);
        assert!(values(&lines).is_empty(), "{words:?}: {lines:?}");
    }
    assert!(!s.tetra_dir().exists(), "completion created the store");
    let zsh = complete(&s, "zsh", &["stop", "w"]);
    zsh.ok();
    assert_eq!((zsh.stdout.as_str(), zsh.stderr.as_str()), ("", ""));

    // Not a folder, no home at all: still nothing, silently.
    std::fs::write(s.tetra_dir(), "not a folder").unwrap();
    assert!(values(&fish(&s, &["stop", ""])).is_empty());
    let mut c = s.command();
    c.env_remove("TETRA_DIR")
        .env_remove("HOME")
        .env("COMPLETE", "fish")
        .args(["--", "tpm", "stop", ""]);
    let out = c.output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\tonline"));
}

#[test]
fn a_corrupt_record_is_left_out_silently_and_the_others_still_complete() {
    let s = Sandbox::new();
    let [web, ..] = three_processes(&s);
    std::fs::write(s.store().join("processes/broken-1.meta"), "\u{0}garbage").unwrap();
    let lines = fish(&s, &["stop", ""]);
    let names = values(&lines);
    assert!(names.contains(&web.as_str()), "{names:?}");
    assert!(!names.contains(&"broken-1"), "{names:?}");
}

#[test]
fn completion_answers_in_a_few_milliseconds() {
    let s = Sandbox::new();
    three_processes(&s);
    let mut times: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            complete(&s, "fish", &["stop", "w"]).ok();
            t.elapsed()
        })
        .collect();
    times.sort();
    // A debug build answers in about 3 ms here (docs/shells.md); the bound only catches a
    // completer that does real work, like sampling CPU, on every Tab.
    let median = times[times.len() / 2];
    assert!(median < Duration::from_millis(150), "median {median:?}");
}

/// The repository's root.
fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn the_files_in_completions_are_what_tpm_completions_prints() {
    let s = Sandbox::new();
    for (shell, file) in [("bash", "tpm.bash"), ("zsh", "_tpm"), ("fish", "tpm.fish")] {
        let run = s.tpm(["completions", shell]);
        run.ok();
        let path = repo().join("completions").join(file);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == run.stdout,
            "completions/{file} is stale; regenerate it with\n  \
             cargo run -q -p tpm -- completions {shell} > completions/{file}"
        );
    }
    // Printing a script needs no store.
    assert!(!s.tetra_dir().exists());
}

#[test]
fn tpm_completions_knows_bash_zsh_and_fish() {
    let s = Sandbox::new();
    let run = s.tpm(["completions", "powershell"]);
    run.code(64);
    assert!(run.stderr.contains("bash, zsh, fish"), "{}", run.stderr);
    assert!(s
        .tpm(["completions", "zsh"])
        .stdout
        .starts_with("#compdef tpm\n"));
    // The registration the shim loads (`COMPLETE=bash tpm`) names the binary that wrote it.
    let reg = s.tpm_env(&[("COMPLETE", "bash")], Vec::<&str>::new());
    reg.ok();
    let bin = s.tpm_binary().display().to_string();
    assert!(
        reg.stdout.contains(&format!("\"{bin}\" -- ")),
        "{}",
        reg.stdout
    );
}
