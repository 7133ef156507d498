//! The anchors: s6-supervise (Debian's `s6`) and runsv (Debian's `runit`), one supervisor
//! per process as tpm has, each supervising the same `sleep`s. They have no list or start
//! command to time: they give the floor for memory per process and for a supervisor at rest.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::figures::{Counts, Env};
use crate::managers::wait_until;
use crate::procfs::{self, Memory};

/// One of the two anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    S6,
    Runit,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::S6 => "s6",
            Kind::Runit => "runit",
        }
    }

    /// The supervisor program (one per process).
    fn program(self) -> &'static str {
        match self {
            Kind::S6 => "s6-supervise",
            Kind::Runit => "runsv",
        }
    }

    /// Its control tool.
    fn control(self) -> &'static str {
        match self {
            Kind::S6 => "s6-svc",
            Kind::Runit => "sv",
        }
    }
}

/// An anchor whose programs are on PATH.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub kind: Kind,
    supervise: PathBuf,
    control: PathBuf,
}

impl Anchor {
    /// The anchor, if its supervisor and its control tool are installed.
    pub fn find(kind: Kind) -> Option<Anchor> {
        Some(Anchor {
            kind,
            supervise: crate::which(kind.program())?,
            control: crate::which(kind.control())?,
        })
    }

    pub fn label(&self) -> &'static str {
        self.kind.label()
    }

    /// The Debian package's version, from dpkg where there is one.
    pub fn version(&self) -> String {
        let package = match self.kind {
            Kind::S6 => "s6",
            Kind::Runit => "runit",
        };
        crate::first_line(Command::new("dpkg-query").args(["-W", "-f=${Version}", package]))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "(version unknown)".into())
    }
}

/// `n` sleeps, each under a supervisor of its own, started by the harness.
pub struct Running<'a> {
    anchor: &'a Anchor,
    dirs: Vec<PathBuf>,
    supervisors: Vec<Child>,
}

impl<'a> Running<'a> {
    /// Starts `n` supervisors of `sleep`, and waits until every `sleep` runs.
    pub fn start(anchor: &'a Anchor, n: usize, env: &Env) -> Result<Running<'a>, String> {
        let root = env.scratch.join(anchor.label());
        let _ = std::fs::remove_dir_all(&root);
        let mut running = Running {
            anchor,
            dirs: Vec::new(),
            supervisors: Vec::new(),
        };
        for i in 0..n {
            let dir = root.join(format!("sleep{i}"));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let run = dir.join("run");
            let script = format!("#!/bin/sh\nexec {} 100000\n", env.sleep.display());
            std::fs::write(&run, script).map_err(|e| format!("{}: {e}", run.display()))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("{}: {e}", run.display()))?;
            let child = Command::new(&anchor.supervise)
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", anchor.supervise.display()))?;
            running.dirs.push(dir);
            running.supervisors.push(child);
        }
        let supervisors = running.pids();
        wait_until(
            &format!("{} to run {n} sleeps", anchor.label()),
            Duration::from_secs(60),
            || Ok(supervisors.iter().all(|&p| children(p) == 1)),
        )?;
        Ok(running)
    }

    /// The supervisors' pids (not the sleeps').
    pub fn pids(&self) -> Vec<u32> {
        self.supervisors.iter().map(Child::id).collect()
    }

    /// Their memory, summed.
    pub fn memory(&self) -> Result<Memory, String> {
        let mut total = Memory::default();
        for pid in self.pids() {
            total = total + procfs::memory(pid)?;
        }
        Ok(total)
    }

    /// Stops every sleep, then every supervisor, and waits for them.
    pub fn stop(mut self) -> Result<(), String> {
        let mut problems = Vec::new();
        for dir in &self.dirs {
            let args: &[&str] = match self.anchor.kind {
                // Down (waiting until it is), then exit.
                Kind::S6 => &["-wD", "-d", "-x"],
                Kind::Runit => &["-w", "10", "exit"],
            };
            let status = Command::new(&self.anchor.control)
                .args(args)
                .arg(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if !status.is_ok_and(|s| s.success()) {
                problems.push(dir.display().to_string());
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for child in &mut self.supervisors {
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    problems.push(format!("pid {} did not exit", child.id()));
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.supervisors.clear();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}: could not stop {}",
                self.anchor.label(),
                problems.join(", ")
            ))
        }
    }
}

impl Drop for Running<'_> {
    /// On an error path: nothing of the run is left behind.
    fn drop(&mut self) {
        for child in &mut self.supervisors {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How many children `pid` has (from `/proc/PID/task/PID/children`).
fn children(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|t| t.split_whitespace().count())
        .unwrap_or(0)
}

/// What an anchor's population gave.
pub struct Figures {
    pub memory: Memory,
    pub idle_cpu: Option<f64>,
    pub wakeups: Option<f64>,
}

/// Starts `n` sleeps under `anchor`, reads memory and, if asked, CPU and wake-ups at rest.
pub fn population(
    anchor: &Anchor,
    n: usize,
    counts: &Counts,
    env: &Env,
    with_idle: bool,
) -> Result<Figures, String> {
    let running = Running::start(anchor, n, env)?;
    let added = Instant::now();
    std::thread::sleep(counts.settle);
    let memory = running.memory()?;
    let pids = running.pids();
    let (idle_cpu, wakeups) = if with_idle {
        std::thread::sleep(counts.quiet.saturating_sub(added.elapsed()));
        let rest = crate::figures::at_rest(&pids, counts);
        (Some(rest.cpu_percent), Some(rest.wakeups_per_second))
    } else {
        (None, None)
    };
    running.stop()?;
    Ok(Figures {
        memory,
        idle_cpu,
        wakeups,
    })
}
