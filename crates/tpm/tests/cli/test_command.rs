//! The README's test command, `./test.sh`: on a machine without the tools the tests drive,
//! its dependency check names each missing one and the command that installs it, before
//! anything is built. Run here in a fake machine: a PATH holding only chosen programs, a
//! fake root (`TPM_TEST_ROOT`) for system files, and a copy of the script in a scratch
//! folder, so the clone's own `.ci/cache` (where Nushell is installed) is not found.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Programs test.sh itself runs; linked from the real machine.
const BASICS: &[&str] = &["bash", "dirname", "id", "sed", "awk", "cat", "mktemp", "rm"];

struct FakeMachine {
    dir: tempfile::TempDir,
}

impl FakeMachine {
    /// A machine with the basics, stub programs named in `programs`, and, when `apt` is
    /// true, a Debian `apt-get` in its root.
    fn new(programs: &[&str], apt: bool) -> FakeMachine {
        let dir = tempfile::tempdir().unwrap();
        let m = FakeMachine { dir };
        fs::create_dir_all(m.bin()).unwrap();
        fs::create_dir_all(m.root().join("usr/bin")).unwrap();
        for tool in BASICS {
            symlink(tpm_testkit::program(tool), m.bin().join(tool)).unwrap();
        }
        for program in programs {
            m.stub(&m.bin().join(program), "exit 0");
        }
        if apt {
            m.stub(&m.root().join("usr/bin/apt-get"), "exit 1");
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test.sh");
        fs::copy(script, m.dir.path().join("test.sh")).unwrap();
        m
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn stub(&self, path: &Path, body: &str) {
        fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn file(&self, rel: &str) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "").unwrap();
    }

    fn check(&self) -> Output {
        Command::new(self.dir.path().join("test.sh"))
            .arg("--check")
            .env_clear()
            .env("PATH", self.bin())
            .env("TPM_TEST_ROOT", self.root())
            .env("HOME", self.dir.path())
            .output()
            .unwrap()
    }
}

const ALL_BUT_FISH_AND_NU: &[&str] = &[
    "python3",
    "node",
    "npm",
    "setsid",
    "zsh",
    "tmux",
    "systemd-analyze",
    "prometheus",
    "promtool",
    "man",
];

#[test]
fn the_check_names_each_missing_tool_and_the_apt_and_npm_commands() {
    let m = FakeMachine::new(ALL_BUT_FISH_AND_NU, true);
    let out = m.check();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{err}");
    for missing in [
        "  - fish\n",
        "  - bash-completion\n",
        "  - chromium\n",
        "  - nu 0.115.1",
        "  - pm2 7.0.4 (npm, for the pm2 import tests)\n",
    ] {
        assert!(err.contains(missing), "{missing:?} not in:\n{err}");
    }
    assert!(!err.contains("  - zsh"), "zsh is there:\n{err}");
    assert!(
        err.contains("  sudo apt-get install -y fish bash-completion chromium\n"),
        "{err}"
    );
    assert!(
        err.contains(
            "  npm install --prefix .ci/cache --no-audit --no-fund --loglevel=error nushell@0.115.1\n"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "  npm install --prefix .ci/cache --no-audit --no-fund --loglevel=error pm2@7.0.4\n"
        ),
        "{err}"
    );
    // The export tests' validators, from PyPI into a venv: no root needed.
    assert!(
        err.contains("  - check-jsonschema==0.39.0 kubernetes-validate==1.37.0 python-hcl2==8.1.4 (PyPI, in a venv, for the export tests)\n"),
        "{err}"
    );
    assert!(
        err.contains("  python3 -m venv .ci/cache/validators && .ci/cache/validators/bin/pip install --quiet -r .ci/validators.txt\n"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing was built or run");
}

#[test]
fn without_apt_the_check_names_the_packages_for_any_package_manager() {
    let m = FakeMachine::new(&["python3", "node", "setsid", "tmux"], false);
    let out = m.check();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{err}");
    assert!(
        err.contains(
            "with your system's package manager: npm zsh fish systemd prometheus man-db bash-completion chromium\n"
        ),
        "{err}"
    );
    assert!(!err.contains("apt-get"), "{err}");
}

#[test]
fn the_check_passes_when_every_tool_is_there() {
    let mut programs = ALL_BUT_FISH_AND_NU.to_vec();
    programs.push("fish");
    let m = FakeMachine::new(&programs, true);
    m.file("usr/share/bash-completion/bash_completion");
    m.file("usr/bin/chromium");
    // The pinned Nushell, where npm puts it.
    let nu = m
        .dir
        .path()
        .join(".ci/cache/node_modules/@nushell/linux-x64/bin/nu");
    fs::create_dir_all(nu.parent().unwrap()).unwrap();
    m.stub(&nu, "echo 0.115.1");
    // The pinned pm2, where npm puts it (its version read from its package.json).
    let pm2 = m.dir.path().join(".ci/cache/node_modules/.bin/pm2");
    fs::create_dir_all(pm2.parent().unwrap()).unwrap();
    m.stub(&pm2, "exit 0");
    let package = m.dir.path().join(".ci/cache/node_modules/pm2/package.json");
    fs::create_dir_all(package.parent().unwrap()).unwrap();
    fs::write(
        &package,
        "{\n  \"name\": \"pm2\",\n  \"version\": \"7.0.4\",\n}\n",
    )
    .unwrap();
    // The validators' venv, with the pinned versions.
    let python = m.dir.path().join(".ci/cache/validators/bin/python");
    fs::create_dir_all(python.parent().unwrap()).unwrap();
    m.stub(
        &python,
        "echo check-jsonschema==0.39.0 kubernetes-validate==1.37.0 python-hcl2==8.1.4",
    );
    let out = m.check();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("every tool is here"));

    // Another Nushell version does not count: the plugin is built for this one.
    m.stub(&nu, "echo 0.110.0");
    let out = m.check();
    assert_eq!(out.status.code(), Some(69));
    assert!(String::from_utf8_lossy(&out.stderr).contains("  - nu 0.115.1"));

    // Nor do other validator versions: the export tests are checked against these.
    m.stub(&nu, "echo 0.115.1");
    m.stub(
        &python,
        "echo check-jsonschema==0.38.0 kubernetes-validate==1.37.0 python-hcl2==8.1.4",
    );
    let out = m.check();
    assert_eq!(out.status.code(), Some(69));
    assert!(String::from_utf8_lossy(&out.stderr).contains("  - check-jsonschema==0.39.0"));

    // Nor does another pm2: the import tests read the list this one writes.
    m.stub(
        &python,
        "echo check-jsonschema==0.39.0 kubernetes-validate==1.37.0 python-hcl2==8.1.4",
    );
    fs::write(
        &package,
        "{\n  \"name\": \"pm2\",\n  \"version\": \"6.0.0\",\n}\n",
    )
    .unwrap();
    let out = m.check();
    assert_eq!(out.status.code(), Some(69));
    assert!(String::from_utf8_lossy(&out.stderr).contains("  - pm2 7.0.4"));
}

#[test]
fn a_python3_that_cannot_make_venvs_asks_for_python3_venv() {
    let m = FakeMachine::new(ALL_BUT_FISH_AND_NU, true);
    // Debian's python3 without python3-venv: `import ensurepip` fails.
    m.stub(&m.bin().join("python3"), "exit 1");
    let out = m.check();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{err}");
    assert!(err.contains("  - python3-venv\n"), "{err}");
    assert!(
        err.contains("  sudo apt-get install -y fish bash-completion chromium python3-venv\n"),
        "{err}"
    );
}
