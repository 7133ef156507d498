//! `tpm serve`: the web dashboard and the HTTP API, one more front end over `tpm_core`.
//!
//! Like the CLI and the Nushell plugin, it parses requests, calls [`Tpm`], and renders
//! what the core returns: the API's JSON fields are `tpm list --json`'s, its errors carry the
//! CLI's message and help line. It holds no process logic. Module map:
//!
//! | module | owns |
//! |---|---|
//! | `config` | where to listen, and what that address allows |
//! | `token` | the API token, kept in the private store |
//! | `conns` | the accept loop: the cap on connections, the idle timeout |
//! | `guard` | who may do what: Host, Origin, the token, body sizes, security headers |
//! | `routes` | the route table: the router and the OpenAPI document list exactly these |
//! | `api` | one handler per route, each a call into the core |
//! | `own` | the server's own process, when tpm runs it: restarted by its supervisor |
//! | `shared_list` | one listing for the list requests that arrive together |
//! | `error` | the core's errors as HTTP statuses and JSON |
//! | `events` | the event stream: status changes, snapshots with CPU and memory, log lines |
//! | `assets` | the dashboard's files and the OpenAPI document, embedded in the binary |
//!
//! The core is synchronous (a stop waits for the process tree to go), so every call into it
//! runs on the runtime's blocking pool; two async threads serve the connections and the
//! event streams.

mod api;
mod assets;
pub mod config;
mod conns;
mod error;
mod events;
mod guard;
mod own;
pub mod routes;
mod shared_list;
pub mod token;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use tpm_core::{Context, Tpm};

pub use config::Config;
pub use conns::Limits;
pub use error::ServeError;
pub use token::Token;

/// Threads for connections and event streams: writing events to many streams is the
/// server's busiest work, and two threads keep a burst of it from delaying requests.
const ASYNC_THREADS: usize = 2;
/// Threads for calls into the core, at most.
const BLOCKING_THREADS: usize = 8;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    /// For everything but starting a stopped process by its name.
    pub tpm: Arc<Tpm>,
    /// For `POST /api/processes/{name}/start`: a context whose folder holds no file named
    /// like a process (the records' folder: every file there ends in `.meta`), so the core
    /// always reads the name as the stopped process's, never as a script beside the server.
    pub starter: Arc<Tpm>,
    pub config: Arc<Config>,
    pub token: Arc<Token>,
    pub hub: Arc<events::Hub>,
    pub list: Arc<shared_list::SharedList>,
}

/// Binds `config`'s address, then serves until the process ends. `ctx` is the context
/// processes are started with (the front end leaves out what only described itself, such
/// as its own `PORT`); `exe` the binary that supervises them. `on_ready` is told the
/// address bound (with port 0, the port the system chose) and the connection limits in
/// effect once requests are accepted.
///
/// On an address other than loopback, every API request needs the token, and a token must
/// exist already (`tpm serve --token` makes one): exposing the API is never the side effect
/// of a first run.
pub fn serve(
    ctx: Context,
    exe: PathBuf,
    config: Config,
    on_ready: impl FnOnce(SocketAddr, Limits),
) -> Result<(), ServeError> {
    let tpm = Tpm::new(ctx.clone(), exe.clone())?;
    let root = tpm.store().root().to_path_buf();
    let token = if config.is_loopback() {
        token::load_or_create(&tpm)?
    } else {
        token::load(&root)?.ok_or_else(|| ServeError::no_token_for(&config, &root))?
    };
    let listener = TcpListener::bind(config.addr()).map_err(|e| ServeError::bind(&config, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::bind(&config, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServeError::bind(&config, e))?;
    let limits = Limits::new(
        config.max_connections,
        conns::open_files_limit(),
        config.idle_timeout,
    );
    let starter = Tpm::new(starter_context(ctx, &root), exe)?;
    few_arenas();
    let tpm = Arc::new(tpm);
    let hub = events::Hub::start(tpm.clone());
    let state = AppState {
        tpm,
        starter: Arc::new(starter),
        config: Arc::new(config),
        token: Arc::new(token),
        hub,
        list: Arc::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(ASYNC_THREADS)
        .enable_io()
        .enable_time()
        .thread_name("tpm-serve")
        // Calls into the core run on these threads. A cap keeps the server's memory
        // bounded under any load (each thread brings a stack and an allocator arena);
        // requests beyond it wait their turn. Stops can take seconds, so not too few.
        .max_blocking_threads(BLOCKING_THREADS)
        // Idle ones end soon: an idle server keeps only what it needs.
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .build()
        .map_err(|e| ServeError::internal("cannot start the server's runtime", e))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| ServeError::internal("cannot listen", e))?;
        let app = routes::router(state);
        on_ready(addr, limits);
        conns::serve(listener, app, limits).await;
        Ok(())
    })
}

/// glibc gives each thread that allocates an arena of its own (up to 8 per core), and
/// memory freed in one is kept there: with a pool of threads serving bursts, the resident
/// size creeps up to the sum of every arena's high-water mark. Two arenas are plenty for a
/// server whose work is mostly waiting. Called before any thread of the server starts.
fn few_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; no thread of ours allocates concurrently
    // yet (the event hub and the runtime start after this).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// The context for starting a stopped process by name (see [`AppState::starter`]): the
/// records' folder as its working directory, and the store named by its absolute path so
/// that folder change does not move it.
fn starter_context(mut ctx: Context, root: &std::path::Path) -> Context {
    ctx.cwd = root.join("processes");
    if let Some(base) = root.parent() {
        ctx.env.retain(|(k, _)| k != "TETRA_DIR");
        ctx.env
            .push(("TETRA_DIR".into(), base.as_os_str().to_os_string()));
    }
    ctx
}
