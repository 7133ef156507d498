//! Log followers: one thread per process whose log lines a subscriber wants, each running
//! the core's `follow` from the end of the process's logs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use tpm_core::Name;

use super::{Event, Hub};

/// Stack for a follower: it reads lines into the heap and calls nothing deep.
pub(crate) const STACK: usize = 256 * 1024;

/// Set while a follower runs.
#[derive(Debug, Default)]
pub(crate) struct Running(pub(crate) AtomicBool);

impl Running {
    pub fn is_running(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Starts following `name`; `None` if the name is not valid or no thread could be had
/// (the next round tries again).
pub(crate) fn spawn(hub: Arc<Hub>, name: &str) -> Option<Arc<Running>> {
    let parsed = Name::parse(name).ok()?;
    let running = Arc::new(Running(AtomicBool::new(true)));
    let flag = running.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("tpm-serve-logs-{name}"))
        .stack_size(STACK)
        .spawn(move || {
            let key = parsed.to_string();
            let names = [parsed];
            let result = hub.tpm.follow(
                &names,
                0,
                || hub.wants_logs_of(&key),
                |line| {
                    hub.send(Event::Log(line, OnceLock::new()));
                    hub.wants_logs(&key)
                },
            );
            if let Err(e) = result {
                eprintln!("tpm serve: warning: stopped following {key}: {e}");
            }
            flag.0.store(false, Ordering::Relaxed);
        });
    spawned.ok().map(|_| running)
}
