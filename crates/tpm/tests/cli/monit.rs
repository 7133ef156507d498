//! `tpm monit` in a real terminal (tmux): it shows the processes and their logs, updates,
//! acts on keys, and gives the terminal back.

use tpm_testkit::tmux::Tmux;
use tpm_testkit::{free_port, program, Sandbox};

#[test]
fn monit_shows_the_processes_updates_and_stops_one_on_its_key() {
    program("tmux");
    let s = Sandbox::new();
    s.file(
        "tick.sh",
        "while true; do echo \"tick $SECONDS\"; sleep 0.2; done\n",
        0o644,
    );
    let (a, b) = (free_port(), free_port());
    s.tpm(["start", "tick.sh", "--port", &a.to_string()]).ok();
    s.tpm([
        "start",
        "tick.sh",
        "--port",
        &b.to_string(),
        "--name",
        "other",
    ])
    .ok();
    let mut server = Tmux::command();
    s.apply_env(&mut server);
    server.env_remove("TMUX");
    let tpm = s.tpm_binary().to_str().unwrap().to_string();
    // A shell runs monit, then says when it returned: the terminal is the shell's again.
    let t = Tmux::start(
        s.path(),
        server,
        &[
            "bash",
            "--norc",
            "-c",
            &format!("{tpm} monit; echo monit-returned-$?; sleep 60"),
        ],
    );
    // A whole frame: both rows, and the log pane of the selected one, with a tick in it.
    let mut first = String::new();
    t.wait("a whole frame", |t| {
        first = t.screen();
        [
            format!("tick-{a}"),
            format!("other-{b}"),
            format!("logs of tick-{a}"),
            "tick ".into(),
        ]
        .iter()
        .all(|x| first.contains(x.as_str()))
    });
    // The log pane follows: a later tick shows up without a key.
    let tick_of = |screen: &str| -> Option<u64> {
        screen
            .lines()
            .filter_map(|l| {
                l.split("tick ")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .max()
    };
    let seen = tick_of(&first).unwrap_or(0);
    t.wait("the log pane to update", |t| {
        tick_of(&t.screen()).is_some_and(|n| n > seen)
    });
    // The first row is selected: `s` stops it.
    t.press("s");
    let stopped = format!("tick-{a}: stopped");
    t.wait_screen(&stopped);
    assert_eq!(s.get(&format!("tick-{a}")).unwrap()["status"], "stopped");
    assert_eq!(s.get(&format!("other-{b}")).unwrap()["status"], "online");
    // Down, then `d` asks before deleting; any other key keeps it.
    t.press("Down");
    t.press("d");
    t.wait_screen(&format!("delete other-{b}, its record and its logs?"));
    t.press("n");
    t.wait_screen(&format!("other-{b} kept"));
    assert!(s.get(&format!("other-{b}")).is_some());
    t.press("q");
    t.wait_screen("monit-returned-0");
}
