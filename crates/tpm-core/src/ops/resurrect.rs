//! `tpm resurrect` and `tpm save`: bringing back what is meant to run.
//!
//! A process is meant to run from its start until a user stops or deletes it (the spec's
//! `wanted`); a reboot, a killed supervisor or the startup unit being stopped leave it so.
//! `resurrect` starts every such process that is not running, with the environment it was
//! started with. Its records are the truth; the dump `tpm save` writes is for a store that
//! has none (a new machine, a wiped store), or is given as a file.
//!
//! A dump is never lost: it is written atomically, the one before is kept as
//! `dump.json.bak`, an empty list never replaces a non-empty dump unless forced, and a
//! dump that cannot be read is kept as it is while resurrect falls back to the `.bak`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::apps::{AppStart, FileChoice};
use super::{Each, Tpm};
use crate::ecosystem::{self, Document};
use crate::error::{Error, Result};
use crate::name::Name;
use crate::store::write_atomic;

/// What `resurrect` did, and what is worth a warning.
#[derive(Debug)]
pub struct Resurrection {
    /// Each process meant to run: started, or left as it was because it runs.
    pub processes: Each<AppStart>,
    pub warnings: Vec<String>,
}

/// What `save` wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub file: PathBuf,
    /// The processes in it.
    pub names: Vec<Name>,
    /// Where the file it replaced was kept, if there was one.
    pub backup: Option<PathBuf>,
}

impl Tpm {
    /// Starts every process meant to run that is not running. With no record in the store,
    /// the apps of the dump `tpm save` wrote (or of its `.bak` when it is unreadable).
    pub fn resurrect(&self) -> Result<Resurrection> {
        let (names, problems) = self.store.names()?;
        let mut warnings: Vec<String> = problems.iter().map(|p| p.error.to_string()).collect();
        if names.is_empty() {
            let dump = self.store.dump_path();
            let Some(document) = self.saved_document(&dump, &mut warnings)? else {
                return Ok(Resurrection {
                    processes: Vec::new(),
                    warnings,
                });
            };
            let plan = self.plan_document(document, &FileChoice::default())?;
            warnings.extend(plan.warnings.iter().cloned());
            return Ok(Resurrection {
                processes: self.start_file(plan),
                warnings,
            });
        }
        let mut processes = Vec::new();
        for name in names {
            let record = match self.store.read(&name) {
                Ok(Some(record)) => record,
                Ok(None) => continue, // deleted meanwhile
                Err(e) => {
                    warnings.push(e.to_string());
                    continue;
                }
            };
            if !record.spec.wanted {
                continue;
            }
            let result = match self.start_existing(&name, false) {
                Ok(info) => Ok(AppStart {
                    info,
                    unchanged: false,
                }),
                Err(Error::AlreadyRunning { .. }) => self.info(&name).map(|info| AppStart {
                    info,
                    unchanged: true,
                }),
                Err(e) => Err(e),
            };
            processes.push((name, result));
        }
        Ok(Resurrection {
            processes,
            warnings,
        })
    }

    /// The dump at `file`, or its `.bak` when the dump cannot be read (said in
    /// `warnings`); `None` when there is neither, or it lists no process.
    fn saved_document(&self, file: &Path, warnings: &mut Vec<String>) -> Result<Option<Document>> {
        let backup = backup_of(file);
        match self.read_dump(file) {
            Ok(doc) => Ok(doc),
            Err(_) if !file.exists() && !backup.exists() => Ok(None),
            Err(e) if !backup.exists() => Err(e),
            Err(e) => {
                let doc = self.read_dump(&backup)?;
                warnings.push(if file.exists() {
                    format!(
                        "{e} (the file is kept as it is); resurrecting from {}",
                        backup.display()
                    )
                } else {
                    format!(
                        "{} is missing; resurrecting from {}",
                        file.display(),
                        backup.display()
                    )
                });
                Ok(doc)
            }
        }
    }

    /// A dump `save` wrote: JSON, whatever its name (`dump.json.bak`); `None` if it lists
    /// no process.
    fn read_dump(&self, path: &Path) -> Result<Option<Document>> {
        let corrupt = |message: String, line: Option<usize>| Error::Ecosystem {
            file: path.to_path_buf(),
            app: None,
            line,
            message,
        };
        let text = fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
        let value: Json = serde_json::from_str(&text)
            .map_err(|e| corrupt(format!("not a dump tpm can read: {e}"), Some(e.line())))?;
        if value
            .get("apps")
            .and_then(Json::as_array)
            .is_some_and(Vec::is_empty)
        {
            return Ok(None);
        }
        let dir = path.parent().unwrap_or(Path::new("/"));
        ecosystem::document_from_value(value, path, dir).map(Some)
    }

    /// `tpm save`: writes the processes meant to run as an ecosystem file (default
    /// `$TETRA_DIR/tpm/dump.json`) that `tpm resurrect` and `tpm start` read. Unlike
    /// `dump`, secrets are written as they are: the file is private to the user.
    pub fn save(&self, file: Option<&Path>, force: bool) -> Result<Saved> {
        let file = match file {
            Some(f) => self.ctx.cwd.join(f),
            None => {
                self.store.ensure()?;
                self.store.dump_path()
            }
        };
        let (all, _) = self.store.names()?;
        let names: Vec<Name> = all
            .into_iter()
            .filter(|n| {
                self.store
                    .read(n)
                    .ok()
                    .flatten()
                    .is_some_and(|r| r.spec.wanted)
            })
            .collect();
        if names.is_empty() && !force && holds_apps(&file) {
            return Err(Error::EmptyDump { file });
        }
        let document = self.document(&names, false)?;
        let text = serde_json::to_string_pretty(&document)
            .map_err(|e| Error::Usage(format!("cannot write the apps as JSON: {e}")))?;
        // An unreadable dump (a crash, an edit gone wrong) is kept aside as FILE.corrupt,
        // never rotated over the .bak, which may be the last good copy (`resurrect` falls
        // back to it).
        let backup = file.exists().then(|| {
            if is_dump(&file) {
                backup_of(&file)
            } else {
                with_suffix(&file, ".corrupt")
            }
        });
        if let Some(backup) = &backup {
            // A hard link, then a rename over the old copy: the dump itself is never
            // missing, and the copy is always a whole file.
            let tmp = with_suffix(backup, ".tmp");
            let _ = fs::remove_file(&tmp);
            fs::hard_link(&file, &tmp)
                .and_then(|()| fs::rename(&tmp, backup))
                .map_err(|e| Error::io("cannot keep a copy of", &file, e))?;
        }
        write_atomic(&file, format!("{text}\n").as_bytes())?;
        Ok(Saved {
            file,
            names,
            backup,
        })
    }
}

/// `dump.json` → `dump.json.bak`.
fn backup_of(file: &Path) -> PathBuf {
    with_suffix(file, ".bak")
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    file.with_file_name(name)
}

/// Whether `file` reads as a list of apps (`{"apps": [...]}`, or a bare list).
fn is_dump(file: &Path) -> bool {
    let Ok(text) = fs::read_to_string(file) else {
        return false;
    };
    match serde_json::from_str::<Json>(&text) {
        Ok(Json::Object(doc)) => doc.get("apps").is_some_and(Json::is_array),
        Ok(Json::Array(_)) => true,
        _ => false,
    }
}

/// Whether `file` lists apps, or cannot be read (then it may: it is not replaced by an
/// empty list either).
fn holds_apps(file: &Path) -> bool {
    match fs::read_to_string(file) {
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
        Ok(text) => match serde_json::from_str::<Json>(&text) {
            Ok(Json::Object(doc)) => doc
                .get("apps")
                .and_then(Json::as_array)
                .is_none_or(|apps| !apps.is_empty()),
            Ok(Json::Array(apps)) => !apps.is_empty(),
            _ => true,
        },
    }
}
