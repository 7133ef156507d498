//! Hostile input: bad names never reach a path, corrupt records never stop the others
//! from listing, and a store that is unwritable, foreign or open to others is handled.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use tpm_testkit::Sandbox;

/// Every file and folder below `root`, sorted.
fn tree(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn hostile_names_exit_64_and_create_no_file_anywhere() {
    let s = Sandbox::new();
    s.file("server.sh", "PORT=5300\nsleep 300\n", 0o644);
    let long = "x".repeat(10_000);
    let names: Vec<&OsStr> = vec![
        OsStr::new("../x"),
        OsStr::new("../../../../../../tmp/tpm-escape"),
        OsStr::new("a/b"),
        OsStr::new(".x"),
        OsStr::new(".."),
        OsStr::new(""),
        OsStr::new(&long),
        OsStr::new("a\u{1}b"),
        OsStr::new("a\nb"),
        OsStr::new("tab\there"),
        OsStr::from_bytes(b"caf\xe9"),
        OsStr::from_bytes(b"\xff\xfe"),
    ];
    let before = tree(s.path());
    for name in &names {
        for args in [
            vec![
                OsStr::new("start"),
                OsStr::new("server.sh"),
                OsStr::new("--name"),
                name,
            ],
            vec![OsStr::new("start"), OsStr::new("server.sh"), name],
            vec![OsStr::new("stop"), name],
            vec![OsStr::new("restart"), name],
            vec![OsStr::new("delete"), name],
            vec![OsStr::new("logs"), name],
        ] {
            let run = s.tpm(&args);
            assert_eq!(run.code, 64, "{args:?}: {run:?}");
            assert!(!run.stderr.contains("panicked"));
        }
    }
    assert_eq!(tree(s.path()), before, "no file was created");
    assert!(!Path::new("/tmp/tpm-escape.meta").exists());
}

#[test]
fn corrupt_records_are_reported_and_the_others_still_list() {
    let s = Sandbox::new();
    s.server_script("good.sh", 5301);
    s.tpm(["start", "good.sh"]).ok();
    let dir = s.store().join("processes");
    let write =
        |name: &str, bytes: &[u8]| std::fs::write(dir.join(format!("{name}.meta")), bytes).unwrap();
    // Cut inside a quoted value (`port=` with nothing after it is a record without a PORT).
    write("truncated-1", b"script=/x port=5 reason='cut");
    write("truncated-2", b"script='/x po");
    write("binary-3", &[0, 1, 2, 0xff, 0xfe, b'=', 0x80]);
    write("missing-4", b"pid=12 status=online");
    write("duplicate-5", b"script=a port=1 port=2");
    write(
        "huge-6",
        format!("script=/x port=1 reason={}", "y".repeat(1 << 20)).as_bytes(),
    );
    write("empty-7", b"");
    // Large but within the limit: a valid record.
    write(
        "big-8",
        format!("script=/x port=5308 reason={}", "z".repeat(30_000)).as_bytes(),
    );

    let run = s.tpm(["list", "--json"]);
    run.ok();
    let names: Vec<String> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["good-5301", "big-8"]);
    for bad in [
        "truncated-1",
        "truncated-2",
        "binary-3",
        "missing-4",
        "duplicate-5",
        "huge-6",
        "empty-7",
    ] {
        assert!(
            run.stderr.contains(&format!("{bad}.meta")),
            "{bad} reported: {}",
            run.stderr
        );
    }
    // Other commands keep working around them.
    s.tpm(["ports"]).ok();
    s.tpm(["stop", "good-5301"]).ok();
    s.tpm(["restart", "good-5301"]).ok();
    s.tpm(["delete", "binary-3"]).ok();
    assert!(!dir.join("binary-3.meta").exists());
    assert_eq!(s.get("good-5301").unwrap()["status"], "online");
}

#[test]
fn an_unwritable_store_is_a_clear_error_and_listing_still_works() {
    let s = Sandbox::new();
    s.file("worker.sh", "PORT=5302\nsleep 300\n", 0o644);
    let store = s.store();
    for sub in ["processes", "pids", "logs"] {
        std::fs::create_dir_all(store.join(sub)).unwrap();
    }
    // Root ignores file modes: run as nobody, in a store of nobody's that is read-only, a
    // copy of the binary nobody can reach (the build folder may be under a private home).
    let bin = s.path().join("tpm-copy");
    if is_root() {
        std::fs::copy(s.tpm_binary(), &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run_as = |args: &[&str]| {
        let mut c = s.command();
        if is_root() {
            c = std::process::Command::new(&bin);
            s.apply_env(&mut c);
            c.uid(65534).gid(65534);
        }
        tpm_testkit::Run::from_output(c.args(args).output().unwrap())
    };
    if is_root() {
        std::fs::set_permissions(s.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for p in tree(&s.tetra_dir()).into_iter().chain([s.tetra_dir()]) {
            chown(&p, Some(65534), Some(65534)).unwrap();
        }
    }
    for dir in [
        store.join("processes"),
        store.join("pids"),
        store.join("logs"),
        store.clone(),
    ] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    }
    let run = run_as(&["start", "worker.sh"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("Permission denied"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
    run_as(&["list"]).ok();
    for dir in [
        store.clone(),
        store.join("processes"),
        store.join("pids"),
        store.join("logs"),
    ] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}

#[test]
fn a_store_owned_by_another_user_is_refused() {
    if !is_root() {
        eprintln!("needs root to give the store to another user; skipped");
        return;
    }
    let s = Sandbox::new();
    s.server_script("server.sh", 5303);
    std::fs::create_dir_all(s.store()).unwrap();
    chown(s.store(), Some(65534), Some(65534)).unwrap();
    for args in [vec!["list"], vec!["start", "server.sh"]] {
        let run = s.tpm(&args);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("not to you"), "{}", run.stderr);
        assert!(
            run.stderr.contains("TETRA_DIR"),
            "the help says what to do: {}",
            run.stderr
        );
    }
    chown(s.store(), Some(0), Some(0)).unwrap();
}

#[test]
fn a_store_open_to_others_is_made_private_with_a_warning() {
    let s = Sandbox::new();
    s.server_script("server.sh", 5304);
    s.tpm(["start", "server.sh"]).ok();
    for dir in ["", "processes", "logs"] {
        std::fs::set_permissions(s.store().join(dir), std::fs::Permissions::from_mode(0o777))
            .unwrap();
    }
    let run = s.tpm(["list"]);
    run.ok();
    assert_eq!(run.stderr.matches("warning").count(), 3, "{}", run.stderr);
    for dir in ["", "processes", "logs"] {
        let mode = std::fs::metadata(s.store().join(dir))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "{dir}");
    }
    assert!(s.tpm(["list"]).stderr.is_empty(), "repaired once");
}
