//! What an app's fields mean: one [`RawApp`] becomes a [`StartRequest`], its fields read
//! through the start-option table (`options::START_OPTIONS`: tpm's field names and pm2's
//! aliases), so an ecosystem file takes exactly the options the command line takes.
//!
//! `script` (pm2's `exec`, or `cmd`) is what to run; `env_<name>` is merged over `env`
//! when `--env <name>` is given, as pm2 does; `env_file` is read under `env`. Every field
//! of every app is checked, and every problem reported at once. pm2's other fields are
//! in three groups: those tpm does the same thing for (read silently), those with no
//! meaning for tpm (pm2's monitoring, deployment, source maps: read silently), and those
//! tpm cannot do as pm2 does (one warning saying what happens instead). A field neither
//! tpm nor pm2 knows is a warning naming it.

use std::path::Path;

use serde_json::Value as Json;

use super::{Document, RawApp};
use crate::error::{Error, Result};
use crate::ops::StartRequest;
use crate::options::{EnvItem, Opt, OptionDef, Options, Value};

/// pm2 fields with no meaning for tpm: pm2's own monitoring and deployment, Node's source
/// maps and tracing, Windows. Read without a word.
const PM2_NO_MEANING: &[&str] = &[
    "vizion",
    "source_map_support",
    "disable_source_map_support",
    "pmx",
    "automation",
    "treekill",
    "deploy",
    "post_update",
    "trace",
    "disable_trace",
    "v8",
    "event_loop_inspector",
    "deep_monitoring",
    "windowsHide",
    "watch_options",
    "kill_retry_time",
    "instance_id_env",
    "io",
];

/// pm2 fields tpm cannot honour as pm2 does, and what happens instead (one warning each).
const PM2_INSTEAD: &[(&str, &str)] = &[
    (
        "log_date_format",
        "tpm stamps each log line as YYYY-MM-DD HH:MM:SS, local time",
    ),
    ("log_type", "tpm's log lines are text, stamped"),
    (
        "merge_logs",
        "each instance keeps its own log files (NAME-i.out)",
    ),
    (
        "combine_logs",
        "each instance keeps its own log files (NAME-i.out)",
    ),
    ("pid_file", "tpm writes the pid to its own pids/NAME.pid"),
    ("pid", "tpm writes the pid to its own pids/NAME.pid"),
    (
        "namespace",
        "tpm has no namespaces: the app is found by its name, or by the file",
    ),
    ("uid", "it runs as the user who starts it"),
    ("user", "it runs as the user who starts it"),
    ("gid", "it runs with the group of the user who starts it"),
    ("group", "it runs with the group of the user who starts it"),
    (
        "shutdown_with_message",
        "it is stopped with its stop signal (stop_signal)",
    ),
    (
        "filter_env",
        "it gets the caller's environment, with its env over it",
    ),
    ("append_env_to_name", "its name does not change with --env"),
    (
        "force",
        "an app already running is left as it is (tpm restart FILE restarts it)",
    ),
    (
        "watch_delay",
        "a restart comes once the files have been quiet for a moment",
    ),
];

/// pm2's names for its file of both streams together: tpm keeps each in its own file.
const PM2_LOG_FILES: &[&str] = &["log_file", "log"];

/// The fields that say what to run, in the order pm2 prefers them.
const SCRIPT_FIELDS: [&str; 3] = ["script", "exec", "cmd"];

/// An app made into a start request, and what was worth a warning.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRequest {
    pub request: StartRequest,
    pub warnings: Vec<String>,
    /// The `env_<name>` sections this app has, so a caller can tell when a requested one
    /// is in no app at all.
    pub env_sections: Vec<String>,
    /// pm2's `autostart: false`: `start FILE` leaves it out unless `--only` names it.
    pub autostart: bool,
    /// `depends_on`: the apps it needs, by the names the file gives them (resolved to
    /// processes when the file is planned).
    pub depends_on: Vec<crate::depends::Dependency>,
}

/// Reads one app of the file at `file` (whose folder is `dir`). `env_names` are the
/// `--env NAME`s given: each picks the app's `env_NAME`, merged over its `env` in order.
/// Every problem of the app is in the error ([`Error::Problems`] when there are several).
pub fn request(file: &Path, dir: &Path, app: &RawApp, env_names: &[String]) -> Result<AppRequest> {
    read_app(file, dir, app, env_names, None)
}

/// [`request`] for an app of `document`: a problem with a field says the field's line,
/// where the file's text shows it.
pub fn request_in(document: &Document, app: &RawApp, env_names: &[String]) -> Result<AppRequest> {
    let next = document
        .apps
        .get(app.index + 1)
        .and_then(|a| a.fields.get("name")?.as_str());
    let text = document.text.as_deref().map(|t| (t, next));
    read_app(&document.path, &document.dir, app, env_names, text)
}

/// The text of the file, and the name of the app after this one, to locate fields.
type Located<'t> = Option<(&'t str, Option<&'t str>)>;

fn read_app(
    file: &Path,
    dir: &Path,
    app: &RawApp,
    env_names: &[String],
    located: Located<'_>,
) -> Result<AppRequest> {
    let label = app.label();
    // Each problem with the field it is about ("" for none).
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut warnings = Vec::new();
    let mut warn = |text: String| warnings.push(format!("{}: {label}: {text}", file.display()));
    let given: Vec<(&str, &Json)> = SCRIPT_FIELDS
        .iter()
        .filter_map(|f| app.fields.get(*f).map(|v| (*f, v)))
        .collect();
    let target = match given.first() {
        Some((_, Json::String(s))) if !s.trim().is_empty() => s.clone(),
        Some((field, other)) => {
            problems.push((
                field.to_string(),
                format!(
                    "`{field}` must be a script path or a command, not {}",
                    crate::options::describe(other)
                ),
            ));
            String::new()
        }
        None => {
            problems.push((String::new(), "no `script`: say what to run".into()));
            String::new()
        }
    };
    if let Some((field, _)) = given.get(1).filter(|(_, v)| *v != given[0].1) {
        warn(format!(
            "`{field}` is not used: `{}` says what to run",
            given[0].0
        ));
    }
    let mut options = Options::new();
    let mut env_sections = Vec::new();
    let mut named_env: Vec<(usize, &serde_json::Map<String, Json>)> = Vec::new();
    let mut env_files = Vec::new();
    let mut autostart = true;
    let mut depends_on = Vec::new();
    let mut watch_off = false;
    for (field, value) in &app.fields {
        let field = field.as_str();
        if SCRIPT_FIELDS.contains(&field) {
            continue;
        }
        if let Some(env_name) = field.strip_prefix("env_").filter(|_| field != "env_file") {
            let Json::Object(vars) = value else {
                problems.push((
                    field.to_string(),
                    format!(
                        "`{field}` must be an object of variables, not {}",
                        crate::options::describe(value)
                    ),
                ));
                continue;
            };
            env_sections.push(env_name.to_string());
            if let Some(order) = env_names.iter().position(|n| n == env_name) {
                named_env.push((order, vars));
            }
            continue;
        }
        match field {
            // pm2's cluster mode is Node's own; tpm's instances are separate processes,
            // which `instances` alone asks for, in either mode.
            "exec_mode" => {
                if !matches!(
                    value.as_str(),
                    Some("fork" | "fork_mode" | "cluster" | "cluster_mode")
                ) {
                    problems.push((
                        field.to_string(),
                        format!(
                            "`exec_mode` is fork or cluster (fork_mode, cluster_mode), not {}",
                            shown(value)
                        ),
                    ));
                }
                continue;
            }
            "env_file" => {
                match paths(value) {
                    Some(list) => env_files = list,
                    None => problems.push((
                        field.to_string(),
                        format!(
                            "`env_file` is a path to a dotenv file, or a list of them, not {}",
                            crate::options::describe(value)
                        ),
                    )),
                }
                continue;
            }
            "autostart" => {
                match value {
                    Json::Bool(b) => autostart = *b,
                    other => problems.push((
                        field.to_string(),
                        format!(
                            "`autostart` is true or false, not {}",
                            crate::options::describe(other)
                        ),
                    )),
                }
                continue;
            }
            "depends_on" => {
                match crate::depends::parse(value) {
                    Ok(deps) => depends_on = deps,
                    Err(list) => {
                        problems.extend(list.into_iter().map(|p| (field.to_string(), p)));
                    }
                }
                continue;
            }
            // pm2 stamps lines only with `time: true`; tpm always does.
            "time" => {
                if *value == Json::Bool(false) {
                    warn("`time: false`: tpm stamps every log line anyway".into());
                }
                continue;
            }
            // Both streams to /dev/null.
            "disable_logs" => {
                if *value == Json::Bool(true) {
                    for opt in [Opt::OutFile, Opt::ErrorFile] {
                        options.set(opt, Value::Text("/dev/null".into()));
                    }
                }
                continue;
            }
            "watch" if matches!(value, Json::Bool(false) | Json::Null) => {
                watch_off = true;
                continue;
            }
            "watch" => {
                let Some(list) = paths(value).or_else(|| value.as_bool().map(|_| Vec::new()))
                else {
                    problems.push((
                        field.to_string(),
                        format!(
                            "`watch`: expected a list of paths or patterns, one, or true, found {}",
                            crate::options::describe(value)
                        ),
                    ));
                    continue;
                };
                let mut watched = Vec::with_capacity(list.len());
                for path in list {
                    match glob_base(&path) {
                        Some(base) => {
                            warn(format!(
                                "`watch: {path}`: tpm watches {} (every file under it, less ignore_watch)",
                                if base.is_empty() { "its cwd" } else { &base }
                            ));
                            watched.push(base);
                        }
                        None => watched.push(path),
                    }
                }
                // `watch: true` (or only patterns in the cwd): the cwd.
                watched.retain(|p| !p.is_empty());
                options.set(Opt::Watch, Value::Paths(watched));
                continue;
            }
            _ => {}
        }
        if PM2_LOG_FILES.contains(&field) {
            warn(format!(
                "`{field}`: tpm keeps each stream in its own log file (`tpm logs`), none in {}",
                shown(value)
            ));
            continue;
        }
        match OptionDef::by_field(field) {
            Some(def) => match def.parse_json(value) {
                Ok(parsed) => options.set(def.id, parsed),
                Err(e) => problems.push((field.to_string(), format!("`{field}`: {e}"))),
            },
            None if PM2_NO_MEANING.contains(&field) => {}
            None => match PM2_INSTEAD.iter().find(|(f, _)| *f == field) {
                Some((_, instead)) => warn(format!("`{field}` (pm2): {instead}")),
                None => warn(format!("unknown field `{field}`; ignored")),
            },
        }
    }
    // `ignore_watch` without a watch leaves out nothing, as in pm2: not an error.
    if watch_off || options.get(Opt::Watch).is_none() {
        options.remove(Opt::Watch);
        options.remove(Opt::WatchIgnore);
    }
    // Variables from `env_file` come first: `env` and `env_NAME` are set over them.
    let mut file_vars = Vec::new();
    for path in &env_files {
        match dotenv(&dir.join(path)) {
            Ok(vars) => file_vars.extend(vars),
            Err(e) => problems.push(("env_file".into(), format!("`env_file`: {e}"))),
        }
    }
    if !file_vars.is_empty() {
        let given = options.remove(Opt::Env);
        options.set(
            Opt::Env,
            Value::Env(
                file_vars
                    .into_iter()
                    .map(|(k, v)| EnvItem::Var(k, v))
                    .collect(),
            ),
        );
        if let Some(given) = given {
            options.set(Opt::Env, given);
        }
    }
    // `--env production --env staging`: applied in the order given, each over the last.
    named_env.sort_by_key(|(order, _)| *order);
    let env_def = Opt::Env.def();
    for (_, vars) in named_env {
        match env_def.parse_json(&Json::Object(vars.clone())) {
            Ok(value) => options.set(Opt::Env, value),
            Err(e) => problems.push((String::new(), format!("env: {e}"))),
        }
    }
    if !problems.is_empty() {
        let name = app.fields.get("name").and_then(Json::as_str);
        let errors = problems
            .into_iter()
            .map(|(field, message)| Error::Ecosystem {
                file: file.to_path_buf(),
                app: Some(label.clone()),
                line: match (located, name) {
                    (Some((text, next)), Some(name)) if !field.is_empty() => {
                        super::field_line(text, name, next, &field)
                    }
                    _ => None,
                },
                message,
            })
            .collect();
        return Err(Error::all(errors).unwrap_or(Error::Usage(label)));
    }
    Ok(AppRequest {
        request: StartRequest::app(target, options, dir.to_path_buf()),
        warnings,
        env_sections,
        autostart,
        depends_on,
    })
}

/// A value as a message quotes it: text as it is, anything else as JSON.
fn shown(value: &Json) -> String {
    match value {
        Json::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// One path or a list of them.
fn paths(value: &Json) -> Option<Vec<String>> {
    match value {
        Json::String(s) => Some(vec![s.clone()]),
        Json::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// For a watch path with a glob (`src/**/*.js`), the folder before the first pattern
/// (`src`; empty: the cwd); `None` for a plain path.
fn glob_base(path: &str) -> Option<String> {
    if !path.contains(['*', '?', '[', '{']) {
        return None;
    }
    let literal: Vec<&str> = path
        .split('/')
        .take_while(|part| !part.contains(['*', '?', '[', '{']))
        .collect();
    Some(literal.join("/"))
}

/// The variables of a dotenv file: `KEY=VALUE` lines (`export ` in front allowed), `#`
/// comments, values bare, in single quotes (as written) or in double quotes (`\n`, `\"`
/// and `\\` escaped). Nothing is expanded: a `$` is a `$`.
pub(crate) fn dotenv(path: &Path) -> std::result::Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut vars = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, raw)) = line.split_once('=') else {
            return Err(format!(
                "{}, line {}: expected KEY=VALUE, found {line:?}",
                path.display(),
                n + 1
            ));
        };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "{}, line {}: {key:?} is not a variable name",
                path.display(),
                n + 1
            ));
        }
        let raw = raw.trim();
        let value = if let Some(inner) = raw.strip_prefix('\'') {
            inner.split_once('\'').map_or(inner, |(v, _)| v).to_string()
        } else if let Some(inner) = raw.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => out.push('\n'),
                        Some(other) => out.push(other),
                        None => {}
                    },
                    c => out.push(c),
                }
            }
            out
        } else {
            // A bare value ends at a ` #` comment.
            raw.split_once(" #")
                .map_or(raw, |(v, _)| v)
                .trim()
                .to_string()
        };
        vars.push((key.to_string(), value));
    }
    Ok(vars)
}
