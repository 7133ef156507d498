//! One handler per route. Each turns the request into a call of the core (on the blocking
//! pool: the core waits on processes), and renders what comes back as `tpm ... --json` would.

use std::collections::HashMap;
use std::path::Path as FsPath;

use axum::body::to_bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tpm_core::ecosystem::document_from_value;
use tpm_core::{FileChoice, Name, Options, ProcessInfo, StartRequest, Tpm};

use crate::error::ApiError;
use crate::events::stream::{self, Filter};
use crate::guard::{too_large, MAX_BODY};
use crate::own;
use crate::AppState;

/// `?lines=` at most: a larger tail is a file to read, not a response.
const MAX_LINES: usize = 10_000;
/// `?lines=` when not given, as `tpm logs`.
const DEFAULT_LINES: usize = 50;

type Reply = Result<Response, ApiError>;

/// Runs a call of the core on the blocking pool. A panic there (a bug) is a 500 for this
/// request; the server goes on.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(ApiError::internal(
            "the request failed inside the server (a bug); nothing else was affected",
        )),
        Err(_) => Err(ApiError::internal("the request was cancelled")),
    }
}

pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => ApiError::internal(format!("cannot render JSON: {e}")).into_response(),
    }
}

/// The process a path names: a valid name that exists, or an id. Patterns and `all` are
/// not accepted here: one route, one process.
fn one(tpm: &Tpm, raw: &str) -> Result<Name, ApiError> {
    let name = Name::parse(raw)?;
    if tpm.store().exists(&name) {
        return Ok(name);
    }
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        if let Some(found) = tpm.resolve(&[raw.to_string()])?.pop() {
            return Ok(found);
        }
    }
    Err(tpm_core::Error::NotFound {
        name: raw.to_string(),
    }
    .into())
}

fn path_name(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(p)| p).map_err(|e| {
        ApiError::bad_request(
            format!("bad process name in the path: {e}"),
            "name a process by its name or id (UTF-8, percent-encoded)",
        )
    })
}

fn query(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    q.map(|Query(q)| q).map_err(|e| {
        ApiError::bad_request(
            format!("bad query string: {e}"),
            "GET /api/openapi.json lists each route's parameters",
        )
    })
}

/// `GET /api/processes`: `tpm list --json` (read once for requests that arrive together;
/// see `shared_list`).
pub(crate) async fn list(State(s): State<AppState>) -> Reply {
    blocking(move || match &*s.list.get(&s.tpm) {
        Ok(body) => {
            let mut response = (StatusCode::OK, body.clone()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(response)
        }
        Err(e) => Err(e.clone()),
    })
    .await
}

/// `GET /api/processes/{name}`: `tpm describe --json`: the list's fields, then the spec's
/// settings, its log files, its process tree and its last events.
pub(crate) async fn get_one(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    let raw = path_name(path)?;
    blocking(move || {
        let name = one(&s.tpm, &raw)?;
        Ok(json(StatusCode::OK, &s.tpm.describe(&name)?))
    })
    .await
}

#[derive(Clone, Copy)]
enum Action {
    Stop,
    Restart,
    Delete,
}

async fn act(s: AppState, path: Result<Path<String>, PathRejection>, action: Action) -> Reply {
    let raw = path_name(path)?;
    blocking(move || {
        let name = one(&s.tpm, &raw)?;
        // Its own process: acting on it as on another would end this server mid-request.
        if let Some(own) = own::process(&s.tpm, &name) {
            return match action {
                Action::Restart => own.restart(),
                Action::Stop => Err(own.refuse("stop")),
                Action::Delete => Err(own.refuse("delete")),
            };
        }
        let names = std::slice::from_ref(&name);
        let mut results = match action {
            Action::Stop => s.tpm.stop(names),
            Action::Restart => s.tpm.restart(names),
            Action::Delete => s.tpm.delete(names),
        };
        match results.pop() {
            Some((_, result)) => Ok(json(StatusCode::OK, &result?)),
            None => Err(ApiError::internal("the core returned no result")),
        }
    })
    .await
}

/// `POST /api/processes/{name}/start`: a stopped process started again (409 if it runs).
pub(crate) async fn start(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    let raw = path_name(path)?;
    blocking(move || {
        let name = one(&s.tpm, &raw)?;
        let info = s
            .starter
            .start(&StartRequest::new(name.as_str(), Options::default()))?;
        Ok(json(StatusCode::OK, &info))
    })
    .await
}

/// `POST /api/processes/{name}/stop`.
pub(crate) async fn stop(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    act(s, path, Action::Stop).await
}

/// `POST /api/processes/{name}/restart`; of the server's own process, 202 (see `own`).
pub(crate) async fn restart(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    act(s, path, Action::Restart).await
}

/// `DELETE /api/processes/{name}`: stopped, then its files removed; answers the process as
/// it was just before.
pub(crate) async fn delete(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    act(s, path, Action::Delete).await
}

/// `POST /api/processes`: starts one app, given as JSON with an ecosystem file's fields
/// (`script`, `name`, `args`, `cwd`, `env`, `port`, ...). Relative paths are taken from the
/// server's working directory. With `instances`, every instance is started and the answer
/// is a list of them.
pub(crate) async fn create(State(s): State<AppState>, req: Request) -> Reply {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON",
            "send `Content-Type: application/json` and an app spec such as {\"script\": \"server.sh\", \"port\": 3000}",
        ));
    }
    // Bodies without a length are cut at the limit too.
    let bytes = to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| too_large(None))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            format!("the body is not valid JSON: {e}"),
            "post one app spec as a JSON object: {\"script\": \"server.sh\", \"name\": \"api\", \"port\": 3000}",
        )
    })?;
    blocking(move || {
        let origin = FsPath::new("POST /api/processes");
        let document = document_from_value(value, origin, &s.tpm.context().cwd)?;
        if document.apps.len() != 1 {
            return Err(ApiError::bad_request(
                format!(
                    "{} apps were posted; post one at a time",
                    document.apps.len()
                ),
                "post one app spec as a JSON object (one request per app)",
            ));
        }
        let planned = s.tpm.plan_document(document, &FileChoice::default())?;
        for warning in &planned.warnings {
            eprintln!("tpm serve: warning: {warning}");
        }
        // With `instances`, a list whatever N is, as `tpm start --instances N --json`
        // prints one.
        let instances = planned
            .plans
            .iter()
            .any(|p| p.spec.cluster.instance.is_some());
        // One at a time, in order: instance 0 first, since the others may share its PORT,
        // which is checked for it alone. (The core's parallel `start_plans` is not public.)
        let mut started = Vec::new();
        let mut failed = Vec::new();
        for plan in planned.plans {
            let name = plan.name.clone();
            match s.tpm.start_planned(plan) {
                Ok(info) => started.push(info),
                Err(e) => failed.push((name, ApiError::from(e))),
            }
        }
        if !failed.is_empty() {
            return Err(not_all_started(&started, failed));
        }
        if instances {
            return Ok(json(StatusCode::CREATED, &started));
        }
        let Some(info) = started.pop() else {
            return Err(ApiError::internal("the app was planned to nothing"));
        };
        let mut response = json(StatusCode::CREATED, &info);
        if let Ok(location) = HeaderValue::from_str(&format!("/api/processes/{}", info.name)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    })
    .await
}

/// The error of a posted app of which some processes did not start: the first failure's
/// status, help and exit code, as for a single start, and a message that names every
/// failure and what started (those are left running, as `tpm start --instances` leaves
/// them).
fn not_all_started(started: &[ProcessInfo], failed: Vec<(Name, ApiError)>) -> ApiError {
    let total = started.len() + failed.len();
    let mut failures = failed.into_iter();
    let Some((first_name, first)) = failures.next() else {
        return ApiError::internal("no process failed to start");
    };
    if total == 1 {
        return first;
    }
    let said = |name: &Name, e: &ApiError| {
        if e.message.contains(name.as_str()) {
            e.message.clone()
        } else {
            format!("{name}: {}", e.message)
        }
    };
    let mut reasons = vec![said(&first_name, &first)];
    reasons.extend(failures.map(|(name, e)| said(&name, &e)));
    let running = if started.is_empty() {
        "none started".to_string()
    } else {
        let names: Vec<&str> = started.iter().map(|i| i.name.as_str()).collect();
        format!("started, and left running: {}", names.join(", "))
    };
    ApiError {
        message: format!(
            "{} of {total} instances did not start: {}; {running}",
            reasons.len(),
            reasons.join("; ")
        ),
        ..first
    }
}

/// `GET /api/processes/{name}/logs?lines=N`: the last lines, as `tpm logs --json` prints
/// them (stdout and stderr merged in time order).
pub(crate) async fn logs(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Reply {
    let raw = path_name(path)?;
    let q = query(q)?;
    let lines = match q.get("lines") {
        None => DEFAULT_LINES,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= MAX_LINES => n,
            _ => {
                return Err(ApiError::bad_request(
                    format!("lines={v:?} is not a number from 0 to {MAX_LINES}"),
                    format!("ask for at most {MAX_LINES} lines; `tpm logs` reads more"),
                ))
            }
        },
    };
    blocking(move || {
        let name = one(&s.tpm, &raw)?;
        Ok(json(StatusCode::OK, &s.tpm.logs(&[name], lines)?))
    })
    .await
}

/// `GET /api/processes/{name}/metrics`: CPU now and memory, every 2 s over the last
/// 5 minutes (since the server started, at most).
pub(crate) async fn metrics(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    let raw = path_name(path)?;
    blocking(move || {
        let name = one(&s.tpm, &raw)?;
        Ok(json(StatusCode::OK, &s.hub.history(name.as_str())))
    })
    .await
}

/// `GET /api/ports`: `tpm ports --json`.
pub(crate) async fn ports(State(s): State<AppState>) -> Reply {
    blocking(move || {
        let (ports, _) = s.tpm.ports()?;
        Ok(json(StatusCode::OK, &ports))
    })
    .await
}

/// `GET /api/events?name=NAME&logs=false`: server-sent events (see `events::stream`).
pub(crate) async fn events(
    State(s): State<AppState>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Reply {
    let q = query(q)?;
    let logs = match q.get("logs").map(String::as_str) {
        None | Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("logs={other:?} is neither true nor false"),
                "leave it out for log lines, or give logs=false",
            ))
        }
    };
    let name = match q.get("name") {
        None => None,
        Some(raw) => {
            let tpm = s.tpm.clone();
            let raw = raw.clone();
            Some(blocking(move || Ok(one(&tpm, &raw)?.to_string())).await?)
        }
    };
    if !stream::has_room(&s.hub) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} event streams are open, the most this server keeps",
                crate::events::MAX_STREAMS
            ),
            "close a dashboard tab, or try again later",
        ));
    }
    let sse = stream::subscribe(s.hub.clone(), Filter { name, logs });
    Ok(sse.into_response())
}

/// For routes that exist but not with this method: the `Allow`ed ones are in the OpenAPI
/// document; reads are never state changes, and changes never GETs.
pub(crate) async fn method_not_allowed(req: Request) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} is not a method of {}", req.method(), req.uri().path()),
        "GET reads; POST and DELETE change things. GET /api/openapi.json lists the routes",
    )
    .into_response()
}

pub(crate) async fn not_found(req: Request) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route {} {}", req.method(), req.uri().path()),
        "GET /api/openapi.json lists the routes",
    )
    .into_response()
}
