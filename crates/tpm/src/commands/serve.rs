//! `tpm serve`: the web dashboard and the HTTP API, from the `tpm-web` crate; this file
//! only reads the flags and prints where it listens.

use std::ffi::OsStr;
use std::net::IpAddr;

use tpm_core::error::EXIT_USAGE;
use tpm_core::{Context, Error, Tpm};
use tpm_web::{config, Config, ServeError};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The dashboard is at http://127.0.0.1:4444/, the API under /api (GET /api/openapi.json describes it).\nRequests that change something need `Authorization: Bearer TOKEN` (off loopback, every request does); --token prints the token.\nExamples:\n  tpm serve\n  tpm start \"tpm serve\" --name tetra               # runs as tetra-4444\n  curl -X POST -H \"Authorization: Bearer $(tpm serve --token)\" localhost:4444/api/processes/web-7777/restart"
)]
pub struct ServeArgs {
    /// The port to listen on (default: $PORT when set, else 4444; 0: any free port)
    #[arg(long, short = 'p', value_name = "N")]
    pub port: Option<u16>,
    /// The address to listen on. Other than loopback, every API request needs the token,
    /// and a token must exist (make it with --token first)
    #[arg(long, value_name = "ADDRESS", default_value_t = config::DEFAULT_BIND)]
    pub bind: IpAddr,
    /// Connections open at once, at most half the open-file limit (`ulimit -n`); past it the
    /// connection idle longest is closed, or, when all are in requests, the new one gets 503
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MAX_CONNECTIONS, value_parser = max_connections)]
    pub max_connections: usize,
    /// How long a connection may stay without a request in flight (nothing sent, a request
    /// head still arriving, or idle between requests) before it is closed (30s, 2m, ms)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = idle_timeout)]
    pub idle_timeout: std::time::Duration,
    /// Print the API token (made on first use, kept in $TETRA_DIR/tpm/web.token) and exit
    #[arg(long)]
    pub token: bool,
}

pub fn run(tpm: &Tpm, args: ServeArgs) -> tpm_core::Result<i32> {
    if args.token {
        return Ok(match tpm_web::token::load_or_create(tpm) {
            Ok(token) => {
                crate::render::line(token.as_str());
                0
            }
            Err(e) => print(&e),
        });
    }
    // Under tpm (`tpm start "tpm serve" --name tetra`: tetra-4444), the port tpm named it by
    // is in PORT.
    let port = match (args.port, tpm.context().var("PORT")) {
        (Some(port), _) => port,
        (None, Some(raw)) if !raw.is_empty() => port_of(raw)?,
        (None, _) => config::DEFAULT_PORT,
    };
    let config = Config {
        bind: args.bind,
        port,
        max_connections: args.max_connections,
        idle_timeout: args.idle_timeout,
    };
    let exe = std::env::current_exe().map_err(|e| Error::Supervisor {
        name: "tpm serve".into(),
        message: format!("cannot find the tpm binary to run supervisors: {e}"),
    })?;
    let rule = config.token_rule();
    let asked = config.max_connections;
    let served = tpm_web::serve(start_context(tpm.context()), exe, config, |addr, limits| {
        let lowered = if limits.cap < asked {
            " (half the open-file limit, `ulimit -n`)"
        } else {
            ""
        };
        let idle = crate::render::millis(
            u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX),
        );
        // One write: a launcher that reads the address line and then closes the pipe must
        // not find the server killed by SIGPIPE on a later line.
        crate::render::text(&format!(
            "tpm serve: the dashboard is at http://{addr}/ and the API under http://{addr}/api/ (Ctrl-C stops it)\n\
             tpm serve: {rule}: `tpm serve --token` prints it\n\
             tpm serve: at most {} connections{lowered}; one without a request for {idle} is closed\n",
            limits.cap,
        ));
    });
    Ok(match served {
        Ok(()) => 0,
        Err(e) => print(&e),
    })
}

/// `--max-connections`: one at least.
fn max_connections(raw: &str) -> Result<usize, String> {
    match raw.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{raw:?} is not a number of connections (1 or more)"
        )),
    }
}

/// `--idle-timeout`: a duration, not zero.
fn idle_timeout(raw: &str) -> Result<std::time::Duration, String> {
    match tpm_core::options::parse_millis(raw) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "{raw:?} is not a duration above zero (milliseconds, or 500ms, 30s, 2m)"
        )),
    }
}

fn port_of(raw: &OsStr) -> tpm_core::Result<u16> {
    raw.to_str()
        .and_then(tpm_core::port::parse_port)
        .ok_or_else(|| {
            Error::Usage(format!(
                "PORT={raw:?} in the environment is not a port number; give --port N"
            ))
        })
}

/// The processes the server starts get the environment it was started with, less what
/// described the server itself when tpm runs it (its PORT, name and id): a posted app
/// without a port must not be named after the server's.
fn start_context(ctx: &Context) -> Context {
    let mut ctx = ctx.clone();
    ctx.env
        .retain(|(k, _)| !matches!(k.to_str(), Some("PORT" | "TPM_NAME" | "TPM_ID")));
    ctx
}

fn print(e: &ServeError) -> i32 {
    crate::render::eline(&format!("tpm: {e}"));
    if let Some(help) = &e.help {
        crate::render::eline(&format!("  help: {help}"));
    }
    if e.exit_code == 0 {
        EXIT_USAGE
    } else {
        e.exit_code
    }
}
