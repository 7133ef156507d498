//! The supervisor's entry: checking it was launched by the same build, taking over the
//! descriptors the launcher handed it (the name's lock, the handshake pipe), catching the
//! signals it reads in its loop (`platform::Signals`), and loading the record.

use std::ffi::{OsStr, OsString};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Instant;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::signal::Signal;

use super::handshake::{self, Outcome, Reply};
use super::phase::Phase;
use super::pipes::Output;
use super::run::Supervisor;
use super::{BUILD, ENV_CGROUP, ENV_ID, ENV_INSTANCE, ENV_NAME, ENV_NODE_INSTANCE, ENV_SUPERVISOR};
use crate::cgroup::Cgroup;
use crate::claim::Claim;
use crate::error::EXIT_FAILURE;
use crate::lock::FileLock;
use crate::name::Name;
use crate::platform;
use crate::policy::Tracker;
use crate::proc::Identity;
use crate::record::Record;
use crate::store::Store;

/// `args`: store root, name, lock fd, handshake fd, the launcher's build, claim fd (-1 for
/// none; see `launch`).
pub(super) fn main(args: &[OsString]) -> i32 {
    if args.get(4).map(OsString::as_os_str) != Some(OsStr::new(BUILD)) {
        // Launched by another build: say so and touch nothing (the lock stays with the
        // launcher, which then supervises with its own binary).
        if let Ok(ready) = adopt(args.get(3)) {
            handshake::send(
                ready,
                &Reply::OtherBuild {
                    build: BUILD.into(),
                },
            );
        }
        return EXIT_FAILURE;
    }
    match new(args) {
        Ok(mut s) => {
            s.run();
            s.release();
            0
        }
        Err(message) => {
            eprintln!("tpm supervisor: {message}");
            EXIT_FAILURE
        }
    }
}

/// Takes ownership of an inherited descriptor and marks it close-on-exec, so the managed
/// process does not inherit it (a child holding the lock would look like a live supervisor).
fn adopt(raw: Option<&OsString>) -> Result<OwnedFd, String> {
    let fd: i32 = raw
        .and_then(|r| r.to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .ok_or("bad descriptor argument")?;
    // SAFETY: F_GETFD only inspects the descriptor; it fails if `fd` is not open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(format!("descriptor {fd} is not open"));
    }
    // SAFETY: the launcher passed us this open descriptor for us alone to own.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|e| e.to_string())?;
    Ok(owned)
}

fn new(args: &[OsString]) -> Result<Supervisor, String> {
    let root = PathBuf::from(args.first().ok_or("missing store argument")?);
    let name = args
        .get(1)
        .and_then(|n| n.to_str())
        .and_then(|n| Name::parse(n).ok())
        .ok_or("missing or invalid name argument")?;
    let lock = FileLock::from_fd(adopt(args.get(2))?);
    let lock_id = lock.file_id();
    let ready = adopt(args.get(3))?;
    let claim = match args.get(5).and_then(|a| a.to_str()) {
        Some("-1") | None => None,
        raw => Some(Claim::from_fd(adopt(raw.map(OsString::from).as_ref())?)),
    };

    let signals = platform::Signals::catch(&[
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGHUP,
    ])
    .map_err(|e| format!("signals: {e}"))?;
    // Orphans of the tree come back to us where the OS can do that (see `tree`).
    platform::become_subreaper().map_err(|e| format!("subreaper: {e}"))?;
    // Past RLIMIT_FSIZE a write raises SIGXFSZ, which would kill us; ignored, the write
    // fails with EFBIG and the bytes are counted as dropped. (`spawn` restores it.)
    // SAFETY: setting a disposition to SIG_IGN installs no handler.
    unsafe { nix::sys::signal::signal(Signal::SIGXFSZ, nix::sys::signal::SigHandler::SigIgn) }
        .map_err(|e| format!("SIGXFSZ: {e}"))?;

    let store = Store::at(root);
    let record = match store.load(&name) {
        Ok(r) => r,
        Err(e) => {
            handshake::send(
                ready,
                &Outcome::Failed {
                    code: EXIT_FAILURE,
                    message: e.to_string(),
                }
                .into(),
            );
            return Err(e.to_string());
        }
    };
    let me = Identity::of(std::process::id()).ok_or("cannot read /proc/self/stat")?;
    // The socket first: a PORT that cannot be bound is this start's failure, said to the
    // command that launched it.
    let listener = match record.spec.port.filter(|_| record.spec.cluster.socket) {
        Some(port) => match super::socket::bind(port) {
            Ok(sock) => Some(sock),
            Err(e) => {
                let message = format!(
                    "cannot hold port {port} for --socket: {e} (another process listens on it without SO_REUSEPORT?)",
                );
                handshake::send(
                    ready,
                    &Outcome::Failed {
                        code: EXIT_FAILURE,
                        message: message.clone(),
                    }
                    .into(),
                );
                return Err(message);
            }
        },
        None => None,
    };
    let env = child_env(&name, &record, &me);
    let cgroup = match std::env::var_os(ENV_CGROUP) {
        Some(v) if v == "off" => None,
        _ => Cgroup::create(&name, me.pid, me.start_ticks),
    };
    let (meta_path, lock_path) = (store.meta_path(&name), store.lock_path(&name));
    Ok(Supervisor {
        cgroup,
        claim,
        output: Output::open(&store, &name, record.spec.logs, record.spec.discard),
        tracker: Tracker::new(record.spec.policy),
        store,
        name,
        record,
        lock,
        me,
        signals,
        phase: Phase::Running,
        main: None,
        saved_dropped: 0,
        last_save: Instant::now(),
        dropped_base: 0,
        written_base: 0,
        cpu_base_ms: 0,
        cpu_seen: 0,
        written: None,
        dirty: false,
        next_heal: None,
        fs_events: super::fsnotify::StoreEvents::new(),
        heals: 0,
        lock_id,
        relocked: false,
        meta_path,
        lock_path,
        ready: Some(ready),
        restarting: false,
        env,
        history_failed: false,
        sampler: Default::default(),
        listener,
        readiness: Default::default(),
        triggers: Default::default(),
        watcher: None,
        health: Default::default(),
        notify: None,
    })
}

/// The managed process's environment: the caller's, the spec's variables, then what tpm
/// promises (PORT, TPM_NAME, TPM_ID, and the supervisor marker).
fn child_env(name: &Name, record: &Record, me: &Identity) -> Vec<(OsString, OsString)> {
    // Socket activation is between a supervisor and its own process: none inherited from
    // the caller (tpm run from a socket-activated unit) is passed on.
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !k.to_str().is_some_and(|k| k.starts_with("LISTEN_")))
        .collect();
    let mut set = |k: &str, v: String| {
        env.retain(|(key, _)| key.as_os_str() != OsStr::new(k));
        env.push((k.into(), v.into()));
    };
    for (k, v) in &record.spec.env {
        set(k, v.clone());
    }
    // Without a PORT of its own, whatever PORT its environment has is left as it is.
    if let Some(port) = record.spec.port {
        set("PORT", port.to_string());
    }
    set(ENV_NAME, name.to_string());
    if let Some(id) = record.id {
        set(ENV_ID, id.to_string());
    }
    set(ENV_SUPERVISOR, format!("{}.{}", me.pid, me.start_ticks));
    // pm2 gives every process an instance number, 0 for one started alone: apps read it
    // to do once-only work (`NODE_APP_INSTANCE === '0'`).
    let number = record.spec.cluster.instance.unwrap_or(0).to_string();
    set(ENV_NODE_INSTANCE, number.clone());
    if let Some(var) = &record.spec.cluster.instance_var {
        set(var, number.clone());
    }
    if let Some(i) = record.spec.cluster.instance {
        set(ENV_INSTANCE, number);
        if let Some((var, value)) = record.spec.incremented(i) {
            set(&var, value);
        }
    }
    if record.spec.cluster.socket {
        // LISTEN_PID is the child's own pid: `spawn` fills it in between fork and exec.
        set("LISTEN_FDS", "1".into());
        set("LISTEN_FDNAMES", name.to_string());
    }
    env
}
