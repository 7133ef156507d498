//! One handler per route. Each turns the request into a call of the core (on the blocking
//! pool: the core waits on processes), and renders what comes back as `tpm ... --json` would.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path as FsPath;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tpm_core::command::Action;
use tpm_core::ecosystem::document_from_value;
use tpm_core::ops::Each;
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
/// The text of the lines in one logs answer, at most (timestamps included): lines of 64 KiB
/// would otherwise make ten thousand of them an answer of 640 MB, held in memory to write.
/// The newest lines that fit are answered; how many of those asked for were left out is
/// said in [`LINES_CUT`].
pub(crate) const MAX_LOG_BYTES: usize = 2 * 1024 * 1024;
/// The header of a logs answer that says how many of the lines asked for were left out to
/// stay within [`MAX_LOG_BYTES`] (0: none).
pub(crate) const LINES_CUT: &str = "tpm-lines-cut";

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

/// What a path (or `?name=`) names, resolved as the CLI's commands resolve a name: one
/// process, by its exact name or its id; else an app, by its base name, which stands for
/// its instances (`app-3000` for `app-3000-0`, `app-3000-1`...; see `Tpm::instances_of`).
/// Patterns and `all` are not accepted here: one route, one process or one app.
enum Target {
    One(Name),
    /// The app's instances, by instance number (never empty).
    App(Vec<Name>),
}

fn target(tpm: &Tpm, raw: &str) -> Result<Target, ApiError> {
    // Parsed first: a path out of the store or a pattern is a 400 before any lookup.
    let name = Name::parse(raw)?;
    if tpm.store().exists(&name) {
        return Ok(Target::One(name));
    }
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        if let Some(found) = tpm.resolve(&[raw.to_string()])?.pop() {
            return Ok(Target::One(found));
        }
    }
    // The core's own lookup of an app's name (`Tpm::resolve` would also read an ecosystem
    // file of that name in the server's working directory, which a path must not reach).
    let (all, _) = tpm.store().names()?;
    let instances = tpm.instances_of(name.as_str(), &all);
    if !instances.is_empty() {
        return Ok(Target::App(instances));
    }
    Err(tpm_core::Error::NotFound {
        name: raw.to_string(),
    }
    .into())
}

impl Target {
    /// Every process it stands for.
    fn names(&self) -> &[Name] {
        match self {
            Target::One(name) => std::slice::from_ref(name),
            Target::App(names) => names,
        }
    }
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
/// settings, its log files, its process tree and its last events. Of an app, a list: each
/// instance described, as `tpm describe APP --json` prints them (a list even of one
/// instance, so the answer's shape depends on what was named, not on how many run).
pub(crate) async fn get_one(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    let raw = path_name(path)?;
    blocking(move || match target(&s.tpm, &raw)? {
        Target::One(name) => Ok(json(StatusCode::OK, &s.tpm.describe(&name)?)),
        Target::App(names) => {
            let described = names
                .iter()
                .map(|n| s.tpm.describe(n))
                .collect::<tpm_core::Result<Vec<_>>>()?;
            Ok(json(StatusCode::OK, &described))
        }
    })
    .await
}

/// Each process's result, in order.
fn run(action: Action, dependants: bool, s: &AppState, names: &[Name]) -> Each<ProcessInfo> {
    match action {
        // Through the starter (see `AppState::starter`), one by one, as `tpm start APP`
        // starts an app's existing instances.
        Action::Start => names
            .iter()
            .map(|n| {
                let req = StartRequest::new(n.as_str(), Options::default());
                (n.clone(), s.starter.start(&req))
            })
            .collect(),
        Action::Stop => s.tpm.stop(names),
        Action::Restart if dependants => s.tpm.restart_with_dependants(names),
        Action::Restart => s.tpm.restart(names),
        Action::Delete => s.tpm.delete(names),
    }
}

/// `dependants`: a restart takes the running processes that depend on it too (the answer is
/// then a list).
async fn act(
    s: AppState,
    path: Result<Path<String>, PathRejection>,
    action: Action,
    dependants: bool,
) -> Reply {
    let raw = path_name(path)?;
    blocking(move || {
        let target = target(&s.tpm, &raw)?;
        // Its own process: acting on it as on another would end this server mid-request.
        // A start leaves it be (it runs: the core answers 409).
        if !matches!(action, Action::Start) {
            let own = target.names().iter().find_map(|n| own::process(&s.tpm, n));
            match (own, &target) {
                (None, _) => {}
                (Some(own), Target::One(_)) => {
                    return match action {
                        Action::Restart => own.restart(),
                        _ => Err(own.refuse(action.verb())),
                    };
                }
                // Of an app, nothing is done: an answer listing each instance could not be
                // written once this server has stopped or restarted itself.
                (Some(own), Target::App(_)) => return Err(own.refuse_app(&raw, action.verb())),
            }
        }
        let results = run(action, dependants, &s, target.names());
        if let (Target::One(_), false) = (&target, dependants) {
            return match results.into_iter().next() {
                Some((_, result)) => Ok(json(StatusCode::OK, &result?)),
                None => Err(ApiError::internal("the core returned no result")),
            };
        }
        // Of an app, every instance is acted on whatever happens to the others, as the CLI
        // does; the answer is all of them, or the first failure's error naming each.
        let mut done = Vec::new();
        let mut failed = Vec::new();
        for (name, result) in results {
            match result {
                Ok(info) => done.push(info),
                Err(e) => failed.push((name, ApiError::from(e))),
            }
        }
        if !failed.is_empty() {
            return Err(not_all(action, &done, failed));
        }
        Ok(json(StatusCode::OK, &done))
    })
    .await
}

/// `POST /api/processes/{name}/start`: a stopped process started again (409 if it runs);
/// of an app, each instance.
pub(crate) async fn start(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    act(s, path, Action::Start, false).await
}

/// `POST /api/processes/{name}/stop`.
pub(crate) async fn stop(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    act(s, path, Action::Stop, false).await
}

/// `POST /api/processes/{name}/restart`; of the server's own process, 202 (see `own`).
/// With `?with_dependants=true`, the running processes that depend on it too: the answer
/// is then a list (it, then them).
pub(crate) async fn restart(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Reply {
    let dependants = match query(q)?.get("with_dependants").map(String::as_str) {
        None | Some("false" | "0") => false,
        Some("true" | "1" | "") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("with_dependants={other:?} is not true or false"),
                "give with_dependants=true to restart what depends on it too",
            ))
        }
    };
    act(s, path, Action::Restart, dependants).await
}

/// `DELETE /api/processes/{name}`: stopped, then its files removed; answers the process as
/// it was just before.
pub(crate) async fn delete(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    act(s, path, Action::Delete, false).await
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
        // Instance 0 first, since the others may share its PORT, which is checked for it
        // alone; then the others, a few at a time, as `tpm start` starts them.
        let mut started = Vec::new();
        let mut failed = Vec::new();
        for (name, result) in s.tpm.start_plans(planned.plans) {
            match result {
                Ok(info) => started.push(info),
                Err(e) => failed.push((name, ApiError::from(e))),
            }
        }
        if !failed.is_empty() {
            return Err(not_all(Action::Start, &started, failed));
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

/// The error of an action on several instances of which some failed (a posted app's, or
/// an app's by its name): the first failure's status, help and exit code, as for a single
/// process, and a message that names every failure and what was done (those are left so,
/// as the CLI leaves them).
fn not_all(action: Action, done: &[ProcessInfo], failed: Vec<(Name, ApiError)>) -> ApiError {
    let total = done.len() + failed.len();
    let mut failures = failed.into_iter();
    let Some((first_name, first)) = failures.next() else {
        return ApiError::internal(format!("no process failed to {}", action.verb()));
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
    let what = if done.is_empty() {
        format!("none {}", action.done())
    } else {
        let names: Vec<&str> = done.iter().map(|i| i.name.as_str()).collect();
        let left = match action {
            Action::Start => ", and left running",
            _ => "",
        };
        format!("{}{left}: {}", action.done(), names.join(", "))
    };
    ApiError {
        message: format!(
            "{} of {total} instances did not {}: {}; {what}",
            reasons.len(),
            action.verb(),
            reasons.join("; ")
        ),
        ..first
    }
}

/// `GET /api/processes/{name}/logs?lines=N`: the last lines, as `tpm logs --json` prints
/// them (stdout and stderr merged in time order); of an app, as `tpm logs APP --json`: the
/// last N lines of each instance, one instance after the other.
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
        let target = target(&s.tpm, &raw)?;
        let tail = s.tpm.logs_within(target.names(), lines, MAX_LOG_BYTES)?;
        let mut response = (StatusCode::OK, json_array(tail.lines)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(LINES_CUT, HeaderValue::from(tail.cut));
        Ok(response)
    })
    .await
}

/// A JSON array written one item at a time: the items are held once, never also as one
/// rendered text.
fn json_array<T: Serialize + Send + 'static>(items: Vec<T>) -> Body {
    let mut first = true;
    let each = items.into_iter().map(move |item| {
        let mut bytes = if std::mem::take(&mut first) {
            Vec::new()
        } else {
            vec![b',']
        };
        if serde_json::to_writer(&mut bytes, &item).is_err() {
            bytes.extend_from_slice(b"null");
        }
        Ok::<_, Infallible>(Bytes::from(bytes))
    });
    let all = std::iter::once(Ok(Bytes::from_static(b"[")))
        .chain(each)
        .chain(std::iter::once(Ok(Bytes::from_static(b"]"))));
    Body::from_stream(futures_util::stream::iter(all))
}

/// `GET /api/processes/{name}/metrics`: CPU now and memory, every 2 s over the last
/// 5 minutes (since the server started, at most). Of an app, a list: each instance's name
/// and its points (one instance's points say nothing of whose they are).
pub(crate) async fn metrics(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    #[derive(Serialize)]
    struct Of {
        name: String,
        points: Vec<crate::events::Point>,
    }
    let raw = path_name(path)?;
    blocking(move || match target(&s.tpm, &raw)? {
        Target::One(name) => Ok(json(StatusCode::OK, &s.hub.history(name.as_str()))),
        Target::App(names) => {
            let each: Vec<Of> = names
                .into_iter()
                .map(|n| Of {
                    points: s.hub.history(n.as_str()),
                    name: n.to_string(),
                })
                .collect();
            Ok(json(StatusCode::OK, &each))
        }
    })
    .await
}

/// `GET /metrics`: every process for Prometheus, as `tpm metrics` prints it; OpenMetrics
/// when the scraper's `Accept` prefers it (Prometheus does).
pub(crate) async fn prometheus(State(s): State<AppState>, headers: HeaderMap) -> Reply {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = tpm_core::metrics::Format::from_accept(accept);
    blocking(move || {
        let text = s.tpm.metrics()?.render(format);
        let mut response = (StatusCode::OK, text).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        Ok(response)
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

/// `GET /api/events?name=NAME&logs=false`: server-sent events (see `events::stream`); `NAME`
/// may be an app's, for its instances' events.
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
    // An app's name stands for the instances it has now.
    let names = match q.get("name") {
        None => None,
        Some(raw) => {
            let tpm = s.tpm.clone();
            let raw = raw.clone();
            let target = blocking(move || target(&tpm, &raw)).await?;
            Some(target.names().iter().map(Name::to_string).collect())
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
    let sse = stream::subscribe(s.hub.clone(), Filter { names, logs });
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
