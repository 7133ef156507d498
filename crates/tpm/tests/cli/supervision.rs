//! The supervisor is detached. (What it promises under fire, the reliability suite proves.)

use tpm_testkit::Sandbox;

#[test]
fn the_supervisor_is_detached_in_its_own_session() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3701);
    s.tpm(["start", "server.sh"]).ok();
    s.wait_status("server-3701", "online");
    let spid = s.record_field("server-3701", "spid").unwrap() as u32;
    let stat = std::fs::read_to_string(format!("/proc/{spid}/stat")).unwrap();
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let (ppid, session, tty): (u32, u32, i64) = (
        f[1].parse().unwrap(),
        f[3].parse().unwrap(),
        f[4].parse().unwrap(),
    );
    assert_ne!(ppid, std::process::id(), "not our child");
    assert_ne!(session, spid, "not a session leader (double fork)");
    assert_eq!(tty, 0, "no controlling terminal");
}

/// The binary a supervisor runs.
fn supervisor_exe(s: &Sandbox, name: &str) -> std::path::PathBuf {
    s.wait_status(name, "online");
    let spid = s.record_field(name, "spid").unwrap();
    std::fs::read_link(format!("/proc/{spid}/exe")).unwrap()
}

/// `tpm` alone in a folder of its own (linked, not copied: it is large), plus `extra` files.
fn lone_tpm(dir: &std::path::Path, extra: &[(&str, &str)]) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let tpm = dir.join("tpm");
    if std::fs::hard_link(tpm_testkit::binary("tpm"), &tpm).is_err() {
        std::fs::copy(tpm_testkit::binary("tpm"), &tpm).unwrap();
    }
    for (name, body) in extra {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    tpm
}

#[test]
fn supervisors_run_the_small_tpm_supervisor_installed_beside_tpm() {
    let s = Sandbox::new();
    s.server_script("server.sh", 3702);
    s.tpm(["start", "server.sh"]).ok();
    let exe = supervisor_exe(&s, "server-3702");
    assert_eq!(exe, tpm_testkit::binary("tpm-supervisor"));
}

#[test]
fn without_tpm_supervisor_beside_it_tpm_supervises_with_itself() {
    let bin = tempfile::tempdir().unwrap();
    let s = Sandbox::with_tpm(lone_tpm(bin.path(), &[]));
    s.server_script("server.sh", 3703);
    s.tpm(["start", "server.sh"]).ok();
    assert_eq!(supervisor_exe(&s, "server-3703"), bin.path().join("tpm"));
    s.tpm(["stop", "server-3703"]).ok();
}

#[test]
fn a_tpm_supervisor_of_another_build_or_broken_is_passed_over() {
    use std::os::unix::fs::PermissionsExt;
    // One answers the handshake (its 5th argument is the pipe) that it is another build;
    // one exits without a word; one cannot be executed at all. None may start anything,
    // or keep the name from the tpm that supervises instead.
    for (fake, mode) in [
        (
            "#!/usr/bin/env bash\necho 'build 0.0.0+other' >&\"$5\"\n",
            0o755,
        ),
        ("#!/bin/sh\nexit 3\n", 0o755),
        ("#!/bin/sh\n", 0o644),
    ] {
        let bin = tempfile::tempdir().unwrap();
        let s = Sandbox::with_tpm(lone_tpm(bin.path(), &[("tpm-supervisor", fake)]));
        std::fs::set_permissions(
            bin.path().join("tpm-supervisor"),
            std::fs::Permissions::from_mode(mode),
        )
        .unwrap();
        s.server_script("server.sh", 3704);
        s.tpm(["start", "server.sh"]).ok();
        assert_eq!(supervisor_exe(&s, "server-3704"), bin.path().join("tpm"));
        assert_eq!(s.list().len(), 1);
        s.tpm(["stop", "server-3704"]).ok();
    }
}

#[test]
fn a_descriptor_the_caller_left_open_is_not_kept_by_the_supervisor_or_its_process() {
    use std::io::Read;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let s = Sandbox::new();
    s.file("srv.sh", "PORT=4770\nexec sleep 300\n", 0o644);
    // A pipe whose write end the caller hands down, as a test harness's fd 3 or
    // `x=$(...)` with a redirection does: its reader waits until every copy is closed.
    let (read, write): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    let w = write.as_raw_fd();
    let mut cmd = s.command();
    cmd.args(["start", "srv.sh"]);
    // SAFETY: dup2 in the child before exec, onto fd 3, without close-on-exec.
    unsafe {
        cmd.pre_exec(move || {
            if nix::libc::dup2(w, 3) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    drop(write);
    let pid = s.wait_status("srv-4770", "online")["pid"].as_u64().unwrap();
    // Every copy of the write end is gone: the reader sees the end (without the fix it
    // would wait as long as the process runs; the read does not block, so this fails at
    // the deadline instead of hanging).
    nix::fcntl::fcntl(
        &read,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut reader = std::fs::File::from(read);
    tpm_testkit::wait_for("the end of the caller's pipe", || {
        let mut buf = [0u8; 64];
        matches!(reader.read(&mut buf), Ok(0))
    });
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!fds.contains(&"3".to_string()), "{fds:?}");
}
