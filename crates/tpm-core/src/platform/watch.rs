//! Watching files for `--watch`: what the OS reports, as paths. Linux: inotify, a watch per
//! folder (`watch_inotify`). macOS: FSEvents through `notify`, a stream per root
//! (`watch_notify`). `crate::supervisor::watch` decides what a change means.

use std::path::PathBuf;

#[cfg(target_os = "linux")]
pub(crate) use super::watch_inotify::Notifier;
#[cfg(target_os = "macos")]
pub(crate) use super::watch_notify::Notifier;

/// What adding a folder (or root) to the watch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    Yes,
    /// The user's limit on watches is reached (Linux's `fs.inotify.max_user_watches`;
    /// FSEvents has none).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Limit,
    /// Not watched (gone, unreadable).
    No,
}

/// A change the OS reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Something at `path` changed; `new_dir`: a folder appeared there (a backend that
    /// watches folder by folder needs it added).
    Path { path: PathBuf, new_dir: bool },
    /// Changes were lost (the OS's queue overflowed): something changed, no telling what.
    Lost,
}
