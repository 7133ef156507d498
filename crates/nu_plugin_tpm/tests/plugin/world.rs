//! The examples' world (see `commands/mod.rs` in the plugin), and running the real `nu`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nu_protocol::Value;
use tpm_testkit::{binary, wait_for, Run, Sandbox};

/// The Nushell version the plugin is built against (`nu-plugin = "=0.115.1"`).
pub const NU_VERSION: &str = "0.115.1";

/// The examples' ecosystem file.
pub const ECOSYSTEM_JSON: &str = r#"{
  "apps": [
    {
      "name": "web",
      "script": "server.sh",
      "port": 4000,
      "env": { "GREETING": "hi", "LOG_LEVEL": "info" },
      "env_production": { "LOG_LEVEL": "warn" }
    },
    {
      "name": "worker",
      "script": "worker.sh",
      "port": 4001,
      "args": ["--queue", "jobs"],
      "env": { "LOG_LEVEL": "info" },
      "env_production": { "LOG_LEVEL": "warn" }
    }
  ]
}
"#;

/// A scratch folder with the examples' scripts and its own `TETRA_DIR`.
pub struct World {
    pub sandbox: Sandbox,
}

impl World {
    /// `server.sh` (`export PORT=3000`), `api/backend.sh` (`PORT=8080`), `worker.sh` (no PORT),
    /// and `ecosystem.json`: apps `web` (server.sh on 4000) and `worker` (worker.sh on 4001),
    /// each with an `env_production`.
    pub fn files() -> World {
        let sandbox = Sandbox::new();
        sandbox.server_script("server.sh", 3000);
        sandbox.file(
            "api/backend.sh",
            "#!/usr/bin/env bash\nPORT=8080\necho \"backend on $PORT\"\nwhile true; do sleep 1; done\n",
            0o755,
        );
        sandbox.file(
            "worker.sh",
            "#!/usr/bin/env bash\necho \"worker $* LOG_LEVEL=$LOG_LEVEL PORT=$PORT\"\nwhile true; do sleep 1; done\n",
            0o755,
        );
        sandbox.file("ecosystem.json", ECOSYSTEM_JSON, 0o644);
        World { sandbox }
    }

    /// The files, with `server-3000` and `api-8080` running (started by the CLI, in this
    /// order, so their ids are 0 and 1), and server-3000's first line logged.
    pub fn running() -> World {
        let world = World::files();
        world.sandbox.tpm(["start", "server.sh"]).ok();
        world.sandbox.tpm(["start", "api/backend.sh", "api"]).ok();
        wait_for("server-3000's first line", || {
            world
                .sandbox
                .log("server-3000", "out")
                .contains("Starting server on port 3000")
        });
        world
    }

    pub fn path(&self) -> &Path {
        self.sandbox.path()
    }

    /// `nu -n --plugins nu_plugin_tpm -c SCRIPT` in this world.
    pub fn nu(&self, script: &str) -> Run {
        let out = self.nu_command(script).output().expect("run nu");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn nu_command(&self, script: &str) -> Command {
        let mut c = Command::new(nu_binary());
        self.sandbox.apply_env(&mut c);
        c.env("XDG_CONFIG_HOME", self.path().join(".config"))
            .env("XDG_DATA_HOME", self.path().join(".local/share"))
            .arg("-n")
            .arg("--plugins")
            .arg(binary("nu_plugin_tpm"))
            .arg("-c")
            .arg(script);
        c
    }

    /// Runs SCRIPT piped into `to json -r`, which must succeed; returns the JSON.
    pub fn nu_json(&self, script: &str) -> serde_json::Value {
        self.nu(&format!("{script} | to json -r")).ok().json()
    }

    /// Runs SCRIPT in `nu`, which must end before the deadline.
    pub fn nu_within(&self, script: &str, deadline: Duration) -> Run {
        finish_within(self.nu_spawn(script), script, deadline)
    }

    /// Starts SCRIPT in `nu`, its output captured; `finish_within` waits for it.
    pub fn nu_spawn(&self, script: &str) -> Child {
        self.nu_command(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run nu")
    }

    /// Fake `systemctl`, `loginctl` and `crontab` in `fakebin/` that log their arguments to
    /// `calls.log` (and keep the crontab in `crontab.txt`), so `tpm startup` and `tpm
    /// unstartup` can run without touching the machine's. Returns the folder, for the PATH.
    pub fn fake_boot_tools(&self) -> PathBuf {
        let bin = self.path().join("fakebin");
        let log = self.path().join("calls.log");
        let tab = self.path().join("crontab.txt");
        let tools = [
            ("systemctl", format!("echo \"systemctl $*\" >> '{}'\n", log.display())),
            (
                "loginctl",
                format!("echo \"loginctl $*\" >> '{}'\necho Linger=no\n", log.display()),
            ),
            (
                "crontab",
                format!(
                    "if [ \"$1\" = -l ]; then [ -f '{t}' ] && cat '{t}' || {{ echo 'no crontab' >&2; exit 1; }}; else cat > '{t}'; fi\n",
                    t = tab.display()
                ),
            ),
        ];
        for (tool, body) in tools {
            self.sandbox.file(
                &format!("fakebin/{tool}"),
                &format!("#!/bin/sh\n{body}"),
                0o755,
            );
        }
        bin
    }
}

/// Waits for a `nu` started by `World::nu_spawn`, which must end before the deadline.
pub fn finish_within(mut child: Child, script: &str, deadline: Duration) -> Run {
    let until = Instant::now() + deadline;
    while child.try_wait().expect("wait for nu").is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nu -c {script:?} did not end within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("nu's output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `nu` to test with, checked to be 0.115.x once.
pub fn nu_binary() -> &'static Path {
    static NU: OnceLock<PathBuf> = OnceLock::new();
    NU.get_or_init(find_nu)
}

fn find_nu() -> PathBuf {
    // `npm install nushell` puts the binary in a package per platform: @nushell/linux-x64, ...
    let npm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/cache/node_modules/@nushell");
    let candidates: Vec<PathBuf> = match std::env::var_os("TPM_TEST_NU") {
        Some(path) => vec![PathBuf::from(path)],
        None => std::fs::read_dir(npm)
            .into_iter()
            .flatten()
            .flatten()
            .map(|platform| platform.path().join("bin/nu"))
            .filter(|nu| nu.is_file())
            .chain([PathBuf::from("nu")])
            .collect(),
    };
    let how = format!(
        "the Nushell plugin's end-to-end tests need nu {NU_VERSION}: run `./test.sh` \
         (it installs it in .ci/cache), or `npm install --prefix .ci/cache nushell@{NU_VERSION}`, \
         or set TPM_TEST_NU to a nu {NU_VERSION} binary"
    );
    for nu in candidates {
        let Ok(out) = Command::new(&nu).arg("--version").output() else {
            continue;
        };
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            version.starts_with("0.115."),
            "{} is nu {version:?}, not {NU_VERSION}; {how}",
            nu.display()
        );
        return nu;
    }
    panic!("no nu found; {how}");
}

/// A Nushell value as the JSON `to json` makes of it (for the values examples return).
pub fn json_of(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Nothing { .. } => J::Null,
        Value::Bool { val, .. } => J::Bool(*val),
        Value::Int { val, .. } => J::from(*val),
        // `to json` writes a duration as nanoseconds.
        Value::Duration { val, .. } => J::from(*val),
        Value::Float { val, .. } => J::from(*val),
        Value::String { val, .. } => J::String(val.clone()),
        Value::List { vals, .. } => J::Array(vals.iter().map(json_of).collect()),
        Value::Record { val, .. } => {
            J::Object(val.iter().map(|(k, v)| (k.clone(), json_of(v))).collect())
        }
        other => panic!("no JSON form for {other:?} in this test"),
    }
}
