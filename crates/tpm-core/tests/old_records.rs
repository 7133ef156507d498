//! Records written by earlier versions still read: the shell version of tpm (the file
//! contract's keys only) and tpm 0.1.0 (before specs, states and `wanted`). The fixtures in
//! `fixtures/records/` are those versions' files, byte for byte.

use std::path::Path;
use std::time::Duration;

use tpm_core::record::Record;
use tpm_core::Status;

fn fixture(name: &str) -> Record {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/records")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    Record::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn a_shell_tpm_record_reads_as_a_stopped_script() {
    let r = fixture("shell-cli.meta");
    assert_eq!(r.spec.script, "/path/to/script.sh");
    assert_eq!(r.spec.cmd, ["/path/to/script.sh"]);
    assert_eq!(r.spec.port, Some(3000));
    assert_eq!(r.spec.kind, "cli");
    assert_eq!(r.state.status, Status::Stopped);
    // A pid with no start time can never be verified, so it is never signalled.
    assert_eq!((r.state.pid, r.state.pid_start), (Some(12345), None));
    assert!(!r.spec.wanted, "a stopped record was not meant to run");
}

#[test]
fn a_shell_tpm_ecosystem_record_keeps_its_cwd_and_node_env() {
    let r = fixture("shell-ecosystem.meta");
    assert_eq!(r.spec.kind, "ecosystem");
    assert_eq!(r.spec.cwd, "/path/to/project");
    assert_eq!(r.spec.node_env(), Some("production"));
    assert!(r.extra.is_empty(), "node_env is known: {:?}", r.extra);
    let line = r.to_line("server-4000");
    assert!(line.contains(" node_env=production "), "{line}");
}

#[test]
fn a_tpm_0_1_record_reads_with_its_spec_and_state() {
    let r = fixture("tpm-0.1.0.meta");
    assert_eq!(r.id, Some(0));
    assert_eq!(
        r.spec.env,
        [("GREETING".to_string(), "hello world".to_string())]
    );
    assert_eq!(r.spec.policy.kill_timeout, Duration::from_millis(1500));
    assert_eq!(r.spec.cmd, ["bash", "/tmp/oldrec/server.sh"]);
    assert_eq!(r.state.status, Status::Online);
    assert_eq!(r.state.spid, Some(7191));
    // No `wanted` key: a process left running was meant to run.
    assert!(r.spec.wanted);
}

#[test]
fn old_records_written_back_keep_every_value_and_read_the_same() {
    for name in ["shell-cli.meta", "shell-ecosystem.meta", "tpm-0.1.0.meta"] {
        let r = fixture(name);
        let line = r.to_line("x-1");
        assert!(
            line.starts_with(&format!("script={} ", shell_words::quote(&r.spec.script))),
            "the file contract's keys lead: {line}"
        );
        assert_eq!(Record::parse(&line).unwrap(), r, "{name}");
    }
}
