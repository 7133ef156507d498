use std::io::Write;

use chrono::{Local, TimeZone};
use tpm_core::events::{self, Event};
use tpm_core::{Error, Tpm};

use crate::cli::EventsArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: EventsArgs) -> tpm_core::Result<i32> {
    let since = match &args.since {
        Some(raw) => events::parse_since(raw, events::now_ms()).ok_or_else(|| {
            Error::Usage(format!(
                "--since {raw}: expected a duration (90s, 30m, 1h, 2d) or a time (2026-12-02 10:00)"
            ))
        })?,
        None => 0,
    };
    let every = args.names.is_empty();
    let selectors = if every {
        vec!["*".to_string()]
    } else {
        args.names
    };
    let names = tpm.resolve(&selectors)?;
    let print = |e: &Event| {
        if args.json {
            render::json(e);
        } else {
            render::line(&line(e));
        }
        let _ = std::io::stdout().flush();
    };
    for e in tpm.events(&names, since, args.lines) {
        print(&e);
    }
    if args.follow {
        // With no names (or all), processes started later are followed too.
        let follow_all = every || selectors.iter().any(|s| s == "*" || s == "all");
        tpm.follow_events(
            (!follow_all).then_some(names.as_slice()),
            || true,
            |e| {
                print(&e);
                true
            },
        )?;
    }
    Ok(0)
}

/// `2026-12-02 04:59:32.493  crash-6001  exited  pid 15808, code 3, after 0ms`
pub fn line(e: &Event) -> String {
    let time = Local.timestamp_millis_opt(e.time_ms).single().map_or_else(
        || e.time_ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
    );
    let mut details = Vec::new();
    if let Some(pid) = e.pid {
        details.push(format!("pid {pid}"));
    }
    match (&e.signal, e.code) {
        (Some(sig), _) => details.push(format!("killed by {sig}")),
        (None, Some(code)) => details.push(format!("code {code}")),
        _ => {}
    }
    if let Some(ms) = e.ran_ms {
        details.push(format!("ran {}", render::millis(ms)));
    }
    if let Some(ms) = e.after_ms {
        details.push(format!("in {}", render::millis(ms)));
    }
    if let Some(n) = e.count {
        details.push(format!("{n} {}", e.event.counted()));
    }
    if let Some(by) = &e.by {
        details.push(format!("by {by}"));
    }
    if let Some(reason) = &e.reason {
        // A readiness event's reason is the check that passed (`port`, `http /health`).
        match e.event {
            tpm_core::events::Kind::Ready => details.push(match reason.as_str() {
                "port" => "its port listens".into(),
                "none" => "running, no check".into(),
                check => format!("by {check}"),
            }),
            _ => details.push(reason.clone()),
        }
    }
    format!(
        "{time}  {}  {}  {}",
        e.name,
        e.event.as_str(),
        details.join(", ")
    )
    .trim_end()
    .to_string()
}
