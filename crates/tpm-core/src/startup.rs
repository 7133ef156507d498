//! `tpm startup` / `tpm unstartup`: running `tpm resurrect` at boot.
//!
//! On a machine run by systemd, a *user* unit (`~/.config/systemd/user/tpm.service`), so no
//! root is needed and the processes run as their user, as they do under tpm. It is
//! `Type=oneshot` with `RemainAfterExit=yes`: `tpm resurrect` exits once every supervisor is
//! launched, and the unit stays active, so systemd does not stop the supervisors left in its
//! cgroup when the start finishes (a plain oneshot unit would: its processes outliving the
//! start are killed). Stopping the unit (at shutdown, or `systemctl --user stop tpm`) sends
//! SIGTERM to the supervisors, which stop their processes within their kill timeouts; that
//! changes no process's `wanted`, so the next boot brings them back. User units start at
//! boot only for users with lingering on (`loginctl enable-linger USER`).
//!
//! Without systemd, an `@reboot` line in the user's crontab. Whatever `startup` adds carries
//! a marker, and `unstartup` removes exactly that.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::export::systemd::{exec_line, quote_value};
use crate::target::which;

/// The first line of the unit, and the end of the crontab line: what `unstartup` looks for.
pub const MARKER: &str = "# tpm startup";
/// The unit's file name.
pub const UNIT: &str = "tpm.service";

/// How the machine starts things at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A systemd user unit.
    Systemd,
    /// An `@reboot` crontab line.
    Cron,
}

impl Method {
    /// systemd when it runs this machine (`/run/systemd/system` exists, as `sd_booted`
    /// checks), else cron.
    pub fn detect() -> Method {
        if Path::new("/run/systemd/system").is_dir() {
            Method::Systemd
        } else {
            Method::Cron
        }
    }
}

/// What `startup` installs, for `tpm` at `tpm_bin` and the store of `ctx`.
#[derive(Debug, Clone, PartialEq)]
pub struct Startup {
    pub method: Method,
    /// The unit file (systemd) or the crontab line (cron).
    pub text: String,
    /// Where the unit goes (systemd).
    pub unit_path: Option<PathBuf>,
}

/// What `startup` or `unstartup` did, step by step, and what the user must still do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub done: Vec<String>,
    /// Commands to run by hand (they need root, or a user session this shell lacks).
    pub todo: Vec<String>,
}

impl Startup {
    /// The startup for `method`: the unit runs `tpm_bin resurrect` with this `TETRA_DIR` and
    /// `PATH` (interpreters and commands are found through it).
    pub fn new(method: Method, tpm_bin: &Path, ctx: &Context, tetra_dir: &Path) -> Result<Startup> {
        let bin = tpm_bin
            .to_str()
            .ok_or_else(|| Error::Usage(format!("{}: tpm needs UTF-8 paths", tpm_bin.display())))?;
        let dir = tetra_dir.to_str().ok_or_else(|| {
            Error::Usage(format!("{}: tpm needs UTF-8 paths", tetra_dir.display()))
        })?;
        let path = ctx
            .var("PATH")
            .and_then(|p| p.to_str())
            .unwrap_or("/usr/local/bin:/usr/bin:/bin")
            .to_string();
        Ok(match method {
            Method::Systemd => Startup {
                method,
                text: unit(bin, dir, &path).ok_or_else(|| {
                    Error::Usage(format!(
                        "{bin}: a systemd unit cannot run tpm from this path (a control character, or a quote or backslash with a '='): install tpm elsewhere"
                    ))
                })?,
                unit_path: Some(unit_dir(ctx)?.join(UNIT)),
            },
            Method::Cron => {
                // What it did at boot goes to a log in the store, not to nowhere.
                let command = format!(
                    "TETRA_DIR={} PATH={} {} resurrect >>{} 2>&1",
                    shell_words::quote(dir),
                    shell_words::quote(&path),
                    shell_words::quote(bin),
                    shell_words::quote(&format!("{dir}/tpm/startup.log")),
                );
                // cron turns a bare % of a command into a new line: escaped, it stays.
                let command = command.replace('%', "\\%");
                Startup {
                    method,
                    text: format!("@reboot {command} {MARKER}"),
                    unit_path: None,
                }
            }
        })
    }

    /// Installs it: writes the unit and enables it (systemd), or adds the line to the
    /// crontab (cron). What cannot be done from here is returned as commands to run.
    pub fn install(&self, ctx: &Context) -> Result<Outcome> {
        let mut out = Outcome::default();
        match self.method {
            Method::Systemd => {
                let path = self
                    .unit_path
                    .as_deref()
                    .ok_or_else(|| Error::Usage("a systemd startup needs a unit path".into()))?;
                if let Ok(existing) = fs::read_to_string(path) {
                    if !existing.starts_with(MARKER) {
                        return Err(Error::Usage(format!(
                            "{} exists and was not written by tpm: move it away, or remove it",
                            path.display()
                        )));
                    }
                }
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
                }
                crate::store::write_atomic(path, self.text.as_bytes())?;
                out.done.push(format!("wrote {}", path.display()));
                let user = ["--user"];
                if run(ctx, "systemctl", &[&user[..], &["daemon-reload"]].concat()).is_ok()
                    && run(ctx, "systemctl", &[&user[..], &["enable", UNIT]].concat()).is_ok()
                {
                    out.done
                        .push(format!("enabled it (systemctl --user enable {UNIT})"));
                } else {
                    out.todo.push("systemctl --user daemon-reload".into());
                    out.todo.push(format!("systemctl --user enable {UNIT}"));
                }
                let user_name = ctx
                    .var("USER")
                    .and_then(|u| u.to_str())
                    .unwrap_or("$USER")
                    .to_string();
                let lingering = run(
                    ctx,
                    "loginctl",
                    &["show-user", &user_name, "--property=Linger"],
                )
                .is_ok_and(|o| o.trim() == "Linger=yes");
                if !lingering {
                    out.todo
                        .push(format!("sudo loginctl enable-linger {user_name}"));
                }
            }
            Method::Cron => {
                let current = crontab(ctx)?;
                if current.lines().any(|l| l.trim_end().ends_with(MARKER)) {
                    let kept: Vec<&str> = current
                        .lines()
                        .filter(|l| !l.trim_end().ends_with(MARKER))
                        .collect();
                    set_crontab(ctx, &with_line(&kept, &self.text))?;
                    out.done
                        .push("replaced tpm's @reboot line in your crontab".into());
                } else {
                    let kept: Vec<&str> = current.lines().collect();
                    set_crontab(ctx, &with_line(&kept, &self.text))?;
                    out.done
                        .push("added an @reboot line to your crontab".into());
                }
            }
        }
        Ok(out)
    }
}

/// `unstartup`: removes what `startup` added, and nothing else.
pub fn uninstall(ctx: &Context) -> Result<Outcome> {
    let mut out = Outcome::default();
    let path = unit_dir(ctx)?.join(UNIT);
    if let Ok(text) = fs::read_to_string(&path) {
        if text.starts_with(MARKER) {
            if run(ctx, "systemctl", &["--user", "disable", UNIT]).is_ok() {
                out.done
                    .push(format!("disabled it (systemctl --user disable {UNIT})"));
            }
            fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
            out.done.push(format!("removed {}", path.display()));
            let _ = run(ctx, "systemctl", &["--user", "daemon-reload"]);
        }
    }
    if which("crontab", ctx).is_some() {
        if let Ok(current) = crontab(ctx) {
            if current.lines().any(|l| l.trim_end().ends_with(MARKER)) {
                let kept: Vec<&str> = current
                    .lines()
                    .filter(|l| !l.trim_end().ends_with(MARKER))
                    .collect();
                let mut text = kept.join("\n");
                if !text.is_empty() {
                    text.push('\n');
                }
                set_crontab(ctx, &text)?;
                out.done
                    .push("removed tpm's @reboot line from your crontab".into());
            }
        }
    }
    Ok(out)
}

/// The unit file. Values are quoted for systemd as `tpm export systemd` quotes them: tpm's
/// path is the program of `ExecStart=`, where systemd expands nothing but `%`. `None` when
/// no unit can run tpm from `bin` (`exec_line`).
fn unit(bin: &str, tetra_dir: &str, path: &str) -> Option<String> {
    let exec = exec_line(&[bin.to_string(), "resurrect".to_string()])?;
    Some(format!(
        "{MARKER}: `tpm unstartup` removes this file.
[Unit]
Description=tpm: start the processes meant to run

[Service]
# Oneshot, and active once it has run: the supervisors `tpm resurrect` launches stay in this
# unit's cgroup and live on; stopping the unit stops them, and they their processes.
Type=oneshot
RemainAfterExit=yes
Environment={}
Environment={}
ExecStart={exec}
TimeoutStartSec=300
# Each supervisor stops its process within its kill timeout (3 s by default).
TimeoutStopSec=120

[Install]
WantedBy=default.target
",
        quote_value(&format!("TETRA_DIR={tetra_dir}")),
        quote_value(&format!("PATH={path}")),
    ))
}

/// `~/.config/systemd/user` (or under `XDG_CONFIG_HOME`).
fn unit_dir(ctx: &Context) -> Result<PathBuf> {
    let config = match ctx.var("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match ctx.var("HOME").filter(|v| !v.is_empty()) {
            Some(home) => Path::new(home).join(".config"),
            None => {
                return Err(Error::Usage(
                    "HOME is not set, so tpm cannot tell where user units go".into(),
                ))
            }
        },
    };
    Ok(config.join("systemd/user"))
}

fn with_line(lines: &[&str], line: &str) -> String {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
    text
}

/// The user's crontab ("" when there is none).
fn crontab(ctx: &Context) -> Result<String> {
    if which("crontab", ctx).is_none() {
        return Err(Error::CommandNotFound {
            program: "crontab (cron, to run tpm resurrect at boot where there is no systemd)"
                .into(),
        });
    }
    // `crontab -l` fails when the user has no crontab yet: that is an empty one.
    Ok(run(ctx, "crontab", &["-l"]).unwrap_or_default())
}

fn set_crontab(ctx: &Context, text: &str) -> Result<()> {
    let program = which("crontab", ctx).ok_or_else(|| Error::CommandNotFound {
        program: "crontab".into(),
    })?;
    let mut child = Command::new(program)
        .arg("-")
        .env_clear()
        .envs(ctx.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("cannot run", "crontab", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| Error::io("cannot write to", "crontab", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("cannot run", "crontab", e))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "crontab refused the new table: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Runs `program args` with the caller's environment; its stdout on success.
fn run(ctx: &Context, program: &str, args: &[&str]) -> std::result::Result<String, String> {
    let found = which(program, ctx).ok_or_else(|| format!("{program} is not installed"))?;
    let out = Command::new(found)
        .args(args)
        .env_clear()
        .envs(ctx.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_systemd() {
        assert_eq!(quote_value(r#"a b"c\d%e"#), r#""a b\"c\\d%%e""#);
        let text = unit("/opt/my tpm/tpm", "/home/u/tetra", "/usr/bin:/bin").unwrap();
        assert!(text.starts_with(MARKER));
        assert!(
            text.contains("ExecStart=\"/opt/my tpm/tpm\" \"resurrect\"\n"),
            "{text}"
        );
        // The program's `$` is not expanded by systemd: written once, it names this path.
        let text = unit("/opt/p$x 50%/tpm", "/home/u/te$tra", "/usr/bin:/b$n").unwrap();
        assert!(
            text.contains("ExecStart=\"/opt/p$x 50%%/tpm\" \"resurrect\"\n"),
            "{text}"
        );
        assert!(text.contains("Environment=\"TETRA_DIR=/home/u/te$tra\"\n"));
        assert!(text.contains("Type=oneshot\nRemainAfterExit=yes\n"));
    }
}
