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
