//! A subscription as server-sent events.
//!
//! Events on the wire (each `data:` is one line of JSON):
//! - `processes`: [`super::Snapshot`]: first on connecting, then every 2 s and after
//!   each change;
//! - `status`: [`super::Change`]: a process appeared, changed status or pid, or was deleted;
//! - `log`: a log line, as `tpm logs --json` prints it (`name`, `time`, `stream`, `line`);
//! - `event`: a line of a process's event history, as `tpm events --json` prints it
//!   (`time_ms`, `name`, `event`: `spawned`, `exited`, `stop_requested`, ...);
//! - `lagged`: `{"missed": N}`: the subscriber was too slow and N events were dropped; the
//!   next `processes` brings it up to date.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::{to_json, Event, Hub};

/// A comment line this often keeps proxies and browsers from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What a subscriber asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// Only these processes' events (`?name=`: one process, or an app's instances).
    pub names: Option<Vec<String>>,
    /// Log lines too (`?logs=false` leaves them out).
    pub logs: bool,
}

impl Filter {
    fn render(&self, event: &Event) -> Option<SseEvent> {
        if let (Some(want), Some(name)) = (&self.names, event.name()) {
            if !want.iter().any(|w| w == name) {
                return None;
            }
        }
        Some(match event {
            Event::Processes(snapshot) => {
                let data = match &self.names {
                    Some(names) => snapshot.json_for(names),
                    None => snapshot.json().to_string(),
                };
                SseEvent::default().event("processes").data(data)
            }
            Event::Status(change) => SseEvent::default().event("status").data(to_json(change)),
            Event::Log(line, json) if self.logs => SseEvent::default()
                .event("log")
                .data(json.get_or_init(|| to_json(line)).as_str()),
            Event::Log(..) => return None,
            Event::History(event, json) => SseEvent::default()
                .event("event")
                .data(json.get_or_init(|| to_json(event)).as_str()),
        })
    }
}

/// Counts a subscriber, and its interest in log lines, for as long as its stream lives
/// (the hub follows the logs someone wants, and polls fast while anyone listens).
struct Counted {
    hub: Arc<Hub>,
    /// The hub's log-interest keys it counted in: `None` for every process's lines, or
    /// each process's name.
    logs: Vec<Option<String>>,
}

impl Counted {
    fn new(hub: Arc<Hub>, filter: &Filter) -> Counted {
        hub.subscribers.fetch_add(1, Ordering::Relaxed);
        let logs: Vec<Option<String>> = match (&filter.names, filter.logs) {
            (_, false) => Vec::new(),
            (None, true) => vec![None],
            (Some(names), true) => names.iter().cloned().map(Some).collect(),
        };
        for key in &logs {
            hub.interest(key.clone(), 1);
        }
        Counted { hub, logs }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        for key in self.logs.drain(..) {
            self.hub.interest(key, -1);
        }
        self.hub.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether another stream may open.
pub(crate) fn has_room(hub: &Hub) -> bool {
    hub.subscribers() < super::MAX_STREAMS
}

/// The stream for one subscriber: the latest snapshot, then events as they come.
pub(crate) fn subscribe(
    hub: Arc<Hub>,
    filter: Filter,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = hub.tx.subscribe();
    let counted = Counted::new(hub.clone(), &filter);
    hub.wake();
    let first: Vec<SseEvent> = hub
        .latest()
        .and_then(|s| filter.render(&Event::Processes(s)))
        .into_iter()
        .collect();
    let rest = stream::unfold(
        (rx, filter, counted),
        |(mut rx, filter, counted)| async move {
            loop {
                let event = match rx.recv().await {
                    Ok(event) => filter.render(&event),
                    Err(RecvError::Lagged(missed)) => Some(
                        SseEvent::default()
                            .event("lagged")
                            .data(format!("{{\"missed\":{missed}}}")),
                    ),
                    Err(RecvError::Closed) => return None,
                };
                if let Some(event) = event {
                    return Some((event, (rx, filter, counted)));
                }
            }
        },
    );
    let events = stream::iter(first).chain(rest).map(Ok);
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
