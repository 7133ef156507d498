use tpm_core::Tpm;

use crate::cli::DescribeArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: DescribeArgs) -> tpm_core::Result<i32> {
    let names = tpm.resolve(std::slice::from_ref(&args.name))?;
    let instances = tpm.instances_of(&args.name, &names);
    if instances.len() > 1 && instances.len() == names.len() {
        // An app's name: each of its instances, one after the other (JSON: a list).
        let all = instances
            .iter()
            .map(|n| tpm.describe(n))
            .collect::<tpm_core::Result<Vec<_>>>()?;
        if args.json {
            render::json(&all);
            return Ok(0);
        }
        for (i, d) in all.into_iter().enumerate() {
            if i > 0 {
                render::line("");
            }
            show(d);
        }
        return Ok(0);
    }
    let [name] = names.as_slice() else {
        return Err(tpm_core::command::describe_takes_one(
            &args.name,
            names.len(),
        ));
    };
    let d = tpm.describe(name)?;
    if args.json {
        render::json(&d);
        return Ok(0);
    }
    show(d);
    Ok(0)
}

fn show(d: tpm_core::ops::Description) {
    let p = &d.process;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, v: String| out.push((k.to_string(), v));
    row("name", p.name.clone());
    row("id", render::or_dash(p.id));
    row(
        "status",
        match &p.reason {
            Some(why) => format!("{} ({why})", p.status),
            None => p.status.to_string(),
        },
    );
    row("pid", render::or_dash(p.pid));
    row("supervisor", render::or_dash(p.supervisor));
    row("tracking", p.tracking.as_str().to_string());
    row(
        "port",
        match p.port {
            Some(port) => format!(
                "{port} ({})",
                match p.listening {
                    Some(true) => "listening",
                    Some(false) => "not listening",
                    None => "not running",
                }
            ),
            None => "none (it listens on no PORT)".to_string(),
        },
    );
    row("uptime", p.uptime.map_or("-".into(), render::uptime));
    row(
        "restarts",
        format!("{} ({} in the last 24h)", p.restarts, p.restarts_24h),
    );
    row(
        "uptime 24h",
        p.uptime_pct_24h.map_or("-".into(), |v| {
            format!("{v}% of the time it was meant to run")
        }),
    );
    row("last exit", render::or_dash(p.exit_code));
    row("cpu", p.cpu.map_or("-".into(), |c| format!("{c:.1}%")));
    row("mem", p.mem.map_or("-".into(), render::mem));
    row(
        "meant to run",
        if p.wanted {
            "yes".into()
        } else {
            "no (stopped by you)".into()
        },
    );
    row("script", p.script.clone());
    row("command", shell_join(&p.cmd));
    row(
        "interpreter",
        d.interpreter.clone().unwrap_or_else(|| "-".into()),
    );
    row("cwd", p.cwd.clone());
    row("type", p.kind.clone());
    row(
        "restart policy",
        format!(
            "{}, errored when runs under {} go on for {} (at least 3) or {} times in a row, first delay {}",
            if p.autorestart {
                "autorestart"
            } else {
                "no autorestart"
            },
            render::millis(d.min_uptime),
            render::millis(d.min_uptime * u64::from(tpm_core::policy::VERDICT_UPTIMES)),
            d.max_restarts,
            render::millis(d.restart_delay),
        ),
    );
    row(
        "ready",
        format!(
            "{} (by {}){}",
            match p.ready {
                Some(true) => "yes",
                Some(false) => "not yet",
                None => "-",
            },
            d.ready_check,
            if d.wait_ready {
                format!("; starts wait up to {}", render::millis(d.wait_timeout))
            } else {
                String::new()
            }
        ),
    );
    if !d.depends_on.is_empty() {
        let deps: Vec<String> = d
            .depends_on
            .iter()
            .map(|dep| format!("{} ({})", dep.name, dep.condition))
            .collect();
        row("depends on", deps.join(", "));
    }
    if !d.dependants.is_empty() {
        row(
            "dependants",
            format!(
                "{} (restarted with it by `restart --with-dependants`)",
                d.dependants.join(", ")
            ),
        );
    }
    if let Some(check) = &d.health_check {
        let now = match p.health {
            Some(h) => format!("{h}: "),
            None => String::new(),
        };
        row("health", format!("{now}{check}"));
    }
    if let Some(w) = d.watchdog {
        row(
            "watchdog",
            format!("restarted after {} without WATCHDOG=1", render::millis(w)),
        );
    }
    if let Some(status) = &d.notify_status {
        row("status (notify)", render::shown(status).into_owned());
    }
    if !d.watch.is_empty() {
        let ignoring = if d.ignore_watch.is_empty() {
            String::new()
        } else {
            format!(" (and {})", d.ignore_watch.join(", "))
        };
        row(
            "watch",
            format!(
                "{}, leaving out .git, node_modules, __pycache__{ignoring}",
                d.watch.join(", ")
            ),
        );
    }
    if d.max_memory > 0 || d.cron_restart.is_some() {
        let mut also = Vec::new();
        if d.max_memory > 0 {
            also.push(format!(
                "when its memory stays over {}",
                render::mem(d.max_memory)
            ));
        }
        if let Some(cron) = &d.cron_restart {
            also.push(format!("on the schedule \"{cron}\""));
        }
        row("also restarted", also.join(", "));
    }
    row(
        "stop",
        format!(
            "{}, KILL after {}{}",
            d.stop_signal,
            render::millis(d.kill_timeout),
            if d.stop_exit_codes.is_empty() {
                String::new()
            } else {
                let codes: Vec<String> = d.stop_exit_codes.iter().map(i32::to_string).collect();
                format!("; exit codes {} are a normal end", codes.join(","))
            }
        ),
    );
    let mut logs = vec![format!(
        "rotated past {}, {} kept",
        if d.log_rotate_size == 0 {
            "never".to_string()
        } else {
            render::mem(d.log_rotate_size)
        },
        d.log_keep
    )];
    if let Some(every) = &d.log_rotate {
        logs.push(format!("and {every}"));
    }
    logs.push(if d.log_compress {
        "older ones compressed".into()
    } else {
        "not compressed".into()
    });
    if d.log_max_age > 0 {
        logs.push(format!(
            "removed after {}",
            if d.log_max_age < 60_000 {
                render::millis(d.log_max_age)
            } else {
                render::uptime(d.log_max_age / 1000)
            }
        ));
    }
    if d.log_max_total > 0 {
        logs.push(format!("all under {}", render::mem(d.log_max_total)));
    }
    row("logs", logs.join(", "));
    row(
        "created",
        d.created
            .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
    );
    let width = out.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in &out {
        render::line(&format!("{k:>width$}  {v}"));
    }
    if !d.env.is_empty() {
        render::line("\nenvironment:");
        for (k, v) in &d.env {
            render::line(&format!("  {k}={v}"));
        }
    }
    render::line("\nlog files:");
    for f in &d.log_files {
        render::line(&format!("  {}  {}", f.path.display(), render::mem(f.bytes)));
    }
    if !d.tree.is_empty() {
        render::line("\nprocesses:");
        for t in &d.tree {
            render::line(&format!(
                "  {:>7} {:>8}  {}",
                t.pid,
                render::mem(t.rss),
                t.command
            ));
        }
    }
    if !d.events.is_empty() {
        render::line("\nlast events:");
        for e in &d.events {
            render::line(&format!("  {}", super::events::line(e)));
        }
    }
}

fn shell_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                format!("'{}'", w.replace('\'', "'\\''"))
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
