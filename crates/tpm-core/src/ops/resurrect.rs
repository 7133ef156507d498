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
    /// Processes whose record cannot be read, written as the dump it replaced had them.
    pub kept: Vec<Name>,
    /// What the user should know: each record that cannot be read, and what became of it.
    pub warnings: Vec<String>,
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
            let result = self.started_or_unchanged(&name, self.start_existing(&name, false));
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
        let mut names: Vec<Name> = Vec::with_capacity(all.len());
        let mut unreadable: Vec<(Name, Error)> = Vec::new();
        for name in all {
            match self.store.read(&name) {
                Ok(Some(record)) if record.spec.wanted => names.push(name),
                Ok(_) => {} // not meant to run, or deleted meanwhile
                Err(e) => unreadable.push((name, e)),
            }
        }
        let mut document = self.document(&names, false)?;
        // A record that cannot be read says nothing of what its process is: what the dump
        // being replaced says of it is kept, so that neither the dump nor its .bak loses it.
        let mut kept = Vec::new();
        let mut warnings = Vec::new();
        if !unreadable.is_empty() {
            let previous = previous_apps(&file);
            let apps = match document.get_mut("apps").and_then(Json::as_array_mut) {
                Some(apps) => apps,
                None => return Err(Error::Usage("the apps could not be gathered".into())),
            };
            for (name, e) in unreadable {
                match keep_entry(apps, &previous, &name) {
                    Some(from) => {
                        warnings.push(format!(
                            "{e}; {name} is written as {} had it",
                            from.display()
                        ));
                        kept.push(name);
                    }
                    None => warnings.push(format!(
                        "{e}; {name} is left out of {}: no earlier dump lists it (`tpm delete {name}` and a new start make it whole again)",
                        file.display()
                    )),
                }
            }
        }
        let empty = document
            .get("apps")
            .and_then(Json::as_array)
            .is_none_or(Vec::is_empty);
        if empty && !force && holds_apps(&file) {
            return Err(Error::EmptyDump { file });
        }
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
            kept,
            warnings,
        })
    }
}

/// The apps of the dump `file` replaces, and the file they were read from: `file` itself,
/// or its `.bak` when it cannot be read. Empty when neither lists any.
fn previous_apps(file: &Path) -> (Vec<Json>, PathBuf) {
    for path in [file.to_path_buf(), backup_of(file)] {
        let apps = fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<Json>(&text).ok())
            .and_then(|doc| match doc {
                Json::Object(mut doc) => match doc.remove("apps") {
                    Some(Json::Array(apps)) => Some(apps),
                    _ => None,
                },
                Json::Array(apps) => Some(apps),
                _ => None,
            });
        if let Some(apps) = apps {
            return (apps, path);
        }
    }
    (Vec::new(), file.to_path_buf())
}

/// Puts `name`'s entry of the previous dump into `apps`, unless it is there: its own app,
/// or, for an instance (`APP-i`), its app's with at least as many instances as the
/// previous one had. Which file it came from, or `None` when no previous entry lists it.
fn keep_entry<'p>(
    apps: &mut Vec<Json>,
    (previous, from): &'p (Vec<Json>, PathBuf),
    name: &Name,
) -> Option<&'p Path> {
    let named = |app: &Json, n: &str| app.get("name").and_then(Json::as_str) == Some(n);
    if let Some(entry) = previous.iter().find(|a| named(a, name.as_str())) {
        if !apps.iter().any(|a| named(a, name.as_str())) {
            apps.push(entry.clone());
        }
        return Some(from);
    }
    // An instance: `APP-i`, where the previous dump's APP had more than i instances.
    let (app, i) = name.as_str().rsplit_once('-')?;
    let i: u64 = i.parse().ok()?;
    let field = crate::options::Opt::Instances.def().field;
    let count = |a: &Json| a.get(field).and_then(Json::as_u64);
    let entry = previous
        .iter()
        .find(|a| named(a, app) && count(a).is_some_and(|n| n > i))?;
    match apps.iter_mut().find(|a| named(a, app)) {
        Some(current) => {
            let n = count(current).unwrap_or(1).max(count(entry).unwrap_or(1));
            if let Some(fields) = current.as_object_mut() {
                fields.insert(field.into(), Json::from(n));
            }
        }
        None => apps.push(entry.clone()),
    }
    Some(from)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn name(n: &str) -> Name {
        Name::parse(n).unwrap()
    }

    /// An unreadable process's entry comes from the previous dump: its own, or for an
    /// instance its app's, whose count is not lowered by the instance that cannot be read.
    #[test]
    fn an_unreadable_process_keeps_its_previous_entry() {
        let from = PathBuf::from("/x/dump.json");
        let previous = (
            vec![
                json!({"name": "api-3000", "script": "a.sh", "instances": 3}),
                json!({"name": "solo-4000", "script": "s.sh", "env": {"K": "v"}}),
            ],
            from.clone(),
        );
        let mut apps = vec![json!({"name": "api-3000", "script": "a.sh", "instances": 2})];
        assert_eq!(
            keep_entry(&mut apps, &previous, &name("solo-4000")),
            Some(from.as_path())
        );
        assert_eq!(apps[1], previous.0[1]);
        keep_entry(&mut apps, &previous, &name("solo-4000"));
        assert_eq!(apps.len(), 2, "written once");
        assert!(keep_entry(&mut apps, &previous, &name("api-3000-2")).is_some());
        assert_eq!(apps[0]["instances"], 3);
        // No earlier entry: nothing to keep, said by the caller.
        assert_eq!(keep_entry(&mut apps, &previous, &name("api-3000-5")), None);
        assert_eq!(keep_entry(&mut apps, &previous, &name("new-5000")), None);
        // An instance whose app has no readable instance left: the app's entry as it was.
        let mut none = Vec::new();
        assert!(keep_entry(&mut none, &previous, &name("api-3000-0")).is_some());
        assert_eq!(none, [previous.0[0].clone()]);
    }
}
