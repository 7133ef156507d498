//! `tpm doctor`: checks the store and the machine, and says what to do about each finding.
//!
//! Problems (a port held by someone else, an orphaned process, an unreadable record, a
//! store others can read, a supervisor binary of another build) make `doctor` fail;
//! warnings (a process online for a while with nothing listening on its PORT: it may be a
//! worker that never listens) are said but do not.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

use super::Tpm;
use crate::error::Result;
use crate::proc::{self, Identity};
use crate::status::Status;
use crate::supervisor::{BUILD, BUILD_ARG, ENV_NAME, ENV_SUPERVISOR, SUPERVISOR_BIN};

/// How long a process must have been online before nothing listening on its PORT is worth
/// a word.
const LISTEN_GRACE_SECS: u64 = 30;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Problem,
}

/// One thing `doctor` checked or found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What was checked: `store`, `supervisor`, `record`, `down`, `port`, `listening`,
    /// `orphan`.
    pub check: &'static str,
    pub severity: Severity,
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The process it is about, if any.
    pub name: Option<String>,
    /// The pid it is about (a port's holder, an orphan), if any.
    pub pid: Option<u32>,
}

impl Finding {
    fn new(check: &'static str, severity: Severity, message: String) -> Finding {
        Finding {
            check,
            severity,
            message,
            help: None,
            name: None,
            pid: None,
        }
    }

    fn help(mut self, help: String) -> Finding {
        self.help = Some(help);
        self
    }
}

impl Tpm {
    /// Every check, in order: the store, the supervisor binary, each record, ports,
    /// orphans.
    pub fn doctor(&self) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        self.check_store(&mut out);
        self.check_supervisor(&mut out);
        check_tracking(&mut out);
        let listing = self.list()?;
        for problem in &listing.problems {
            out.push(
                Finding::new("record", Severity::Problem, problem.error.to_string()).help(
                    problem
                        .error
                        .help()
                        .unwrap_or_else(|| "remove the file".into()),
                ),
            );
        }
        // Meant to run but down: after a reboot, a killed supervisor, or a crash verdict.
        let down: Vec<&str> = listing
            .processes
            .iter()
            .filter(|p| p.wanted && !p.status.is_active())
            .map(|p| p.name.as_str())
            .collect();
        if !down.is_empty() {
            out.push(
                Finding::new(
                    "down",
                    Severity::Warning,
                    format!(
                        "{} process(es) meant to run are not running: {}",
                        down.len(),
                        down.join(", ")
                    ),
                )
                .help(
                    "`tpm resurrect` starts them (after a reboot or a killed supervisor); an errored one was given up on: `tpm describe NAME` says why; `tpm stop NAME` if it should stay down".into(),
                ),
            );
        }
        let listening = proc::listening_ports();
        let table = proc::all();
        for p in &listing.processes {
            // A process without a PORT (a worker) is not expected to listen.
            let Some(port) = p.port else {
                continue;
            };
            if !listening.contains(&port) {
                if p.status == Status::Online && p.uptime.is_some_and(|u| u >= LISTEN_GRACE_SECS) {
                    let mut f = Finding::new(
                        "listening",
                        Severity::Warning,
                        format!(
                            "{} has been online {}s, but nothing listens on its port {}",
                            p.name,
                            p.uptime.unwrap_or(0),
                            port
                        ),
                    )
                    .help(format!(
                        "if it is a server, check that it binds $PORT (see `tpm logs {}`); a worker that never listens can ignore this",
                        p.name
                    ));
                    f.name = Some(p.name.clone());
                    out.push(f);
                }
                continue;
            }
            // The port is listening: by this process's tree, or by someone else?
            let ours: Vec<u32> = p
                .supervisor
                .map(|s| proc::descendants(s, &table))
                .unwrap_or_default();
            for holder in proc::port_holders(port) {
                if ours.contains(&holder) {
                    continue;
                }
                let managed = proc::env_value(holder, ENV_NAME);
                if managed.as_deref() == Some(p.name.as_str()) {
                    continue;
                }
                let by = match &managed {
                    Some(other) => format!(" (tpm's {other})"),
                    None => String::new(),
                };
                let mut f = Finding::new(
                    "port",
                    Severity::Problem,
                    format!(
                        "port {} of {} is held by pid {holder} `{}`{by}",
                        port,
                        p.name,
                        proc::cmdline(holder)
                    ),
                )
                .help(format!(
                    "stop pid {holder}, or give {} another port (tpm dump {}, edit port, tpm delete and tpm start the file)",
                    p.name, p.name
                ));
                f.name = Some(p.name.clone());
                f.pid = Some(holder);
                out.push(f);
            }
        }
        self.check_orphans(&table, &mut out);
        if out.iter().all(|f| f.severity == Severity::Ok) {
            out.push(Finding::new(
                "processes",
                Severity::Ok,
                format!(
                    "{} process(es): every record reads, no port is held by another, no orphan",
                    listing.processes.len()
                ),
            ));
        }
        Ok(out)
    }

    /// The store's folders and files are this user's and private.
    fn check_store(&self, out: &mut Vec<Finding>) {
        let root = self.store.root();
        let me = nix::unistd::geteuid().as_raw();
        let mut open: Vec<String> = Vec::new();
        let mut walk = vec![root.to_path_buf()];
        while let Some(dir) = walk.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(meta) = entry.metadata() else { continue };
                let mode = meta.permissions().mode() & 0o777;
                if meta.uid() != me || mode & 0o077 != 0 {
                    open.push(format!("{} ({:o})", entry.path().display(), mode));
                }
                if meta.is_dir() {
                    walk.push(entry.path());
                }
            }
        }
        if open.is_empty() {
            out.push(Finding::new(
                "store",
                Severity::Ok,
                format!("{}: private to you", root.display()),
            ));
        } else {
            let shown: Vec<&String> = open.iter().take(5).collect();
            out.push(
                Finding::new(
                    "store",
                    Severity::Problem,
                    format!(
                        "{} file(s) of the store are open to others or not yours: {}",
                        open.len(),
                        shown
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .help(format!("chmod -R go-rwx {}", root.display())),
            );
        }
    }

    /// The `tpm-supervisor` beside the front end is of this build (else every start falls
    /// back to the front end's own binary, which costs memory per process).
    fn check_supervisor(&self, out: &mut Vec<Finding>) {
        let path = self.exe.with_file_name(SUPERVISOR_BIN);
        if !path.is_file() {
            out.push(
                Finding::new(
                    "supervisor",
                    Severity::Warning,
                    format!(
                        "no {SUPERVISOR_BIN} beside {}: each process is supervised by a copy of that binary, which keeps more memory",
                        self.exe.display()
                    ),
                )
                .help("install tpm with ./install.sh, which puts tpm-supervisor beside tpm".into()),
            );
            return;
        }
        match build_of(&path) {
            Some(build) if build == BUILD => out.push(Finding::new(
                "supervisor",
                Severity::Ok,
                format!("{}: this build", path.display()),
            )),
            other => out.push(
                Finding::new(
                    "supervisor",
                    Severity::Problem,
                    format!(
                        "{} is {}, not this tpm's build {BUILD}: tpm passes it over",
                        path.display(),
                        other.map_or_else(|| "not runnable".to_string(), |b| format!("build {b}"))
                    ),
                )
                .help("reinstall tpm with ./install.sh, so both come from one build".into()),
            ),
        }
    }

    /// Processes started by a tpm supervisor that is gone, which no record will clean up.
    fn check_orphans(&self, table: &[proc::Stat], out: &mut Vec<Finding>) {
        let me = std::process::id();
        for s in table {
            if s.pid == me || s.is_zombie() {
                continue;
            }
            let Some(marker) = proc::env_value(s.pid, ENV_SUPERVISOR) else {
                continue;
            };
            let Some((spid, start)) = marker
                .split_once('.')
                .and_then(|(p, t)| Some((p.parse().ok()?, t.parse().ok()?)))
            else {
                continue;
            };
            let supervisor = Identity::from_parts(Some(spid), Some(start), Some(proc::boot_id()));
            if supervisor.is_some_and(|sup| sup.is_alive()) {
                continue; // supervised, by this store or another
            }
            // (`list` above has already ended what dead supervisors of this store's
            // records left: what is found here no record will clean up.)
            let name = proc::env_value(s.pid, ENV_NAME);
            let mut f = Finding::new(
                "orphan",
                Severity::Problem,
                format!(
                    "pid {} `{}` was started by tpm{} and its supervisor is gone",
                    s.pid,
                    proc::cmdline(s.pid),
                    name.as_deref()
                        .map(|n| format!(" for {n}"))
                        .unwrap_or_default()
                ),
            )
            .help(format!("kill {}", s.pid));
            f.pid = Some(s.pid);
            f.name = name;
            out.push(f);
        }
    }
}

/// The build a `tpm-supervisor` says it is.
fn build_of(path: &Path) -> Option<String> {
    let out = Command::new(path)
        .arg(BUILD_ARG)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// How process trees are tracked here: a cgroup each (nothing escapes), or by ancestry.
fn check_tracking(out: &mut Vec<Finding>) {
    out.push(match crate::cgroup::available() {
        Ok(dir) => Finding::new(
            "tracking",
            Severity::Ok,
            format!(
                "each process gets a cgroup of its own (below {}): nothing it starts escapes a stop, whatever it does to its session, group or environment",
                dir.display()
            ),
        ),
        Err(why) => Finding::new(
            "tracking",
            Severity::Warning,
            format!(
                "no cgroup for processes ({why}): trees are tracked by ancestry, and after a supervisor is killed, a daemon that left its process group and cleared its environment is not found"
            ),
        )
        .help(if crate::platform::has_cgroups() {
            "run tpm as root, or from a delegated cgroup (systemd: a user service with Delegate=yes), to give each process a cgroup".into()
        } else {
            format!("the POSIX backend (macOS, or {}=posix on Linux) has no cgroups; on Linux, leave {} unset to have them", crate::platform::ENV_PLATFORM, crate::platform::ENV_PLATFORM)
        }),
    });
}
