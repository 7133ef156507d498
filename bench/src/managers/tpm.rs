//! tpm: no daemon; one supervisor per process, state under the scratch `TETRA_DIR`.

use std::path::PathBuf;
use std::process::Command;

use super::{exec, App, Manager};

pub struct Tpm {
    bin: PathBuf,
    tetra_dir: PathBuf,
    /// Flags added to every `tpm start` (a variant, such as `--max-log-size 0`).
    extra: Vec<String>,
    label: &'static str,
}

impl Tpm {
    pub fn new(bin: PathBuf, tetra_dir: PathBuf) -> Tpm {
        Tpm {
            bin,
            tetra_dir,
            extra: Vec::new(),
            label: "tpm",
        }
    }

    /// The same tpm, started with `extra` flags, reported as `label`.
    pub fn variant(&self, label: &'static str, extra: &[&str]) -> Tpm {
        Tpm {
            bin: self.bin.clone(),
            tetra_dir: self.tetra_dir.clone(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            label,
        }
    }

    /// `tpm` with this run's store.
    pub fn tpm(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("TETRA_DIR", &self.tetra_dir).env("NO_COLOR", "1");
        c
    }

    fn listing(&self) -> Result<Vec<serde_json::Value>, String> {
        let out = exec(self.tpm().args(["list", "--json"]))?;
        serde_json::from_slice(&out.stdout).map_err(|e| format!("tpm list --json: {e}"))
    }
}

/// A command string tpm splits like a shell would.
fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/._-=:,".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Manager for Tpm {
    fn label(&self) -> &'static str {
        self.label
    }

    fn version(&self) -> String {
        exec(self.tpm().arg("--version"))
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|e| e)
    }

    fn up(&mut self) -> Result<(), String> {
        Ok(()) // nothing to start: there is no daemon
    }

    fn down(&mut self) -> Result<(), String> {
        exec(self.tpm().args(["delete", "*"])).map(drop)
    }

    /// tpm names a process `NAME-PORT`.
    fn id(&self, app: &App) -> String {
        format!("{}-{}", app.name, app.port)
    }

    fn launch(&mut self, apps: &[App]) -> Result<(), String> {
        for app in apps {
            exec(&mut self.start(app))?;
        }
        Ok(())
    }

    fn remove(&mut self, app: &App) -> Result<(), String> {
        exec(self.tpm().args(["delete", &self.id(app)])).map(drop)
    }

    fn online(&self) -> Result<Vec<String>, String> {
        Ok(self
            .listing()?
            .iter()
            .filter(|p| p["status"] == "online")
            .filter_map(|p| p["name"].as_str().map(String::from))
            .collect())
    }

    fn list(&self) -> Command {
        let mut c = self.tpm();
        c.args(["list", "--json"]);
        c
    }

    fn start(&self, app: &App) -> Command {
        let mut c = self.tpm();
        c.args(["start", &shell_join(&app.argv), "--name", &app.name])
            .args(["--port", &app.port.to_string()]);
        if app.restart {
            c.args(["--restart-delay", "0", "--max-restarts", "0"]);
        } else {
            c.arg("--no-autorestart");
        }
        c.args(&self.extra);
        c
    }

    fn stop(&self, app: &App) -> Command {
        let mut c = self.tpm();
        c.args(["stop", &self.id(app)]);
        c
    }

    fn own_pids(&self) -> Result<Vec<u32>, String> {
        Ok(self
            .listing()?
            .iter()
            .filter_map(|p| p["supervisor"].as_u64().map(|v| v as u32))
            .collect())
    }

    fn out_log(&self, app: &App) -> PathBuf {
        self.tetra_dir
            .join("tpm/logs")
            .join(format!("{}.out", self.id(app)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_strings_quote_what_a_shell_would_split() {
        let argv = ["/bin/sleep", "100", "a b", "it's"].map(String::from);
        assert_eq!(shell_join(&argv), r"/bin/sleep 100 'a b' 'it'\''s'");
    }
}
