//! Who may do what, checked before any handler runs:
//!
//! 1. On loopback, the `Host` must be a loopback name: a page of another site whose name
//!    was re-pointed at 127.0.0.1 (DNS rebinding) is refused before it reads anything.
//! 2. Other origins get nothing: no CORS headers are ever sent, and an API request (or any
//!    request that is not a read) that a browser marks as coming from another site, or
//!    whose `Origin` is not this server, is refused (403).
//! 3. A request that changes something (anything but GET and HEAD: the routes change
//!    things with POST and DELETE only) needs the token; off loopback, every API request
//!    does (401), and so does `/metrics` (Prometheus sends it as its bearer token). The
//!    page's own files hold no data and are served to anyone, so a browser
//!    can load the page and ask for the token.
//! 4. A body larger than [`MAX_BODY`] is refused (413) before it is read.
//!
//! Every response gets headers that keep the page from being framed, sniffed or given
//! scripts from elsewhere.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// The largest request body: an app spec is a few hundred bytes.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The page runs only its own scripts and styles and talks only to this server.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = is_api(req.uri().path());
    let response = match check(&state, req.method(), req.headers(), api) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    secure(response, api)
}

/// The API, and `/metrics` (every process's name, command and figures): the rules of
/// reads apply to both.
fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/metrics"
}

fn check(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    api: bool,
) -> Result<(), ApiError> {
    let reads = method == Method::GET || method == Method::HEAD;
    let loopback = state.config.is_loopback();
    let host = text(headers, header::HOST)?;
    if loopback {
        if let Some(host) = host.filter(|h| !is_loopback_host(h)) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("this server answers to loopback names only, not to Host {host:?}"),
                format!(
                    "open http://127.0.0.1:{}/ (or localhost); to serve other machines, start it with --bind",
                    state.config.port
                ),
            ));
        }
    }
    if api || !reads {
        let site = text(headers, header::HeaderName::from_static("sec-fetch-site"))?;
        let foreign_site = matches!(site, Some("cross-site" | "same-site"));
        let origin = text(headers, header::ORIGIN)?;
        let foreign_origin = match (origin, host) {
            (Some(origin), Some(host)) => origin != format!("http://{host}"),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if foreign_site || foreign_origin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "requests from other sites are refused (Origin {})",
                    origin.unwrap_or("not given")
                ),
                "use the dashboard this server serves, or a client that is not a web page (curl, Nushell's http)",
            ));
        }
    }
    if let Some(length) = text(headers, header::CONTENT_LENGTH)? {
        match length.parse::<u64>() {
            Ok(n) if n <= MAX_BODY as u64 => {}
            Ok(n) => return Err(too_large(Some(n))),
            Err(_) => {
                return Err(ApiError::bad_request(
                    format!("Content-Length {length:?} is not a number"),
                    "send a valid request",
                ))
            }
        }
    }
    if !reads || (api && !loopback) {
        let given = text(headers, header::AUTHORIZATION)?;
        let token = given.and_then(bearer);
        match token {
            Some(t) if state.token.matches(t) => {}
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "the token is wrong",
                    "`tpm serve --token` prints the right one, for `Authorization: Bearer TOKEN`",
                ))
            }
            None => {
                let what = if reads {
                    "off loopback, every API request needs the token"
                } else {
                    "a request that changes something needs the token"
                };
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    what,
                    "send `Authorization: Bearer TOKEN`; `tpm serve --token` prints it",
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn too_large(size: Option<u64>) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        match size {
            Some(n) => format!("the body is {n} bytes; at most {MAX_BODY} are read"),
            None => format!("the body is larger than {MAX_BODY} bytes"),
        },
        "post one app spec (its fields, as in an ecosystem file)",
    )
}

/// A header as text; one that is not visible ASCII is a bad request, not a panic.
fn text(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&str>, ApiError> {
    match headers.get(&name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| {
            ApiError::bad_request(
                format!("the {name} header is not text"),
                "send header values in ASCII",
            )
        }),
    }
}

/// The token of an `Authorization: Bearer TOKEN` value. The scheme's case does not matter
/// (RFC 7235: `bearer` and `BEARER` are `Bearer`).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// `localhost`, `127.x.x.x` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn secure(mut response: Response, api: bool) -> Response {
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(
        h,
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if api && !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "Bearer  abc "] {
            assert_eq!(bearer(value), Some("abc"), "{value}");
        }
        for value in ["Basic abc", "Bearerabc", "abc", ""] {
            assert_eq!(bearer(value), None, "{value}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised_and_others_are_not() {
        for host in [
            "127.0.0.1:4444",
            "localhost:4444",
            "LOCALHOST",
            "[::1]:4444",
            "127.8.9.1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:4444",
            "10.0.0.1:4444",
            "localhost.evil:4444",
            "[::2]:1",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
