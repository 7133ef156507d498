//! Running the liveness check (see `crate::health`) for the whole life of each run.
//!
//! One timer in the loop's `next_timer`: the next check, `interval` after the last one
//! ended; nothing else wakes the supervisor for it. An HTTP check (a GET, its status line)
//! and a TCP check (one connect) are a `probe::Probe`: a non-blocking socket in the loop's
//! `poll`, its deadline (the check's timeout) one more timer, so a hung server never
//! holds the loop; a command is a child (`sh -c`, its own process group) reaped by the loop like
//! any other, killed at its timeout. The verdict goes into the record's state (`health`,
//! `health_failures`) and each change into the history (`health` events); `retries`
//! failures in a row restart the tree (as `--max-memory` does: not a crash) unless the
//! action is `mark`.

use std::os::fd::BorrowedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Instant;

use nix::poll::PollFlags;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::phase::Phase;
use super::probe::{Probe, Step};
use super::run::{human, Supervisor};
use crate::events::{Event, Kind};
use crate::health::{HealthAction, HealthCheck, HealthState};

#[derive(Default)]
pub(super) struct HealthWatch {
    /// When the next check starts; `None` without a check or a run.
    next: Option<Instant>,
    /// When the run began (for the start period).
    since: Option<Instant>,
    /// A `--health-cmd` under way: its pid (and process group) and its deadline.
    cmd: Option<(u32, Instant)>,
    /// An HTTP or TCP check under way (or reading the rest of an answer it judged).
    probe: Option<Probe>,
}

impl HealthWatch {
    pub(super) fn due(&self) -> Option<Instant> {
        [
            self.next,
            self.cmd.map(|(_, at)| at),
            self.probe.as_ref().map(Probe::deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The probe's slot in the loop's `poll`, while one is open.
    pub(super) fn poll_fd(&self) -> Option<(BorrowedFd<'_>, PollFlags)> {
        self.probe.as_ref().map(Probe::poll_fd)
    }
}

impl Supervisor {
    /// A run began: its health is unknown until a check answers.
    pub(super) fn health_begins(&mut self) {
        let Some(h) = &self.record.spec.health else {
            return;
        };
        let now = Instant::now();
        self.health.next = Some(now + h.interval);
        self.health.since = Some(now);
        self.record.state.health = Some(HealthState::Unknown);
        self.record.state.health_failures = 0;
    }

    /// The run ended: a command still checking it is killed (its answer would be about a
    /// process that is gone).
    pub(super) fn health_ends(&mut self) {
        if let Some((pid, _)) = self.health.cmd.take() {
            let _ = kill(Pid::from_raw(-(pid as i32)), Signal::SIGKILL);
        }
        // Dropping an open probe closes its socket.
        self.health = HealthWatch::default();
    }

    /// The probe's socket is ready: it moves on, and gives its verdict when it has one.
    pub(super) fn health_io(&mut self) {
        let Some(probe) = &mut self.health.probe else {
            return;
        };
        let step = probe.advance();
        if probe.finished() {
            self.health.probe = None;
        }
        if let Step::Verdict(ok) = step {
            self.probe_verdict(ok);
        }
    }

    /// An HTTP or TCP check's answer, said as the blocking checks said it.
    fn probe_verdict(&mut self, ok: bool) {
        let Some(h) = self.record.spec.health.clone() else {
            return;
        };
        let p = self.record.spec.port.unwrap_or(0);
        let why = match (&h.check, ok) {
            (HealthCheck::Http(path), true) => format!("http://127.0.0.1:{p}{path} answered 2xx"),
            (HealthCheck::Http(path), false) => format!(
                "http://127.0.0.1:{p}{path} did not answer 2xx within {}",
                human(h.timeout)
            ),
            (_, true) => format!("127.0.0.1:{p} accepted a connection"),
            (_, false) => format!(
                "127.0.0.1:{p} accepted no connection within {}",
                human(h.timeout)
            ),
        };
        self.health_result(ok, why);
    }

    /// Starts a check when one is due; a command that overran its timeout fails.
    pub(super) fn check_health(&mut self, now: Instant) {
        if let Some((pid, deadline)) = self.health.cmd {
            if now >= deadline {
                self.health.cmd = None;
                let _ = kill(Pid::from_raw(-(pid as i32)), Signal::SIGKILL);
                let timeout = self.record.spec.health.as_ref().map(|h| h.timeout);
                let why = format!(
                    "the command did not end within {}",
                    timeout.map_or_else(String::new, human)
                );
                self.health_result(false, why);
            }
        }
        if let Some(probe) = &self.health.probe {
            if now >= probe.deadline() {
                let answered = probe.answered();
                // Closed unread if it is still talking: its time is up.
                self.health.probe = None;
                if !answered {
                    self.probe_verdict(false);
                }
            }
        }
        if self.health.next.is_none_or(|at| now < at)
            || self.main.is_none()
            || !matches!(self.phase, Phase::Running)
        {
            return;
        }
        let Some(h) = self.record.spec.health.clone() else {
            self.health.next = None;
            return;
        };
        self.health.next = None;
        let port = self.record.spec.port;
        match (&h.check, port) {
            (HealthCheck::Http(_) | HealthCheck::Tcp, Some(p)) => {
                let path = match &h.check {
                    HealthCheck::Http(path) => Some(path.as_str()),
                    _ => None,
                };
                // A probe still reading the last answer gives way to the new one.
                self.health.probe = None;
                match Probe::start(p, path, now + h.timeout) {
                    Ok((probe, step)) => {
                        if !probe.finished() {
                            self.health.probe = Some(probe);
                        }
                        if let Step::Verdict(ok) = step {
                            self.probe_verdict(ok);
                        }
                    }
                    Err(_) => self.probe_verdict(false),
                }
            }
            (HealthCheck::Cmd(cmd), _) => self.start_health_cmd(cmd, h.timeout),
            // Refused at start without a PORT; a record edited so fails its checks.
            (_, None) => self.health_result(false, "it has no PORT to check".into()),
        }
    }

    fn start_health_cmd(&mut self, cmd: &str, timeout: std::time::Duration) {
        let spawned = Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(&self.record.spec.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group, so a timeout kills what it started too.
            .process_group(0)
            .spawn();
        match spawned {
            // Reaped by the loop's `waitpid` (see `health_reaped`), never waited on here.
            Ok(child) => self.health.cmd = Some((child.id(), Instant::now() + timeout)),
            Err(e) => self.health_result(false, format!("cannot run sh -c {cmd:?}: {e}")),
        }
    }

    /// A child was reaped that is not the main process: the health command's end is the
    /// check's answer. Whether it was that command.
    pub(super) fn health_reaped(&mut self, pid: u32, code: i32) -> bool {
        if self.health.cmd.is_none_or(|(p, _)| p != pid) {
            return false;
        }
        self.health.cmd = None;
        let cmd = match self.record.spec.health.as_ref().map(|h| &h.check) {
            Some(HealthCheck::Cmd(c)) => c.clone(),
            _ => String::new(),
        };
        let why = match code {
            0 => format!("{cmd:?} exited 0"),
            c if c > 128 => format!("{cmd:?} was killed by signal {}", c - 128),
            c => format!("{cmd:?} exited with code {c}"),
        };
        self.health_result(code == 0, why);
        true
    }

    /// What a check said: the state, the history on a change, the action at `retries`.
    fn health_result(&mut self, ok: bool, why: String) {
        let Some(h) = self.record.spec.health.clone() else {
            return;
        };
        let now = Instant::now();
        if self.main.is_some() && matches!(self.phase, Phase::Running) {
            self.health.next = Some(now + h.interval);
        }
        let before = self.record.state.health;
        let failures_before = self.record.state.health_failures;
        if ok {
            self.record.state.health_failures = 0;
            self.record.state.health = Some(HealthState::Healthy);
        } else {
            let starting = self.health.since.is_some_and(|s| now < s + h.start_period)
                && before != Some(HealthState::Healthy);
            if !starting {
                self.record.state.health_failures = failures_before.saturating_add(1);
            }
        }
        let failures = self.record.state.health_failures;
        let unhealthy = !ok && failures >= h.retries;
        if unhealthy {
            self.record.state.health = Some(HealthState::Unhealthy);
        }
        let after = self.record.state.health;
        if after != before {
            let verdict = after.map_or("unknown", HealthState::as_str);
            let reason = match unhealthy {
                true => format!("{verdict}: {failures} check(s) in a row failed; the last: {why}"),
                false => format!("{verdict}: {why}"),
            };
            self.event(&format!("health {reason}"));
            let mut e = Event::now(&self.name, Kind::Health).reason(&reason);
            if let Some((pid, _)) = self.main {
                e = e.pid(pid);
            }
            if unhealthy {
                e.count = Some(failures);
            }
            self.history(e);
        }
        if after != before || failures != failures_before {
            self.save();
        }
        if unhealthy
            && after != before
            && h.action == HealthAction::Restart
            && matches!(self.phase, Phase::Running)
        {
            let reason = format!(
                "its liveness check ({}) failed {failures} time(s) in a row",
                h.check.describe()
            );
            self.planned_restart("health", &reason);
        }
    }
}
