//! `GET /api/processes`, read once for requests that arrive together.
//!
//! A listing reads every record and `/proc` for each process (a few milliseconds at 100
//! processes). Requests that arrive while one is being read wait for the next one, which
//! begins after they arrived, and share it: each answer is as fresh as if it had been read
//! for that request alone (a stop that returned before the request was sent always shows),
//! and concurrent readers cost one listing instead of one each.

use std::sync::{Arc, Condvar, Mutex};

use tpm_core::Tpm;

use crate::error::ApiError;

/// A listing, rendered: the JSON body, or the error.
pub(crate) type Rendered = Arc<Result<Vec<u8>, ApiError>>;

#[derive(Default)]
pub(crate) struct SharedList {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// Listings begun so far.
    started: u64,
    /// Whether one is being read now.
    running: bool,
    /// The last listing finished: its number and what it gave.
    finished: u64,
    last: Option<Rendered>,
}

impl SharedList {
    /// A listing begun after this call: the caller's own, or one it shares.
    pub fn get(&self, tpm: &Tpm) -> Rendered {
        let Ok(mut state) = self.state.lock() else {
            return Arc::new(render(tpm));
        };
        // The first listing to begin from now on is the one this request may use.
        let wanted = state.started + 1;
        loop {
            if state.finished >= wanted {
                if let Some(last) = &state.last {
                    return last.clone();
                }
            }
            if !state.running {
                state.running = true;
                state.started += 1;
                let number = state.started;
                drop(state);
                let rendered: Rendered = Arc::new(render(tpm));
                let Ok(mut state) = self.state.lock() else {
                    return rendered;
                };
                state.running = false;
                state.finished = number;
                state.last = Some(rendered.clone());
                self.done.notify_all();
                return rendered;
            }
            state = match self.done.wait(state) {
                Ok(s) => s,
                Err(_) => return Arc::new(render(tpm)),
            };
        }
    }
}

fn render(tpm: &Tpm) -> Result<Vec<u8>, ApiError> {
    let listing = tpm.list()?;
    serde_json::to_vec(&listing.processes)
        .map_err(|e| ApiError::internal(format!("cannot render JSON: {e}")))
}
