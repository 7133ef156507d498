//! Ending whatever a JavaScript config started, once node is done with it.
//!
//! node runs in a process group of its own, but a child spawned with `detached: true` makes
//! a session of its own (`setsid`), and one that forks again is no longer node's
//! descendant either: neither the group nor a walk of node's tree finds it. So node and
//! everything it starts are marked in two ways, and both are swept when the evaluation ends:
//!
//! - a cgroup (v2) of its own, where this process may make one (as supervisors do, see
//!   `crate::cgroup`): nothing born in it can leave it, whatever it does to its session,
//!   group or environment; `cgroup.kill` ends them all at once;
//! - an environment variable, [`ENV_EVAL`], unique to this evaluation (this process's pid
//!   and start time and a counter), which every process of the tree inherits: where there
//!   is no cgroup, the processes of this user whose `/proc/PID/environ` holds it are killed
//!   (in rounds, until a look finds none: a process may fork while the others are killed).
//!
//! Why not a child subreaper: the attribute belongs to the whole process, and the process
//! evaluating a config may be the long-lived Nushell plugin or `tpm serve`, whose other
//! threads launch supervisors meanwhile (the double fork that detaches them would hand
//! them to it). The marker misses a process that clears its environment and leaves the
//! group (`env -i setsid ...`); the cgroup misses nothing.

use std::cell::Cell;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::cgroup::Cgroup;
use crate::context::Context;
use crate::name::Name;
use crate::proc::{self, Identity};
use crate::supervisor::ENV_CGROUP;

/// Set in node's environment: `PID.START.N` of the evaluating process and its evaluation.
pub(super) const ENV_EVAL: &str = "TPM_CONFIG_EVAL";

/// How long killed processes are waited for, in all.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// Looks for marked processes, at most: each kills what it finds, and a further look
/// catches what they forked meanwhile.
const ROUNDS: usize = 8;

/// One evaluation's marks.
pub(super) struct Marks {
    cgroup: Option<Cgroup>,
    /// Open for writing while node is spawned: node moves itself in before `exec`.
    procs: Option<OwnedFd>,
    /// `ENV_EVAL`'s value.
    value: String,
    /// node was seen in the cgroup once spawned: so is everything it started.
    contained: Cell<bool>,
}

impl Marks {
    /// Marks for a new evaluation: a cgroup where one can be made (not with
    /// `TPM_CGROUP=off` in the caller's environment, as for supervisors), and the marker.
    pub(super) fn new(ctx: &Context) -> Marks {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let me = std::process::id();
        let start = Identity::of(me).map_or(0, |i| i.start_ticks);
        let cgroup = if ctx.var(ENV_CGROUP).is_some_and(|v| v == "off") {
            None
        } else {
            Name::parse(&format!("config-{n}"))
                .ok()
                .and_then(|name| Cgroup::create(&name, me, start))
        };
        let procs = cgroup.as_ref().and_then(|cg| cg.procs_writer().ok());
        Marks {
            cgroup,
            procs,
            value: format!("{me}.{start}.{n}"),
            contained: Cell::new(false),
        }
    }

    /// The environment variable every process of the evaluation inherits.
    pub(super) fn env(&self) -> (&'static str, &str) {
        (ENV_EVAL, &self.value)
    }

    /// The descriptor node writes `0` to before `exec`, to move itself into the cgroup.
    pub(super) fn procs_fd(&self) -> Option<i32> {
        self.procs.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Called once node is spawned (its `exec` done): whether it is in the cgroup (the
    /// move before `exec` is best effort).
    pub(super) fn spawned(&self, node: u32) {
        let inside = self.cgroup.as_ref().is_some_and(|cg| cg.contains(node));
        self.contained.set(inside);
    }

    /// Kills every process of the evaluation still alive (node itself is dead by now) and
    /// waits until they are gone. Returns how many were killed.
    pub(super) fn sweep(mut self) -> usize {
        self.procs = None;
        let deadline = Instant::now() + KILL_WAIT;
        if let Some(cg) = self.cgroup.take() {
            let contained = self.contained.get();
            let killed = cg.kill();
            wait_until(deadline, || cg.is_empty());
            cg.remove();
            if contained {
                // node's every descendant was born in it: nothing else to look for.
                return killed;
            }
        }
        self.sweep_marked(deadline)
    }

    /// Kills the processes whose environment holds the marker, until a look finds none.
    fn sweep_marked(&self, deadline: Instant) -> usize {
        let entry = format!("{ENV_EVAL}={}", self.value);
        let me = std::process::id();
        let mut killed = 0;
        for _ in 0..ROUNDS {
            let found: Vec<Identity> = proc::all()
                .into_iter()
                .filter(|s| s.pid != me && !s.is_zombie())
                .filter(|s| proc::has_env(s.pid, entry.as_bytes()))
                .map(|s| Identity {
                    pid: s.pid,
                    start_ticks: s.start_ticks,
                    boot_id: proc::boot_id().to_string(),
                })
                .collect();
            if found.is_empty() {
                break;
            }
            for id in &found {
                if id.signal(Signal::SIGKILL) {
                    killed += 1;
                }
            }
            wait_until(deadline, || found.iter().all(|id| !id.is_alive()));
        }
        killed
    }
}

/// Whether `done` holds before `deadline`, looked at with a pause that grows.
fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    let mut pause = Duration::from_millis(1);
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
