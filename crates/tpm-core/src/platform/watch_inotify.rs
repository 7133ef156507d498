//! Linux's file watching for `--watch`: one inotify watch per folder (the caller walks the
//! folders, leaving out what it ignores, so ignored trees cost no watch).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

use super::watch::{Added, Change};

pub(crate) struct Notifier {
    inotify: Inotify,
    dirs: HashMap<WatchDescriptor, PathBuf>,
}

impl Notifier {
    /// inotify reports a folder's entries, not what is under them: each folder is added.
    pub(crate) const RECURSIVE: bool = false;

    pub(crate) fn new() -> Result<Notifier, String> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map_err(|e| format!("cannot watch files: {e}"))?;
        Ok(Notifier {
            inotify,
            dirs: HashMap::new(),
        })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.inotify.as_fd()
    }

    pub(crate) fn add(&mut self, dir: &Path) -> Added {
        let mask = AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_DONT_FOLLOW;
        match self.inotify.add_watch(dir, mask) {
            Ok(wd) => {
                self.dirs.insert(wd, dir.to_path_buf());
                Added::Yes
            }
            Err(Errno::ENOSPC) => Added::Limit,
            Err(_) => Added::No,
        }
    }

    /// Reads what changed into `out`.
    pub(crate) fn read(&mut self, out: &mut Vec<Change>) {
        loop {
            let events = match self.inotify.read_events() {
                Ok(events) if !events.is_empty() => events,
                _ => return,
            };
            for e in events {
                if e.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                    out.push(Change::Lost);
                    continue;
                }
                let Some(dir) = self.dirs.get(&e.wd) else {
                    continue;
                };
                let path = match &e.name {
                    Some(name) if name.as_os_str() != OsStr::new("") => dir.join(name),
                    _ => dir.clone(),
                };
                let new_dir = e.mask.contains(AddWatchFlags::IN_ISDIR)
                    && e.mask
                        .intersects(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO);
                out.push(Change::Path { path, new_dir });
            }
        }
    }

    /// How many folders are watched.
    pub(crate) fn watched(&self) -> usize {
        self.dirs.len()
    }
}
