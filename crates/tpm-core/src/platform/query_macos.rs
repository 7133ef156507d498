//! macOS's answers to [`super::query`], from libproc (the `proc_pidinfo` family the
//! system's own `ps` and `lsof` use) and `sysctl`.
//!
//! Units are made Linux's so that the rest of tpm reads one kind of [`Stat`]: CPU time and
//! the start in clock ticks ([`crate::proc::ticks_per_second`]), memory in pages. The start
//! is `proc_pid_rusage`'s `ri_proc_start_abstime`, on the clock `mach_absolute_time` reads
//! (it counts from boot and stops while the machine sleeps): unlike the wall-clock start
//! `proc_bsdinfo` gives, it never moves when the clock is set, so a process's identity stays
//! the same for its life. [`uptime_seconds`] reads the same clock.

use std::sync::OnceLock;

use libproc::libproc::bsd_info::BSDInfo;
use libproc::libproc::file_info::{pidfdinfo, ListFDs, ProcFDType};
use libproc::libproc::net_info::{SocketFDInfo, SocketInfoKind, TcpSIState};
use libproc::libproc::pid_rusage::{pidrusage, RUsageInfoV2};
use libproc::libproc::proc_pid::{listpidinfo, pidinfo};
use libproc::processes::{pids_by_type, ProcFilter};

use crate::proc::{page_size, ticks_per_second, Stat};

/// `mach_timebase_info`'s answer: mach time units times `numer / denom` are nanoseconds.
#[repr(C)]
#[derive(Default)]
struct Timebase {
    numer: u32,
    denom: u32,
}

// Declared here rather than taken from `libc`, which marks its own declarations deprecated
// in favour of another crate; these two are all tpm needs of Mach.
extern "C" {
    fn mach_absolute_time() -> u64;
    fn mach_timebase_info(info: *mut Timebase) -> libc::c_int;
}

/// Nanoseconds from mach time units (1:1 on Intel, 125:3 on Apple silicon).
fn mach_to_nanos(t: u64) -> u64 {
    static BASE: OnceLock<(u64, u64)> = OnceLock::new();
    let (numer, denom) = *BASE.get_or_init(|| {
        let mut base = Timebase::default();
        // SAFETY: the call fills the struct it is given.
        if unsafe { mach_timebase_info(&mut base) } != 0 || base.denom == 0 {
            return (1, 1);
        }
        (u64::from(base.numer), u64::from(base.denom))
    });
    (u128::from(t) * u128::from(numer) / u128::from(denom)) as u64
}

fn mach_to_ticks(t: u64) -> u64 {
    (u128::from(mach_to_nanos(t)) * u128::from(ticks_per_second()) / 1_000_000_000) as u64
}

/// `pbi_status` values (`<sys/proc.h>`), as the letters of Linux's `stat`.
fn state_letter(status: u32) -> u8 {
    match status {
        1 => b'I', // SIDL: being created
        2 => b'R', // SRUN
        3 => b'S', // SSLEEP
        4 => b'T', // SSTOP
        5 => b'Z', // SZOMB
        _ => b'?',
    }
}

/// The process now; `None` when it does not exist.
pub fn stat(pid: u32) -> Option<Stat> {
    let pid_c = i32::try_from(pid).ok()?;
    let info = pidinfo::<BSDInfo>(pid_c, 0).ok()?;
    // SAFETY: getsid only reads.
    let session = unsafe { libc::getsid(pid_c) };
    // Another user's process answers no resource usage: its times and memory read as zero
    // (tpm's own processes are always this user's).
    let usage = pidrusage::<RUsageInfoV2>(pid_c).ok();
    let ticks = |f: fn(&RUsageInfoV2) -> u64| usage.as_ref().map_or(0, |u| mach_to_ticks(f(u)));
    Some(Stat {
        pid,
        state: state_letter(info.pbi_status),
        ppid: info.pbi_ppid,
        pgrp: info.pbi_pgid,
        session: u32::try_from(session).unwrap_or(0),
        cpu_ticks: ticks(|u| u.ri_user_time + u.ri_system_time),
        children_ticks: ticks(|u| u.ri_child_user_time + u.ri_child_system_time),
        start_ticks: ticks(|u| u.ri_proc_start_abstime),
        rss_pages: usage
            .as_ref()
            .map_or(0, |u| u.ri_resident_size / page_size().max(1)),
    })
}

/// Every pid there is now.
pub fn pids() -> Vec<u32> {
    pids_by_type(ProcFilter::All).unwrap_or_default()
}

/// Adds the children of `pid` to `out` (the kernel filters its process list by parent).
pub fn children(pid: u32, out: &mut Vec<u32>) -> bool {
    if let Ok(kids) = pids_by_type(ProcFilter::ByParentProcess { ppid: pid }) {
        out.extend(kids.into_iter().filter(|&k| k != 0));
    }
    true
}

/// `sysctl(KERN_PROCARGS2)` for `pid`: its arguments and environment (this user's
/// processes only).
fn procargs(pid: u32) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut mib = [libc::CTL_KERN, libc::KERN_ARGMAX];
    let mut argmax: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>();
    // SAFETY: the buffers are valid for the lengths given.
    let ok = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            2,
            (&mut argmax as *mut libc::c_int).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if ok != 0 || argmax <= 0 {
        return None;
    }
    let mut buf = vec![0u8; usize::try_from(argmax).ok()?];
    let mut mib = [
        libc::CTL_KERN,
        libc::KERN_PROCARGS2,
        i32::try_from(pid).ok()?,
    ];
    let mut len = buf.len();
    // SAFETY: the buffers are valid for the lengths given.
    let ok = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            3,
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if ok != 0 {
        return None;
    }
    buf.truncate(len);
    super::procargs::split(&buf)
}

pub fn environ(pid: u32) -> Option<Vec<u8>> {
    procargs(pid).map(|(_, env)| env)
}

pub fn cmdline(pid: u32) -> Option<Vec<u8>> {
    procargs(pid).map(|(args, _)| args)
}

/// The current boot's id: `kern.bootsessionuuid`, new at every boot.
pub fn boot_id() -> Option<String> {
    let name = c"kern.bootsessionuuid";
    let mut buf = [0u8; 64];
    let mut len = buf.len();
    // SAFETY: the name is NUL-terminated; the buffer is valid for its length.
    let ok = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if ok != 0 {
        return None;
    }
    let text = buf.get(..len)?.split(|&b| b == 0).next()?;
    Some(String::from_utf8_lossy(text).trim().to_string())
}

/// Seconds on the clock process starts are read on (since boot, less sleep).
pub fn uptime_seconds() -> Option<f64> {
    // SAFETY: a plain read of the clock.
    let now = unsafe { mach_absolute_time() };
    Some(mach_to_nanos(now) as f64 / 1e9)
}

/// The local ports of the TCP sockets `pid` has listening (this user's processes only).
fn listening_of(pid: u32) -> Vec<u16> {
    let Ok(pid_c) = i32::try_from(pid) else {
        return Vec::new();
    };
    let Ok(info) = pidinfo::<BSDInfo>(pid_c, 0) else {
        return Vec::new();
    };
    let Ok(fds) = listpidinfo::<ListFDs>(pid_c, info.pbi_nfiles as usize) else {
        return Vec::new();
    };
    fds.iter()
        .filter(|fd| fd.proc_fdtype == ProcFDType::Socket as u32)
        .filter_map(|fd| {
            let socket = pidfdinfo::<SocketFDInfo>(pid_c, fd.proc_fd).ok()?;
            if !matches!(
                SocketInfoKind::from(socket.psi.soi_kind),
                SocketInfoKind::Tcp
            ) {
                return None;
            }
            // SAFETY: a socket of kind TCP holds the TCP member of the union.
            let tcp = unsafe { socket.psi.soi_proto.pri_tcp };
            if !matches!(TcpSIState::from(tcp.tcpsi_state), TcpSIState::Listen) {
                return None;
            }
            // The port is kept in network byte order in the low half of an int.
            Some(u16::from_be(tcp.tcpsi_ini.insi_lport as u16))
        })
        .collect()
}

/// The first of `pids` that holds a TCP socket listening on `port`.
pub fn listener(port: u16, pids: &[u32]) -> Option<u32> {
    pids.iter()
        .copied()
        .find(|&pid| listening_of(pid).contains(&port))
}

/// Whether anything listens on TCP `port`: a process of this user's that tpm can name, or
/// else a bind to the port that the system refuses (another user's listener).
pub fn port_taken(port: u16) -> bool {
    !port_holders(port).is_empty()
        || std::net::TcpListener::bind(("0.0.0.0", port))
            .is_err_and(|e| e.kind() == std::io::ErrorKind::AddrInUse)
}

/// The processes of this user's holding a listening socket on `port`: every process's
/// descriptors are looked at, for the rare case a port is taken.
pub fn port_holders(port: u16) -> Vec<u32> {
    let pids = pids();
    pids.into_iter()
        .filter(|&pid| listening_of(pid).contains(&port))
        .collect()
}

/// TCP ports a process of this user's listens on.
pub fn listening_ports() -> Vec<u16> {
    let mut ports = Vec::new();
    for pid in pids() {
        for port in listening_of(pid) {
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
    }
    ports
}
