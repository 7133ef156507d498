//! systemd's notify protocol (`sd_notify(3)`) for programs that already speak it.
//!
//! With `--ready-notify` or `--watchdog`, the supervisor binds one datagram socket of its
//! own (an abstract address, `@tpm-notify/SPID.START`: nothing on disk to clean up, gone
//! with the supervisor) and gives the process `NOTIFY_SOCKET`; the socket is one more fd in
//! the loop's `poll`, so a quiet process costs no wake-up. Without either option the
//! process gets no `NOTIFY_SOCKET` at all, not even one inherited from the caller (a `tpm
//! start` run from a `Type=notify` unit would otherwise let the process speak for that
//! unit).
//!
//! The socket is `platform::notify_socket`'s: Linux's, on both backends. Elsewhere
//! (macOS) there is none: the start goes on, the err log says why (`--ready-notify` then
//! never becomes ready; `--watchdog` never fires), and the process gets no `NOTIFY_SOCKET`.
//!
//! Every datagram carries the sender's credentials (`SO_PASSCRED`): only a process of this
//! supervisor's tree (it is their subreaper), of the same user, is heard; anything else
//! is dropped. What is understood:
//! - `READY=1`: ready, for readiness `notify` (`state.ready`, a `ready` event);
//! - `STATUS=...`: kept in the record (`notify_status`), shown by `describe` and the web;
//! - `WATCHDOG=1`: a ping; with `--watchdog`, none for that long restarts the tree (as a
//!   memory limit does: not a crash). `WATCHDOG=trigger` restarts it at once,
//!   `WATCHDOG_USEC=N` changes the timeout for this run;
//! - `STOPPING=1`, `RELOADING=1`: `notify` events;
//! - `MAINPID=N`: tpm waits on the process it started, as its parent; it cannot wait on
//!   another, so a different pid is refused, with the reason, in a `notify` event (the
//!   whole tree is still supervised and stopped together).
//!
//! `WATCHDOG_USEC` is set; `WATCHDOG_PID` is not: the pid is known only after the spawn,
//! and a program started through a shell or an interpreter's launcher would see another
//! pid there and turn its watchdog off (`sd_watchdog_enabled` treats an unset
//! `WATCHDOG_PID` as "this process").

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::phase::Phase;
use super::run::{human, Supervisor};
use crate::events::{Event, Kind};

/// The variables of the protocol, removed from what the process inherits.
const VARS: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];
/// The longest `STATUS=` kept.
const MAX_STATUS: usize = 256;

pub(super) struct NotifySocket {
    fd: std::os::fd::OwnedFd,
    /// When the watchdog fires unless pinged; `None` without `--watchdog` or a run.
    watchdog_at: Option<Instant>,
    /// The watchdog's timeout for this run (`WATCHDOG_USEC=` may change it).
    watchdog: Option<Duration>,
}

impl NotifySocket {
    pub(super) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    pub(super) fn due(&self) -> Option<Instant> {
        self.watchdog_at
    }
}

impl Supervisor {
    /// Before the first spawn: binds the socket when the spec uses the protocol and sets
    /// the process's environment for it.
    pub(super) fn notify_open(&mut self) {
        self.env.retain(|(k, _)| {
            !VARS
                .iter()
                .any(|v| k.as_os_str() == std::ffi::OsStr::new(v))
        });
        let spec = &self.record.spec;
        let wanted =
            spec.ready.check == crate::readiness::ReadyCheck::Notify || spec.watchdog.is_some();
        if !wanted {
            return;
        }
        let address = format!("tpm-notify/{}.{}", self.me.pid, self.me.start_ticks);
        match crate::platform::notify_socket::bind(&address) {
            Ok(fd) => {
                self.env.push((
                    "NOTIFY_SOCKET".into(),
                    OsString::from(format!("@{address}")),
                ));
                if let Some(w) = spec.watchdog {
                    self.env
                        .push(("WATCHDOG_USEC".into(), w.as_micros().to_string().into()));
                }
                self.notify = Some(NotifySocket {
                    fd,
                    watchdog_at: None,
                    watchdog: None,
                });
            }
            // No such socket on this system: the reason says it all, and what to use.
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                self.event(&format!("no NOTIFY_SOCKET given to the process: {e}"));
            }
            Err(e) => {
                self.event(&format!(
                    "cannot open NOTIFY_SOCKET ({e}): READY=1 and watchdog pings cannot be heard"
                ));
            }
        }
    }

    /// A run began: the watchdog counts from its start.
    pub(super) fn notify_begins(&mut self) {
        let watchdog = self.record.spec.watchdog;
        if let Some(n) = &mut self.notify {
            n.watchdog = watchdog;
            n.watchdog_at = watchdog.map(|w| Instant::now() + w);
        }
    }

    /// The run ended: no watchdog until the next.
    pub(super) fn notify_ends(&mut self) {
        if let Some(n) = &mut self.notify {
            n.watchdog_at = None;
        }
    }

    /// The watchdog fired: no ping for its timeout.
    pub(super) fn check_watchdog(&mut self, now: Instant) {
        let Some(n) = &mut self.notify else { return };
        let (Some(at), Some(timeout)) = (n.watchdog_at, n.watchdog) else {
            return;
        };
        if now < at {
            return;
        }
        n.watchdog_at = None;
        if matches!(self.phase, Phase::Running) && self.main.is_some() {
            let why = format!("no WATCHDOG=1 on NOTIFY_SOCKET for {}", human(timeout));
            self.planned_restart("watchdog", &why);
        }
    }

    /// The socket is readable: every datagram waiting is read and acted on.
    pub(super) fn notify_readable(&mut self) {
        for _ in 0..64 {
            let Some(n) = &self.notify else { return };
            let Some((pid, uid, text)) = crate::platform::notify_socket::receive(n.fd()) else {
                return;
            };
            if uid != nix::unistd::getuid().as_raw() || !self.in_tree(pid) {
                continue;
            }
            for line in text.lines() {
                if let Some((key, value)) = line.split_once('=') {
                    self.notify_message(pid, key, value);
                }
            }
        }
    }

    /// Whether `pid` is the running process or one of its tree (every descendant of a
    /// subreaper is its).
    fn in_tree(&self, pid: u32) -> bool {
        if self.main.is_some_and(|(m, _)| m == pid) {
            return true;
        }
        let mut p = pid;
        // Up the parents: a tree is shallow, and a loop in /proc is cut short.
        for _ in 0..64 {
            match crate::proc::Stat::read(p) {
                Some(s) if s.ppid == self.me.pid => return true,
                Some(s) if s.ppid > 1 => p = s.ppid,
                _ => return false,
            }
        }
        false
    }

    fn notify_message(&mut self, pid: u32, key: &str, value: &str) {
        let now = Instant::now();
        match (key, value) {
            ("READY", "1") => {
                self.readiness.notified = true;
                self.check_ready(now);
            }
            ("STATUS", status) => {
                let mut status = status.to_string();
                if status.len() > MAX_STATUS {
                    let mut cut = MAX_STATUS;
                    while !status.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    status.truncate(cut);
                }
                let status = (!status.is_empty()).then_some(status);
                if self.record.state.notify_status != status {
                    self.record.state.notify_status = status;
                    self.save();
                }
            }
            ("WATCHDOG", "1") => {
                if let Some(n) = &mut self.notify {
                    n.watchdog_at = n.watchdog.map(|w| now + w);
                }
            }
            ("WATCHDOG", "trigger") => {
                if matches!(self.phase, Phase::Running) {
                    self.planned_restart("watchdog", "it asked (WATCHDOG=trigger)");
                }
            }
            ("WATCHDOG_USEC", usec) => {
                if let (Ok(us), Some(n)) = (usec.trim().parse::<u64>(), &mut self.notify) {
                    let w = Duration::from_micros(us)
                        .clamp(crate::health::MIN_INTERVAL, crate::health::MAX_WATCHDOG);
                    n.watchdog = Some(w);
                    n.watchdog_at = Some(now + w);
                }
            }
            ("STOPPING", "1") => self.notify_event(pid, "stopping".into()),
            ("RELOADING", "1") => self.notify_event(pid, "reloading".into()),
            ("MAINPID", main) => {
                let asked = main.trim().parse::<u32>().ok();
                let ours = self.main.map(|(m, _)| m);
                if asked.is_none() || asked != ours {
                    let why = format!(
                        "MAINPID={} refused: tpm waits on the process it started{}, as its parent, and cannot wait on another (the whole tree is still supervised)",
                        main.trim(),
                        ours.map_or_else(String::new, |m| format!(" (pid {m})"))
                    );
                    self.event(&why);
                    self.notify_event(pid, why);
                }
            }
            _ => {}
        }
    }

    fn notify_event(&mut self, pid: u32, reason: String) {
        let e = Event::now(&self.name, Kind::Notify)
            .pid(pid)
            .reason(&reason);
        self.history(e);
    }
}
