//! The server's own process. Run under tpm (`tpm start "tpm serve" --name tetra`), the
//! server is a process the API can name, and acting on it as on any other would end the
//! server mid-request: a stop takes its whole tree down, this server with it, before the
//! answer is sent, and a restart's start half never runs (it stays stopped).
//!
//! So a restart is handed to its supervisor, which restarts the process behind it and
//! stays (SIGHUP, as `tpm reload` asks it), once the answer is out; a stop or a delete is
//! refused with the command that does it from a shell. An app named by its base name whose
//! instances include this server is refused whole, a restart too: the answer lists what
//! was done to each instance, and could not be written for this one.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use nix::sys::signal::Signal;
use serde::Serialize;
use tpm_core::proc::{Identity, Stat};
use tpm_core::{Name, Tpm};

use crate::error::ApiError;

/// How long after its answer is handed over the supervisor is asked: time for the last
/// bytes to leave before the supervisor's stop signal ends this server.
const FLUSH: Duration = Duration::from_millis(100);

/// Ancestors looked at, at most (a loop in `/proc` is not possible, but a bound is cheap).
const MAX_DEPTH: usize = 64;

/// A process whose tree holds this server.
pub(crate) struct Own {
    name: Name,
    /// Its supervisor, alive.
    supervisor: Option<Identity>,
    restarts: u32,
}

/// `name`, if this server runs in its tree: the process or its supervisor is this server
/// or one of its ancestors (a command string may run the server under a shell).
pub(crate) fn process(tpm: &Tpm, name: &Name) -> Option<Own> {
    // A record that cannot be read names no pid: the core says what it does with it (a
    // corrupt one can be deleted).
    let record = tpm.store().read(name).ok().flatten()?;
    let s = &record.state;
    let boot = s.boot_id.as_deref();
    let alive = |pid, start| Identity::from_parts(pid, start, boot).filter(Identity::is_alive);
    let process = alive(s.pid, s.pid_start);
    let supervisor = alive(s.spid, s.spid_start);
    let chain = ancestry();
    let mine = [&process, &supervisor]
        .into_iter()
        .flatten()
        .any(|id| chain.contains(&id.pid));
    mine.then(|| Own {
        name: name.clone(),
        supervisor,
        restarts: s.restarts,
    })
}

/// This process and its ancestors, up to (not including) init.
fn ancestry() -> Vec<u32> {
    let mut chain = vec![std::process::id()];
    let mut pid = std::process::id();
    while chain.len() < MAX_DEPTH {
        match Stat::read(pid) {
            Some(stat) if stat.ppid > 1 => {
                pid = stat.ppid;
                chain.push(pid);
            }
            _ => break,
        }
    }
    chain
}

/// What `POST .../restart` of the server's own process answers (202).
#[derive(Serialize)]
struct Restarting<'a> {
    name: &'a str,
    /// Its restarts now: the restart is done when they are more.
    restarts: u32,
    message: String,
}

impl Own {
    /// 202, and once the answer is out, the supervisor asked to restart the process.
    pub(crate) fn restart(self) -> Result<Response, ApiError> {
        let Some(supervisor) = self.supervisor else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "{} runs this server, and no supervisor of it runs to restart it",
                    self.name
                ),
                format!("restart it from a shell: `tpm restart {}`", self.name),
            ));
        };
        let body = Restarting {
            name: self.name.as_str(),
            restarts: self.restarts,
            message: format!(
                "{} runs this server: its supervisor restarts it once this answer is sent, and the server is back in a moment",
                self.name
            ),
        };
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| ApiError::internal(format!("cannot render JSON: {e}")))?;
        // The body owns the request to the supervisor: it is dropped once the server has
        // taken its bytes (or the client has gone), never before.
        let ask = AskWhenSent(Some(supervisor));
        let stream = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from(bytes))]);
        let stream = futures_util::StreamExt::map(stream, move |chunk| {
            let _ = &ask;
            chunk
        });
        let mut response = Response::new(Body::from_stream(stream));
        *response.status_mut() = StatusCode::ACCEPTED;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(response)
    }

    /// 409 for a stop or a delete (`verb`: "stop", "delete"), which would end the server
    /// before it could answer.
    pub(crate) fn refuse(&self, verb: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "{} runs this server: to {verb} it from here would end the server before it could answer",
                self.name
            ),
            format!("{verb} it from a shell: `tpm {verb} {}`", self.name),
        )
    }

    /// 409 for a stop, restart or delete of `app` (`verb`), one of whose instances is this
    /// process: nothing is done, and the help says how to do it instance by instance.
    pub(crate) fn refuse_app(&self, app: &str, verb: &str) -> ApiError {
        let here = match verb {
            "restart" => format!(
                "or here, each instance by its own name ({} last: its supervisor restarts it)",
                self.name
            ),
            _ => "or here, each other instance by its own name".to_string(),
        };
        ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "{app} includes {}, which runs this server: it cannot {verb} itself and answer for the other instances; nothing was done",
                self.name
            ),
            format!("{verb} it from a shell: `tpm {verb} {app}`; {here}"),
        )
    }
}

/// Sends the supervisor SIGHUP (a new process, same supervisor) when dropped, a moment
/// later.
struct AskWhenSent(Option<Identity>);

impl Drop for AskWhenSent {
    fn drop(&mut self) {
        let Some(supervisor) = self.0.take() else {
            return;
        };
        let ask = |supervisor: &Identity| {
            if !supervisor.signal(Signal::SIGHUP) {
                eprintln!(
                    "tpm serve: its supervisor exited before it could be asked to restart it"
                );
            }
        };
        let later = supervisor.clone();
        let spawned = std::thread::Builder::new()
            .name("tpm-serve-restart".into())
            .spawn(move || {
                std::thread::sleep(FLUSH);
                ask(&later);
            });
        // No thread: asked now, the answer most likely out already.
        if spawned.is_err() {
            ask(&supervisor);
        }
    }
}
