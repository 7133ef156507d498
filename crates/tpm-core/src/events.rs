//! The event history: what happened to each process, as JSON lines in
//! `events/NAME.jsonl` (and `NAME.jsonl.1`, the older part).
//!
//! Every lifecycle step (a start asked for, a spawn, an exit, a restart scheduled, a
//! verdict, a stop asked for and by whom, a kill after the timeout, ...) is one line with a
//! millisecond timestamp. Lines are appended with one `write` to a file opened `O_APPEND`,
//! under an exclusive `flock` of that file, so writers (a supervisor, commands) never
//! interleave or cut a line. Each file is capped at [`CAP`]: past it, it becomes
//! `NAME.jsonl.1` (replacing the older one), so a process's history never takes more than
//! twice that. It is deleted with the process. The `[tpm]` lines in the err log stay, for
//! humans; this is for tools (`tpm events`, `describe`, the plugin, the web API).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::name::Name;
use crate::store::Store;

/// The size past which a history file is rotated.
pub const CAP: u64 = 256 * 1024;
/// Longer texts (reasons) are cut, so a line stays one small write.
const MAX_TEXT: usize = 512;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A command asked for a start (`by`: the command).
    StartRequested,
    /// The process was spawned (`pid`).
    Spawned,
    /// It could not be spawned (`reason`).
    SpawnFailed,
    /// It exited (`code` or `signal`, `ran_ms`).
    Exited,
    /// The policy will restart it (`after_ms`).
    RestartScheduled,
    /// The policy gave up on it (`reason`).
    Errored,
    /// A stop was asked for (`by`: user, or policy).
    StopRequested,
    /// Processes of its tree outlived the kill timeout and were sent SIGKILL (`count`).
    Killed,
    /// It is stopped (its tree is gone).
    Stopped,
    /// Something of its tree listens on its PORT.
    Listening,
    /// It is ready (`reason`: how it was told: port, a line, http).
    Ready,
    /// Its supervisor was found dead, and what it left was cleaned up.
    SupervisorLost,
    /// A command asked its supervisor for a new process (`tpm reload`, or `tpm restart` of
    /// a process with `--socket`).
    RestartRequested,
    /// A reload's new process did not become ready (`reason`); the reload stopped there.
    ReloadFailed,
    /// A log was rotated (`reason`: the stream and why, `out by size`, `err hourly`;
    /// `count`: the rotations since the last such event, which comes at most once a minute).
    LogRotated,
    /// A reload's new process is ready (`pid`; `reason`: how it was reloaded, `rolling`,
    /// `socket`, `restart`, `started`). Written before the reload looks for a stop that
    /// raced it, so a stop after this line came after the reload said it was done.
    Reloaded,
    /// Its liveness check changed its verdict (`reason`: `healthy` or `unhealthy`, and
    /// what the check said).
    Health,
    /// It said something on `NOTIFY_SOCKET` worth keeping (`reason`: `stopping`,
    /// `reloading`, a refused `MAINPID=` and why).
    Notify,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::StartRequested => "start_requested",
            Kind::Spawned => "spawned",
            Kind::SpawnFailed => "spawn_failed",
            Kind::Exited => "exited",
            Kind::RestartScheduled => "restart_scheduled",
            Kind::Errored => "errored",
            Kind::StopRequested => "stop_requested",
            Kind::Killed => "killed",
            Kind::Stopped => "stopped",
            Kind::Listening => "listening",
            Kind::Ready => "ready",
            Kind::SupervisorLost => "supervisor_lost",
            Kind::RestartRequested => "restart_requested",
            Kind::ReloadFailed => "reload_failed",
            Kind::LogRotated => "log_rotated",
            Kind::Reloaded => "reloaded",
            Kind::Health => "health",
            Kind::Notify => "notify",
        }
    }

    /// What an event's `count` counts.
    pub fn counted(self) -> &'static str {
        match self {
            Kind::LogRotated => "rotation(s)",
            Kind::Health => "failure(s)",
            _ => "process(es)",
        }
    }

    /// Every kind, in the order of the history's documentation.
    pub const ALL: [Kind; 18] = [
        Kind::StartRequested,
        Kind::Spawned,
        Kind::SpawnFailed,
        Kind::Exited,
        Kind::RestartScheduled,
        Kind::Errored,
        Kind::StopRequested,
        Kind::Killed,
        Kind::Stopped,
        Kind::Listening,
        Kind::Ready,
        Kind::SupervisorLost,
        Kind::RestartRequested,
        Kind::ReloadFailed,
        Kind::LogRotated,
        Kind::Reloaded,
        Kind::Health,
        Kind::Notify,
    ];
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub name: String,
    pub event: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The exit code, or 128 + the signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// The signal that ended it, by name (`SIGKILL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// How long the run lasted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ran_ms: Option<u64>,
    /// The delay before a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<u64>,
    /// Who asked: `user` (a command), `policy` (the supervisor), `system` (a shutdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Event {
    /// An event of `kind` for `name`, now.
    pub fn now(name: &Name, kind: Kind) -> Event {
        Event {
            time_ms: now_ms(),
            name: name.to_string(),
            event: kind,
            pid: None,
            code: None,
            signal: None,
            ran_ms: None,
            after_ms: None,
            by: None,
            count: None,
            reason: None,
        }
    }

    pub fn pid(mut self, pid: u32) -> Event {
        self.pid = Some(pid);
        self
    }

    pub fn by(mut self, who: &str) -> Event {
        self.by = Some(who.into());
        self
    }

    pub fn reason(mut self, why: &str) -> Event {
        let mut text: String = why.chars().filter(|c| !c.is_control()).collect();
        if text.len() > MAX_TEXT {
            let mut end = MAX_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        self.reason = Some(text);
        self
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Appends `event` to its process's history. A history that cannot be written is not a
/// reason to fail what happened: the error is returned for the caller to note, never to
/// stop on.
pub fn append(store: &Store, event: &Event) -> io::Result<()> {
    let Ok(name) = Name::parse(&event.name) else {
        return Ok(()); // names are validated before anything is written
    };
    let path = store.events_path(&name);
    let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
    line.push(b'\n');
    // A few turns at most: a file that keeps being replaced under us (by no tpm) gets the
    // line anyway at the last one.
    let mut turns = 0;
    loop {
        turns += 1;
        let file = open_append(&path)?;
        let mut locked =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
        // Another writer rotated the file while this one waited for the lock: the lock is
        // on `.1` now, and rotating again would rename the new file over it.
        let here = locked.metadata()?;
        let current =
            fs::metadata(&path).is_ok_and(|m| (m.dev(), m.ino()) == (here.dev(), here.ino()));
        if !current && turns < 20 {
            continue;
        }
        if current && here.len() > 0 && here.len() + line.len() as u64 > CAP {
            // Rotated under the lock; the next turn makes the new file.
            fs::rename(&path, rotated(&path))?;
            continue;
        }
        return locked.write_all(&line);
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let open = || {
        OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)?;
            }
            open()
        }
        other => other,
    }
}

/// `NAME.jsonl` → `NAME.jsonl.1`.
fn rotated(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".1");
    path.with_file_name(name)
}

/// A process's history, oldest first, from `since_ms` on (unreadable lines are skipped:
/// a history is evidence, not a contract to fail on).
pub fn read(store: &Store, name: &Name, since_ms: i64) -> Vec<Event> {
    let path = store.events_path(name);
    let mut events: Vec<Event> = [rotated(&path), path]
        .iter()
        .flat_map(|p| read_file(p, since_ms))
        .collect();
    // A write that reached `.1` after the rotation sorts back into place.
    events.sort_by_key(|e| e.time_ms);
    events
}

fn read_file(path: &Path, since_ms: i64) -> Vec<Event> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<Event>(&line).ok())
        .filter(|e| e.time_ms >= since_ms)
        .collect()
}

/// The events of `names` (oldest first, merged), from `since_ms` on, at most the last
/// `last` of them.
pub fn read_all(store: &Store, names: &[Name], since_ms: i64, last: usize) -> Vec<Event> {
    let mut all: Vec<Event> = names
        .iter()
        .flat_map(|n| read(store, n, since_ms))
        .collect();
    all.sort_by_key(|e| e.time_ms);
    let skip = all.len().saturating_sub(last);
    all.drain(..skip);
    all
}

/// Follows the histories of `names` (`None`: of every process, also those created while
/// following), calling `on_event` with each new event until it returns false, or, asked
/// when nothing comes for a moment, `keep_going` does.
pub fn follow(
    store: &Store,
    names: Option<&[Name]>,
    mut keep_going: impl FnMut() -> bool,
    mut on_event: impl FnMut(Event) -> bool,
) -> io::Result<()> {
    use std::collections::HashMap;
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::MetadataExt;

    struct Open {
        file: File,
        partial: Vec<u8>,
    }
    let dir = store.events_dir();
    let wanted = |path: &Path| -> bool {
        let Some(stem) = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_suffix(".jsonl"))
        else {
            return false;
        };
        names.is_none_or(|ns| ns.iter().any(|n| n.as_str() == stem))
    };
    let current = || -> Vec<PathBuf> {
        match names {
            Some(ns) => ns.iter().map(|n| store.events_path(n)).collect(),
            None => fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| wanted(p))
                .collect(),
        }
    };
    // What exists now is followed from its end; what appears later, from its start.
    let mut open: HashMap<PathBuf, Open> = HashMap::new();
    for path in current() {
        if let Ok(mut file) = File::open(&path) {
            file.seek(SeekFrom::End(0))?;
            open.insert(
                path,
                Open {
                    file,
                    partial: Vec::new(),
                },
            );
        }
    }
    let mut buf = Vec::new();
    loop {
        // One round's events from every file, delivered in time order.
        let mut round: Vec<Event> = Vec::new();
        for path in current() {
            if !open.contains_key(&path) {
                if let Ok(file) = File::open(&path) {
                    open.insert(
                        path.clone(),
                        Open {
                            file,
                            partial: Vec::new(),
                        },
                    );
                }
            }
            let Some(o) = open.get_mut(&path) else {
                continue;
            };
            buf.clear();
            o.file.read_to_end(&mut buf)?;
            // Rotated: the old file was read to its end above; follow the new one.
            let replaced = fs::metadata(&path)
                .is_ok_and(|m| o.file.metadata().is_ok_and(|f| f.ino() != m.ino()));
            if replaced {
                if let Ok(file) = File::open(&path) {
                    *o = Open {
                        file,
                        partial: std::mem::take(&mut o.partial),
                    };
                    o.file.read_to_end(&mut buf)?;
                }
            }
            o.partial.extend_from_slice(&buf);
            while let Some(nl) = o.partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = o.partial.drain(..=nl).collect();
                if let Ok(event) = serde_json::from_slice::<Event>(&line) {
                    round.push(event);
                }
            }
        }
        round.sort_by_key(|e| e.time_ms);
        let any = !round.is_empty();
        for event in round {
            if !on_event(event) {
                return Ok(());
            }
        }
        if !any {
            if !keep_going() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `--since`: a duration back from `now_ms` (`90s`, `30m`, `1h`, `2d`), or a local time
/// (`2026-12-02 10:00`, `2026-12-02T10:00:00`, or RFC 3339).
pub fn parse_since(raw: &str, now_ms: i64) -> Option<i64> {
    let raw = raw.trim();
    if let Some(days) = raw
        .strip_suffix('d')
        .and_then(|d| d.trim().parse::<f64>().ok())
    {
        return (days >= 0.0).then(|| now_ms - (days * 86_400_000.0) as i64);
    }
    if let Some(d) = crate::options::parse_millis(raw)
        .filter(|_| raw.ends_with(|c: char| c.is_ascii_alphabetic()))
    {
        return Some(now_ms - d.as_millis() as i64);
    }
    use chrono::{DateTime, Local, NaiveDateTime, TimeZone};
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.timestamp_millis());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(raw, format) {
            return Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.timestamp_millis());
        }
    }
    None
}

/// What the history says of the last `window`, for `list` and `describe`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Recent {
    /// Restarts by the policy (not those a user asked for).
    pub restarts: u32,
    /// Time online over the time it was meant to run, in percent; `None` if it was never
    /// meant to run in the window.
    pub uptime_pct: Option<f64>,
}

/// Sums up `events` (one process's, oldest first) over the `window` before `now_ms`.
/// Online spans run from `spawned` to `exited`/`stopped`; wanted spans from
/// `start_requested` to a user's `stop_requested`. A span still open runs until now.
pub fn recent(events: &[Event], now_ms: i64, window: Duration) -> Recent {
    let from = now_ms - window.as_millis() as i64;
    let mut restarts = 0;
    let (mut online_since, mut wanted_since): (Option<i64>, Option<i64>) = (None, None);
    let (mut online, mut wanted) = (0i64, 0i64);
    let clip = |t: i64| t.max(from);
    for e in events {
        match e.event {
            Kind::StartRequested => {
                wanted_since.get_or_insert(e.time_ms);
            }
            Kind::StopRequested if e.by.as_deref() == Some("user") => {
                if let Some(s) = wanted_since.take() {
                    wanted += (e.time_ms - clip(s)).max(0);
                }
            }
            Kind::Spawned => {
                online_since.get_or_insert(e.time_ms);
            }
            Kind::Exited | Kind::Stopped | Kind::SupervisorLost => {
                if let Some(s) = online_since.take() {
                    online += (e.time_ms - clip(s)).max(0);
                }
            }
            Kind::RestartScheduled if e.time_ms >= from => restarts += 1,
            _ => {}
        }
    }
    if let Some(s) = online_since {
        online += (now_ms - clip(s)).max(0);
    }
    if let Some(s) = wanted_since {
        wanted += (now_ms - clip(s)).max(0);
    }
    Recent {
        restarts,
        uptime_pct: (wanted > 0)
            .then(|| (online.min(wanted) as f64 * 100.0 / wanted as f64 * 10.0).round() / 10.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_holds_every_kind_once_with_its_own_name() {
        // Exhaustive: a new kind does not compile here until it is given a place in `ALL`.
        let place = |k: Kind| match k {
            Kind::StartRequested => 0,
            Kind::Spawned => 1,
            Kind::SpawnFailed => 2,
            Kind::Exited => 3,
            Kind::RestartScheduled => 4,
            Kind::Errored => 5,
            Kind::StopRequested => 6,
            Kind::Killed => 7,
            Kind::Stopped => 8,
            Kind::Listening => 9,
            Kind::Ready => 10,
            Kind::SupervisorLost => 11,
            Kind::RestartRequested => 12,
            Kind::ReloadFailed => 13,
            Kind::LogRotated => 14,
            Kind::Reloaded => 15,
            Kind::Health => 16,
            Kind::Notify => 17,
        };
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(place(*k), i, "{k:?}");
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::at(d.path().join("tpm"));
        s.ensure().unwrap();
        (d, s)
    }

    fn at(name: &str, kind: Kind, t: i64) -> Event {
        Event {
            time_ms: t,
            ..Event::now(&Name::parse(name).unwrap(), kind)
        }
    }

    #[test]
    fn events_read_back_in_order_and_from_a_time_on() {
        let (_d, s) = store();
        let n = Name::parse("a-1").unwrap();
        for (i, kind) in [Kind::StartRequested, Kind::Spawned, Kind::Exited]
            .into_iter()
            .enumerate()
        {
            append(&s, &at("a-1", kind, 1000 + i as i64)).unwrap();
        }
        let all = read(&s, &n, 0);
        assert_eq!(
            all.iter().map(|e| e.event).collect::<Vec<_>>(),
            [Kind::StartRequested, Kind::Spawned, Kind::Exited]
        );
        assert_eq!(read(&s, &n, 1001).len(), 2);
        let line = std::fs::read_to_string(s.events_path(&n)).unwrap();
        assert!(
            line.starts_with("{\"time_ms\":1000,\"name\":\"a-1\",\"event\":\"start_requested\"}\n"),
            "{line}"
        );
    }

    #[test]
    fn concurrent_writers_never_cut_a_line_and_the_history_is_capped() {
        let (_d, s) = store();
        let n = Name::parse("busy-1").unwrap();
        let reason = "x".repeat(400);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                let (s, reason) = (&s, &reason);
                scope.spawn(move || {
                    for _ in 0..300 {
                        append(
                            s,
                            &Event::now(&Name::parse("busy-1").unwrap(), Kind::Exited)
                                .reason(reason),
                        )
                        .unwrap();
                    }
                });
            }
        });
        let path = s.events_path(&n);
        for file in [rotated(&path), path.clone()] {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.len() as u64 <= CAP,
                "{} is {} bytes",
                file.display(),
                text.len()
            );
            for line in text.lines() {
                assert!(
                    serde_json::from_str::<Event>(line).is_ok(),
                    "a cut line: {line:.80}"
                );
            }
        }
        assert!(!read(&s, &n, 0).is_empty());
    }

    #[test]
    fn since_takes_durations_and_times() {
        let now = 10 * 86_400_000;
        assert_eq!(parse_since("1h", now), Some(now - 3_600_000));
        assert_eq!(parse_since("90s", now), Some(now - 90_000));
        assert_eq!(parse_since("2d", now), Some(now - 2 * 86_400_000));
        assert_eq!(
            parse_since("2026-12-02T10:00:00+00:00", now),
            Some(1_796_205_600_000)
        );
        assert!(parse_since("2026-12-02 10:00", now).is_some());
        for bad in ["", "soon", "-1h", "12"] {
            assert_eq!(parse_since(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn follow_sees_new_events_and_new_processes() {
        let (_d, s) = store();
        append(&s, &at("old-1", Kind::Spawned, 1)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let writer = {
            let s = s.clone();
            std::thread::spawn(move || {
                let _ = rx.recv(); // the follower is ready
                append(&s, &at("old-1", Kind::Exited, 2)).unwrap();
                append(&s, &at("new-2", Kind::Spawned, 3)).unwrap();
            })
        };
        let mut seen = Vec::new();
        let mut told = Some(tx);
        follow(
            &s,
            None,
            || {
                if let Some(tx) = told.take() {
                    let _ = tx.send(());
                }
                true
            },
            |e| {
                seen.push((e.name.clone(), e.event));
                seen.len() < 2
            },
        )
        .unwrap();
        writer.join().unwrap();
        assert_eq!(
            seen,
            [
                ("old-1".to_string(), Kind::Exited),
                ("new-2".to_string(), Kind::Spawned)
            ]
        );
    }

    #[test]
    fn reasons_are_one_bounded_line() {
        let e = Event::now(&Name::parse("a-1").unwrap(), Kind::Errored)
            .reason(&format!("a\nb{}", "é".repeat(1000)));
        let r = e.reason.unwrap();
        assert!(!r.contains('\n') && r.len() <= MAX_TEXT);
    }

    #[test]
    fn recent_counts_policy_restarts_and_uptime_over_the_wanted_time() {
        let h = 3_600_000;
        let events = vec![
            at("a-1", Kind::StartRequested, 0),
            at("a-1", Kind::Spawned, 0),
            at("a-1", Kind::Exited, h),
            at("a-1", Kind::RestartScheduled, h),
            at("a-1", Kind::Spawned, 2 * h),
            Event {
                by: Some("user".into()),
                ..at("a-1", Kind::StopRequested, 4 * h)
            },
            at("a-1", Kind::Stopped, 4 * h),
        ];
        let r = recent(&events, 4 * h, Duration::from_secs(24 * 3600));
        assert_eq!(r.restarts, 1);
        assert_eq!(r.uptime_pct, Some(75.0));
        // Only the last 2 hours: online all of it.
        let r = recent(&events, 4 * h, Duration::from_secs(2 * 3600));
        assert_eq!((r.restarts, r.uptime_pct), (0, Some(100.0)));
        assert_eq!(recent(&[], 0, Duration::from_secs(60)).uptime_pct, None);
    }
}

#[cfg(test)]
mod cost {
    #[test]
    #[ignore = "a measurement"]
    fn what_an_event_costs() {
        let d = tempfile::tempdir().unwrap();
        let store = crate::store::Store::at(d.path().join("tpm"));
        store.ensure().unwrap();
        let name = crate::name::Name::parse("web-8080").unwrap();
        let t = std::time::Instant::now();
        for i in 0..10_000 {
            let e = super::Event::now(&name, super::Kind::Spawned).pid(i);
            super::append(&store, &e).unwrap();
        }
        eprintln!("append: {:?} per event", t.elapsed() / 10_000);
    }
}
