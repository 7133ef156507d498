//! Spawning the managed process, from the supervisor.
//!
//! The child gets its own process group (so a stop can signal the whole group), stdin from
//! `/dev/null`, stdout and stderr into pipes the supervisor drains, and, where the OS has
//! one, a parent-death signal: if the supervisor dies, the kernel kills the child (see
//! `platform::die_with_parent`). Spawning happens on the supervisor's only thread: the
//! death signal fires when the *thread* that forked exits, so it must be one that lives as
//! long as the supervisor.
//!
//! Where the process has a cgroup (see `crate::cgroup`), the child is born in it
//! (`platform::fork_into`), so nothing it ever forks starts outside it. Elsewhere, and
//! where the kernel refuses that, the standard library spawns it.
//!
//! A process with a socket held for it (`--socket`) gets it as fd 3, with `LISTEN_PID` set
//! to its own pid: only known after the fork, so the variable is written into the prepared
//! environment by the child itself, before exec (a plain `fork` where there is no cgroup).

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sys::signal::{SigSet, SigmaskHow};

use crate::platform;

/// A freshly spawned child.
pub struct Spawned {
    pub pid: u32,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// Whether it was born in the cgroup it was given.
    pub in_cgroup: bool,
}

/// Spawns `cmd` in `cwd` with exactly `env`; in the cgroup whose folder `cgroup` is open,
/// if given and the kernel allows; with `listen` as its fd 3 and `LISTEN_PID` set, if given.
pub fn spawn(
    cmd: &[String],
    cwd: &str,
    env: &[(OsString, OsString)],
    cgroup: Option<BorrowedFd<'_>>,
    listen: Option<BorrowedFd<'_>>,
) -> io::Result<Spawned> {
    if let Some(dir) = cgroup {
        if let Some(spawned) = spawn_into(cmd, cwd, env, Some(dir), listen)? {
            return Ok(spawned);
        }
    }
    if listen.is_some() {
        if let Some(spawned) = spawn_into(cmd, cwd, env, None, listen)? {
            return Ok(spawned);
        }
    }
    spawn_std(cmd, cwd, env)
}

/// `LISTEN_PID=` and room for any pid, NUL-terminated: the child writes its pid in.
const LISTEN_PID: &[u8] = b"LISTEN_PID=";
const PID_ROOM: usize = 12;

fn spawn_std(cmd: &[String], cwd: &str, env: &[(OsString, OsString)]) -> io::Result<Spawned> {
    let (program, args) = cmd
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let supervisor = nix::unistd::getpid();
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if !cwd.is_empty() {
        command.current_dir(cwd);
    }
    // SAFETY: only async-signal-safe calls (sigprocmask, signal, prctl, getppid) run in the
    // child.
    unsafe {
        command.pre_exec(move || {
            // The supervisor may block the signals it reads (a signalfd); the child must not
            // inherit that mask.
            nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            // The supervisor ignores SIGXFSZ (see `run`); ignored signals survive exec.
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            platform::die_with_parent(supervisor.as_raw())
        });
    }
    let mut child = command.spawn()?;
    let pid = child.id();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io::Error::other("the child's pipes are missing"));
    };
    // The `Child` handle is dropped without waiting: the supervisor reaps with waitpid(-1).
    drop(child);
    Ok(Spawned {
        pid,
        stdout: stdout.into(),
        stderr: stderr.into(),
        in_cgroup: false,
    })
}

/// A NUL-terminated array of C strings, and the strings it points into.
struct CArray {
    _strings: Vec<CString>,
    ptrs: Vec<*const libc::c_char>,
}

impl CArray {
    fn new(items: impl IntoIterator<Item = Vec<u8>>) -> io::Result<CArray> {
        let strings = items
            .into_iter()
            .map(|b| CString::new(b).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL)))
            .collect::<io::Result<Vec<_>>>()?;
        let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        Ok(CArray {
            _strings: strings,
            ptrs,
        })
    }
}

/// Where `program` is, as `execvp` would find it on the child's `PATH`.
fn find_program(program: &str, cwd: &str, env: &[(OsString, OsString)]) -> io::Result<PathBuf> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    let path = env.iter().rev().find(|(k, _)| k == "PATH").map_or_else(
        || OsString::from("/usr/local/bin:/usr/bin:/bin"),
        |(_, v)| v.clone(),
    );
    let base = Path::new(if cwd.is_empty() { "/" } else { cwd });
    std::env::split_paths(&path)
        .map(|dir| base.join(dir).join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
}

/// Spawns the child into the cgroup open at `dir`, or (no `dir`) by `fork` (see
/// `platform::fork_into`). Everything the child needs is made before the fork: between fork
/// and exec it makes only async-signal-safe calls. `Ok(None)` when the kernel refuses to
/// clone into the cgroup.
fn spawn_into(
    cmd: &[String],
    cwd: &str,
    env: &[(OsString, OsString)],
    dir: Option<BorrowedFd<'_>>,
    listen: Option<BorrowedFd<'_>>,
) -> io::Result<Option<Spawned>> {
    let (program, args) = cmd
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let path = find_program(program, cwd, env)?;
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let argv = CArray::new(cmd.iter().map(|a| a.as_bytes().to_vec()))?;
    // A file without `#!` is run by /bin/sh, as `execvp` does.
    let sh_argv = CArray::new(
        [b"/bin/sh".to_vec(), path.as_bytes().to_vec()]
            .into_iter()
            .chain(args.iter().map(|a| a.as_bytes().to_vec())),
    )?;
    let mut envp = CArray::new(env.iter().filter(|(k, _)| k != "LISTEN_PID").map(|(k, v)| {
        let mut kv = k.as_bytes().to_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        kv
    }))?;
    // The child's own `LISTEN_PID=...`, written by the child (see `Child::exec`).
    let mut listen_pid = LISTEN_PID.to_vec();
    listen_pid.resize(LISTEN_PID.len() + PID_ROOM, 0);
    let pid_slot = listen_pid.as_mut_ptr();
    if listen.is_some() {
        let end = envp.ptrs.len() - 1;
        envp.ptrs.insert(end, pid_slot as *const libc::c_char);
    }
    let cwd = (!cwd.is_empty())
        .then(|| CString::new(cwd).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL)))
        .transpose()?;
    let null = OwnedFd::from(std::fs::File::open("/dev/null")?);
    let (out_r, out_w) = platform::pipe()?;
    let (err_r, err_w) = platform::pipe()?;
    let (report_r, report_w) = platform::pipe()?;
    let supervisor = nix::unistd::getpid().as_raw();
    let child = Child {
        path: &path,
        argv: &argv,
        sh_argv: &sh_argv,
        envp: &envp,
        cwd: cwd.as_deref(),
        fds: [null.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()],
        report: report_w.as_raw_fd(),
        supervisor,
        listen: listen.map(|l| (l.as_raw_fd(), pid_slot)),
    };
    // SAFETY: the supervisor has one thread; the child goes straight to `Child::exec`,
    // which only makes async-signal-safe calls on memory prepared above and never returns.
    let Some(pid) = (unsafe { platform::fork_into(dir) })? else {
        return Ok(None);
    };
    if pid == 0 {
        // SAFETY: in the child, see above.
        unsafe { child.exec() }
    }
    drop((null, out_w, err_w, report_w));
    drop(listen_pid);
    // The report pipe closes at exec (close-on-exec); before that, a failed step writes
    // its errno into it.
    let mut errno = [0u8; 4];
    let mut got = 0;
    while got < errno.len() {
        match nix::unistd::read(&report_r, &mut errno[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if got == errno.len() {
        // It exited at once: reap it here, so the supervisor does not see an exit of a run
        // that never began.
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
    }
    Ok(Some(Spawned {
        pid: pid as u32,
        stdout: out_r,
        stderr: err_r,
        in_cgroup: dir.is_some(),
    }))
}

/// What the child of `spawn_into` does between clone and exec.
struct Child<'a> {
    path: &'a CString,
    argv: &'a CArray,
    sh_argv: &'a CArray,
    envp: &'a CArray,
    cwd: Option<&'a std::ffi::CStr>,
    /// The child's stdin, stdout and stderr.
    fds: [RawFd; 3],
    /// Where a failed step's errno goes.
    report: RawFd,
    supervisor: libc::pid_t,
    /// The socket to pass as fd 3, and the `LISTEN_PID=` entry of `envp` to write the
    /// child's pid into.
    listen: Option<(RawFd, *mut u8)>,
}

impl Child<'_> {
    /// Sets the child up and executes the program; on any failure, reports errno and exits.
    ///
    /// # Safety
    /// Only in the child of a fork of a single-threaded process: it makes only
    /// async-signal-safe calls and never returns.
    unsafe fn exec(&self) -> ! {
        let fail = || -> ! {
            let errno = platform::errno();
            libc::write(self.report, errno.to_ne_bytes().as_ptr().cast(), 4);
            libc::_exit(127)
        };
        for (target, &fd) in self.fds.iter().enumerate() {
            let target = target as RawFd;
            let ok = if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0) != -1
            } else {
                libc::dup2(fd, target) != -1
            };
            if !ok {
                fail();
            }
        }
        if let Some((sock, slot)) = self.listen {
            let ok = if sock == super::socket::LISTEN_FD {
                libc::fcntl(sock, libc::F_SETFD, 0) != -1
            } else {
                libc::dup2(sock, super::socket::LISTEN_FD) != -1
            };
            if !ok {
                fail();
            }
            write_pid(slot.add(LISTEN_PID.len()), libc::getpid());
        }
        if libc::setpgid(0, 0) != 0 {
            fail();
        }
        if let Some(cwd) = self.cwd {
            if libc::chdir(cwd.as_ptr()) != 0 {
                fail();
            }
        }
        // The supervisor blocks the signals it reads from a signalfd, ignores SIGXFSZ (see
        // `run`), and Rust ignores SIGPIPE: none of that is the child's.
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        if let Err(e) = platform::die_with_parent(self.supervisor) {
            platform::set_errno(e.raw_os_error().unwrap_or(libc::ESRCH));
            fail();
        }
        libc::execve(
            self.path.as_ptr(),
            self.argv.ptrs.as_ptr(),
            self.envp.ptrs.as_ptr(),
        );
        if platform::errno() == libc::ENOEXEC {
            libc::execve(
                c"/bin/sh".as_ptr(),
                self.sh_argv.ptrs.as_ptr(),
                self.envp.ptrs.as_ptr(),
            );
        }
        fail()
    }
}

/// Writes `pid` in decimal at `at`, NUL-terminated (at most 11 bytes): no allocation, for
/// the child between fork and exec.
///
/// # Safety
/// `at` must have room for [`PID_ROOM`] bytes.
unsafe fn write_pid(at: *mut u8, pid: libc::pid_t) {
    let mut digits = [0u8; PID_ROOM];
    let mut n = pid.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 || len == PID_ROOM - 1 {
            break;
        }
    }
    for i in 0..len {
        *at.add(i) = digits[len - 1 - i];
    }
    *at.add(len) = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn env() -> Vec<(OsString, OsString)> {
        vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())]
    }

    #[test]
    fn a_child_is_born_in_its_cgroup_with_its_pipes_and_failures_are_reported() {
        use crate::cgroup::Cgroup;
        use crate::name::Name;
        let me = std::process::id();
        let Some(cg) = Cgroup::create(&Name::parse(&format!("spawn-{me}")).unwrap(), me, 2) else {
            eprintln!("no writable cgroup2 hierarchy here: nothing to test");
            return;
        };
        let dir = cg.open().unwrap();
        let d = tempfile::tempdir().unwrap();
        // No `#!`: run by /bin/sh, as execvp does.
        let script = d.path().join("plain");
        std::fs::write(&script, "echo out; echo err >&2; exit 3\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cmd = [script.to_str().unwrap().to_string()];
        let child = spawn(
            &cmd,
            d.path().to_str().unwrap(),
            &env(),
            Some(dir.as_fd()),
            None,
        )
        .unwrap();
        assert!(child.in_cgroup);
        let read = |fd: OwnedFd| {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut s).unwrap();
            s
        };
        assert_eq!(read(child.stdout), "out\n");
        assert_eq!(read(child.stderr), "err\n");
        let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child.pid as i32), None);
        assert_eq!(
            status.unwrap(),
            nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(child.pid as i32), 3)
        );
        let missing = ["./no-such-program".to_string()];
        let err = spawn(
            &missing,
            d.path().to_str().unwrap(),
            &env(),
            Some(dir.as_fd()),
            None,
        );
        assert_eq!(err.err().and_then(|e| e.raw_os_error()), Some(libc::ENOENT));
        let bad_cwd = ["/bin/true".to_string()];
        let err = spawn(&bad_cwd, "/no/such/folder", &env(), Some(dir.as_fd()), None);
        assert_eq!(err.err().and_then(|e| e.raw_os_error()), Some(libc::ENOENT));
        assert!(cg.remove());
    }

    #[test]
    fn a_held_socket_is_fd_3_and_listen_pid_is_the_childs_own() {
        let sock = super::super::socket::bind(0).unwrap();
        let cmd = [
            "/bin/sh".to_string(),
            "-c".to_string(),
            "echo \"$LISTEN_PID $$ $LISTEN_FDS\"; readlink /proc/$$/fd/3".to_string(),
        ];
        let mut env = env();
        env.push(("LISTEN_FDS".into(), "1".into()));
        env.push(("LISTEN_PID".into(), "1".into())); // a stale one is replaced
        let child = spawn(&cmd, "", &env, None, Some(sock.as_fd())).unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(child.stdout), &mut out).unwrap();
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child.pid as i32), None);
        let mut lines = out.lines();
        let pid = child.pid.to_string();
        assert_eq!(
            lines.next(),
            Some(format!("{pid} {pid} 1").as_str()),
            "{out}"
        );
        assert!(
            lines.next().is_some_and(|l| l.starts_with("socket:")),
            "{out}"
        );
    }

    #[test]
    fn programs_are_found_on_the_childs_path_as_execvp_would() {
        assert_eq!(
            find_program("/bin/sh", "", &env()).unwrap(),
            Path::new("/bin/sh")
        );
        assert!(find_program("sh", "", &env()).unwrap().ends_with("sh"));
        let missing = find_program("no-such-program-here", "", &env()).unwrap_err();
        assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
    }
}
