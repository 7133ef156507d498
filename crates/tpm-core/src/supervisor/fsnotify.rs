//! What wakes an idle supervisor about its files: the kernel's word (inotify) that one of
//! them, or a folder of the store that holds them, was changed, removed or moved; and that
//! someone looks (the store's `looking` marker was touched, see `sample`).
//!
//! Nothing here polls: a supervisor that has this blocks in its `poll` until the kernel
//! says something happened. Where there is no inotify (another system, or the user's
//! watch limit reached), `new` or `arm` says so, and the supervisor falls back to looking
//! at its files once a second (see `heal`).
//!
//! Watches are by inode: a file written by rename (the record, the pid file) is a new
//! inode, so what the supervisor writes itself is watched again after the write (`arm`,
//! `rearm`), and the events of the inode it replaced, read later, belong to no current
//! watch and are ignored: the supervisor does not wake for its own writes.

use std::path::Path;

/// What the events read since the last call mean.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Seen {
    /// One of the supervisor's files or folders changed, went or moved: heal.
    pub damage: bool,
    /// The `looking` marker was touched: someone wants recent figures.
    pub looked: bool,
}

/// What a path is to the supervisor, so its events are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A folder of the store: only its own removal or move matters (not its files').
    Folder,
    /// A file the supervisor keeps (lock, pid, reserve, environment): removed, moved, or
    /// its attributes changed (a removal drops its link count).
    File,
    /// A log file: removed (not moved: a rotation moves it, and the file that takes its
    /// place is watched at the next heal; the moved one's removal, later, is one).
    Log,
    /// The record: as a file, and any write into it (junk).
    Record,
    /// The `looking` marker.
    Marker,
}

#[cfg(target_os = "linux")]
mod imp {
    use std::os::fd::{AsFd, BorrowedFd};
    use std::path::Path;

    use nix::sys::inotify::{AddWatchFlags as F, InitFlags, Inotify, WatchDescriptor};

    use super::{Role, Seen};

    pub(in crate::supervisor) struct FsNotify {
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

    impl FsNotify {
        pub(in crate::supervisor) fn new() -> Option<FsNotify> {
            let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
            Some(FsNotify {
                inotify,
                watches: Vec::new(),
            })
        }

        pub(in crate::supervisor) fn fd(&self) -> BorrowedFd<'_> {
            self.inotify.as_fd()
        }

        /// Watches `path` in its role, in place of the last watch of that role and path's
        /// kind (one record, one marker; files and folders are all kept). Whether the
        /// kernel took it (a missing path is not watched).
        pub(in crate::supervisor) fn watch(&mut self, path: &Path, role: Role) -> bool {
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
        pub(in crate::supervisor) fn forget(&mut self) {
            self.watches.clear();
        }

        pub(in crate::supervisor) fn read(&mut self) -> Seen {
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
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::os::fd::BorrowedFd;
    use std::path::Path;

    use super::{Role, Seen};

    /// No file notifications here: `new` says so, and the supervisor looks once a second.
    pub(in crate::supervisor) struct FsNotify {
        never: std::convert::Infallible,
    }

    impl FsNotify {
        pub(in crate::supervisor) fn new() -> Option<FsNotify> {
            None
        }
        pub(in crate::supervisor) fn fd(&self) -> BorrowedFd<'_> {
            match self.never {}
        }
        pub(in crate::supervisor) fn watch(&mut self, _: &Path, _: Role) -> bool {
            match self.never {}
        }
        pub(in crate::supervisor) fn forget(&mut self) {
            match self.never {}
        }
        pub(in crate::supervisor) fn read(&mut self) -> Seen {
            match self.never {}
        }
    }
}

pub(super) use imp::FsNotify;

/// The marker a looker touches (`tpm list`, `monit`, the web page, a metrics scrape) so
/// the supervisors look at their trees for a while (see `sample`).
pub(crate) fn marker_path(store_root: &Path) -> std::path::PathBuf {
    store_root.join("looking")
}

/// Says that someone looks: touches the marker when there is one (the supervisors make
/// it; a store without running supervisors has nothing to wake), one `utimensat`. Never
/// fails a command.
pub(crate) fn touch_marker(store_root: &Path) {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;
    let path = marker_path(store_root);
    let _ = utimensat(
        nix::fcntl::AT_FDCWD,
        &path,
        &TimeSpec::UTIME_NOW,
        &TimeSpec::UTIME_NOW,
        UtimensatFlags::FollowSymlink,
    );
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_touch_of_the_marker_is_a_look_and_a_junk_write_is_damage_but_own_writes_are_not() {
        let d = tempfile::tempdir().unwrap();
        let record = d.path().join("a.meta");
        let marker = marker_path(d.path());
        std::fs::write(&record, "x").unwrap();
        std::fs::write(&marker, "").unwrap();
        // The user's instances (128 by default) are shared with every other program.
        let Some(mut n) = FsNotify::new() else {
            eprintln!("skipped: no inotify instance to be had");
            return;
        };
        assert!(n.watch(d.path(), Role::Folder));
        assert!(n.watch(&record, Role::Record));
        assert!(n.watch(&marker, Role::Marker));
        assert_eq!(n.read(), Seen::default(), "nothing happened");
        touch_marker(d.path());
        assert_eq!(
            n.read(),
            Seen {
                damage: false,
                looked: true
            }
        );
        // The supervisor's own write: a new inode by rename, watched again at once.
        let tmp = d.path().join("a.meta.tmp");
        std::fs::write(&tmp, "y").unwrap();
        std::fs::rename(&tmp, &record).unwrap();
        assert!(n.watch(&record, Role::Record));
        assert_eq!(n.read(), Seen::default(), "own writes are not damage");
        std::fs::write(&record, "junk").unwrap();
        assert!(n.read().damage);
        std::fs::remove_file(&record).unwrap();
        assert!(n.read().damage);
    }
}
