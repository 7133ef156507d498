//! Bounds: every numeric start option has a documented range, checked before anything runs
//! (exit 64, no file written), and a relative `TETRA_DIR` is refused.

use tpm_testkit::Sandbox;

#[test]
fn numeric_options_out_of_range_exit_64_before_anything_is_written() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=5600\nsleep 300\n", 0o644);
    for (flag, over, max) in [
        ("--kill-timeout", "18446744073709551615", "600000"),
        ("--kill-timeout", "600001", "10min"),
        ("--restart-delay", "3600001", "1h"),
        ("--max-restarts", "1000001", "1000000"),
        ("--log-keep", "4294967295", "1000"),
        ("--log-keep", "10000000", "1000"),
        ("--max-log-size", "1025G", "1024G"),
        ("--max-log-size", "99999999999999999999G", "1G"),
    ] {
        let run = s.tpm(["start", "worker.sh", flag, over]);
        assert_eq!(run.code, 64, "{flag} {over}: {run:?}");
        assert!(
            run.stderr.contains("out of range"),
            "{flag} {over}: {}",
            run.stderr
        );
        let record = s.store().join("processes/worker-5600.meta");
        assert!(!record.exists(), "{flag} {over}: nothing was written");
        // The largest value is accepted.
        s.tpm(["start", "worker.sh", flag, max]).ok();
        s.tpm(["delete", "worker-5600"]).ok();
    }
}

#[test]
fn durations_with_a_unit_are_checked_against_the_same_range() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=5601\nsleep 300\n", 0o644);
    let run = s.tpm(["start", "worker.sh", "--kill-timeout", "2h"]);
    assert_eq!(run.code, 64, "{run:?}");
    assert!(run.stderr.contains("0 to 600000 ms"), "{}", run.stderr);
}

#[test]
fn a_relative_tetra_dir_is_refused_with_what_to_do() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=5602\nsleep 300\n", 0o644);
    for args in [vec!["start", "worker.sh"], vec!["list"], vec!["stop", "*"]] {
        let run = s.tpm_env(&[("TETRA_DIR", "relative/tetra")], &args);
        assert_eq!(run.code, 64, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("TETRA_DIR is a relative path"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("export TETRA_DIR=\"$PWD/relative/tetra\""),
            "{}",
            run.stderr
        );
    }
    assert!(!s.path().join("relative").exists(), "no store was made");
}
