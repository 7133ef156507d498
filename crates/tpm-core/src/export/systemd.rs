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
//! - `--ready-notify` → `Type=notify` with `NotifyAccess=all` (tpm hears the whole tree);
//!   `--watchdog` → `WatchdogSec=` (systemd restarts on it with `Restart=always`, or with
//!   `Restart=on-watchdog` for an app without autorestart, as tpm does).
//! - A liveness check (`--health-*`) has no systemd equivalent: systemd asks nothing of a
//!   running service but its watchdog pings. The unit says so in a comment, and a note.
//!
//! Values are quoted for systemd, each setting by its own rule (`systemd.syntax(7)`,
//! "COMMAND LINES" in `systemd.service(5)`), and checked with `systemd-analyze verify`:
//! - `ExecStart=`: each word `"..."` with C escapes and `%` doubled (specifiers); in the
//!   arguments `$` is doubled too, as systemd expands `$VAR` and `${VAR}` there. The program
//!   (the first word) is not expanded, so its `$` is written as it is: doubled, it would name
//!   another file. systemd refuses a program whose path holds a quote or a backslash: such
//!   a program is run through `/usr/bin/env`, as its first argument.
//! - `Environment=`: one `"KEY=value"` word, C escapes and `%` doubled; `$` is not expanded.
//! - `WorkingDirectory=`: the path unquoted (systemd reads the rest of the line as it is),
//!   `%` doubled; a path ending in a space or a backslash gets a `/` after it (the line's
//!   end would be trimmed, or joined to the next line), and one holding a control character
//!   cannot be written (an error says so).

use std::fmt::Write as _;

use super::{duration, ExportFile, ExportOptions, Prepared, UnitScope, MARKER, SET};
use crate::error::{Error, Result};
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
        .map(|app| {
            Ok(ExportFile {
                path: unit_name(app).into(),
                text: service(app, options, notes)?,
            })
        })
        .collect::<Result<_>>()?;
    files.push(ExportFile {
        path: format!("{SET}.target").into(),
        text: target(apps, options.scope),
    });
    Ok(files)
}

fn unit_name(app: &Prepared) -> String {
    format!("tpm-{}.service", app.name)
}

fn service(app: &Prepared, options: &ExportOptions, notes: &mut Vec<String>) -> Result<String> {
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
    for (dep, condition) in &app.depends_on {
        let unit = format!("tpm-{dep}.service");
        use crate::depends::Condition;
        let _ = writeln!(
            t,
            "# tpm starts it once {dep} is {}",
            match condition {
                Condition::Started => "started",
                Condition::Ready => "ready",
                Condition::Healthy => "healthy",
                Condition::Completed => "done, with code 0",
            }
        );
        let _ = writeln!(t, "After={unit}");
        // `started`: it may run without its dependency, as tpm lets it once started.
        let needs = if *condition == Condition::Started {
            "Wants"
        } else {
            "Requires"
        };
        let _ = writeln!(t, "{needs}={unit}");
        if *condition != Condition::Started {
            notes.push(format!(
                "{}: After={unit} waits until {dep} runs (Type=exec), not until it is {condition} as tpm does; a program that speaks systemd's notify protocol can be Type=notify",
                unit_name(app)
            ));
        }
    }
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
    if app.spec.ready.check == crate::readiness::ReadyCheck::Notify {
        // Ready on READY=1, from any process of the unit, as tpm hears any of its tree.
        t.push_str("Type=notify\nNotifyAccess=all\n");
    } else {
        // `exec`: started once the program is executed, so a missing program fails the
        // start.
        t.push_str("Type=exec\n");
    }
    if let Some(w) = app.spec.watchdog {
        if app.spec.ready.check != crate::readiness::ReadyCheck::Notify {
            t.push_str("NotifyAccess=all\n");
        }
        let _ = writeln!(t, "WatchdogSec={}", duration(w));
    }
    if let Some(h) = &app.spec.health {
        let _ = writeln!(
            t,
            "# tpm's liveness check ({}) has no systemd equivalent: systemd asks a running service nothing but its watchdog pings",
            escape_percent(&h.describe()).replace('\n', " ")
        );
        notes.push(format!(
            "{}: its liveness check ({}) has no systemd equivalent; the unit restarts it only when it exits{}",
            unit_name(app),
            h.check.describe(),
            if app.spec.watchdog.is_some() {
                " or its watchdog pings stop"
            } else {
                ""
            }
        ));
    }
    if options.scope == UnitScope::System {
        if let Some(user) = &options.user {
            let _ = writeln!(t, "User={}", escape_percent(user));
        }
    }
    let cwd = working_directory(&app.spec.cwd).ok_or_else(|| {
        Error::Usage(format!(
            "{}: its working directory {:?} holds a control character, which a systemd unit cannot hold: start it from another folder (--cwd)",
            app.name, app.spec.cwd
        ))
    })?;
    let _ = writeln!(t, "WorkingDirectory={cwd}");
    let exec = exec_line(&app.argv).ok_or_else(|| {
        Error::Usage(format!(
            "{}: its program {:?} cannot be written in a systemd unit (a control character, or a quote or backslash with a '='): move it, or run it through a script",
            app.name,
            app.argv.first().map_or("", String::as_str)
        ))
    })?;
    if app.argv.first().is_some_and(|p| needs_env(p)) {
        t.push_str(
            "# systemd runs no program whose path holds a quote or a backslash: env runs it\n",
        );
    }
    let _ = writeln!(t, "ExecStart={exec}");
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
    let restart = match (p.autorestart, app.spec.watchdog.is_some()) {
        (true, _) => "always",
        // tpm restarts a process whose pings stop even without autorestart.
        (false, true) => "on-watchdog",
        (false, false) => "no",
    };
    let _ = writeln!(t, "Restart={restart}");
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
    Ok(t)
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

/// What runs a program systemd refuses to name (see [`needs_env`]): its path is then an
/// argument, which may hold anything.
pub const ENV: &str = "/usr/bin/env";

/// `ExecStart=` (or another command line) running `argv` exactly: the program by
/// [`quote_program`], the arguments by [`quote_arg`]. A program whose path systemd refuses
/// ([`needs_env`]) is run by [`ENV`]. `None` when there is no way: the program's path holds
/// a control character, or needs env and holds a `=` (env would take it for a variable).
pub fn exec_line(argv: &[String]) -> Option<String> {
    let (program, args) = argv.split_first()?;
    if program.chars().any(char::is_control) {
        return None;
    }
    let mut words = Vec::with_capacity(argv.len() + 1);
    if needs_env(program) {
        if program.contains('=') {
            return None;
        }
        words.push(ENV.to_string());
        words.push(quote_arg(program));
    } else {
        words.push(quote_program(program));
    }
    words.extend(args.iter().map(|a| quote_arg(a)));
    Some(words.join(" "))
}

/// Whether systemd refuses `program` as the first word of a command line: it rejects
/// "special characters" there (quotes and backslashes, `string_is_safe` in its source),
/// however they are escaped.
pub fn needs_env(program: &str) -> bool {
    program.contains(['"', '\'', '\\'])
}

/// The program of a command line: as [`quote_value`]. systemd does not expand variables in
/// it (only in the arguments), so a `$` stays single: `$$` would be read as two.
pub fn quote_program(path: &str) -> String {
    quote_value(path)
}

/// An argument of a command line: as [`quote_value`], and `$` doubled (systemd expands
/// `$VAR` and `${VAR}` there; `$$` is one `$`). A lone `;` separates commands, so it is
/// written `\;`.
pub fn quote_arg(word: &str) -> String {
    if word == ";" {
        return "\\;".into();
    }
    quote_value(&word.replace('$', "$$"))
}

/// A path for a setting systemd reads unquoted to the end of the line (`WorkingDirectory=`):
/// `%` doubled, and a `/` after a last space or backslash, which the line's end would
/// otherwise lose (trimmed) or join to the next line (a continuation). `None` when it holds
/// a control character: a line cannot.
pub fn working_directory(path: &str) -> Option<String> {
    if path.chars().any(char::is_control) {
        return None;
    }
    let mut out = escape_percent(path);
    if out.ends_with(|c: char| c.is_whitespace() || c == '\\') {
        out.push('/');
    }
    Some(out)
}

/// `%` doubled, for settings that take a value unquoted.
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
    fn each_setting_is_quoted_by_its_own_rule() {
        let argv = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        // The program is not expanded by systemd: its `$` stays single, `%` is doubled.
        assert_eq!(
            exec_line(&argv(&["/a/p$x %y/w", "$HOME", "50%", ";"])).unwrap(),
            r#""/a/p$x %%y/w" "$$HOME" "50%%" \;"#
        );
        // systemd refuses quotes and backslashes in a program's path: env runs it.
        assert_eq!(
            exec_line(&argv(&["/a/q\"b\\c/w", "x"])).unwrap(),
            r#"/usr/bin/env "/a/q\"b\\c/w" "x""#
        );
        assert_eq!(exec_line(&argv(&["/a/q\"b=c/w"])), None);
        assert_eq!(exec_line(&argv(&["/a/\nw"])), None);
        assert_eq!(
            working_directory("/srv/50% a ").as_deref(),
            Some("/srv/50%% a /")
        );
        assert_eq!(working_directory("/srv/a\\").as_deref(), Some("/srv/a\\/"));
        assert_eq!(
            working_directory("/srv/\"q' $x").as_deref(),
            Some("/srv/\"q' $x")
        );
        assert_eq!(working_directory("/srv/a\nb"), None);
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
