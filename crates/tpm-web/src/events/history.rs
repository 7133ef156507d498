//! The store's event history (`events/NAME.jsonl`, written by supervisors and commands) as
//! it grows: each line is passed on as an `event`, and wakes the hub so the status change
//! behind it is sent at once rather than at the next poll.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::follow::Running;
use super::{Event, Hub};

/// Starts following every process's history (those created later too); `None` if no
/// thread could be had (the next round tries again).
pub(crate) fn spawn(hub: Arc<Hub>) -> Option<Arc<Running>> {
    let running = Arc::new(Running(AtomicBool::new(true)));
    let flag = running.clone();
    let spawned = std::thread::Builder::new()
        .name("tpm-serve-history".into())
        .stack_size(super::follow::STACK)
        .spawn(move || {
            let result = hub.tpm.follow_events(
                None,
                || true,
                |event| {
                    hub.send(Event::History(event, OnceLock::new()));
                    hub.wake();
                    true
                },
            );
            if let Err(e) = result {
                eprintln!("tpm serve: warning: stopped following the event history: {e}");
            }
            flag.0.store(false, Ordering::Relaxed);
        });
    spawned.ok().map(|_| running)
}
