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
use tpm_core::{FileChoice, Name, Options, StartRequest, Tpm};

use crate::error::ApiError;
use crate::events::stream::{self, Filter};
use crate::guard::{too_large, MAX_BODY};
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

/// `POST /api/processes/{name}/restart`.
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
/// server's working directory.
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
        let mut planned = s.tpm.plan_document(document, &FileChoice::default())?;
        for warning in &planned.warnings {
            eprintln!("tpm serve: warning: {warning}");
        }
        let Some(plan) = planned.plans.pop() else {
            return Err(ApiError::internal("the app was planned to nothing"));
        };
        let info = s.tpm.start_planned(plan)?;
        let mut response = json(StatusCode::CREATED, &info);
        if let Ok(location) = HeaderValue::from_str(&format!("/api/processes/{}", info.name)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    })
    .await
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
