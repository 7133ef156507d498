//! The manual pages: `tpm __man DIR` writes one page per command from the clap definition,
//! the real `man` renders them, and `install.sh` puts them where `man` finds them.

use std::path::Path;
use std::process::Command;

use tpm_testkit::{program, Sandbox};

/// The subcommands `tpm --help` lists (without `help`), as `start`, `list`...
fn commands(s: &Sandbox) -> Vec<String> {
    let help = s.tpm(["--help"]);
    help.ok();
    help.stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A command's line is indented by two; a help text wrapped onto the next line, more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// What `man` shows of a page, as plain text 100 columns wide, its words on one line.
fn man(args: &[&str], manpath: Option<&Path>) -> String {
    let mut c = Command::new(program("man"));
    c.args(args)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env_remove("MANPATH");
    if let Some(p) = manpath {
        c.env("MANPATH", p);
    }
    let out = c.output().expect("man runs");
    assert!(
        out.status.success(),
        "man {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Justified text: one space between words, whatever man put there.
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn tpm_man_writes_a_page_per_command_that_man_renders() {
    let s = Sandbox::new();
    let dir = s.path().join("man/man1");
    s.tpm(["__man", dir.to_str().unwrap()]).ok();
    let names = commands(&s);
    assert!(names.len() > 20, "commands read from --help: {names:?}");
    for name in names
        .iter()
        .map(|n| format!("tpm-{n}.1"))
        .chain(["tpm.1".into()])
    {
        assert!(dir.join(&name).is_file(), "{name} was not written");
    }
    // Read as a file...
    let page = man(&["-l", dir.join("tpm-start.1").to_str().unwrap()], None);
    for expected in [
        "tpm-start - Start a script or a command under supervision",
        "--max-restarts",
        "--no-port",
    ] {
        assert!(page.contains(expected), "{expected:?} not in:\n{page}");
    }
    // ...and by name, as a user asks for it.
    let page = man(&["tpm-reload"], Some(&s.path().join("man")));
    assert!(
        page.contains("tpm-reload - Restart processes one at a time"),
        "{page}"
    );
    let page = man(&["tpm"], Some(&s.path().join("man")));
    assert!(
        page.contains("tpm-start(1)") || page.contains("tpm-start"),
        "{page}"
    );
    // Needs no store.
    assert!(!s.tetra_dir().exists());
}

#[test]
fn tpm_man_without_a_folder_is_a_usage_error() {
    let s = Sandbox::new();
    let run = s.tpm(["__man"]);
    run.code(64);
    assert!(run.stderr.contains("folder"), "{}", run.stderr);
}

/// `install.sh --no-build` for a tpm outside cargo's bin folder (this build's): the pages
/// go to the XDG data folder, and `man` finds them through the MANPATH it prints.
#[test]
fn install_sh_installs_the_pages_where_man_finds_them() {
    let s = Sandbox::new();
    let bin = s.tpm_binary().parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let mut install = Command::new(program("bash"));
    s.apply_env(&mut install);
    for var in [
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "BASH_COMPLETION_USER_DIR",
        "MANPATH",
        "CARGO_HOME",
    ] {
        install.env_remove(var);
    }
    let out = install
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../install.sh"))
        .arg("--no-build")
        .env("HOME", s.path())
        .env("PATH", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "install.sh: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pages = s.path().join(".local/share/man");
    assert!(pages.join("man1/tpm-start.1").is_file(), "{stdout}");
    assert!(
        stdout.contains("export MANPATH=\"$HOME/.local/share/man:\""),
        "{stdout}"
    );
    let page = man(&["tpm-logs"], Some(&pages));
    assert!(page.contains("tpm-logs - Show the last lines"), "{page}");
}
