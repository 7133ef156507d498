//! Tab in real shells: an interactive bash (with bash-completion) and zsh (compinit),
//! driven through tmux, and fish's `complete -C`. The completion files are put where
//! `install.sh --no-build` puts them, in the sandbox's HOME.

use std::path::Path;
use std::process::Command;

use tpm_testkit::tmux::Tmux;
use tpm_testkit::{free_port, program, Run, Sandbox};

const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";

/// A sandbox with web-P and api-P online and worker-P stopped, and tpm's completions and
/// module installed in its HOME by install.sh.
struct Stage {
    s: Sandbox,
    web: String,
    worker: String,
    api: String,
}

fn stage() -> Stage {
    let s = Sandbox::new();
    let [web, worker, api] = ["web", "worker", "api"].map(|base| {
        let port = free_port();
        s.server_script(&format!("{base}.sh"), port);
        s.tpm(["start", &format!("{base}.sh")]).ok();
        format!("{base}-{port}")
    });
    s.tpm(["stop", &worker]).ok();
    let mut install = Command::new(program("bash"));
    home_env(&s, &mut install);
    let install = install
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../install.sh"))
        .arg("--no-build")
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "install.sh --no-build: {}{}",
        String::from_utf8_lossy(&install.stdout),
        String::from_utf8_lossy(&install.stderr)
    );
    Stage {
        s,
        web,
        worker,
        api,
    }
}

/// The sandbox's environment, its folder as HOME, the tpm under test first in PATH.
fn home_env(s: &Sandbox, c: &mut Command) {
    s.apply_env(c);
    let dir = s.tpm_binary().parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap();
    for var in [
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "BASH_COMPLETION_USER_DIR",
        "ZDOTDIR",
        "TMUX", // when the tests themselves run inside tmux
    ] {
        c.env_remove(var);
    }
    c.env("PATH", path);
}

/// An interactive shell with the prompt `$ `, once it shows it.
fn interactive(st: &Stage, rc_file: &str, rc: &str, argv: &[&str]) -> Tmux {
    st.s.file(rc_file, rc, 0o644);
    program(argv[0]);
    program("tmux");
    let mut server = Tmux::command();
    home_env(&st.s, &mut server);
    let tmux = Tmux::start(st.s.path(), server, argv);
    tmux.wait_input("$ ");
    tmux
}

/// Types `text`, presses Tab, and waits for the line to read `$ expected`.
#[track_caller]
fn tab(t: &Tmux, text: &str, expected: &str) {
    t.type_text(text);
    t.press("Tab");
    t.wait_input(&format!("$ {expected}"));
}

/// Clears the line, runs `command`, and waits for the next prompt.
fn run_line(t: &Tmux, command: &str) {
    t.press("C-u");
    t.wait_input("$ ");
    t.type_text(command);
    t.press("Enter");
    // The command line says do''ne: only the output reads done.
    t.wait("the command to finish", |t| {
        t.screen().lines().any(|l| l == "done")
    });
    t.press("C-l");
    t.wait_input("$ ");
}

#[test]
fn bash_completes_subcommands_and_the_one_matching_process() {
    assert!(
        Path::new(BASH_COMPLETION).exists(),
        "bash-completion is not installed: `./test.sh` installs it"
    );
    let st = stage();
    let t = interactive(
        &st,
        ".bashrc",
        &format!("PS1='$ '\nHISTFILE=/dev/null\nsource {BASH_COMPLETION}\n"),
        &["bash", "-i"],
    );
    // bash-completion finds ~/.local/share/bash-completion/completions/tpm on first Tab.
    tab(&t, "tpm sto", "tpm stop ");
    tab(&t, "we", &format!("tpm stop {} ", st.web));
    tab(&t, "w", &format!("tpm stop {} w", st.web));
    // Two match `w`: bash lists them on a second Tab.
    t.press("Tab");
    t.press("Tab");
    t.wait_screen(&st.worker);
    t.press("C-u");
    t.wait_input("$ ");
    tab(&t, "tpm logs ap", &format!("tpm logs {} ", st.api));

    // The tetra module completes its functions like the commands they run.
    run_line(&t, "source ~/.local/share/tpm/tpm.sh; echo do''ne");
    tab(
        &t,
        "tetra_tpm_stop wo",
        &format!("tetra_tpm_stop {} ", st.worker),
    );
    t.press("C-u");
    tab(&t, "tetra_tpm_rest", "tetra_tpm_restart ");
    tab(&t, "ap", &format!("tetra_tpm_restart {} ", st.api));
}

#[test]
fn zsh_completes_on_the_first_tab_and_shows_each_status() {
    let st = stage();
    let t = interactive(
        &st,
        ".zshrc",
        // What install.sh tells zsh users to add, then compinit.
        "fpath=(~/.local/share/zsh/site-functions $fpath)\n\
         autoload -Uz compinit\ncompinit -u -d ~/.zcompdump\nPS1='$ '\n",
        &["zsh", "-d", "-i"],
    );
    // compinit autoloads _tpm on this first Tab, and it completes at once.
    tab(&t, "tpm sto", "tpm stop ");
    tab(&t, "we", &format!("tpm stop {} ", st.web));
    t.press("C-u");
    t.wait_input("$ ");
    // Ambiguous: zsh lists the names with their status beside them.
    tab(&t, "tpm restart ", "tpm restart ");
    let screen = t.wait_screen("-- stopped");
    let line_of = |name: &str| {
        screen
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{screen}"))
    };
    assert!(line_of(&st.worker).contains("-- stopped"), "{screen}");
    assert!(line_of(&st.web).contains("-- online"), "{screen}");
    assert!(line_of(&st.api).contains("-- online"), "{screen}");

    t.press("C-u");
    run_line(&t, "source ~/.local/share/tpm/tpm.sh; echo do''ne");
    tab(
        &t,
        "tetra_tpm_stop wo",
        &format!("tetra_tpm_stop {} ", st.worker),
    );
    t.press("C-u");
    tab(
        &t,
        "tetra_tpm_logs ap",
        &format!("tetra_tpm_logs {} ", st.api),
    );
}

/// `complete -C LINE` in a fish whose HOME holds the installed tpm.fish.
fn fish_complete(st: &Stage, line: &str) -> Run {
    let mut c = Command::new(program("fish"));
    home_env(&st.s, &mut c);
    let out = c
        .args(["-c", &format!("complete -C '{line}'")])
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn fish_completes_subcommands_and_names_with_their_status() {
    let st = stage();
    let run = fish_complete(&st, "tpm sto");
    run.ok();
    assert_eq!(
        run.stdout,
        "stop\tStop processes (TERM to the whole tree, KILL after the kill timeout)\n"
    );
    let run = fish_complete(&st, "tpm stop we");
    run.ok();
    assert_eq!(run.stdout, format!("{}\tonline\n", st.web));
    let run = fish_complete(&st, "tpm logs w");
    run.ok();
    assert_eq!(
        run.stdout,
        format!("{}\tonline\n{}\tstopped\n", st.web, st.worker)
    );
    assert_eq!(run.stderr, "");
}
