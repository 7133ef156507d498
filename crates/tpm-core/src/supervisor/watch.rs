//! `--watch`: the OS's file watch (`crate::platform::watch`: inotify on every folder under
//! the watched paths less what `crate::watch::Ignore` leaves out on Linux, FSEvents on each
//! root on macOS), read from the supervisor's one `poll`. Changes are debounced: a restart
//! comes once they have been quiet for [`QUIET`], or [`AT_MOST`] after the first, so a
//! burst (`git checkout`, a build) is one restart. Changes seen while a restart is under
//! way make one more restart once the new run has begun, never a storm.
//!
//! Made only for a spec that watches: a supervisor that does not watch has no watch of the
//! OS's and no table of folders.

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::phase::Phase;
use super::run::Supervisor;
use crate::platform::watch::{Added, Change, Notifier};
use crate::watch::Ignore;

/// Quiet time after the last change before the restart.
const QUIET: Duration = Duration::from_millis(400);
/// The longest a restart waits after the first change of a burst.
const AT_MOST: Duration = Duration::from_secs(2);

pub(super) struct Watcher {
    notifier: Notifier,
    /// The watched paths, as given and as the OS may name them (symbolic links resolved:
    /// FSEvents reports `/private/tmp/x` for a watch of `/tmp`).
    roots: Vec<(PathBuf, PathBuf)>,
    ignore: Ignore,
    /// tpm's own store, never watched (logs and records change all the time).
    store: PathBuf,
    /// The first and last change not yet acted on, and one of the changed paths.
    first: Option<Instant>,
    last: Option<Instant>,
    changed: Option<PathBuf>,
    /// A change came while no run was going: restart once the next one begins.
    pending: bool,
    /// Watches refused (the user's inotify limit): said once.
    refused: bool,
}

impl Watcher {
    /// The watcher for `paths` with `ignore`; the error says why there is none.
    pub(super) fn new(paths: &[String], ignore: Ignore, store: &Path) -> Result<Watcher, String> {
        let mut w = Watcher {
            notifier: Notifier::new()?,
            roots: paths
                .iter()
                .map(|p| {
                    let given = PathBuf::from(p);
                    let real = given.canonicalize().unwrap_or_else(|_| given.clone());
                    (given, real)
                })
                .collect(),
            ignore,
            store: store.to_path_buf(),
            first: None,
            last: None,
            changed: None,
            pending: false,
            refused: false,
        };
        for (root, _) in w.roots.clone() {
            w.add_tree(&root, &root);
        }
        Ok(w)
    }

    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        self.notifier.fd()
    }

    /// How many folders (or files, or whole roots where the OS watches a tree) are watched.
    pub(super) fn watched(&self) -> usize {
        self.notifier.watched()
    }

    /// Watches `dir` and, where the OS needs each folder added, every folder under it that
    /// is not left out.
    fn add_tree(&mut self, root: &Path, dir: &Path) {
        if dir.starts_with(&self.store) || (dir != root && self.ignore.ignores(root, dir)) {
            return;
        }
        match self.notifier.add(dir) {
            Added::Yes => {}
            Added::Limit => {
                self.refused = true;
                return;
            }
            Added::No => return,
        }
        if Notifier::RECURSIVE {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                self.add_tree(root, &entry.path());
            }
        }
    }

    /// Reads what changed; notes changes that count.
    fn read(&mut self, now: Instant) {
        let mut changes = Vec::new();
        self.notifier.read(&mut changes);
        for change in changes {
            let (path, new_dir) = match change {
                Change::Lost => {
                    self.note(now, None);
                    continue;
                }
                Change::Path { path, new_dir } => (path, new_dir),
            };
            let Some((root, path)) = self.under_root(path) else {
                continue;
            };
            if path.starts_with(&self.store) || self.ignore.ignores(&root, &path) {
                continue;
            }
            if new_dir && !Notifier::RECURSIVE {
                self.add_tree(&root, &path);
            }
            self.note(now, Some(path));
        }
    }

    /// The root `path` is under, and `path` named from that root as given.
    fn under_root(&self, path: PathBuf) -> Option<(PathBuf, PathBuf)> {
        if let Some((given, _)) = self.roots.iter().find(|(given, _)| path.starts_with(given)) {
            return Some((given.clone(), path));
        }
        let (given, real) = self.roots.iter().find(|(_, real)| path.starts_with(real))?;
        let rest = path.strip_prefix(real).ok()?;
        Some((given.clone(), given.join(rest)))
    }

    fn note(&mut self, now: Instant, path: Option<PathBuf>) {
        self.first.get_or_insert(now);
        self.last = Some(now);
        if let Some(p) = path {
            self.changed = Some(p);
        }
    }

    /// When the debounced restart is due.
    pub(super) fn due(&self) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        Some((last + QUIET).min(first + AT_MOST))
    }
}

impl Supervisor {
    /// Starts watching, if the spec says so (once, for the supervisor's life).
    pub(super) fn start_watching(&mut self) {
        let Some(spec) = self.record.spec.watch.clone() else {
            return;
        };
        let ignore = match Ignore::new(&spec.ignore) {
            Ok(i) => i,
            Err(e) => return self.event(&e),
        };
        match Watcher::new(&spec.paths, ignore, self.store.root()) {
            Ok(w) => {
                if w.refused {
                    self.event("some folders are not watched: the inotify watch limit (fs.inotify.max_user_watches) is reached");
                }
                let n = w.watched();
                self.event(&format!("watching {n} folder(s) for changes"));
                self.watcher = Some(Box::new(w));
            }
            Err(e) => self.event(&e),
        }
    }

    /// The watch's descriptor had something to read.
    pub(super) fn watch_readable(&mut self) {
        if let Some(w) = self.watcher.as_mut() {
            w.read(Instant::now());
        }
    }

    pub(super) fn watch_due(&self) -> Option<Instant> {
        self.watcher.as_ref().and_then(|w| w.due())
    }

    /// A run began: a change seen meanwhile restarts it once more (after the quiet time).
    pub(super) fn watch_run_began(&mut self) {
        if let Some(w) = self.watcher.as_mut() {
            if std::mem::take(&mut w.pending) {
                let now = Instant::now();
                w.first = Some(now);
                w.last = Some(now);
            }
        }
    }

    /// Restarts for the changes noted, when their time has come.
    pub(super) fn check_watch(&mut self, now: Instant) {
        let Some(w) = self.watcher.as_mut() else {
            return;
        };
        if w.due().is_none_or(|due| now < due) {
            return;
        }
        w.first = None;
        w.last = None;
        let changed = w.changed.take();
        if !matches!(self.phase, Phase::Running) || self.main.is_none() {
            w.pending = true;
            return;
        }
        let why = match changed {
            Some(p) => format!("{} changed", p.display()),
            None => "files changed".to_string(),
        };
        self.planned_restart("watch", &why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reported_under_the_resolved_root_is_named_from_the_root_given() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap().join("app");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let store = dir.path().join("store");
        let roots = [link.to_string_lossy().into_owned()];
        let w = Watcher::new(&roots, Ignore::new(&[]).unwrap(), &store).unwrap();
        // As FSEvents names it: the link resolved.
        assert_eq!(
            w.under_root(real.join("src/a.js")),
            Some((link.clone(), link.join("src/a.js")))
        );
        assert_eq!(
            w.under_root(link.join("b.js")),
            Some((link.clone(), link.join("b.js")))
        );
        assert_eq!(w.under_root(dir.path().join("elsewhere.js")), None);
    }
}
