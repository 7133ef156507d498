//! macOS's file watching for `--watch`: FSEvents, through the `notify` crate. One stream per
//! watched root covers everything under it (no descriptor or watch per folder, so a large
//! tree costs nothing more, where kqueue would hold a descriptor open per file and folder
//! against macOS's low default limit of 256). FSEvents calls back on a thread of its own; the
//! callback queues the paths and writes a byte to a socket pair, whose other end is the
//! descriptor the supervisor polls, as it polls inotify's on Linux.
//!
//! Built on macOS, and on Linux for its tests (notify uses inotify there), so that this
//! queue and wake-up are exercised on CI's machines.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

use notify::{EventKind, RecursiveMode, Watcher};

use super::watch::{Added, Change};

pub(crate) struct Notifier {
    watcher: notify::RecommendedWatcher,
    queue: Arc<Mutex<Vec<Change>>>,
    wake: UnixStream,
    roots: usize,
}

impl Notifier {
    /// A root is watched with everything under it: the caller adds roots only.
    pub(crate) const RECURSIVE: bool = true;

    pub(crate) fn new() -> Result<Notifier, String> {
        let fail = |e: &dyn std::fmt::Display| format!("cannot watch files: {e}");
        let (wake, mut ring) = UnixStream::pair().map_err(|e| fail(&e))?;
        wake.set_nonblocking(true).map_err(|e| fail(&e))?;
        ring.set_nonblocking(true).map_err(|e| fail(&e))?;
        let queue: Arc<Mutex<Vec<Change>>> = Arc::default();
        let sink = Arc::clone(&queue);
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let mut changes = Vec::new();
            match event {
                // Reads change nothing worth a restart.
                Ok(e) if matches!(e.kind, EventKind::Access(_)) => return,
                Ok(e) if e.need_rescan() => changes.push(Change::Lost),
                Ok(e) => changes.extend(e.paths.into_iter().map(|path| Change::Path {
                    path,
                    new_dir: false,
                })),
                Err(_) => changes.push(Change::Lost),
            }
            if let Ok(mut q) = sink.lock() {
                q.append(&mut changes);
            }
            // A full socket already holds a wake-up.
            let _ = ring.write(&[1]);
        })
        .map_err(|e| fail(&e))?;
        Ok(Notifier {
            watcher,
            queue,
            wake,
            roots: 0,
        })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    pub(crate) fn add(&mut self, root: &Path) -> Added {
        match self.watcher.watch(root, RecursiveMode::Recursive) {
            Ok(()) => {
                self.roots += 1;
                Added::Yes
            }
            Err(_) => Added::No,
        }
    }

    /// Takes what changed into `out`.
    pub(crate) fn read(&mut self, out: &mut Vec<Change>) {
        let mut buf = [0u8; 64];
        loop {
            match self.wake.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        if let Ok(mut q) = self.queue.lock() {
            out.append(&mut q);
        }
    }

    /// How many roots are watched (each with everything under it).
    pub(crate) fn watched(&self) -> usize {
        self.roots
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    /// Waits for the descriptor to wake and takes the changes, until `want` holds of them.
    fn changes_until(n: &mut Notifier, want: impl Fn(&[Change]) -> bool) -> Vec<Change> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while !want(&seen) {
            assert!(Instant::now() < deadline, "no such change: {seen:?}");
            let mut fds = [PollFd::new(n.fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(100u16));
            n.read(&mut seen);
        }
        seen
    }

    #[test]
    fn a_change_deep_in_a_root_wakes_the_descriptor_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let mut n = Notifier::new().unwrap();
        const { assert!(Notifier::RECURSIVE, "one watch per root") };
        assert_eq!(n.add(&root), Added::Yes);
        assert_eq!(n.add(&root.join("missing")), Added::No);
        assert_eq!(n.watched(), 1);
        // A folder made after the watch began is watched too: the watch is of the tree.
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        let names = |want: PathBuf| {
            move |seen: &[Change]| {
                seen.iter()
                    .any(|c| matches!(c, Change::Path { path, .. } if *path == want))
            }
        };
        changes_until(&mut n, names(root.join("a")));
        // The watch's thread adds the new folders as it learns of them: wait until a file
        // written there is seen.
        let file = root.join("a/b/server.js");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            std::fs::write(&file, "x").unwrap();
            let mut fds = [PollFd::new(n.fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(200u16));
            let mut seen = Vec::new();
            n.read(&mut seen);
            if names(file.clone())(&seen) {
                break;
            }
            assert!(Instant::now() < deadline, "never saw {file:?}");
        }
    }
}
