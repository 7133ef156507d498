//! The kernel's word that a file or folder of the store was changed, removed or moved, for
//! a supervisor that blocks in `poll` until something happens (`crate::supervisor::fsnotify`
//! says what it watches and why). Linux: inotify, on both backends: it is a wake-up, not a
//! mechanic of supervision (spawning, signals, waiting, locks), and what the POSIX backend
//! would do instead (look at the files once a second) is what any supervisor already does
//! when inotify is refused (the user's limit on instances), so `TPM_PLATFORM=posix` on Linux
//! keeps the cheaper one. Elsewhere (macOS): no store events; `StoreEvents::new` says so
//! and the supervisor looks at its files on a timer, as before.
//!
//! Watches are by inode: a file written by rename (the record, the pid file) is a new
//! inode, so what the supervisor writes itself is watched again after the write, and the
//! events of the inode it replaced, read later, belong to no current watch and are
//! ignored: the supervisor does not wake for its own writes.

/// What the events read since the last call mean.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    /// One of the supervisor's files or folders changed, went or moved: heal.
    pub damage: bool,
    /// The `looking` marker was touched: someone wants recent figures.
    pub looked: bool,
}

/// What a path is to the supervisor, so its events are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
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
pub(crate) use super::store_events_inotify::StoreEvents;

#[cfg(not(target_os = "linux"))]
mod none {
    use std::os::fd::BorrowedFd;
    use std::path::Path;

    use super::{Role, Seen};

    /// No file notifications here: `new` says so, and the supervisor looks once a second.
    pub(crate) struct StoreEvents {
        never: std::convert::Infallible,
    }

    impl StoreEvents {
        pub(crate) fn new() -> Option<StoreEvents> {
            None
        }
        pub(crate) fn fd(&self) -> BorrowedFd<'_> {
            match self.never {}
        }
        pub(crate) fn watch(&mut self, _: &Path, _: Role) -> bool {
            match self.never {}
        }
        pub(crate) fn forget(&mut self) {
            match self.never {}
        }
        pub(crate) fn read(&mut self) -> Seen {
            match self.never {}
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) use none::StoreEvents;
