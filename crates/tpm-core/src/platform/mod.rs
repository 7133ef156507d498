//! What tpm needs of the operating system, named for what tpm does with it; the rest of the
//! core calls these and names no OS.
//!
//! What the OS says about processes (identity, tree, command line, environment, CPU and
//! memory, who listens on a port): `query`, with `query_linux` and `query_macos` below it.
//! Watching files for `--watch`: `watch`.

pub(crate) mod query;
#[cfg(target_os = "linux")]
pub(crate) mod query_linux;
#[cfg(target_os = "macos")]
mod query_macos;
// KERN_PROCARGS2's layout is read on every OS, so its tests run on Linux.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod procargs;
#[cfg(target_os = "linux")]
pub(crate) mod sockdiag;
pub(crate) mod watch;
#[cfg(target_os = "linux")]
mod watch_inotify;
#[cfg(any(target_os = "macos", all(test, target_os = "linux")))]
pub(crate) mod watch_notify;
