//! `--watch`: inotify on every folder under the watched paths (less what
//! `crate::watch::Ignore` leaves out), read from the supervisor's one `poll`. Changes are
//! debounced: a restart comes once they have been quiet for [`QUIET`], or [`AT_MOST`] after
//! the first, so a burst (`git checkout`, a build) is one restart. Changes seen while a
//! restart is under way make one more restart once the new run has begun, never a storm.
//!
//! Made only for a spec that watches: a supervisor that does not watch has no inotify
//! instance and no table of folders.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

use super::phase::Phase;
use super::run::Supervisor;
use crate::watch::Ignore;

/// Quiet time after the last change before the restart.
const QUIET: Duration = Duration::from_millis(400);
/// The longest a restart waits after the first change of a burst.
const AT_MOST: Duration = Duration::from_secs(2);

pub(super) struct Watcher {
    inotify: Inotify,
    /// Each watched folder, by its watch, with the root it is under.
    dirs: HashMap<WatchDescriptor, (PathBuf, PathBuf)>,
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
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map_err(|e| format!("cannot watch files: {e}"))?;
        let mut w = Watcher {
            inotify,
            dirs: HashMap::new(),
            ignore,
            store: store.to_path_buf(),
            first: None,
            last: None,
            changed: None,
            pending: false,
            refused: false,
        };
        for p in paths {
            let root = PathBuf::from(p);
            w.add_tree(&root, &root);
        }
        Ok(w)
    }

    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        self.inotify.as_fd()
    }

    /// How many folders (or files) are watched.
    pub(super) fn watched(&self) -> usize {
        self.dirs.len()
    }

    /// Watches `dir` and every folder under it that is not left out.
    fn add_tree(&mut self, root: &Path, dir: &Path) {
        if dir.starts_with(&self.store) || (dir != root && self.ignore.ignores(root, dir)) {
            return;
        }
        let mask = AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_DONT_FOLLOW;
        match self.inotify.add_watch(dir, mask) {
            Ok(wd) => {
                self.dirs
                    .insert(wd, (root.to_path_buf(), dir.to_path_buf()));
            }
            Err(Errno::ENOSPC) => {
                self.refused = true;
                return;
            }
            Err(_) => return,
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
        loop {
            let events = match self.inotify.read_events() {
                Ok(events) if !events.is_empty() => events,
                _ => return,
            };
            for e in events {
                if e.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                    self.note(now, None);
                    continue;
                }
                let Some((root, dir)) = self.dirs.get(&e.wd).cloned() else {
                    continue;
                };
                let path = match &e.name {
                    Some(name) if name.as_os_str() != OsStr::new("") => dir.join(name),
                    _ => dir.clone(),
                };
                if path.starts_with(&self.store) || self.ignore.ignores(&root, &path) {
                    continue;
                }
                let new_dir = e.mask.contains(AddWatchFlags::IN_ISDIR)
                    && e.mask
                        .intersects(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO);
                if new_dir {
                    self.add_tree(&root, &path);
                }
                self.note(now, Some(path));
            }
        }
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

    /// The inotify descriptor had something to read.
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
