use serde_json::{Map, Value};
use tpm_core::ops::ImportRow;
use tpm_core::Tpm;

use super::first_failure;
use crate::cli::{ImportArgs, ImportSource};
use crate::render;

pub fn run(tpm: &Tpm, args: ImportArgs) -> tpm_core::Result<i32> {
    let ImportSource::Pm2 = args.from;
    let import = tpm.import_pm2(args.file.as_deref(), args.start)?;
    let rows = import.rows();
    let mut codes = Vec::new();
    if rows.is_empty() && !args.json {
        render::line(&format!(
            "nothing to import: {} lists no process",
            import.file.display()
        ));
    }
    let mut said: Option<&str> = None;
    for row in &rows {
        // An app's notes once, before its first process.
        if said != Some(row.app) {
            said = Some(row.app);
            for note in row.notes {
                render::eline(&format!("tpm: note: {note}"));
            }
        }
        match (row.error, row.info) {
            (Some(e), _) => codes.push(render::error(e)),
            (None, Some(info)) => {
                codes.push(0);
                if !args.json {
                    render::line(&line(row, info));
                }
            }
            (None, None) => {}
        }
    }
    if args.json {
        render::json(&rows.iter().map(json).collect::<Vec<Value>>());
    }
    Ok(first_failure(codes))
}

fn line(row: &ImportRow, info: &tpm_core::ProcessInfo) -> String {
    let from = if row.app == info.name {
        String::new()
    } else {
        format!(" from pm2's {}", row.app)
    };
    match row.action_str() {
        "exists" => format!(
            "exists {}{from}: tpm has it already ({}); left as it is",
            info.name, info.status
        ),
        action => format!(
            "{action} {}{from} (id {}, {}, pid {}, port {})",
            info.name,
            render::or_dash(info.id),
            info.status,
            render::or_dash(info.pid),
            render::or_dash(info.port)
        ),
    }
}

/// The process as `tpm list --json` shows it, with `app`, `action`, `notes` and `error`.
fn json(row: &ImportRow) -> Value {
    let mut object = match row.info.map(serde_json::to_value) {
        Some(Ok(Value::Object(map))) => map,
        _ => {
            let mut map = Map::new();
            map.insert(
                "name".into(),
                row.name
                    .map_or(Value::Null, |n| Value::String(n.to_string())),
            );
            map
        }
    };
    object.insert("app".into(), Value::String(row.app.to_string()));
    object.insert("action".into(), Value::String(row.action_str().into()));
    object.insert(
        "notes".into(),
        Value::Array(row.notes.iter().cloned().map(Value::String).collect()),
    );
    object.insert(
        "error".into(),
        row.error
            .map_or(Value::Null, |e| Value::String(e.to_string())),
    );
    Value::Object(object)
}
