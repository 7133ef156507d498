//! Writing ecosystem files: `tpm dump`'s document in any of the formats tpm reads, and the
//! starter `tpm init` writes.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{format_of, starter, Format};
use crate::error::{Error, Result};

impl Format {
    /// The names `--format` takes.
    pub const NAMES: [&'static str; 4] = ["js", "json", "yaml", "toml"];

    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "js" | "javascript" => Some(Format::Js),
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }

    /// The file `tpm init` writes when not given one.
    pub fn default_file(self) -> &'static str {
        match self {
            Format::Js => "ecosystem.config.js",
            Format::Json => "ecosystem.json",
            Format::Yaml => "ecosystem.yaml",
            Format::Toml => "ecosystem.toml",
        }
    }
}

/// `document` as the text of a file in `format` (JavaScript: a `module.exports`).
pub fn render(document: &Value, format: Format) -> Result<String> {
    let failed = |e: String| Error::Usage(format!("cannot write the apps as {format:?}: {e}"));
    Ok(match format {
        Format::Json => {
            serde_json::to_string_pretty(document).map_err(|e| failed(e.to_string()))? + "\n"
        }
        Format::Js => format!(
            "module.exports = {};\n",
            serde_json::to_string_pretty(document).map_err(|e| failed(e.to_string()))?
        ),
        Format::Yaml => yaml_serde::to_string(document).map_err(|e| failed(e.to_string()))?,
        Format::Toml => toml::to_string_pretty(document).map_err(|e| failed(e.to_string()))?,
    })
}

/// `tpm init`: writes the starter file, at `path` or at the format's default name in
/// `dir`. The format is `format`, else the one `path`'s name says, else JavaScript, as
/// pm2's `init` writes. An existing file is kept unless `force`.
pub fn write_starter(
    dir: &Path,
    path: Option<&Path>,
    format: Option<Format>,
    force: bool,
) -> Result<(PathBuf, Format)> {
    let format = format
        .or_else(|| path.and_then(format_of))
        .unwrap_or(Format::Js);
    let path = dir.join(path.unwrap_or(Path::new(format.default_file())));
    if let Some(named) = format_of(&path).filter(|f| *f != format) {
        return Err(Error::Usage(format!(
            "{} is named as a {named:?} file, not {format:?}",
            path.display()
        )));
    }
    if format_of(&path).is_none() {
        return Err(Error::Usage(format!(
            "{}: tpm reads ecosystem files named *.config.js, *.json, *.yaml or *.toml; name it so",
            path.display()
        )));
    }
    let mut options = OpenOptions::new();
    options.write(true).mode(0o644);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Usage(format!(
            "{} exists already; give --force to replace it",
            path.display()
        )),
        _ => Error::io("cannot write", &path, e),
    })?;
    file.write_all(starter(format).as_bytes())
        .map_err(|e| Error::io("cannot write", &path, e))?;
    Ok((path, format))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;

    fn ctx(dir: &Path) -> Context {
        Context {
            env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
            cwd: dir.to_path_buf(),
        }
    }

    #[test]
    fn every_format_renders_a_document_that_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let doc = serde_json::json!({"apps": [
            {"name": "api-3000", "script": "/srv/app.js", "port": 3000, "env": {"A": "1"}, "args": ["--x", "y z"]},
            {"name": "web-8080", "script": "python3", "args": ["-m", "http.server", "8080"], "autorestart": false}
        ]});
        for format in [Format::Json, Format::Yaml, Format::Toml, Format::Js] {
            let file = d.path().join(format.default_file());
            std::fs::write(&file, render(&doc, format).unwrap()).unwrap();
            let back = super::super::read(&file, &ctx(d.path())).unwrap();
            let apps: Vec<Value> = back
                .apps
                .into_iter()
                .map(|a| Value::Object(a.fields))
                .collect();
            assert_eq!(Value::Array(apps), doc["apps"], "{format:?}");
        }
    }

    #[test]
    fn init_writes_each_format_once_and_keeps_what_exists() {
        let d = tempfile::tempdir().unwrap();
        let (path, format) = write_starter(d.path(), None, None, false).unwrap();
        assert_eq!(
            (path.file_name().unwrap().to_str(), format),
            (Some("ecosystem.config.js"), Format::Js)
        );
        let err = write_starter(d.path(), None, None, false).unwrap_err();
        assert!(err.to_string().contains("exists already"), "{err}");
        assert!(write_starter(d.path(), None, None, true).is_ok());
        let (path, format) =
            write_starter(d.path(), Some(Path::new("apps.yaml")), None, false).unwrap();
        assert_eq!(
            (path.file_name().unwrap().to_str(), format),
            (Some("apps.yaml"), Format::Yaml)
        );
        assert!(write_starter(
            d.path(),
            Some(Path::new("apps.json")),
            Some(Format::Toml),
            false
        )
        .is_err());
        assert!(write_starter(d.path(), Some(Path::new("notes.txt")), None, false).is_err());
    }
}
