//! `tpm import pm2`: pm2's saved process list (`dump.pm2`, written by `pm2 save`) made into
//! tpm processes, through the same path as an ecosystem file's apps.
//!
//! Each pm2 process is turned back into the app a pm2 user would have written (`script`,
//! `args`, `interpreter`, `interpreter_args`, `cwd`, `env`, `instances` and the restart
//! fields, by pm2's names), and that app is planned as any app of a file is
//! (`ecosystem::request`, then `Tpm::plans`): what tpm cannot honour is said per app, as a
//! file's warnings are.
//!
//! What is kept of the environment: pm2 records, for each process, the whole environment of
//! the shell that ran `pm2 start` with the app's own variables over it, and cannot tell
//! them apart. tpm gives each process the environment of the shell that starts it, plus its
//! own variables; so the variables pm2 recorded that this shell has with the same value are
//! left to come from it, and those it lacks or has with another value become the app's
//! own (`PORT` always). pm2's own variables (`PM2_*`, `pm_*`, `NODE_APP_INSTANCE`,
//! `unique_id`, ...) and a shell's bookkeeping (`PWD`, `OLDPWD`, `SHLVL`, `_`) are dropped.
//!
//! The processes are created stopped (a record with no process, as `tpm stop` leaves one;
//! `tpm start NAME` runs it), or started with `--start`. A name tpm has already is left as
//! it is, so running the import again changes nothing (with `--start`, an imported
//! process that is stopped is started). Nothing is created when the list cannot be read.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::apps::FileChoice;
use super::plan::Plan;
use super::Tpm;
use crate::ecosystem::{Document, RawApp};
use crate::error::{Error, Result};
use crate::info::{observe, unix_now, Clock, ProcessInfo};
use crate::name::Name;
use crate::record::Record;
use crate::spec::KIND_PM2;
use crate::status::Status;

/// The largest `dump.pm2` read: each process carries a whole environment (a few KiB), so
/// even a thousand processes stay far below this.
const MAX_DUMP_BYTES: u64 = 64 << 20;

/// Why a record imported stopped is not running, for `tpm list` and `describe`.
pub const IMPORTED_REASON: &str = "imported from pm2; `tpm start NAME` runs it";

/// What `tpm import pm2` did.
#[derive(Debug)]
pub struct Pm2Import {
    /// The list read.
    pub file: PathBuf,
    /// pm2's apps, in the list's order (an app's instances are one app).
    pub apps: Vec<AppImport>,
}

/// One pm2 app, imported or not.
#[derive(Debug)]
pub struct AppImport {
    /// Its name in pm2.
    pub pm2_name: String,
    /// What could not be carried over, one line each.
    pub notes: Vec<String>,
    /// Its processes in tpm (one per instance), each created, started or left as it was;
    /// or why the app could not be imported at all.
    pub processes: Result<Vec<(Name, Result<Imported>)>>,
}

/// A process of an imported app.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub action: ImportAction,
    pub info: ProcessInfo,
}

/// What the import did with a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportAction {
    /// Created, stopped.
    Created,
    /// Created (or found stopped from an earlier import) and started.
    Started,
    /// tpm had a process of that name: left as it was.
    Exists,
}

impl ImportAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportAction::Created => "created",
            ImportAction::Started => "started",
            ImportAction::Exists => "exists",
        }
    }
}

/// One row of what an import did, as front ends show it: a process, or an app that could
/// not be imported (no `name`, `action`, `info`; its `error`).
#[derive(Debug)]
pub struct ImportRow<'a> {
    /// The app's name in pm2.
    pub app: &'a str,
    pub name: Option<&'a Name>,
    pub action: Option<ImportAction>,
    /// The process as `tpm list` shows it.
    pub info: Option<&'a ProcessInfo>,
    pub error: Option<&'a Error>,
    /// The app's notes (on each of its rows).
    pub notes: &'a [String],
}

impl ImportRow<'_> {
    /// `created`, `started`, `exists`, or `failed`.
    pub fn action_str(&self) -> &'static str {
        self.action.map_or("failed", ImportAction::as_str)
    }
}

impl Pm2Import {
    /// A row per process, and one per app that could not be imported, in the list's order.
    pub fn rows<'a>(&'a self) -> Vec<ImportRow<'a>> {
        let mut rows = Vec::new();
        for app in &self.apps {
            let row = |name: Option<&'a Name>, result: Option<&'a Result<Imported>>| {
                let done = result.and_then(|r| r.as_ref().ok());
                ImportRow {
                    app: &app.pm2_name,
                    name,
                    action: done.map(|d| d.action),
                    info: done.map(|d| &d.info),
                    error: result.and_then(|r| r.as_ref().err()),
                    notes: &app.notes,
                }
            };
            match &app.processes {
                Ok(processes) => rows.extend(processes.iter().map(|(n, r)| row(Some(n), Some(r)))),
                Err(e) => rows.push(ImportRow {
                    error: Some(e),
                    ..row(None, None)
                }),
            }
        }
        rows
    }
}

/// Where pm2 keeps its saved list: `$PM2_HOME/dump.pm2`, `~/.pm2/dump.pm2` by default.
pub fn pm2_dump_path(ctx: &crate::context::Context) -> PathBuf {
    let home = |key: &str| ctx.var(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = match home("PM2_HOME") {
        Some(dir) => ctx.cwd.join(dir),
        None => home("HOME").unwrap_or_default().join(".pm2"),
    };
    dir.join("dump.pm2")
}

impl Tpm {
    /// `tpm import pm2 [FILE]`: reads pm2's saved list (default: [`pm2_dump_path`]) and
    /// creates its apps, stopped, or started with `start`. The whole list is read and
    /// checked first: a missing or unreadable list creates nothing.
    pub fn import_pm2(&self, file: Option<&Path>, start: bool) -> Result<Pm2Import> {
        let file = match file {
            Some(f) => crate::target::normalize(&self.ctx.cwd.join(f)),
            None => pm2_dump_path(&self.ctx),
        };
        let entries = read_dump(&file)?;
        let here: Vec<(String, String)> = self
            .ctx
            .env
            .iter()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v.to_str()?.to_string())))
            .collect();
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let apps = group(&entries)
            .into_iter()
            .enumerate()
            .map(|(index, instances)| {
                let converted = convert(&instances, &here, &dir);
                self.import_app(&file, index, converted, start)
            })
            .collect();
        Ok(Pm2Import { file, apps })
    }

    fn import_app(&self, file: &Path, index: usize, app: Converted, start: bool) -> AppImport {
        let Converted {
            pm2_name,
            fields,
            mut notes,
            online,
            autostart,
        } = app;
        let document = Document {
            path: file.to_path_buf(),
            dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            apps: vec![RawApp { index, fields }],
            text: None,
        };
        let plans = match self.plan_document(document, &FileChoice::default()) {
            Ok(plan) => {
                notes.extend(plan.warnings);
                plan.plans
            }
            Err(e) => {
                return AppImport {
                    pm2_name,
                    notes,
                    processes: Err(e),
                };
            }
        };
        if start && !online {
            notes.push(format!(
                "{}: {pm2_name}: pm2 had it stopped; imported stopped",
                file.display()
            ));
        }
        let start = start && online && autostart;
        let processes = plans
            .into_iter()
            .map(|mut plan| {
                plan.spec.kind = KIND_PM2.into();
                let name = plan.name.clone();
                let result = self.import_plan(plan, start);
                (name, result)
            })
            .collect();
        AppImport {
            pm2_name,
            notes,
            processes: Ok(processes),
        }
    }

    /// One process of an app: created stopped, or started; a name tpm has is left as it
    /// is, except that `start` starts a stopped process an earlier import created.
    fn import_plan(&self, plan: Plan, start: bool) -> Result<Imported> {
        let name = plan.name.clone();
        if let Some(record) = self.store.read(&name)? {
            let imported = record.spec.kind == KIND_PM2;
            let info = self.info(&name)?;
            if start && imported && !info.status.is_active() {
                let info = self.start_existing(&name, false)?;
                return Ok(Imported {
                    action: ImportAction::Started,
                    info,
                });
            }
            return Ok(Imported {
                action: ImportAction::Exists,
                info,
            });
        }
        if start {
            return Ok(Imported {
                action: ImportAction::Started,
                info: self.start_planned(plan)?,
            });
        }
        self.create_stopped(plan)
    }

    /// Writes a record for `plan` that nothing runs: what `tpm stop` leaves, never started.
    fn create_stopped(&self, plan: Plan) -> Result<Imported> {
        let Plan { name, spec, .. } = plan;
        self.store.ensure()?;
        let Some(lock) = self.store.try_lock(&name)? else {
            return Err(Error::Busy {
                name: name.to_string(),
                what: "another tpm command holds it".into(),
            });
        };
        // Created meanwhile by another command: left to it.
        if self.store.exists(&name) {
            drop(lock);
            return Ok(Imported {
                action: ImportAction::Exists,
                info: self.info(&name)?,
            });
        }
        let mut record = Record::new(spec);
        record.spec.wanted = false;
        record.state.status = Status::Stopped;
        record.state.reason = Some(IMPORTED_REASON.into());
        record.created_at = Some(unix_now());
        {
            let _all = self.store.lock_all()?;
            record.id = Some(self.store.take_id()?);
            self.store.write(&name, &record)?;
        }
        // The environment it will run in when started from anywhere: this shell's, which
        // the variables kept above were measured against.
        self.store.write_env(&name, &self.ctx.env)?;
        let info = observe(&name, &record, false, Clock::now());
        drop(lock);
        Ok(Imported {
            action: ImportAction::Created,
            info,
        })
    }
}

/// The list at `file`: a JSON array of pm2 processes, each an object with a `name` and a
/// `pm_exec_path`. Every entry is checked before any is used.
fn read_dump(file: &Path) -> Result<Vec<Map<String, Json>>> {
    let bad = |message: String| Error::BadPm2Dump {
        file: file.to_path_buf(),
        message,
    };
    let meta = match std::fs::metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoPm2Dump {
                file: file.to_path_buf(),
            })
        }
        Err(e) => return Err(Error::io("cannot read", file, e)),
    };
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    if meta.len() > MAX_DUMP_BYTES {
        return Err(bad(format!(
            "larger than {} MiB: not pm2's list",
            MAX_DUMP_BYTES >> 20
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| Error::io("cannot read", file, e))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("the file is empty".into()));
    }
    let value: Json = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "not JSON (line {}, column {}: {e})",
            e.line(),
            e.column()
        ))
    })?;
    let Json::Array(entries) = value else {
        return Err(bad(format!(
            "expected a list of processes, as `pm2 save` writes, found {}",
            crate::options::describe(&value)
        )));
    };
    let mut out = Vec::with_capacity(entries.len());
    let mut problems = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let Json::Object(fields) = entry else {
            problems.push(format!("process #{} is not an object", i + 1));
            continue;
        };
        for key in ["name", "pm_exec_path"] {
            if !matches!(fields.get(key), Some(Json::String(s)) if !s.is_empty()) {
                problems.push(format!("process #{} has no `{key}`", i + 1));
            }
        }
        out.push(fields);
    }
    if !problems.is_empty() {
        return Err(bad(problems.join("; ")));
    }
    Ok(out)
}

/// The entries by app: pm2 saves each instance of an app as its own entry, all with the
/// app's name. In the order each name first appears.
fn group(entries: &[Map<String, Json>]) -> Vec<Vec<&Map<String, Json>>> {
    let mut apps: Vec<Vec<&Map<String, Json>>> = Vec::new();
    for entry in entries {
        let name = entry.get("name");
        match apps.iter_mut().find(|a| a[0].get("name") == name) {
            Some(app) => app.push(entry),
            None => apps.push(vec![entry]),
        }
    }
    apps
}

/// A pm2 app as an ecosystem app.
#[derive(Debug, Clone, PartialEq)]
struct Converted {
    pm2_name: String,
    /// The app as a pm2 user writes it in a file.
    fields: Map<String, Json>,
    notes: Vec<String>,
    /// pm2 had it running (any of its instances).
    online: bool,
    /// pm2 would start it (`autostart`, true unless said otherwise).
    autostart: bool,
}

/// pm2's bookkeeping: what it knows of a run, not of what to run.
const RUNTIME: &[&str] = &[
    "name",
    "env",
    "pm_id",
    "pm_uptime",
    "pm_pid_path",
    "created_at",
    "restart_time",
    "unstable_restarts",
    "status",
    "unique_id",
    "km_link",
    "vizion_running",
    "version",
    "node_version",
    "_pm2_version",
    "username",
    "windowsHide",
    "pmx_module",
    "prev_restart_delay",
    "exit_code",
    "versioning",
    "current_conf",
    "instances",
    "exec_mode",
    "pm_exec_path",
    "pm_cwd",
    "exec_interpreter",
    "node_args",
    "args",
    "pm_out_log_path",
    "pm_err_log_path",
    "pm_log_path",
    "axm_actions",
    "axm_monitor",
    "axm_options",
    "axm_dynamic",
    "command",
];

/// Fields pm2 fills in for every process, at the value it gives them: no one wrote them.
fn is_pm2_default(field: &str, value: &Json) -> bool {
    match (field, value) {
        ("vizion" | "autostart" | "pmx" | "automation" | "treekill", Json::Bool(true)) => true,
        ("kill_retry_time", v) => v.as_u64() == Some(100),
        ("namespace", v) => v.as_str() == Some("default"),
        ("instance_var", v) => v.as_str() == Some("NODE_APP_INSTANCE"),
        (
            "merge_logs" | "watch" | "source_map_support" | "filter_env" | "time",
            Json::Bool(false),
        ) => true,
        // pm2 sets it for every app without instances.
        ("merge_logs", Json::Bool(true)) => true,
        (_, Json::Null) => true,
        _ => false,
    }
}

/// Variables of the recorded environment that are never the app's own.
fn is_bookkeeping_var(key: &str, app_name: &str, instance_var: &str) -> bool {
    key.starts_with("PM2_")
        || key.starts_with("pm_")
        || key.starts_with("axm_")
        || matches!(
            key,
            "NODE_APP_INSTANCE" | "unique_id" | "_" | "PWD" | "OLDPWD" | "SHLVL" | "km_link"
        )
        || key == app_name
        || key == instance_var
}

/// A name a shell can assign.
fn is_var_name(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An app's instances (pm2's entries sharing its name) as one ecosystem app. `here` is the
/// importing shell's environment; `pm2_home` the folder of the list (pm2's own logs are
/// under it).
fn convert(
    instances: &[&Map<String, Json>],
    here: &[(String, String)],
    pm2_home: &Path,
) -> Converted {
    let first = instances[0];
    let text = |key: &str| first.get(key).and_then(Json::as_str).unwrap_or_default();
    let pm2_name = text("name").to_string();
    let label = format!("{}: {pm2_name}", pm2_home.join("dump.pm2").display());
    let mut notes = Vec::new();
    let mut fields = Map::new();
    fields.insert("name".into(), Json::String(pm2_name.clone()));
    fields.insert("script".into(), Json::String(text("pm_exec_path").into()));
    if let Some(cwd) = first.get("pm_cwd").filter(|v| v.is_string()) {
        fields.insert("cwd".into(), cwd.clone());
    }
    if let Some(Json::String(interpreter)) = first.get("exec_interpreter") {
        let script = text("pm_exec_path");
        match misread_by_node(interpreter, Path::new(script)) {
            Some(line) => {
                notes.push(format!(
                    "{label}: pm2 ran {script} with node, which its first line ({line}) does not name, so it could only fail; tpm runs it as that line says"
                ));
                fields.insert("interpreter".into(), Json::String("none".into()));
            }
            None => {
                fields.insert("interpreter".into(), Json::String(interpreter.clone()));
            }
        }
    }
    for (from, to) in [("args", "args"), ("node_args", "interpreter_args")] {
        match first.get(from) {
            Some(Json::Array(list)) if list.is_empty() => {}
            Some(Json::String(s)) if s.is_empty() => {}
            None | Some(Json::Null) => {}
            Some(value) => {
                fields.insert(to.into(), value.clone());
            }
        }
    }
    if instances.len() > 1 {
        fields.insert("instances".into(), Json::from(instances.len()));
        if text("exec_mode") == "cluster_mode" {
            notes.push(format!(
                "{label}: pm2 ran its {} instances in cluster mode, where Node's cluster module shares one port among them; tpm runs them as separate processes on the same PORT, so each must be able to share it (SO_REUSEPORT), or use `port_step` or `--socket`",
                instances.len()
            ));
        }
    }
    // pm2's own log files (under its home) go without saying; a path the user chose is
    // passed on as the field it came from.
    let logs = pm2_home.join("logs");
    for (from, to) in [
        ("pm_out_log_path", "out_file"),
        ("pm_err_log_path", "error_file"),
        ("pm_log_path", "log_file"),
    ] {
        if let Some(Json::String(path)) = first.get(from) {
            if !Path::new(path).starts_with(&logs) {
                fields.insert(to.into(), Json::String(path.clone()));
            }
        }
    }
    let instance_var = text("instance_var").to_string();
    let (env, env_notes) = own_env(first, here, &pm2_name, &instance_var);
    notes.extend(env_notes.into_iter().map(|n| format!("{label}: {n}")));
    if !env.is_empty() {
        fields.insert("env".into(), Json::Object(env.clone()));
    }
    let watching = matches!(first.get("watch"), Some(w) if w != &Json::Bool(false));
    for (field, value) in first {
        let env_copy = first_env(first, field).is_some()
            || is_bookkeeping_var(field, &pm2_name, &instance_var);
        if RUNTIME.contains(&field.as_str())
            || env_copy
            || is_pm2_default(field, value)
            || fields.contains_key(field)
            // Files left out of a watch that is off: nothing is watched.
            || (field == "ignore_watch" && !watching)
        {
            continue;
        }
        // What runs is what pm2 resolved: these were already applied to the fields above.
        if matches!(
            field.as_str(),
            "script" | "cwd" | "interpreter" | "interpreter_args"
        ) {
            continue;
        }
        fields.insert(field.clone(), value.clone());
    }
    if first.get("autostart") == Some(&Json::Bool(false)) {
        notes.push(format!(
            "{label}: `autostart: false`: pm2 would not start it; tpm imports it stopped"
        ));
    }
    let online = instances
        .iter()
        .any(|e| e.get("status").and_then(Json::as_str) == Some("online"));
    Converted {
        pm2_name,
        fields,
        notes,
        online,
        autostart: first.get("autostart") != Some(&Json::Bool(false)),
    }
}

/// The first line of `script` when pm2 gave it to node but it is a script for another
/// program (`#!/usr/bin/env bash`): pm2 takes any file that is not a binary for JavaScript,
/// so a command on PATH that is a shell script (pyenv's `python3`, say) ran under node.
fn misread_by_node(interpreter: &str, script: &Path) -> Option<String> {
    if Path::new(interpreter).file_name()? != "node" {
        return None;
    }
    let mut head = [0u8; 256];
    let n = std::io::Read::read(&mut std::fs::File::open(script).ok()?, &mut head).ok()?;
    let first = head[..n].split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.trim_end();
    (line.starts_with("#!") && !line.contains("node")).then(|| line.to_string())
}

/// `field` in the recorded environment: pm2 copies every variable to the entry's top level
/// too.
fn first_env<'a>(entry: &'a Map<String, Json>, field: &str) -> Option<&'a Json> {
    match entry.get("env") {
        Some(Json::Object(env)) => env.get(field),
        _ => None,
    }
}

/// The app's own variables out of the environment pm2 recorded (see the module's note),
/// and what was left out that is worth saying.
fn own_env(
    entry: &Map<String, Json>,
    here: &[(String, String)],
    app_name: &str,
    instance_var: &str,
) -> (Map<String, Json>, Vec<String>) {
    let mut env = Map::new();
    let mut notes = Vec::new();
    let Some(Json::Object(recorded)) = entry.get("env") else {
        return (env, notes);
    };
    for (key, value) in recorded {
        if is_bookkeeping_var(key, app_name, instance_var) {
            continue;
        }
        let value = match value {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            Json::Null => continue,
            // pm2 passes objects on as their JSON.
            other => other.to_string(),
        };
        let same_here = here.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v) == Some(&value);
        if same_here && key != "PORT" {
            continue;
        }
        if !is_var_name(key) {
            notes.push(format!(
                "variable `{key}`: not a name a shell can set; not carried over"
            ));
            continue;
        }
        if value.contains(['\n', '\r', '\0']) {
            notes.push(format!(
                "variable `{key}`: its value spans lines, which a tpm record cannot hold; not carried over"
            ));
            continue;
        }
        env.insert(key.clone(), Json::String(value));
    }
    (env, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(value: Json) -> Map<String, Json> {
        match value {
            Json::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn an_entry_becomes_the_app_its_user_wrote() {
        let e = entry(json!({
            "name": "api", "pm_exec_path": "/srv/app.py", "pm_cwd": "/srv",
            "exec_interpreter": "python3", "args": ["--flag", "v"], "node_args": ["-u"],
            "exec_mode": "fork_mode", "status": "online", "vizion": true, "autostart": true,
            "instance_var": "NODE_APP_INSTANCE", "kill_retry_time": 100, "namespace": "default",
            "merge_logs": true, "max_restarts": 5, "kill_timeout": 3000,
            "max_memory_restart": 209715200, "cron_restart": "0 3 * * *",
            "pm_out_log_path": "/home/u/.pm2/logs/api-out.log",
            "pm_err_log_path": "/var/log/api.err",
            "unique_id": "x", "axm_options": {}, "SHELL": "/bin/bash", "API_TOKEN": "t",
            "env": {"SHELL": "/bin/bash", "PM2_HOME": "/home/u/.pm2", "API_TOKEN": "t",
                    "PORT": 4000, "api": "{}", "unique_id": "x", "PWD": "/srv",
                    "NODE_APP_INSTANCE": 0, "HOME": "/elsewhere", "BAD KEY": "1"}
        }));
        let here = vec![
            ("SHELL".to_string(), "/bin/bash".to_string()),
            ("HOME".into(), "/home/u".into()),
        ];
        let c = convert(&[&e], &here, Path::new("/home/u/.pm2"));
        assert!(c.online);
        assert_eq!(
            Json::Object(c.fields),
            json!({
                "name": "api", "script": "/srv/app.py", "cwd": "/srv", "interpreter": "python3",
                "args": ["--flag", "v"], "interpreter_args": ["-u"],
                "error_file": "/var/log/api.err",
                "env": {"API_TOKEN": "t", "PORT": "4000", "HOME": "/elsewhere"},
                "max_restarts": 5, "kill_timeout": 3000, "max_memory_restart": 209715200,
                "cron_restart": "0 3 * * *"
            })
        );
        assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
        assert!(c.notes[0].contains("`BAD KEY`"), "{:?}", c.notes);
    }

    #[test]
    fn a_shell_script_pm2_gave_to_node_runs_as_its_first_line_says() {
        let dir = std::env::temp_dir().join(format!("tpm-import-sh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shim = dir.join("python3");
        std::fs::write(&shim, "#!/usr/bin/env bash\nexec python3 \"$@\"\n").unwrap();
        let js = dir.join("npm");
        std::fs::write(&js, "#!/usr/bin/env node\nrequire('x')\n").unwrap();
        let e = |script: &Path| {
            entry(json!({"name": "a", "pm_exec_path": script, "exec_interpreter": "/usr/bin/node"}))
        };
        let c = convert(&[&e(&shim)], &[], &dir);
        assert_eq!(c.fields["interpreter"], "none");
        assert!(c.notes[0].contains("#!/usr/bin/env bash"), "{:?}", c.notes);
        let c = convert(&[&e(&js)], &[], &dir);
        assert_eq!(c.fields["interpreter"], "/usr/bin/node");
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn instances_are_one_app_and_a_stopped_one_stays_stopped() {
        let a = entry(
            json!({"name": "web", "pm_exec_path": "/w.js", "exec_mode": "cluster_mode",
            "status": "stopped", "env": {}}),
        );
        let entries = vec![a.clone(), a.clone(), a];
        let groups = group(&entries);
        assert_eq!(groups.len(), 1);
        let c = convert(&groups[0], &[], Path::new("/p"));
        assert_eq!(c.fields["instances"], 3);
        assert!(!c.online);
        assert!(c.notes[0].contains("cluster mode"), "{:?}", c.notes);
    }

    #[test]
    fn a_list_that_is_not_pm2s_is_refused_whole() {
        let dir = std::env::temp_dir().join(format!("tpm-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases = [
            ("", "empty"),
            ("[{\"name\": \"a\"", "not JSON"),
            ("{\"apps\": []}", "expected a list"),
            (
                "[{\"name\": \"a\", \"pm_exec_path\": \"/a\"}, 3, {}]",
                "process #2",
            ),
        ];
        for (text, expected) in cases {
            let file = dir.join("dump.pm2");
            std::fs::write(&file, text).unwrap();
            let err = read_dump(&file).unwrap_err();
            assert!(err.to_string().contains(expected), "{text}: {err}");
            assert_eq!(err.exit_code(), 1);
        }
        let err = read_dump(&dir.join("nothing")).unwrap_err();
        assert_eq!(err.exit_code(), 66);
        assert!(err.help().unwrap().contains("pm2 save"), "{:?}", err.help());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
