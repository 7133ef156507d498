//! The event stream behind `GET /api/events`: what changed in the store, pushed to every
//! subscriber.
//!
//! | file | owns |
//! |---|---|
//! | `source` | where changes come from: [`Source`], and [`source::Poller`], which diffs `Tpm::list` |
//! | `sample` | CPU now (from two reads of `/proc`) and the last minutes of CPU and memory |
//! | `follow` | one log follower per process, while anyone listens |
//! | `history` | the store's event history as it grows |
//! | `stream` | a subscription as server-sent events, filtered by process |
//!
//! Status changes come from [`source::Poller`], which reads the list at a short interval
//! and reports differences: it sees every change, whoever made it, and CPU and memory with
//! it. The store's event history (`events/`) adds what a status cannot say (an exit code,
//! who asked for a stop, a kill after the timeout): each new line is sent as it is written,
//! and wakes the poller, so the status change behind it goes out at once. Another
//! [`Source`] can replace the poller; the hub, the wire format and the page stay as they
//! are.

mod follow;
mod history;
mod sample;
mod source;
pub(crate) mod stream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;
use tpm_core::logs::LogLine;
use tpm_core::{ProcessInfo, Status, Tpm};

pub(crate) use sample::Point;
pub(crate) use source::Source;

/// How often the store is read while someone listens: a change reaches the page within it.
const FAST: Duration = Duration::from_millis(250);
/// How often it is read otherwise (for the CPU and memory history), and how often a
/// snapshot is sent when nothing changed.
pub(crate) const SAMPLE: Duration = Duration::from_secs(2);
/// How often an idle server returns freed memory to the system.
const TRIM_EVERY: Duration = Duration::from_secs(30);
/// Events a slow subscriber may fall behind by before it is told it missed some.
const BACKLOG: usize = 128;
/// Event streams open at once, at most: each costs a little memory and a share of every
/// event's delivery.
pub(crate) const MAX_STREAMS: usize = 256;

/// One event, shared by every subscriber (serialized once, on first use).
#[derive(Debug)]
pub(crate) enum Event {
    /// The whole list, every [`SAMPLE`] and after each change.
    Processes(Arc<Snapshot>),
    /// A process appeared, changed status or pid, or was deleted.
    Status(Change),
    /// A line written to a process's log.
    Log(LogLine, OnceLock<String>),
    /// A line of a process's event history, as the store has it.
    History(tpm_core::events::Event, OnceLock<String>),
}

impl Event {
    /// The process this event is about (`None`: all of them).
    pub fn name(&self) -> Option<&str> {
        match self {
            Event::Processes(_) => None,
            Event::Status(c) => Some(&c.name),
            Event::Log(l, _) => Some(&l.name),
            Event::History(e, _) => Some(&e.name),
        }
    }
}

/// The list as the page shows it: the processes as `tpm list --json` has them, the ports
/// something listens on, and the CPU each process used over the last interval.
#[derive(Debug, Serialize)]
pub(crate) struct Snapshot {
    /// Unix time in milliseconds.
    pub time: i64,
    pub processes: Vec<ProcessInfo>,
    pub listening: Vec<u16>,
    /// Percent of one core over the last [`SAMPLE`] (as `top` shows it); `cpu` in
    /// `processes` is the average over the whole run (as `ps` and `tpm list` show it).
    pub cpu_now: HashMap<String, f64>,
    #[serde(skip)]
    json: OnceLock<String>,
}

impl Snapshot {
    pub fn new(
        time: i64,
        processes: Vec<ProcessInfo>,
        listening: Vec<u16>,
        cpu_now: HashMap<String, f64>,
    ) -> Snapshot {
        Snapshot {
            time,
            processes,
            listening,
            cpu_now,
            json: OnceLock::new(),
        }
    }

    /// The whole snapshot as JSON, rendered once for every subscriber.
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| to_json(self))
    }

    /// Only these processes' part (for `?name=`: one process, or an app's instances).
    pub fn json_for(&self, names: &[String]) -> String {
        let processes: Vec<&ProcessInfo> = self
            .processes
            .iter()
            .filter(|p| names.contains(&p.name))
            .collect();
        let cpu_now: HashMap<&String, &f64> = self
            .cpu_now
            .iter()
            .filter(|(n, _)| names.contains(n))
            .collect();
        to_json(&serde_json::json!({
            "time": self.time,
            "processes": processes,
            "listening": self.listening,
            "cpu_now": cpu_now,
        }))
    }
}

/// A status change. `status` is `null` once the process is deleted, `previous` is `null`
/// for a process seen for the first time.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Change {
    pub name: String,
    pub id: Option<u32>,
    pub status: Option<Status>,
    pub previous: Option<Status>,
    pub pid: Option<u32>,
    pub restarts: u32,
    /// Unix time in milliseconds.
    pub time: i64,
}

pub(crate) fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The hub: reads changes from a [`Source`] on its own thread, keeps the latest snapshot and
/// the last minutes of samples, runs the log followers, and broadcasts events.
pub(crate) struct Hub {
    tpm: Arc<Tpm>,
    tx: broadcast::Sender<Arc<Event>>,
    latest: Mutex<Option<Arc<Snapshot>>>,
    history: Mutex<sample::History>,
    followers: Mutex<HashMap<String, Arc<follow::Running>>>,
    history_follower: Mutex<Option<Arc<follow::Running>>>,
    subscribers: AtomicUsize,
    /// Who wants log lines: `None` counts subscribers of every process's, `Some(name)`
    /// those of one process. Logs are followed only for these.
    log_interest: Mutex<HashMap<Option<String>, usize>>,
    thread: OnceLock<Thread>,
}

impl Hub {
    /// Starts the hub's thread.
    pub fn start(tpm: Arc<Tpm>) -> Arc<Hub> {
        let (tx, _) = broadcast::channel(BACKLOG);
        let hub = Arc::new(Hub {
            tpm: tpm.clone(),
            tx,
            latest: Mutex::new(None),
            history: Mutex::new(sample::History::default()),
            followers: Mutex::new(HashMap::new()),
            history_follower: Mutex::new(None),
            subscribers: AtomicUsize::new(0),
            log_interest: Mutex::new(HashMap::new()),
            thread: OnceLock::new(),
        });
        let weak = Arc::downgrade(&hub);
        let source = source::Poller::new(tpm);
        let spawned = std::thread::Builder::new()
            .name("tpm-serve-events".into())
            .spawn(move || run(weak, source));
        match spawned {
            Ok(handle) => {
                let _ = hub.thread.set(handle.thread().clone());
                hub.keep_history_follower();
            }
            // Without the thread there are no events; the API itself still answers.
            Err(e) => eprintln!("tpm serve: warning: no event stream: {e}"),
        }
        hub
    }

    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }

    /// Wakes the hub, so a first subscriber gets changes at the fast pace at once.
    fn wake(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    pub fn latest(&self) -> Option<Arc<Snapshot>> {
        self.latest.lock().ok().and_then(|l| l.clone())
    }

    /// The last minutes of one process's CPU and memory.
    pub fn history(&self, name: &str) -> Vec<Point> {
        self.history.lock().map(|h| h.of(name)).unwrap_or_default()
    }

    fn send(&self, event: Event) {
        // No receiver is not an error: nobody is listening.
        let _ = self.tx.send(Arc::new(event));
    }

    /// One round: read the source, send what changed, keep followers for the processes
    /// that exist while anyone listens.
    fn tick(self: &Arc<Self>, source: &mut dyn Source, last_snapshot: &mut Option<i64>) {
        let observed = match source.next() {
            Ok(o) => o,
            Err(e) => {
                eprintln!("tpm serve: warning: cannot read the processes: {e}");
                return;
            }
        };
        let now = observed.time;
        let changed = !observed.changes.is_empty();
        for change in observed.changes {
            self.send(Event::Status(change));
        }
        let due = last_snapshot.is_none_or(|t| now - t >= SAMPLE.as_millis() as i64 - 50);
        let cpu_now = match self.history.lock() {
            Ok(mut history) if due => history.record(now, &observed.processes),
            Ok(history) => history.cpu_now(),
            Err(_) => HashMap::new(),
        };
        let names: Vec<String> = observed.processes.iter().map(|p| p.name.clone()).collect();
        if due || changed {
            let snapshot = Arc::new(Snapshot::new(
                now,
                observed.processes,
                tpm_core::proc::listening_ports(),
                cpu_now,
            ));
            if let Ok(mut latest) = self.latest.lock() {
                *latest = Some(snapshot.clone());
            }
            self.send(Event::Processes(snapshot));
            *last_snapshot = Some(now);
            if let Ok(mut history) = self.history.lock() {
                history.keep_only(&names);
            }
        }
        self.keep_followers(&names);
        self.keep_history_follower();
    }

    /// The event history is followed for the server's whole life: a subscriber that has
    /// just connected must not miss the line a command writes a moment later.
    fn keep_history_follower(self: &Arc<Self>) {
        let Ok(mut follower) = self.history_follower.lock() else {
            return;
        };
        if !follower.as_ref().is_some_and(|r| r.is_running()) {
            *follower = history::spawn(self.clone());
        }
    }

    /// Every process whose log lines someone wants has a log follower.
    fn keep_followers(self: &Arc<Self>, names: &[String]) {
        let Ok(mut followers) = self.followers.lock() else {
            return;
        };
        followers.retain(|name, running| names.contains(name) && running.is_running());
        for name in names {
            if !followers.contains_key(name) && self.wants_logs(name) {
                if let Some(running) = follow::spawn(self.clone(), name) {
                    followers.insert(name.clone(), running);
                }
            }
        }
    }

    /// Whether anyone wants `name`'s log lines.
    fn wants_logs(&self, name: &str) -> bool {
        self.log_interest.lock().is_ok_and(|interest| {
            interest.get(&None).is_some_and(|n| *n > 0)
                || interest
                    .get(&Some(name.to_string()))
                    .is_some_and(|n| *n > 0)
        })
    }

    /// Whether a follower of `name` should go on: someone wants its lines, and it exists.
    fn wants_logs_of(&self, name: &str) -> bool {
        self.wants_logs(name)
            && self
                .latest()
                .is_some_and(|s| s.processes.iter().any(|p| p.name == name))
    }

    /// Counts (`+1`) or uncounts (`-1`) a subscriber's interest in log lines.
    fn interest(&self, key: Option<String>, delta: isize) {
        if let Ok(mut interest) = self.log_interest.lock() {
            let n = interest.entry(key.clone()).or_insert(0);
            *n = n.saturating_add_signed(delta);
            if *n == 0 {
                interest.remove(&key);
            }
        }
    }
}

/// The hub's thread: a tick, then a pause until the next (cut short by a new subscriber).
/// It ends when the hub is dropped.
fn run(hub: std::sync::Weak<Hub>, mut source: impl Source) {
    let mut last_snapshot = None;
    let mut listened = false;
    let mut trimmed = std::time::Instant::now();
    loop {
        let Some(strong) = hub.upgrade() else {
            return;
        };
        // A bug in one round must not end the stream for good.
        let ticked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            strong.tick(&mut source, &mut last_snapshot)
        }));
        if ticked.is_err() {
            eprintln!("tpm serve: warning: an event round failed; trying again");
        }
        let listening = strong.subscribers() > 0;
        // Once the last stream closes, and now and then while idle, the memory a burst of
        // requests and streams freed goes back to the system.
        if !listening && (listened || trimmed.elapsed() >= TRIM_EVERY) {
            release_free_memory();
            trimmed = std::time::Instant::now();
        }
        listened = listening;
        let pause = if listening { FAST } else { SAMPLE };
        drop(strong);
        // The source is polled: this pause is its interval, and a subscriber's arrival
        // (unpark) ends it early.
        std::thread::park_timeout(pause);
    }
}

/// Returns the allocator's free pages to the system. glibc keeps freed memory in its
/// per-thread arenas for reuse, so after a burst a server's resident size stays at the
/// burst's high-water mark; `malloc_trim` gives the free pages back.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it touches nothing in use.
    unsafe {
        libc::malloc_trim(0);
    }
}
