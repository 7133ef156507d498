//! What an app's fields mean: one [`RawApp`] becomes a [`StartRequest`], its fields read
//! through the start-option table (`options::START_OPTIONS`: tpm's field names and pm2's
//! aliases), so an ecosystem file takes exactly the options the command line takes.
//!
//! `script` is what to run; `env_<name>` is merged over `env` when `--env <name>` is given,
//! as pm2 does. A field tpm does not know is a warning naming it, not an error: real pm2
//! files carry many.

use std::path::Path;

use serde_json::Value as Json;

use super::RawApp;
use crate::error::{Error, Result};
use crate::ops::StartRequest;
use crate::options::{Opt, OptionDef, Options};

/// pm2 fields tpm knows of but does not do (yet): said as such, not as unknown.
const PM2_UNSUPPORTED: &[&str] = &[
    "instance_var",
    "exp_backoff_restart_delay",
    "watch_delay",
    "watch_options",
    "out_file",
    "error_file",
    "log_file",
    "log_date_format",
    "merge_logs",
    "combine_logs",
    "time",
    "namespace",
    "autostart",
    "shutdown_with_message",
    "treekill",
    "source_map_support",
    "vizion",
    "uid",
    "gid",
    "kill_retry_time",
    "filter_env",
    "append_env_to_name",
    "disable_logs",
    "force",
];

/// pm2's `increment_var: "PORT"` (the variable each instance adds one to): tpm's
/// `port_step: 1`. Only PORT is incremented: it is the one variable tpm owns.
fn increment_var(value: &Json) -> std::result::Result<crate::options::Value, String> {
    match value {
        Json::String(var) if var == "PORT" => Ok(crate::options::Value::Count(1)),
        Json::String(var) => Err(format!(
            "`increment_var`: tpm increments PORT only, not {var}; use `port_step` or drop the field"
        )),
        other => Err(format!(
            "`increment_var` names a variable (\"PORT\"), not {}",
            crate::options::describe(other)
        )),
    }
}

/// An app made into a start request, and what was worth a warning.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRequest {
    pub request: StartRequest,
    pub warnings: Vec<String>,
    /// The `env_<name>` sections this app has, so a caller can tell when a requested one
    /// is in no app at all.
    pub env_sections: Vec<String>,
}

/// Reads one app of the file at `file` (whose folder is `dir`). `env_names` are the
/// `--env NAME`s given: each picks the app's `env_NAME`, merged over its `env` in order.
pub fn request(file: &Path, dir: &Path, app: &RawApp, env_names: &[String]) -> Result<AppRequest> {
    let label = app.label();
    let bad = |message: String| Error::Ecosystem {
        file: file.to_path_buf(),
        app: Some(label.clone()),
        line: None,
        message,
    };
    let target = match app.fields.get("script") {
        Some(Json::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(other) => {
            return Err(bad(format!(
                "`script` must be a script path or a command, not {}",
                crate::options::describe(other)
            )))
        }
        None => return Err(bad("no `script`: say what to run".into())),
    };
    let mut options = Options::new();
    let mut warnings = Vec::new();
    let mut env_sections = Vec::new();
    let mut named_env: Vec<(usize, &serde_json::Map<String, Json>)> = Vec::new();
    for (field, value) in &app.fields {
        if field == "script" {
            continue;
        }
        if let Some(env_name) = field.strip_prefix("env_") {
            let Json::Object(vars) = value else {
                return Err(bad(format!(
                    "`{field}` must be an object of variables, not {}",
                    crate::options::describe(value)
                )));
            };
            env_sections.push(env_name.to_string());
            if let Some(order) = env_names.iter().position(|n| n == env_name) {
                named_env.push((order, vars));
            }
            continue;
        }
        // pm2's cluster mode is Node's own; tpm's instances are separate processes, which
        // `instances` alone asks for.
        if field == "exec_mode" {
            continue;
        }
        if field == "increment_var" {
            options.set(Opt::PortStep, increment_var(value).map_err(bad)?);
            continue;
        }
        match OptionDef::by_field(field) {
            Some(def) => {
                let parsed = def
                    .parse_json(value)
                    .map_err(|e| bad(format!("`{field}`: {e}")))?;
                options.set(def.id, parsed);
            }
            None if PM2_UNSUPPORTED.contains(&field.as_str()) => warnings.push(format!(
                "{}: {label}: `{field}` is a pm2 field tpm does not support yet; ignored",
                file.display()
            )),
            None => warnings.push(format!(
                "{}: {label}: unknown field `{field}`; ignored",
                file.display()
            )),
        }
    }
    // `--env production --env staging`: applied in the order given, each over the last.
    named_env.sort_by_key(|(order, _)| *order);
    let env_def = Opt::Env.def();
    for (_, vars) in named_env {
        let value = env_def
            .parse_json(&Json::Object(vars.clone()))
            .map_err(|e| bad(format!("env: {e}")))?;
        options.set(Opt::Env, value);
    }
    Ok(AppRequest {
        request: StartRequest::app(target, options, dir.to_path_buf()),
        warnings,
        env_sections,
    })
}
