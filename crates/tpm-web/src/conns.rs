//! Connections: the accept loop, the cap on open connections, and the idle timeout.
//!
//! A connection holds a file descriptor for as long as it is open, and the server has only
//! so many (`ulimit -n`): connections that send nothing, half a request head, or sit idle
//! between requests must not be able to take them all, or the server could no longer
//! accept a request nor open a log file. So:
//!
//! - a connection with no request in flight (nothing sent yet, a head still arriving, or
//!   idle between requests) is closed once it has been so for the idle timeout;
//! - at most [`Limits::cap`] connections are open at once; one more evicts the connection
//!   that has been idle longest, and when none is idle (every connection is in a request:
//!   an event stream, a stop that takes seconds) it is answered 503 and closed;
//! - the cap is at most half the descriptors the server may open, whatever was asked:
//!   the other half is for the files the core reads and writes, the log followers, and the
//!   connections being turned away.
//!
//! A request is "in flight" from the moment its head is read until its response's body has
//! been written to the end (an event stream stays in flight for as long as it is open).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tower_service::Service;

use crate::error::ApiError;

/// Connections open at once, by default: room for every event stream the server keeps
/// (`events::MAX_STREAMS`) and as many requests again.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// How long a connection may stay without a request in flight, by default: long enough for
/// a browser to reuse it between a dashboard's requests, short enough that idle ones do not
/// pile up.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections being answered 503 at once; more are closed without an answer.
const REFUSALS: usize = 16;
/// How long a connection being answered 503 may take to send its request head.
const REFUSAL_TIME: Duration = Duration::from_secs(2);
/// The pause after the system refused to accept (out of descriptors): connections closing
/// meanwhile make room.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// The connection limits in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once.
    pub cap: usize,
    pub idle_timeout: Duration,
}

impl Limits {
    /// `asked` connections at most, and no more than half of `open_files` (the soft limit
    /// on open descriptors; `None` when unknown), at least one.
    pub fn new(asked: usize, open_files: Option<u64>, idle_timeout: Duration) -> Limits {
        let half = open_files.map_or(usize::MAX, |n| usize::try_from(n / 2).unwrap_or(usize::MAX));
        Limits {
            cap: asked.min(half).max(1),
            idle_timeout,
        }
    }
}

/// The soft limit on this process's open descriptors.
pub fn open_files_limit() -> Option<u64> {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _)| soft)
        .filter(|&soft| soft != nix::sys::resource::RLIM_INFINITY)
}

/// One open connection, as the table of them sees it.
struct Conn {
    /// Requests in flight (more than one only if a client pipelines).
    active: AtomicUsize,
    /// When the last request in flight ended (or the connection was accepted).
    idle_since: Mutex<Instant>,
    /// Told when the connection is evicted.
    evict: Notify,
}

impl Conn {
    fn idle_since(&self) -> Option<Instant> {
        if self.active.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(*self.idle_since.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Counts a request in flight while it lives: it is dropped once the response's body has
/// been written, or the connection has gone.
struct InFlight(Arc<Conn>);

impl InFlight {
    fn new(conn: &Arc<Conn>) -> InFlight {
        conn.active.fetch_add(1, Ordering::AcqRel);
        InFlight(conn.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The table of open connections.
struct Table {
    limits: Limits,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    next: AtomicUsize,
}

enum Admit {
    Yes(u64, Arc<Conn>),
    Full,
}

impl Table {
    /// A place for a new connection: a free one, or the one of the connection idle longest,
    /// which is told to close.
    fn admit(&self) -> Admit {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= self.limits.cap {
            let oldest = open
                .iter()
                .filter_map(|(id, c)| c.idle_since().map(|t| (t, *id)))
                .min();
            let Some((_, id)) = oldest else {
                return Admit::Full;
            };
            if let Some(evicted) = open.remove(&id) {
                evicted.evict.notify_one();
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed) as u64;
        let conn = Arc::new(Conn {
            active: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            evict: Notify::new(),
        });
        open.insert(id, conn.clone());
        Admit::Yes(id, conn)
    }

    fn remove(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

/// Accepts connections on `listener` and serves `app` on them, within `limits`, for ever.
pub(crate) async fn serve(listener: TcpListener, app: Router, limits: Limits) {
    let table = Arc::new(Table {
        limits,
        open: Mutex::default(),
        next: AtomicUsize::new(0),
    });
    let refusals = Arc::new(Semaphore::new(REFUSALS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors (or memory): wait for some to be freed. Anything else
                // (a connection reset before it was accepted) concerns that connection only.
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                ) {
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
                continue;
            }
        };
        match table.admit() {
            Admit::Yes(id, conn) => {
                tokio::spawn(connection(table.clone(), id, conn, stream, app.clone()));
            }
            Admit::Full => {
                if let Ok(permit) = refusals.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream, limits.cap).await;
                        drop(permit);
                    });
                }
                // Else dropped: closed at once.
            }
        }
    }
}

/// Serves one connection until it ends, is idle too long, or is evicted.
async fn connection(table: Arc<Table>, id: u64, conn: Arc<Conn>, stream: TcpStream, app: Router) {
    let service = {
        let conn = conn.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let in_flight = InFlight::new(&conn);
            let mut app = app.clone();
            async move {
                let response = app.call(req).await?;
                // The body carries the count until hyper has written it all (or dropped it).
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &in_flight;
                        frame
                    }))
                }))
            }
        })
    };
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(served);
    let timeout = table.limits.idle_timeout;
    let mut evicted = false;
    loop {
        let deadline = conn.idle_since().map_or(Instant::now(), |since| since) + timeout;
        tokio::select! {
            _ = served.as_mut() => break,
            _ = conn.evict.notified(), if !evicted => {
                if conn.idle_since().is_some() {
                    break;
                }
                // A request began since it was chosen: answered, then closed.
                evicted = true;
                served.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep_until(deadline) => {
                if conn.idle_since().is_some_and(|since| since.elapsed() >= timeout) {
                    break;
                }
            }
        }
    }
    table.remove(id);
}

/// Answers one request 503 (read within [`REFUSAL_TIME`]), then closes.
async fn refuse(stream: TcpStream, cap: usize) {
    let service = hyper::service::service_fn(move |_req: Request<Incoming>| async move {
        Ok::<_, Infallible>(busy(cap))
    });
    let served = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(REFUSAL_TIME, served).await;
}

fn busy(cap: usize) -> Response {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("{cap} connections are open and in requests, the most this server keeps"),
        "close a dashboard tab or an event stream, or try again in a moment",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_at_most_half_the_open_files_and_at_least_one() {
        let t = DEFAULT_IDLE_TIMEOUT;
        assert_eq!(Limits::new(512, Some(1024), t).cap, 512);
        assert_eq!(Limits::new(512, Some(128), t).cap, 64);
        assert_eq!(Limits::new(10, Some(128), t).cap, 10);
        assert_eq!(Limits::new(512, None, t).cap, 512);
        assert_eq!(Limits::new(512, Some(1), t).cap, 1);
        assert_eq!(Limits::new(0, Some(1024), t).cap, 1);
    }

    #[test]
    fn a_full_table_evicts_the_connection_idle_longest_and_never_one_in_a_request() {
        let table = Table {
            limits: Limits::new(2, None, DEFAULT_IDLE_TIMEOUT),
            open: Mutex::default(),
            next: AtomicUsize::new(0),
        };
        let Admit::Yes(first, a) = table.admit() else {
            panic!("room")
        };
        let Admit::Yes(_, b) = table.admit() else {
            panic!("room")
        };
        let busy_b = InFlight::new(&b);
        // `a` idle, `b` in a request: the third evicts `a`.
        let Admit::Yes(_, c) = table.admit() else {
            panic!("a is idle")
        };
        assert!(!table.open.lock().unwrap().contains_key(&first));
        let _busy_c = InFlight::new(&c);
        assert!(matches!(table.admit(), Admit::Full));
        // Once `b`'s request ends, it may go.
        drop(busy_b);
        assert!(matches!(table.admit(), Admit::Yes(..)));
        drop(a);
    }
}
