//! No orphans: after `stop`, `restart` and `delete`, nothing of the old process tree is
//! left, whatever its shape; a server's port is free after stop.

use std::net::TcpListener;

use tpm_testkit::{free_port, wait_for, Proc, Sandbox};

/// A tree shape: the script, and how many processes it has once it is fully up
/// (not counting the supervisor).
struct Shape {
    name: &'static str,
    script: String,
    processes: usize,
    listens: bool,
}

fn shapes(port: u16) -> Vec<Shape> {
    let node_server =
        format!("require('http').createServer((q, s) => s.end('ok')).listen({port}, '127.0.0.1');");
    vec![
        Shape {
            name: "background-children",
            script: "sleep 300 &\nsleep 301 &\nwait\n".into(),
            processes: 3,
            listens: false,
        },
        Shape {
            name: "nested-shells",
            script: "bash -c 'bash -c \"sleep 300; true\"; true'\n".into(),
            processes: 4,
            listens: false,
        },
        Shape {
            name: "ignores-term",
            script: "trap '' TERM\nbash -c \"trap '' TERM; while :; do sleep 0.2; done\" &\nwhile :; do sleep 0.2; done\n".into(),
            processes: 3,
            listens: false,
        },
        Shape {
            name: "slow-term",
            script: "trap 'sleep 0.5; exit 0' TERM\nwhile :; do sleep 0.1; done\n".into(),
            processes: 2,
            listens: false,
        },
        Shape {
            name: "daemonizes",
            // Double fork plus setsid: the grandchild leaves the group and the session.
            script: "( setsid bash -c 'sleep 300 & wait' & )\nsleep 300\n".into(),
            processes: 4,
            listens: false,
        },
        Shape {
            name: "forks-forever",
            script: "while :; do sleep 300 & sleep 0.05; done\n".into(),
            processes: 6,
            listens: false,
        },
        Shape {
            name: "python-http",
            script: format!("exec python3 -m http.server {port} --bind 127.0.0.1\n"),
            processes: 1,
            listens: true,
        },
        Shape {
            name: "node-http",
            script: format!("exec node -e \"{node_server}\"\n"),
            processes: 1,
            listens: true,
        },
    ]
}

fn listening(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_err()
}

/// The managed processes of the sandbox (everything but supervisors).
fn tree(s: &Sandbox) -> Vec<Proc> {
    let tpm = s.tpm_binary().to_string_lossy().into_owned();
    s.processes()
        .into_iter()
        .filter(|p| !p.cmdline.starts_with(&tpm))
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Stop,
    Restart,
    Delete,
}

/// Starts shape number `index`, waits until its tree is up, applies `action`, and asserts
/// nothing of the old tree remains.
fn run(index: usize, action: Action) {
    let s = Sandbox::new();
    let port = free_port();
    let shape = &shapes(port)[index];
    let script = format!("{}.sh", shape.name);
    s.file(&script, &format!("PORT={port}\n{}", shape.script), 0o644);
    s.tpm(["start", &script, "--kill-timeout", "1000"]).ok();
    let name = format!("{}-{port}", shape.name);
    wait_for(&format!("{name}: {} processes up", shape.processes), || {
        tree(&s).len() >= shape.processes
    });
    if shape.listens {
        wait_for(&format!("{name} listening"), || listening(port));
    }
    let before = tree(&s);
    let verb = match action {
        Action::Stop => "stop",
        Action::Restart => "restart",
        Action::Delete => "delete",
    };
    s.tpm([verb, &name]).ok();
    let survivors: Vec<&Proc> = before.iter().filter(|p| p.is_alive()).collect();
    assert!(
        survivors.is_empty(),
        "{name} after {verb}: left {survivors:?}"
    );
    match action {
        Action::Stop | Action::Delete => {
            assert!(
                s.processes().is_empty(),
                "{name} after {verb}: {:?}",
                s.processes()
            );
            if shape.listens {
                assert!(
                    !listening(port),
                    "{name}: port {port} still taken after {verb}"
                );
            }
        }
        Action::Restart => {
            wait_for(&format!("{name}: the new tree up"), || {
                tree(&s).len() >= shape.processes
            });
            s.tpm(["delete", &name]).ok();
            assert!(
                s.processes().is_empty(),
                "{name} after delete: {:?}",
                s.processes()
            );
        }
    }
}

macro_rules! shape_tests {
    ($($test:ident: $index:expr, $action:expr;)*) => {$(
        #[test]
        fn $test() {
            run($index, $action);
        }
    )*};
}

shape_tests! {
    background_children_leave_nothing_after_stop: 0, Action::Stop;
    background_children_leave_nothing_after_restart: 0, Action::Restart;
    background_children_leave_nothing_after_delete: 0, Action::Delete;
    nested_shells_leave_nothing_after_stop: 1, Action::Stop;
    nested_shells_leave_nothing_after_restart: 1, Action::Restart;
    nested_shells_leave_nothing_after_delete: 1, Action::Delete;
    a_child_ignoring_term_is_killed_on_stop: 2, Action::Stop;
    a_child_ignoring_term_is_killed_on_restart: 2, Action::Restart;
    a_child_ignoring_term_is_killed_on_delete: 2, Action::Delete;
    a_slow_term_handler_finishes_on_stop: 3, Action::Stop;
    a_slow_term_handler_finishes_on_restart: 3, Action::Restart;
    a_slow_term_handler_finishes_on_delete: 3, Action::Delete;
    a_daemonized_grandchild_is_stopped: 4, Action::Stop;
    a_daemonized_grandchild_is_stopped_on_restart: 4, Action::Restart;
    a_daemonized_grandchild_is_stopped_on_delete: 4, Action::Delete;
    a_process_forking_forever_leaves_nothing_after_stop: 5, Action::Stop;
    a_process_forking_forever_leaves_nothing_after_restart: 5, Action::Restart;
    a_process_forking_forever_leaves_nothing_after_delete: 5, Action::Delete;
    python_http_server_frees_its_port_on_stop: 6, Action::Stop;
    python_http_server_leaves_nothing_after_restart: 6, Action::Restart;
    python_http_server_frees_its_port_on_delete: 6, Action::Delete;
    node_http_server_frees_its_port_on_stop: 7, Action::Stop;
    node_http_server_leaves_nothing_after_restart: 7, Action::Restart;
    node_http_server_frees_its_port_on_delete: 7, Action::Delete;
}

#[test]
fn a_main_process_that_exits_leaves_nothing_behind_before_its_restart() {
    let s = Sandbox::new();
    let marker = s.path().join("runs");
    // Each run leaves a background child behind and exits; the restart must not pile them up.
    s.file(
        "leaky.sh",
        &format!(
            "PORT=3950\necho run >> {}\nsleep 300 &\nsleep 1.2\nexit 1\n",
            marker.display()
        ),
        0o644,
    );
    s.tpm(["start", "leaky.sh", "--restart-delay", "0"]).ok();
    wait_for("three runs", || {
        std::fs::read_to_string(&marker).is_ok_and(|t| t.lines().count() >= 3)
    });
    // At any moment: the script, its sleep 1.2 and at most one background sleep.
    assert!(tree(&s).len() <= 3, "{:?}", tree(&s));
}
