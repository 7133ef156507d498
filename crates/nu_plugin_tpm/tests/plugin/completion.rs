//! Completion, as a person gets it: an interactive `nu` in a terminal (tmux), Tab pressed
//! after a command that takes process names. Needs tmux (`.ci/run` installs it).

use std::process::Command;

use std::time::{Duration, Instant};

use tpm_testkit::{wait_for, DEADLINE};

use crate::world::{nu_binary, World};

/// An interactive nu in a private tmux server, killed on drop.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn open(world: &World) -> Terminal {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("tpm-plugin-test-{}-{n}", std::process::id());
        let quote = |s: &std::path::Path| format!("'{}'", s.display());
        let nu = format!(
            "env TETRA_DIR={} HOME={} NO_COLOR=1 {} -n --plugins {}",
            quote(&world.sandbox.tetra_dir()),
            quote(world.path()),
            quote(nu_binary()),
            quote(&tpm_testkit::binary("nu_plugin_tpm")),
        );
        let terminal = Terminal { socket };
        let status = terminal
            .tmux()
            .args(["new-session", "-d", "-x", "160", "-y", "40", "-c"])
            .arg(world.path())
            .arg(nu)
            .status()
            .expect("tmux is needed for the completion test (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        wait_for("nu's prompt", || terminal.screen().contains("Startup Time"));
        terminal
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    fn keys(&self, keys: &[&str]) {
        let ok = self
            .tmux()
            .args(["send-keys", "-t", "0"])
            .args(keys)
            .status()
            .expect("tmux send-keys")
            .success();
        assert!(ok, "tmux send-keys {keys:?}");
    }

    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "0"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `line`, presses Tab, and waits until every `(text, description)` shows (an
    /// empty description: the text alone).
    fn complete(&self, line: &str, want: &[(&str, &str)]) -> String {
        self.keys(&["C-c"]);
        self.keys(&["clear", "Enter"]);
        // Type only at the fresh prompt: keys sent while `clear` still runs can be discarded
        // when the line editor takes the terminal back.
        wait_for("a cleared screen with only the prompt", || {
            let screen = self.screen();
            let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
            lines.len() == 1 && lines[0].trim_start().starts_with('~')
        });
        self.keys(&["-l", line]);
        self.keys(&["Tab"]);
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if want.iter().all(|&entry| shows(&screen, entry)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "completions of {line:?}: want {want:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether a menu line shows `text` followed by `description`. Without colours, the
/// selected entry is marked `>` and upper-cased.
fn shows(screen: &str, (text, description): (&str, &str)) -> bool {
    screen.lines().any(|line| {
        let line = line.trim_start().trim_start_matches('>').to_lowercase();
        let words: Vec<&str> = line.split_whitespace().collect();
        if description.is_empty() {
            words.contains(&text)
        } else {
            words.windows(2).any(|w| w == [text, description])
        }
    })
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

#[test]
fn process_names_complete_with_their_status_in_an_interactive_nu() {
    let world = World::running();
    world.sandbox.tpm(["stop", "api-8080"]).ok();
    let t = Terminal::open(&world);
    for command in [
        "tpm stop ",
        "tpm restart ",
        "tpm delete ",
        "tpm logs ",
        "tpm dump ",
        "tpm events ",
        "tpm describe ",
        "tpm show ",
        "tpm info ",
    ] {
        t.complete(
            command,
            &[
                ("server-3000", "online"),
                ("api-8080", "stopped"),
                ("all", "every"),
            ],
        );
    }
    // Once a digit is typed, the ids too, described by the name (a name that starts with a
    // digit makes it two entries, so that nu shows a menu rather than completing in place).
    world
        .sandbox
        .tpm(["start", "worker.sh", "0x", "--port", "9500"])
        .ok();
    t.complete("tpm stop 0", &[("0", "server-3000"), ("0x-9500", "online")]);
    // `--format` offers the formats.
    t.complete("tpm init --format ", &[("yaml", ""), ("toml", "")]);
    // `--method` offers the ways to run at boot.
    t.complete("tpm startup --method ", &[("systemd", ""), ("cron", "")]);
    // After a first name, the next one completes too.
    t.complete(
        "tpm stop server-3000 ",
        &[("server-3000", "online"), ("api-8080", "stopped")],
    );
    // `tpm start` offers stopped processes by name, beside the files that match.
    let screen = t.complete("tpm start a", &[("api-8080", "stopped"), ("api/", "")]);
    assert!(!screen.contains("server-3000"), "{screen}");
    // A path completes as a path.
    t.complete("tpm start ./ser", &[("./server.sh", "")]);
}
