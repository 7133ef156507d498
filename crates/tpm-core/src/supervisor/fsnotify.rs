//! What wakes an idle supervisor about its files: the OS's word that one of them, or a
//! folder of the store that holds them, was changed, removed or moved; and that someone
//! looks (the store's `looking` marker was touched, see `sample`).
//!
//! Nothing here polls: a supervisor that has store events blocks in its `poll` until the
//! kernel says something happened. Where there are none (macOS: `platform::store_events`
//! says why; or the user's inotify limit reached), `StoreEvents::new` or `watch` says so,
//! and the supervisor falls back to looking at its files once a second (see `heal`).
//!
//! What the supervisor writes itself by rename is watched again after the write (`arm`,
//! `rearm`), so it does not wake for its own writes.

use std::path::Path;

pub(super) use crate::platform::store_events::{Role, StoreEvents};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::store_events::Seen;

    #[test]
    fn a_touch_of_the_marker_is_a_look_and_a_junk_write_is_damage_but_own_writes_are_not() {
        let d = tempfile::tempdir().unwrap();
        let record = d.path().join("a.meta");
        let marker = marker_path(d.path());
        std::fs::write(&record, "x").unwrap();
        std::fs::write(&marker, "").unwrap();
        // Linux: the user's inotify instances (128 by default) are shared with every other
        // program. None on a system without store events (macOS).
        let Some(mut n) = StoreEvents::new() else {
            eprintln!("skipped: no store events to be had");
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
