//! An interactive shell in a private tmux server: type, press keys, read the screen, and
//! wait (with the kit's deadline) until the screen shows what a test expects.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::DEADLINE;

/// A detached tmux session on its own socket, killed (with its shell) on drop.
pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Starts `argv` in a new 160x50 session. `server` is the `tmux` command's environment
    /// and folder, which the session inherits: build it with `Tmux::command`, add `env`s.
    /// The socket lives in `dir`, so every test has its own server.
    pub fn start(dir: &Path, mut server: Command, argv: &[&str]) -> Tmux {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
        };
        let status = server
            .arg("-S")
            .arg(&tmux.socket)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "50",
            ])
            .args(argv)
            .stdin(Stdio::null())
            .status()
            .expect("run tmux (is it installed? `./test.sh` installs it)");
        assert!(status.success(), "tmux new-session failed: {status}");
        tmux
    }

    /// A `tmux` command, to give `start` with an environment.
    pub fn command() -> Command {
        let mut c = Command::new("tmux");
        c.env("TERM", "xterm-256color");
        c
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` literally (no key names).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    /// Presses one key, by tmux's name for it: `Tab`, `Enter`, `C-u`.
    pub fn press(&self, key: &str) {
        self.tmux(&["send-keys", key]);
    }

    /// What the pane shows now.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    /// The cursor's line, up to the cursor: what has been typed at the prompt so far,
    /// trailing spaces included (tmux trims them from captures; the cursor keeps them).
    pub fn input(&self) -> String {
        let pos = self.tmux(&["display-message", "-p", "#{cursor_x} #{cursor_y}"]);
        let mut it = pos
            .split_whitespace()
            .map(|n| n.parse::<usize>().unwrap_or(0));
        let (x, y) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
        let screen = self.screen();
        let line = screen.lines().nth(y).unwrap_or("");
        let mut typed: String = line.chars().take(x).collect();
        while typed.chars().count() < x {
            typed.push(' ');
        }
        typed
    }

    /// Waits until the typed input is exactly `expected`; panics with the screen at the
    /// deadline.
    #[track_caller]
    pub fn wait_input(&self, expected: &str) {
        self.wait(&format!("the input line to read {expected:?}"), |t| {
            t.input() == expected
        });
    }

    /// Waits until the screen contains `text`; returns the screen.
    #[track_caller]
    pub fn wait_screen(&self, text: &str) -> String {
        let mut last = String::new();
        self.wait(&format!("the screen to show {text:?}"), |t| {
            last = t.screen();
            last.contains(text)
        });
        last
    }

    /// Polls `cond` until it holds; at the deadline, panics showing the screen.
    #[track_caller]
    pub fn wait(&self, what: &str, mut cond: impl FnMut(&Tmux) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        let mut pause = Duration::from_millis(5);
        while !cond(self) {
            if Instant::now() >= deadline {
                panic!(
                    "timed out waiting for {what}; the screen:\n{}\n(input: {:?})",
                    self.screen(),
                    self.input()
                );
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
