//! systemd: one `tpm-NAME.service` per app and a `tpm-apps.target` that wants them all, for
//! the user's manager (`systemctl --user`, the apps run as you, as under tpm) or the
//! system's (`User=` set to you). Output goes to the journal (`journalctl -u tpm-NAME`).
//!
//! The policy, mapped:
//! - `autorestart` → `Restart=always` (tpm restarts after any exit it did not ask for, code
//!   0 included), or `Restart=no`.
//! - The first delay → `RestartSec=`. tpm doubles it up to 15 s: systemd 254 and later do
//!   the same with `RestartSteps=` (the doublings before the cap) and
//!   `RestartMaxDelaySec=15s`, growing by an equal factor per step (close to, not exactly,
//!   2). Older systemd does not know them (it warns and ignores them), so they are written
//!   only for a systemd known to be 254 or later; there every restart waits `RestartSec=`.
//!   systemd's step count goes back to zero only when the unit is started by hand, not
//!   after 30 s up as tpm's does.
//! - The crash-loop verdict → `StartLimitBurst=` starts within `StartLimitIntervalSec=`:
//!   the burst is the number of quick exits after which tpm gives up on the slowest crash
//!   loop (`Policy::verdict`: runs just under `min_uptime`; the next start is refused and
//!   the unit is `failed`, as tpm's `errored`), and the interval is the time they take. systemd counts every start in the interval, quick or not,
//!   and manual ones too: close, not exact. `max_restarts` 0 (never give up) →
//!   `StartLimitIntervalSec=0`, no limit.
//! - Stopping: tpm sends TERM to the whole process tree, waits the kill timeout, then KILL:
//!   `KillMode=control-group` (TERM to every process of the unit at once),
//!   `KillSignal=` the stop signal, `TimeoutStopSec=` the kill timeout, `SendSIGKILL=yes`. A kill
//!   timeout of 0 is `KillSignal=SIGKILL` (`TimeoutStopSec=0` would mean no timeout).
//! - `stop_exit_codes` → `SuccessExitStatus=` and `RestartPreventExitStatus=` (a normal end,
//!   not restarted).
//! - Log rotation sizes are not per unit in systemd: journald's own limits apply.
//!
//! Values are quoted for systemd: `"..."` with C escapes, `%` doubled (specifiers), and in
//! `ExecStart=` `$` doubled too (it expands variables there, not in `Environment=`).

use std::fmt::Write as _;

use super::{duration, ExportFile, ExportOptions, Prepared, UnitScope, MARKER, SET};
use crate::error::Result;
use crate::policy::MAX_DELAY;

/// The first systemd with `RestartSteps=` and `RestartMaxDelaySec=`.
pub const BACKOFF_SINCE: u32 = 254;

pub(super) fn render(
    apps: &[Prepared],
    options: &ExportOptions,
    notes: &mut Vec<String>,
) -> Result<Vec<ExportFile>> {
    let mut files: Vec<ExportFile> = apps
        .iter()
        .map(|app| ExportFile {
            path: unit_name(app).into(),
            text: service(app, options, notes),
        })
        .collect();
    files.push(ExportFile {
        path: format!("{SET}.target").into(),
        text: target(apps, options.scope),
    });
    Ok(files)
}

fn unit_name(app: &Prepared) -> String {
    format!("tpm-{}.service", app.name)
}

fn service(app: &Prepared, options: &ExportOptions, notes: &mut Vec<String>) -> String {
    let p = app.policy();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# {MARKER} from tpm's process {}: running it again replaces this file.",
        app.name
    );
    t.push_str("[Unit]\n");
    let _ = writeln!(
        t,
        "Description={}",
        escape_percent(&format!("tpm app {}", app.name))
    );
    let _ = writeln!(t, "PartOf={SET}.target");
    if let Some((exits, span)) = p.verdict() {
        let _ = writeln!(
            t,
            "# errored after {exits} quick exits in a row (at most): that many starts in the time they can take"
        );
        let _ = writeln!(t, "StartLimitIntervalSec={}", duration(span));
        let _ = writeln!(t, "StartLimitBurst={exits}");
    } else {
        t.push_str("StartLimitIntervalSec=0\n");
    }

    t.push_str("\n[Service]\n");
    // `exec`: started once the program is executed, so a missing program fails the start.
    t.push_str("Type=exec\n");
    if options.scope == UnitScope::System {
        if let Some(user) = &options.user {
            let _ = writeln!(t, "User={}", escape_percent(user));
        }
    }
    let _ = writeln!(t, "WorkingDirectory={}", escape_percent(&app.spec.cwd));
    let argv: Vec<String> = app.argv.iter().map(|a| quote_exec(a)).collect();
    let _ = writeln!(t, "ExecStart={}", argv.join(" "));
    for (k, v) in &app.env {
        let _ = writeln!(t, "Environment={}", quote_value(&format!("{k}={v}")));
    }
    if !app.secrets.is_empty() {
        let file = format!("%E/tpm/{}.env", app.name);
        let _ = writeln!(
            t,
            "# Secrets, not written here: {}. Put KEY=VALUE lines in this file (mode 600).",
            app.secrets.join(", ")
        );
        let _ = writeln!(t, "EnvironmentFile={file}");
        let place = match options.scope {
            UnitScope::User => format!("~/.config/tpm/{}.env", app.name),
            UnitScope::System => format!("/etc/tpm/{}.env", app.name),
        };
        notes.push(format!(
            "{}: fill in {} in {place} (KEY=VALUE lines, mode 600): the unit reads them from there and does not start without that file",
            unit_name(app),
            app.secrets.join(", ")
        ));
    }
    let _ = writeln!(t, "Restart={}", if p.autorestart { "always" } else { "no" });
    let _ = writeln!(t, "RestartSec={}", duration(p.restart_delay));
    let steps = p.steps_to_cap();
    if p.autorestart && steps > 0 {
        let backoff = format!(
            "RestartSteps={steps}\nRestartMaxDelaySec={}\n",
            duration(MAX_DELAY)
        );
        if options.systemd_version.is_some_and(|v| v >= BACKOFF_SINCE) {
            t.push_str("# tpm's backoff: the delay doubles on each restart, up to 15s\n");
            t.push_str(&backoff);
        } else {
            let _ = writeln!(
                t,
                "# tpm's backoff (the delay doubles, up to 15s) needs systemd {BACKOFF_SINCE} or later:"
            );
            for line in backoff.lines() {
                let _ = writeln!(t, "#{line}");
            }
        }
    }
    t.push_str("KillMode=control-group\n");
    if p.kill_timeout.is_zero() {
        t.push_str("# a kill timeout of 0: KILL at once\nKillSignal=SIGKILL\n");
    } else {
        let _ = writeln!(t, "KillSignal={}", p.stop_signal.as_str());
        let _ = writeln!(t, "TimeoutStopSec={}", duration(p.kill_timeout));
        t.push_str("SendSIGKILL=yes\n");
    }
    if !p.stop_exit_codes.is_empty() {
        let codes: Vec<String> = p.stop_exit_codes.iter().map(|c| c.to_string()).collect();
        // A normal end: not restarted (`Restart=always` restarts even those, so on-failure).
        let _ = writeln!(t, "SuccessExitStatus={}", codes.join(" "));
        let _ = writeln!(t, "RestartPreventExitStatus={}", codes.join(" "));
    }
    t.push_str("StandardOutput=journal\nStandardError=journal\n");
    let _ = writeln!(t, "SyslogIdentifier={}", escape_percent(app.name.as_str()));

    t.push_str("\n[Install]\n");
    let _ = writeln!(t, "WantedBy={SET}.target");
    t
}

fn target(apps: &[Prepared], scope: UnitScope) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# {MARKER}: starting this target starts every app exported with it."
    );
    t.push_str("[Unit]\n");
    let _ = writeln!(t, "Description=tpm apps ({})", apps.len());
    let wants: Vec<String> = apps.iter().map(unit_name).collect();
    let _ = writeln!(t, "Wants={}", wants.join(" "));
    t.push_str("\n[Install]\n");
    let _ = writeln!(
        t,
        "WantedBy={}",
        match scope {
            UnitScope::User => "default.target",
            UnitScope::System => "multi-user.target",
        }
    );
    t
}

/// The major version of the systemd on this machine (`systemctl --version` says
/// `systemd 252 (252.38-1~deb12u1)`), found on the caller's PATH; `None` without one.
pub fn installed_version(ctx: &crate::context::Context) -> Option<u32> {
    let program = crate::target::which("systemctl", ctx)?;
    let out = std::process::Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

fn parse_version(text: &str) -> Option<u32> {
    text.lines()
        .next()?
        .strip_prefix("systemd ")?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// A value (`Environment=`'s `KEY=value`, a path) as one quoted word: `"..."` with `\`
/// and `"` escaped, control characters as `\xNN`, and `%` doubled.
pub fn quote_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One word of `ExecStart=`: as [`quote_value`], and `$` doubled (systemd expands `$VAR`
/// there). A lone `;` separates commands, so it is written `\;`.
pub fn quote_exec(word: &str) -> String {
    if word == ";" {
        return "\\;".into();
    }
    quote_value(&word.replace('$', "$$"))
}

/// `%` doubled, for settings that take a value unquoted (`WorkingDirectory=`).
fn escape_percent(value: &str) -> String {
    value.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::super::tests::app;
    use super::super::{render, Engine};
    use super::*;

    fn units(options: &ExportOptions) -> Vec<ExportFile> {
        let apps = [app(
            "web-7777",
            &["sh", "-c", "echo $PORT; echo 100%", ";"],
            &[("GREETING", "a \"b\" %c $d"), ("API_TOKEN", "s3cret")],
        )];
        let out = render(Engine::Systemd, &apps, options).unwrap();
        let place = match options.scope {
            UnitScope::User => "~/.config/tpm/web-7777.env",
            UnitScope::System => "/etc/tpm/web-7777.env",
        };
        assert!(out
            .notes
            .iter()
            .any(|n| n.contains("API_TOKEN") && n.contains(place)));
        out.files
    }

    #[test]
    fn a_unit_per_app_and_a_target_that_wants_them() {
        let files = units(&ExportOptions::default());
        let names: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(names, ["tpm-web-7777.service", "tpm-apps.target"]);
        let unit = &files[0].text;
        for line in [
            "ExecStart=\"/usr/bin/sh\" \"-c\" \"echo $$PORT; echo 100%%\" \\;\n",
            "WorkingDirectory=/srv/app dir\n",
            "Environment=\"GREETING=a \\\"b\\\" %%c $d\"\n",
            "Environment=\"PORT=7777\"\n",
            "Environment=\"TPM_NAME=web-7777\"\n",
            "Environment=\"PATH=/usr/bin:/bin\"\n",
            "EnvironmentFile=%E/tpm/web-7777.env\n",
            "Restart=always\n",
            "RestartSec=100ms\n",
            "StartLimitIntervalSec=3297ms\n",
            "StartLimitBurst=3\n",
            "KillSignal=SIGTERM\n",
            "KillMode=control-group\n",
            "TimeoutStopSec=3s\n",
        ] {
            assert!(unit.contains(line), "{line}in:\n{unit}");
        }
        assert!(!unit.contains("s3cret"), "{unit}");
        // Without a systemd known to have them, the backoff settings are comments.
        assert!(unit.contains("#RestartSteps=8\n"), "{unit}");
        assert!(files[1].text.contains("Wants=tpm-web-7777.service\n"));
        assert!(files[1].text.contains("WantedBy=default.target\n"));
    }

    #[test]
    fn the_installed_version_is_read_from_systemctl() {
        assert_eq!(
            parse_version("systemd 252 (252.38-1~deb12u1)\n+PAM +AUDIT"),
            Some(252)
        );
        assert_eq!(parse_version("systemd 256.7\n"), Some(256));
        assert_eq!(parse_version("something else"), None);
    }

    #[test]
    fn systemd_254_gets_the_backoff_and_system_units_a_user() {
        let files = units(&ExportOptions {
            systemd_version: Some(254),
            scope: UnitScope::System,
            user: Some("alice".into()),
            ..ExportOptions::default()
        });
        let unit = &files[0].text;
        assert!(
            unit.contains("\nRestartSteps=8\nRestartMaxDelaySec=15s\n"),
            "{unit}"
        );
        assert!(unit.contains("\nUser=alice\n"), "{unit}");
        assert!(files[1].text.contains("WantedBy=multi-user.target\n"));
    }
}
