//! The phase machine: what the supervisor does with its process, and why.
//!
//! ```text
//! Running ──main exits──▶ Draining(then) ──no children left──▶ Backoff ──▶ Running
//!    │                       │ deadline: SIGKILL                  │
//!    └──stop──▶ Draining(Finish stopped)                          └──stop──▶ Done
//! ```
//! Every transition is a method here: a spawn, a reaped child, an unasked exit (the restart
//! policy decides), a stop request, the tree drained, and the timers (the backoff, the
//! kill deadline).

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::handshake::{self, Outcome};
use super::run::{human, Supervisor};
use super::{spawn, tree};
use crate::error::{EXIT_FAILURE, EXIT_NOT_RUNNABLE};
use crate::events::{Event, Kind};
use crate::info::unix_now;
use crate::policy::Decision;
use crate::proc::Identity;
use crate::state::ExitReason;
use crate::status::Status;

/// How often SIGKILL is repeated, once sent, for processes forked since the last round.
const KILL_ROUND: Duration = Duration::from_millis(100);
/// How long SIGKILL rounds go on before the supervisor gives up on unkillable processes.
const KILL_GIVE_UP: Duration = Duration::from_secs(10);

pub(super) enum Phase {
    Running,
    /// The main process is gone or going; what is left of its tree is being terminated.
    Draining {
        deadline: Instant,
        killing_since: Option<Instant>,
        then: Then,
    },
    Backoff {
        until: Instant,
    },
    Done,
}

/// What follows once the tree is drained.
pub(super) enum Then {
    Restart(Duration),
    Finish(Status, Option<String>),
}

impl Supervisor {
    pub(super) fn start_child(&mut self) {
        let dir = self.cgroup.as_ref().and_then(|cg| cg.open().ok());
        let spawned = spawn::spawn(
            &self.record.spec.cmd,
            &self.record.spec.cwd,
            &self.env,
            dir.as_ref().map(AsFd::as_fd),
            self.listener.as_ref().map(AsFd::as_fd),
        );
        drop(dir);
        match spawned {
            Ok(child) => {
                // The run's length counts from here, not after the writes below.
                let spawned_at = Instant::now();
                if let Some(cg) = &self.cgroup {
                    if !child.in_cgroup {
                        // The kernel refused (no clone3, or no right to the cgroup): the
                        // tree is tracked by ancestry instead.
                        cg.remove();
                        self.cgroup = None;
                    }
                }
                self.record.state.cgroup = self
                    .cgroup
                    .as_ref()
                    .map(|cg| cg.path().to_string_lossy().into_owned());
                let id = Identity::of(child.pid);
                let state = &mut self.record.state;
                state.pid = Some(child.pid);
                state.pid_start = id.map(|i| i.start_ticks);
                state.start_time = Some(unix_now());
                state.status = Status::Online;
                state.reason = None;
                if let Err(e) = self.store.write_pid(&self.name, child.pid) {
                    self.event(&e.to_string());
                }
                self.save();
                self.history(Event::now(&self.name, Kind::Spawned).pid(child.pid));
                self.output.attach(child.stdout, child.stderr);
                self.main = Some((child.pid, spawned_at));
                self.sampling_begins(self.record.spec.port);
                self.readiness_begins();
                self.health_begins();
                self.notify_begins();
                self.watch_run_began();
                self.phase = Phase::Running;
                if let Some(ready) = self.ready.take() {
                    handshake::send(ready, &Outcome::Spawned { pid: child.pid }.into());
                }
            }
            Err(e) => {
                let program = self.record.spec.cmd.first().map_or("", String::as_str);
                let message = format!("cannot run {program}: {e}");
                self.event(&message);
                self.history(Event::now(&self.name, Kind::SpawnFailed).reason(&message));
                if let Some(ready) = self.ready.take() {
                    // The first start failed: report it and leave the record `errored`.
                    let code = match e.raw_os_error() {
                        Some(
                            libc::ENOENT
                            | libc::EACCES
                            | libc::ENOEXEC
                            | libc::ENOTDIR
                            | libc::EISDIR,
                        ) => EXIT_NOT_RUNNABLE,
                        _ => EXIT_FAILURE,
                    };
                    self.finish(Status::Errored, Some(message.clone()));
                    handshake::send(ready, &Outcome::Failed { code, message }.into());
                    return;
                }
                self.after_exit(message, Duration::ZERO, None);
            }
        }
    }

    /// Reaps every child that has exited; finishes draining when none is left.
    pub(super) fn reap(&mut self) {
        let no_children = loop {
            match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break false,
                Ok(WaitStatus::Exited(pid, code)) => self.on_reaped(pid, code, None),
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    self.on_reaped(pid, 128 + sig as i32, Some(sig))
                }
                Ok(_) => {}
                Err(Errno::EINTR) => {}
                Err(Errno::ECHILD) => break true,
                Err(_) => break false,
            }
        };
        if no_children {
            if let Phase::Draining { deadline, .. } = self.phase {
                // Without a subreaper, orphans of the tree are not our children.
                tree::sweep_strays(&self.me, deadline);
                self.drained();
            }
        }
    }

    fn on_reaped(&mut self, pid: Pid, code: i32, signal: Option<Signal>) {
        let Some((main, started)) = self.main else {
            return;
        };
        if pid.as_raw() as u32 != main {
            // The liveness check's command, or an orphan of the tree, re-parented to us.
            self.health_reaped(pid.as_raw() as u32, code);
            return;
        }
        self.main = None;
        self.sampling_ends();
        self.readiness_ends();
        self.health_ends();
        self.notify_ends();
        self.output.drain();
        self.record.state.exit_code = Some(code);
        // A run that ends while its tree is being terminated was ended by tpm, whatever
        // its code says (a stop, a restart, a memory limit...).
        let reason = match (&self.phase, signal) {
            (Phase::Draining { .. }, _) => ExitReason::Stopped,
            (_, Some(_)) => ExitReason::Signal,
            (_, None) if code == 0 => ExitReason::Success,
            (_, None) => ExitReason::Failure,
        };
        self.record.state.exits.add(reason);
        self.record.state.clear_pid();
        if let Err(e) = self.store.remove_pid(&self.name) {
            self.event(&e.to_string());
        }
        let how = match signal {
            Some(sig) => format!("was killed by {sig}"),
            None => format!("exited with code {code}"),
        };
        let mut exited = Event::now(&self.name, Kind::Exited).pid(main);
        exited.code = Some(code);
        exited.signal = signal.map(|s| s.as_str().to_string());
        exited.ran_ms = Some(started.elapsed().as_millis() as u64);
        self.history(exited);
        if let Phase::Draining { .. } = self.phase {
            return; // a stop is under way; its outcome is already decided
        }
        let ran = started.elapsed();
        self.after_exit(format!("{how} after {}", human(ran)), ran, Some(code));
    }

    /// An unasked end of a run (an exit with `code`, or a failed spawn): the policy
    /// decides.
    fn after_exit(&mut self, how: String, ran: Duration, code: Option<i32>) {
        let normal_end = code.is_some_and(|c| self.record.spec.policy.stop_exit_codes.contains(c));
        let decision = if normal_end {
            Decision::Stay
        } else {
            self.tracker.on_exit(ran)
        };
        let then = match decision {
            Decision::Restart(delay) => {
                self.event(&format!("{how}; restarting in {}", human(delay)));
                let mut e = Event::now(&self.name, Kind::RestartScheduled).by("policy");
                e.after_ms = Some(delay.as_millis() as u64);
                self.history(e);
                Then::Restart(delay)
            }
            Decision::Stay if normal_end => {
                let why = format!("{how}, a normal end (stop_exit_codes): not restarted");
                self.event(&why);
                Then::Finish(Status::Stopped, Some(why))
            }
            Decision::Stay => {
                self.event(&format!("{how}; autorestart is off"));
                let status = if self.record.state.exit_code == Some(0) {
                    Status::Stopped
                } else {
                    Status::Errored
                };
                Then::Finish(status, Some(format!("{how} (autorestart is off)")))
            }
            Decision::GiveUp { quick_exits } => {
                let why = format!(
                    "{how}; it ended {quick_exits} times in a row within {} of starting, so it is not restarted",
                    human(self.record.spec.policy.min_uptime)
                );
                self.event(&why);
                self.history(
                    Event::now(&self.name, Kind::Errored)
                        .by("policy")
                        .reason(&why),
                );
                Then::Finish(Status::Errored, Some(why))
            }
        };
        self.record.state.status = match then {
            Then::Restart(_) => Status::Waiting,
            Then::Finish(..) => Status::Stopping,
        };
        self.begin_draining(then);
        // Written only if the draining goes on: had it ended at once (nothing was left of
        // the tree), the restart, backoff or finish it led to has written the record
        // already, and a `waiting` record overwritten a moment later costs a restart time.
        if let Phase::Draining { .. } = self.phase {
            self.save();
        }
    }

    pub(super) fn request_stop(&mut self) {
        let finish = Then::Finish(Status::Stopped, None);
        match &mut self.phase {
            Phase::Running => {
                self.record.state.status = Status::Stopping;
                self.save();
                self.begin_draining(finish);
            }
            Phase::Draining { then, .. } => {
                *then = finish;
                self.record.state.status = Status::Stopping;
                self.save();
            }
            Phase::Backoff { .. } => self.finish(Status::Stopped, None),
            Phase::Done => {}
        }
    }

    /// A restart asked for (SIGHUP: `tpm reload`): the process is stopped as for a stop
    /// (TERM, then KILL after the kill timeout) and a new one started at once. Not an exit:
    /// the restart policy does not count it. A stop under way is left to finish.
    pub(super) fn request_restart(&mut self) {
        let asked = Event::now(&self.name, Kind::RestartRequested).by("user");
        match &mut self.phase {
            Phase::Running => {
                self.history(asked);
                self.record.state.status = Status::Waiting;
                self.save();
                self.begin_draining(Then::Restart(Duration::ZERO));
            }
            Phase::Draining {
                then: Then::Restart(delay),
                ..
            } => *delay = Duration::ZERO,
            Phase::Backoff { .. } => {
                self.history(asked);
                self.restart();
            }
            Phase::Draining { .. } | Phase::Done => {}
        }
    }

    pub(super) fn begin_draining(&mut self, then: Then) {
        self.signal_tree(self.record.spec.policy.stop_signal);
        self.phase = Phase::Draining {
            deadline: Instant::now() + self.record.spec.policy.kill_timeout,
            killing_since: None,
            then,
        };
        // If nothing is left to wait for, the next reap says so at once.
        self.reap();
    }

    fn drained(&mut self) {
        let phase = std::mem::replace(&mut self.phase, Phase::Running);
        let Phase::Draining { then, .. } = phase else {
            self.phase = phase;
            return;
        };
        match then {
            Then::Restart(delay) if delay.is_zero() && !self.restarting => self.restart(),
            Then::Restart(delay) => {
                self.phase = Phase::Backoff {
                    until: Instant::now() + delay,
                };
                self.record.state.status = Status::Waiting;
                self.save();
            }
            Then::Finish(status, reason) => self.finish(status, reason),
        }
    }

    fn restart(&mut self) {
        self.restarting = true;
        self.record.state.restarts += 1;
        self.start_child();
        self.restarting = false;
    }

    fn finish(&mut self, status: Status, reason: Option<String>) {
        self.tell_rotations(true);
        if status == Status::Stopped {
            let mut e = Event::now(&self.name, Kind::Stopped);
            if let Some(why) = &reason {
                e = e.reason(why);
            }
            self.history(e);
        }
        self.record.state.status = status;
        self.record.state.reason = reason;
        self.record.state.clear_pid();
        let _ = self.store.remove_pid(&self.name);
        // The tree is drained: the cgroup is empty (unless processes survived SIGKILL).
        if let Some(cg) = &self.cgroup {
            cg.remove();
        }
        self.save_final();
        self.phase = Phase::Done;
    }

    fn signal_tree(&mut self, signal: Signal) -> usize {
        tree::signal(
            &self.me,
            self.main.map(|(pid, _)| pid),
            self.cgroup.as_ref(),
            signal,
        )
    }

    // ---- timers -------------------------------------------------------------------------

    pub(super) fn next_timer(&self) -> Option<Instant> {
        let phase = match &self.phase {
            Phase::Draining { deadline, .. } => Some(*deadline),
            Phase::Backoff { until } => Some(*until),
            Phase::Running | Phase::Done => None,
        };
        [
            phase,
            self.dropped_due(),
            self.next_heal,
            self.output.due(),
            self.sampler.due(),
            self.readiness.due(),
            self.triggers.due(),
            self.watch_due(),
            self.health.due(),
            self.notify.as_ref().and_then(|n| n.due()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub(super) fn fire_timers(&mut self) {
        enum Fire {
            Restart,
            Kill { first: bool },
            GiveUp,
        }
        let now = Instant::now();
        if self.next_heal.is_some_and(|due| now >= due) {
            self.heal();
        }
        if self.output.due().is_some_and(|due| now >= due) {
            self.output.housekeep();
            self.tell_rotations(false);
        }
        self.sample_due(now);
        self.check_ready(now);
        self.check_health(now);
        self.check_watchdog(now);
        self.check_cron(now);
        self.check_watch(now);
        if self.dropped_due().is_some_and(|due| now >= due) {
            self.save();
        }
        let fire = match &mut self.phase {
            Phase::Backoff { until } if now >= *until => Fire::Restart,
            Phase::Draining {
                deadline,
                killing_since,
                ..
            } if now >= *deadline => {
                let first = killing_since.is_none();
                let since = *killing_since.get_or_insert(now);
                *deadline = now + KILL_ROUND;
                if now.duration_since(since) > KILL_GIVE_UP {
                    Fire::GiveUp
                } else {
                    Fire::Kill { first }
                }
            }
            _ => return,
        };
        match fire {
            Fire::Restart => self.restart(),
            Fire::GiveUp => {
                self.event("processes survived SIGKILL for 10s; giving up on them");
                self.drained();
            }
            Fire::Kill { first } => {
                let left = self.signal_tree(Signal::SIGKILL);
                if first && left > 0 {
                    let timeout = human(self.record.spec.policy.kill_timeout);
                    self.event(&format!(
                        "{left} process(es) still running after {timeout}; sent SIGKILL"
                    ));
                    let mut e = Event::now(&self.name, Kind::Killed);
                    e.count = Some(left as u32);
                    self.history(e);
                }
                self.reap();
            }
        }
    }
}
