//! What the operating system says about processes, by functions named for what tpm asks;
//! `crate::proc` builds on these and names no OS.
//!
//! Each backend gives the same functions:
//! - `stat(pid) -> Option<Stat>`: state, parent, group, session, CPU time and start in
//!   clock ticks ([`crate::proc::ticks_per_second`]), resident memory in pages;
//! - `pids()`: every pid now; `children(pid, &mut out) -> bool`: a process's children,
//!   `false` where the OS cannot list them directly (every `stat` is read instead);
//! - `environ(pid)`, `cmdline(pid)`: NUL-separated entries, this user's processes only;
//! - `boot_id()`, `uptime_seconds()`: the boot, and the clock start times count on;
//! - `listener(port, pids)`, `port_taken(port)`, `port_holders(port)`,
//!   `listening_ports()`: who listens on TCP ports.
//!
//! Linux (`query_linux`): `/proc`, sock_diag and each process's descriptors, on either
//! mechanics backend (`/proc` is Linux's own process query, as libproc is macOS's).
//! macOS (`query_macos`): libproc (`proc_pidinfo`, `proc_pid_rusage`, `proc_listpids`,
//! `proc_pidfdinfo`) and `sysctl` (`KERN_PROCARGS2`, `kern.bootsessionuuid`).

#[cfg(target_os = "linux")]
pub(crate) use super::query_linux::*;
#[cfg(target_os = "macos")]
pub(crate) use super::query_macos::*;
