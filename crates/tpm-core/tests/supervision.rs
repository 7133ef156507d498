//! Launch, supervision and cleanup, driven through the core's API with the real
//! `tpm-supervisor` binary of this crate: what every front end gets, tested without one.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tpm_core::ops::FileChoice;
use tpm_core::options::{Opt, Value};
use tpm_core::{Context, Name, Options, StartRequest, Status, Tpm};

/// A scratch folder with its own store, and a `Tpm` over it whose supervisor is this
/// crate's `tpm-supervisor`.
struct World {
    dir: tempfile::TempDir,
    tpm: Tpm,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("a temp dir");
        let ctx = Context {
            env: vec![
                ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
                ("HOME".into(), dir.path().into()),
                ("TETRA_DIR".into(), dir.path().join("tetra").into()),
            ],
            cwd: dir.path().to_path_buf(),
        };
        let tpm = Tpm::new(ctx, PathBuf::from(env!("CARGO_BIN_EXE_tpm-supervisor")))
            .expect("open the store");
        World { dir, tpm }
    }

    fn file(&self, rel: &str, body: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        std::fs::write(&path, body).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        path
    }

    fn name(&self, raw: &str) -> Name {
        Name::parse(raw).expect("a name")
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Ok(names) = self.tpm.resolve(&["*".to_string()]) {
            let _ = self.tpm.delete(&names);
        }
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

fn exe_of(pid: u32) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default()
}

fn port_options(port: u16) -> Options {
    let mut o = Options::new();
    o.set(Opt::Port, Value::Port(port));
    o
}

#[test]
fn start_runs_the_spec_under_the_dedicated_supervisor_and_stop_ends_the_tree() {
    let w = World::new();
    // A main process with a background child: both belong to the tree stop must end.
    w.file("srv.sh", "sleep 1000 &\necho child $!\nexec sleep 1001\n");
    let info = w
        .tpm
        .start(&StartRequest::new("srv.sh", port_options(4101)))
        .expect("start");
    assert_eq!(info.name, "srv-4101");
    assert_eq!(info.status, Status::Online);
    let pid = info.pid.expect("a pid");
    let supervisor = info.supervisor.expect("a supervisor");
    assert_eq!(
        exe_of(supervisor),
        Path::new(env!("CARGO_BIN_EXE_tpm-supervisor"))
    );
    let name = w.name("srv-4101");
    let record = w.tpm.store().load(&name).expect("the record");
    assert!(record.spec.wanted);
    assert_eq!(record.spec.cmd[0], "bash");
    // The script has said its child's pid before it is stopped (start returns at the
    // spawn, before the script has run a line).
    let out = w.tpm.store().log_path(&name, tpm_core::Stream::Out);
    wait_for("the child's pid in the log", || {
        std::fs::read_to_string(&out).is_ok_and(|l| l.contains("child "))
    });

    let stopped = w.tpm.stop(std::slice::from_ref(&name));
    let info = stopped[0].1.as_ref().expect("stopped");
    assert_eq!(info.status, Status::Stopped);
    assert!(!alive(pid), "the main process is gone");
    assert!(!alive(supervisor), "the supervisor is gone");
    let log = std::fs::read_to_string(w.tpm.store().log_path(&name, tpm_core::Stream::Out))
        .expect("the out log");
    let child: u32 = log
        .split_whitespace()
        .last()
        .and_then(|p| p.parse().ok())
        .expect("the child's pid in the log");
    assert!(!alive(child), "the background child is gone too");
}

#[test]
fn a_killed_supervisor_is_settled_by_the_next_listing() {
    let w = World::new();
    w.file("srv.sh", "sleep 1000 &\necho child $!\nexec sleep 1001\n");
    let info = w
        .tpm
        .start(&StartRequest::new("srv.sh", port_options(4102)))
        .expect("start");
    let supervisor = info.supervisor.expect("a supervisor");
    let name = w.name("srv-4102");
    let log = w.tpm.store().log_path(&name, tpm_core::Stream::Out);
    let mut child = 0;
    wait_for("the child's pid in the log", || {
        child = std::fs::read_to_string(&log)
            .ok()
            .and_then(|l| l.split_whitespace().last()?.parse().ok())
            .unwrap_or(0);
        child != 0
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the supervisor");
    wait_for("the supervisor to die", || !alive(supervisor));
    let listing = w.tpm.list().expect("list");
    let p = &listing.processes[0];
    assert_eq!(p.status, Status::Errored);
    assert!(
        p.reason.as_deref().unwrap_or("").contains("supervisor"),
        "{:?}",
        p.reason
    );
    wait_for("the orphaned child to be ended", || !alive(child));
    // Its spec is unchanged: it is still meant to run.
    assert!(w.tpm.store().load(&name).expect("record").spec.wanted);
}

#[test]
fn a_plan_touches_nothing_and_a_file_plan_is_all_or_nothing() {
    let w = World::new();
    w.file("srv.sh", "exec sleep 1000\n");
    let plan = w
        .tpm
        .plan(&StartRequest::new("srv.sh", port_options(4103)))
        .expect("plan");
    assert_eq!(plan.name.as_str(), "srv-4103");
    assert!(
        !w.dir.path().join("tetra").exists(),
        "planning wrote nothing"
    );

    w.file(
        "apps.yaml",
        "apps:\n  - name: a\n    script: srv.sh\n    port: 4104\n  - name: b\n    script: missing.sh\n    port: 4105\n",
    );
    let err = w
        .tpm
        .plan_file("apps.yaml", &FileChoice::default())
        .expect_err("a missing script");
    assert_eq!(err.exit_code(), 66);
    assert!(err.to_string().contains("missing.sh"), "{err}");
    assert!(!w.dir.path().join("tetra").exists(), "nothing was started");

    let choice = FileChoice {
        only: vec!["a".into()],
        ..FileChoice::default()
    };
    let plan = w.tpm.plan_file("apps.yaml", &choice).expect("only a");
    let started = w.tpm.start_file(plan);
    assert_eq!(started.len(), 1);
    let app = started[0].1.as_ref().expect("started");
    assert_eq!((app.info.name.as_str(), app.unchanged), ("a-4104", false));
    assert_eq!(app.info.kind, "ecosystem");
    let again = w
        .tpm
        .start_file(w.tpm.plan_file("apps.yaml", &choice).expect("plan"));
    assert!(again[0].1.as_ref().expect("unchanged").unchanged);
}
