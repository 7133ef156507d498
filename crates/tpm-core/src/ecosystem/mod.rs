//! Ecosystem files: reading a file of apps, as pm2 users write them, into [`RawApp`]s.
//!
//! Which files are ecosystem files ([`format_of`]), turning one into a list of apps
//! ([`read`]), what an app's fields mean ([`request`], through the start-option table) and
//! the starter `tpm init` writes ([`starter`]).
//!
//! | file | owns |
//! |---|---|
//! | `app` | an app's fields as a start request |
//! | `write` | `tpm dump`'s document in each format, and `tpm init`'s file |
//! | `parse` | JSON, JSON5, YAML and TOML text to a JSON value, errors with their line |
//! | `node` | JavaScript files, evaluated by the caller's `node` |
//! | `template` | the starter files |
//!
//! The shapes pm2 accepts are accepted in every format: `{apps: [...]}`, a single app (an
//! object with no `apps` key), or a list of apps.

mod app;
mod leftovers;
mod node;
mod parse;
mod template;
mod write;

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::{Error, Result};

pub use app::{request, request_in, AppRequest};
pub use template::starter;
pub use write::{render, write_starter};

/// The largest ecosystem file tpm reads. A real one is a few KiB; anything near this is
/// not a config, and reading it whole would only cost memory.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// The file formats tpm reads apps from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Js,
    /// JSON, and JSON5 (`.json5`; a `.json` file JSON cannot read is read as JSON5).
    Json,
    Yaml,
    Toml,
}

/// The format of an ecosystem file, by its name: `*.config.js|.cjs|.mjs`, `*.json`,
/// `*.json5`, `*.yaml|*.yml`, `*.toml`. A plain `x.js` is a script, not a config, as pm2 decides, so
/// `tpm start server.js` keeps running the script.
pub fn format_of(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?;
    let (stem, ext) = name.rsplit_once('.').filter(|(stem, _)| !stem.is_empty())?;
    match ext {
        "js" | "cjs" | "mjs" if stem.ends_with(".config") => Some(Format::Js),
        "json" => Some(Format::Json),
        "json5" => Some(Format::Json),
        "yaml" | "yml" => Some(Format::Yaml),
        "toml" => Some(Format::Toml),
        _ => None,
    }
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file, absolute.
    pub path: PathBuf,
    /// Its folder: an app's relative `cwd` and `script` are taken from here, not from
    /// wherever tpm was run.
    pub dir: PathBuf,
    /// At least one app, in file order.
    pub apps: Vec<RawApp>,
    /// The file's text, where there is one, to say on which line a field is.
    pub text: Option<String>,
}

/// One app as written, before any meaning is given to its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct RawApp {
    /// 0-based position in the file.
    pub index: usize,
    pub fields: Map<String, Value>,
}

impl RawApp {
    /// `name` if it is a (non-empty) string, else `app #N` (1-based), for messages.
    pub fn label(&self) -> String {
        match self.fields.get("name") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            _ => label_at(self.index),
        }
    }
}

fn label_at(index: usize) -> String {
    format!("app #{}", index + 1)
}

/// Reads and parses `path` (relative paths from `ctx.cwd`). JSON, YAML and TOML are parsed
/// here; JavaScript is evaluated by the `node` on the caller's PATH, with the caller's
/// environment, in the file's folder, and killed if it runs longer than 10 s.
pub fn read(path: &Path, ctx: &Context) -> Result<Document> {
    read_within(path, ctx, node::TIMEOUT)
}

/// [`read`] with the time JavaScript may take as a parameter, so tests of the timeout do
/// not wait 10 s.
fn read_within(path: &Path, ctx: &Context, js_timeout: Duration) -> Result<Document> {
    let path = crate::target::normalize(&ctx.cwd.join(path));
    let format = format_of(&path).ok_or_else(|| {
        fail(
            &path,
            None,
            "not an ecosystem file: tpm reads *.config.js, *.config.cjs, *.config.mjs, *.json, *.json5, *.yaml, *.yml and *.toml",
        )
    })?;
    let file = open(&path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let text = read_text(file, &path)?;
    let value = match format {
        // node reads the file itself; it was read here only to locate fields.
        Format::Js => node::evaluate(&path, &dir, ctx, js_timeout)?,
        Format::Json if path.extension().is_some_and(|e| e == "json5") => {
            parsed(&text, &path, parse::json5)?
        }
        Format::Json => parsed(&text, &path, parse::json)?,
        Format::Yaml => parsed(&text, &path, parse::yaml)?,
        Format::Toml => parsed(&text, &path, parse::toml)?,
    };
    let apps = apps_of(value, &path)?;
    Ok(Document {
        path,
        dir,
        apps,
        text: Some(text),
    })
}

/// The file's text parsed in Rust.
fn parsed(
    text: &str,
    path: &Path,
    parse: fn(&str) -> Result<Value, parse::Failure>,
) -> Result<Value> {
    if text.trim().is_empty() {
        return Err(fail(path, None, "the file is empty: no apps"));
    }
    parse(text).map_err(|f| fail(path, f.line, f.message))
}

/// The 1-based line where `field` of the app named `name` is written in `text`: the first
/// line after the one naming the app that holds `field` as a key (`field:`, `"field":`,
/// `field =`), before the line naming `next` (the next app). `None` when the app has no
/// name or the field is not found so: a guess is never given as a line.
pub(crate) fn field_line(text: &str, name: &str, next: Option<&str>, field: &str) -> Option<usize> {
    let names =
        |line: &str, name: &str| key_at(line, "name").is_some_and(|rest| value_of(rest) == name);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| names(l, name))?;
    // The app's own fields may come before its name on the same object: start at the
    // line that opens it is not known, so fields before `name` are not located.
    for (i, line) in lines.iter().enumerate().skip(start) {
        if i > start && next.is_some_and(|n| names(line, n)) {
            return None;
        }
        if key_at(line, field).is_some() {
            return Some(i + 1);
        }
    }
    None
}

/// The value at the start of `rest`: quoted text without its quotes, else up to a `,`, `}`
/// or the end of the line.
fn value_of(rest: &str) -> &str {
    let rest = rest.trim_start();
    match rest.chars().next() {
        Some(q @ ('"' | '\'' | '`')) => rest[1..].split(q).next().unwrap_or_default(),
        _ => rest.split([',', '}']).next().unwrap_or_default().trim(),
    }
}

/// What follows `key` written as a key on `line` (`key:`, `"key":`, `'key':`, `key =`).
fn key_at<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    let mut from = 0;
    while let Some(at) = line[from..].find(key) {
        let at = from + at;
        let before = line[..at].chars().next_back();
        let after = &line[at + key.len()..];
        let quoted = matches!(before, Some('"' | '\''));
        let after = if quoted {
            after.strip_prefix(['"', '\''])
        } else {
            Some(after)
        };
        let starts = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if let Some(after) = after.filter(|_| starts) {
            let rest = after.trim_start();
            if let Some(value) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) {
                return Some(value);
            }
        }
        from = at + key.len();
    }
    None
}

/// An [`Error::Ecosystem`] about the whole file.
fn fail(path: &Path, line: Option<usize>, message: impl Into<String>) -> Error {
    Error::Ecosystem {
        file: path.to_path_buf(),
        app: None,
        line,
        message: message.into(),
    }
}

/// Opens the file after checking it is one: a FIFO would block a plain open, a directory
/// or a device is never a config, and the size cap is checked before anything is read.
fn open(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::ScriptNotFound {
                path: path.to_path_buf(),
            },
            _ => Error::io("cannot open", path, e),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io("cannot read", path, e))?;
    if meta.is_dir() {
        return Err(fail(
            path,
            None,
            "is a directory; give the ecosystem file inside it",
        ));
    }
    if !meta.is_file() {
        return Err(fail(path, None, "not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(path));
    }
    Ok(file)
}

fn too_big(path: &Path) -> Error {
    fail(
        path,
        None,
        format!(
            "larger than {} MiB: not an ecosystem file",
            MAX_FILE_BYTES >> 20
        ),
    )
}

/// The file as text: at most [`MAX_FILE_BYTES`] (it may have grown since it was opened),
/// UTF-8, without the byte-order mark some editors write.
fn read_text(file: File, path: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(path));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        fail(
            path,
            Some(line_at(good, good.len())),
            "not UTF-8 text (is it a binary file?)",
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &[u8], offset: usize) -> usize {
    let end = offset.min(text.len());
    memchr::memchr_iter(b'\n', &text[..end]).count() + 1
}

/// Apps given as data rather than a file (records piped into the Nushell plugin's
/// `tpm start`, or `open ecosystem.json | tpm start`), in pm2's three shapes. `origin` names
/// them in messages; relative paths are taken from `dir`.
pub fn document_from_value(value: Value, origin: &Path, dir: &Path) -> Result<Document> {
    let apps = apps_of(value, origin)?;
    Ok(Document {
        path: origin.to_path_buf(),
        dir: dir.to_path_buf(),
        apps,
        text: None,
    })
}

/// The apps in a parsed file, in pm2's three shapes.
fn apps_of(value: Value, path: &Path) -> Result<Vec<RawApp>> {
    let list = match value {
        Value::Object(mut top) => match top.remove("apps") {
            Some(Value::Array(list)) => list,
            Some(other) => {
                return Err(fail(
                    path,
                    None,
                    format!(
                        "`apps` must be a list of apps, not {}",
                        crate::options::describe(&other)
                    ),
                ))
            }
            None if top.is_empty() => {
                return Err(fail(
                    path,
                    None,
                    "no apps: the file holds an empty object or table",
                ))
            }
            None => vec![Value::Object(top)],
        },
        Value::Array(list) => list,
        Value::Null => return Err(fail(path, None, "no apps: the file holds nothing")),
        other => {
            return Err(fail(
                path,
                None,
                format!(
                    "expected `apps: [...]`, one app or a list of apps, found {}",
                    crate::options::describe(&other)
                ),
            ))
        }
    };
    if list.is_empty() {
        return Err(fail(path, None, "no apps: the list is empty"));
    }
    let mut apps = Vec::with_capacity(list.len());
    let mut problems = Vec::new();
    for (index, app) in list.into_iter().enumerate() {
        match app {
            Value::Object(fields) => apps.push(RawApp { index, fields }),
            other => problems.push(Error::Ecosystem {
                file: path.to_path_buf(),
                app: Some(label_at(index)),
                line: None,
                message: format!(
                    "an app must be an object, not {}",
                    crate::options::describe(&other)
                ),
            }),
        }
    }
    match Error::all(problems) {
        Some(e) => Err(e),
        None => Ok(apps),
    }
}

#[cfg(test)]
mod tests;
