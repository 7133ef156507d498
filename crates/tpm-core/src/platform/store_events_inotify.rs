//! Store events from inotify (see `store_events`).

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::sys::inotify::{AddWatchFlags as F, InitFlags, Inotify, WatchDescriptor};

use super::store_events::{Role, Seen};

pub(crate) struct StoreEvents {
    inotify: Inotify,
    /// The current watches; an event of any other is an old inode's, and ignored.
    watches: Vec<(WatchDescriptor, Role)>,
}

fn mask(role: Role) -> F {
    let gone = F::IN_DELETE_SELF | F::IN_MOVE_SELF;
    match role {
        Role::Folder => gone | F::IN_ONLYDIR,
        Role::File => gone | F::IN_ATTRIB,
        Role::Log => F::IN_DELETE_SELF | F::IN_ATTRIB,
        Role::Record => gone | F::IN_ATTRIB | F::IN_MODIFY | F::IN_CLOSE_WRITE,
        Role::Marker => gone | F::IN_ATTRIB | F::IN_CLOSE_WRITE,
    }
}

impl StoreEvents {
    pub(crate) fn new() -> Option<StoreEvents> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
        Some(StoreEvents {
            inotify,
            watches: Vec::new(),
        })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.inotify.as_fd()
    }

    /// Watches `path` in its role, in place of the last watch of that role and path's
    /// kind (one record, one marker; files and folders are all kept). Whether the
    /// kernel took it (a missing path is not watched).
    pub(crate) fn watch(&mut self, path: &Path, role: Role) -> bool {
        match self.inotify.add_watch(path, mask(role)) {
            Ok(wd) => {
                if matches!(role, Role::Record | Role::Marker) {
                    self.watches.retain(|(_, r)| *r != role);
                }
                if !self.watches.iter().any(|(w, _)| *w == wd) {
                    self.watches.push((wd, role));
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Forgets every watch (they are made again by `watch`); the kernel's are left to
    /// end with their inodes or to be taken again for the same inode.
    pub(crate) fn forget(&mut self) {
        self.watches.clear();
    }

    pub(crate) fn read(&mut self) -> Seen {
        let mut seen = Seen::default();
        while let Ok(events) = self.inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for e in events {
                if e.mask.contains(F::IN_Q_OVERFLOW) {
                    seen.damage = true;
                    continue;
                }
                let Some(&(_, role)) = self.watches.iter().find(|(w, _)| *w == e.wd) else {
                    continue;
                };
                let gone = e
                    .mask
                    .intersects(F::IN_DELETE_SELF | F::IN_MOVE_SELF | F::IN_IGNORED);
                if role == Role::Marker && !gone {
                    seen.looked = true;
                } else {
                    seen.damage = true;
                }
                if e.mask.contains(F::IN_IGNORED) {
                    self.watches.retain(|(w, _)| *w != e.wd);
                }
            }
        }
        seen
    }
}
