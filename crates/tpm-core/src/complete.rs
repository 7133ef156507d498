//! Completion of process names, the one function every front end's completer calls
//! (the CLI's clap completer, the Nushell plugin's dynamic completion).
//!
//! It must be fast and silent: it never fails, never prints, and gives no candidates when
//! the store does not exist yet.

use crate::context::Context;
use crate::info;
use crate::status::Status;
use crate::store::Store;

/// A process name and its status now, for shells that show a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub status: Status,
    /// The id `tpm list` shows, which commands take in place of the name.
    pub id: Option<u32>,
}

/// Every process name with its status, sorted by name, and, before an app's first
/// instance, the app's name (which commands take for all its instances; no id). Corrupt
/// records are left out.
pub fn process_names(ctx: &Context) -> Vec<Candidate> {
    let Ok(store) = Store::locate(ctx) else {
        return Vec::new();
    };
    let Ok((names, _)) = store.names() else {
        return Vec::new();
    };
    let mut out: Vec<Candidate> = Vec::with_capacity(names.len());
    for name in names {
        let Some(record) = store.read(&name).ok().flatten() else {
            continue;
        };
        let (status, _) = info::effective_status(&record, store.is_locked(&name));
        if let Some(i) = record.spec.cluster.instance {
            if let Some(app) = name.as_str().strip_suffix(&format!("-{i}")) {
                if !out.iter().any(|c| c.name == app) {
                    out.push(Candidate {
                        name: app.to_string(),
                        status,
                        id: None,
                    });
                }
            }
        }
        out.push(Candidate {
            name: name.to_string(),
            status,
            id: record.id,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::record::Record;

    fn ctx(dir: &std::path::Path) -> Context {
        Context {
            env: vec![("TETRA_DIR".into(), dir.into())],
            cwd: dir.to_path_buf(),
        }
    }

    #[test]
    fn no_store_means_no_candidates() {
        let d = tempfile::tempdir().unwrap();
        assert!(process_names(&ctx(&d.path().join("nothing-here"))).is_empty());
    }

    #[test]
    fn names_come_sorted_with_their_status_and_corrupt_ones_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::locate(&ctx(d.path())).unwrap();
        store.ensure().unwrap();
        for n in ["web-2", "api-1"] {
            let mut r = Record::new(crate::spec::Spec::new(
                "s".into(),
                vec!["s".into()],
                "/".into(),
                Some(1),
            ));
            r.state.status = Status::Stopped;
            store.write(&Name::parse(n).unwrap(), &r).unwrap();
        }
        std::fs::write(store.root().join("processes/bad-3.meta"), "garbage").unwrap();
        let got = process_names(&ctx(d.path()));
        let names: Vec<_> = got.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["api-1", "web-2"]);
        assert!(got.iter().all(|c| c.status == Status::Stopped));
    }
}
