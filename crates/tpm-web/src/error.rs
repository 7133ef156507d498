//! Errors, as the CLI says them: a message and a `help:` line. Over HTTP they are JSON
//! (`{"error", "help", "exit_code"}`) with a status that fits; at start-up they are
//! [`ServeError`]s for the serve command to print.

use std::fmt;
use std::path::Path;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tpm_core::Error;

use crate::config::Config;

/// Why `tpm serve` could not start.
#[derive(Debug)]
pub struct ServeError {
    pub message: String,
    pub help: Option<String>,
    /// The exit code, as the CLI's table says.
    pub exit_code: i32,
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServeError {}

impl From<Error> for ServeError {
    fn from(e: Error) -> Self {
        ServeError {
            message: e.to_string(),
            help: e.help(),
            exit_code: e.exit_code(),
        }
    }
}

impl ServeError {
    fn new(message: String, help: impl Into<String>, exit_code: i32) -> ServeError {
        ServeError {
            message,
            help: Some(help.into()),
            exit_code,
        }
    }

    pub(crate) fn bind(config: &Config, e: std::io::Error) -> ServeError {
        let help = match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "something already listens on port {}: stop it, or choose another with --port N (`tpm ports` shows tpm's)",
                config.port
            ),
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges: choose --port 1024 or above".into()
            }
            _ => "check --bind names an address of this machine (127.0.0.1 by default)".into(),
        };
        ServeError::new(
            format!("cannot listen on {}: {e}", config.addr()),
            help,
            tpm_core::error::EXIT_FAILURE,
        )
    }

    pub(crate) fn no_token_for(config: &Config, root: &Path) -> ServeError {
        ServeError::new(
            format!(
                "refusing to serve on {}, which other machines can reach, without a token ({} does not exist)",
                config.bind,
                crate::token::path(root).display()
            ),
            "run `tpm serve --token` to make one (every request will need it), or serve on 127.0.0.1",
            tpm_core::error::EXIT_USAGE,
        )
    }

    pub(crate) fn token_io(action: &str, file: impl AsRef<Path>, e: std::io::Error) -> ServeError {
        ServeError {
            message: format!("{action} {}: {e}", file.as_ref().display()),
            help: None,
            exit_code: tpm_core::error::EXIT_FAILURE,
        }
    }

    pub(crate) fn token_exposed(file: &Path, mode: u32) -> ServeError {
        ServeError::new(
            format!(
                "{} is readable by other users or not yours (mode {mode:o}): its token may be known",
                file.display()
            ),
            format!(
                "delete it (`rm {}`); the next `tpm serve --token` makes a new one",
                file.display()
            ),
            tpm_core::error::EXIT_FAILURE,
        )
    }

    pub(crate) fn token_invalid(file: &Path, min: usize) -> ServeError {
        ServeError::new(
            format!(
                "{} does not hold a usable token (at least {min} printable characters, no spaces)",
                file.display()
            ),
            format!(
                "delete it (`rm {}`); the next `tpm serve --token` makes a new one",
                file.display()
            ),
            tpm_core::error::EXIT_FAILURE,
        )
    }

    pub(crate) fn internal(what: &str, e: impl fmt::Display) -> ServeError {
        ServeError {
            message: format!("{what}: {e}"),
            help: None,
            exit_code: tpm_core::error::EXIT_FAILURE,
        }
    }
}

/// An error answered over HTTP.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub help: Option<String>,
    /// The CLI's exit code for the same error, when it came from the core.
    pub exit_code: Option<i32>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    help: Option<&'a str>,
    status: u16,
    exit_code: Option<i32>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>, help: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            help: Some(help.into()),
            exit_code: None,
        }
    }

    pub fn bad_request(message: impl Into<String>, help: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message, help)
    }

    /// A bug or a failed thread: said as it is, and the server carries on.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            help: Some("the server keeps running; its own output (`tpm logs` when run under tpm) may say more".into()),
            exit_code: None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        // A posted app's error, said as the app's: the help the core adds for ecosystem
        // files (paths taken from the file's folder) does not hold for a request.
        if let Error::App { app, source, .. } = e {
            let inner = ApiError::from(*source);
            return ApiError {
                message: format!("{app}: {}", inner.message),
                ..inner
            };
        }
        ApiError {
            status: status_of(&e),
            message: e.to_string(),
            help: e.help(),
            exit_code: Some(e.exit_code()),
        }
    }
}

/// The HTTP status for a core error: the core's class of it (see `Error::class`).
fn status_of(e: &Error) -> StatusCode {
    StatusCode::from_u16(e.class().http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: &self.message,
            help: self.help.as_deref(),
            status: self.status.as_u16(),
            exit_code: self.exit_code,
        };
        let text = serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"error":"the error could not be rendered","help":null}"#.to_string()
        });
        let mut response = (self.status, text).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tpm\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_fitting_statuses() {
        let cases = [
            (Error::NotFound { name: "x".into() }, 404),
            (
                Error::AlreadyRunning {
                    name: "x".into(),
                    status: "online".into(),
                    pid: Some(1),
                },
                409,
            ),
            (Error::Usage("bad".into()), 400),
            (
                Error::InvalidName {
                    name: "../x".into(),
                    reason: "r",
                },
                400,
            ),
            (Error::NoPort { target: "t".into() }, 400),
        ];
        for (e, status) in cases {
            let api = ApiError::from(e);
            assert_eq!(api.status.as_u16(), status, "{}", api.message);
            assert!(api.help.is_some());
        }
    }
}
