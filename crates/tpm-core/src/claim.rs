//! The claim on a name that no file operation can undo: a Unix socket.
//!
//! The lock file (`pids/NAME.lock`, see `lock`) is the store's contract: a held lock means
//! "supervised". But `rm -rf $TETRA_DIR/tpm` takes the file with it, and a new `tpm start`
//! would then find the name free while its supervisor still runs. So a start also binds a
//! socket named for the store and the process, outside the store (see `platform`: an
//! abstract socket on Linux, which lives in the kernel and vanishes with its last
//! descriptor; a socket file in a private folder under POSIX), hands it to the supervisor
//! with the lock, and the supervisor holds it for life, listening: a second start of the
//! same name finds the address taken, and connecting to it tells which process holds it
//! (the socket's peer), even when the store is gone or its record is junk.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::accept;
use std::os::fd::AsRawFd;

use crate::name::Name;
use crate::platform;

/// A held claim; dropping it releases the name.
#[derive(Debug)]
pub struct Claim {
    fd: OwnedFd,
}

/// Why a claim could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// A supervisor holds it (it answers on the socket): its pid.
    By(u32),
    /// Someone bound it and does not listen yet: a start under way.
    Starting,
}

/// The socket's key: a 128-bit digest of the store root and name (both may be long; an
/// address holds about 100 bytes).
fn key(root: &Path, name: &Name) -> String {
    let mut key = root.as_os_str().as_encoded_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(name.as_str().as_bytes());
    // FNV-1a, twice with different offsets: stable across builds (so an older supervisor's
    // claim is seen by a newer tpm), and far from any chance collision.
    let fnv = |offset: u64| {
        key.iter().fold(offset, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x6c62_272e_07bb_0142)
    )
}

impl Claim {
    /// Takes the claim on `name` in the store at `root`. `Ok(None)` where sockets cannot be
    /// had at all (the lock file alone then guards the name, as before).
    pub fn take(root: &Path, name: &Name) -> Result<Option<Claim>, Taken> {
        let key = key(root, name);
        match platform::claim_bind(&key) {
            Ok(fd) => Ok(Some(Claim { fd })),
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => match holder(&key) {
                Some(Holder::Listening(pid)) => Err(Taken::By(pid)),
                Some(Holder::NotListening) => Err(Taken::Starting),
                // Held by another user's process: a name squatter, not a supervisor of ours.
                None => Ok(None),
            },
            Err(_) => Ok(None),
        }
    }

    /// The pid of the supervisor holding the claim on `name`, if one does.
    pub fn holder(root: &Path, name: &Name) -> Option<u32> {
        match holder(&key(root, name))? {
            Holder::Listening(pid) => Some(pid),
            Holder::NotListening => None,
        }
    }

    /// The supervisor's side: answer connections from now on (see [`Claim::holder`]).
    pub fn listen(&self) {
        platform::claim_listen(self.as_fd());
    }

    /// Accepts and closes every pending connection (they only wanted to know who we are).
    pub fn answer(&self) {
        while let Ok(conn) = accept(self.as_fd().as_raw_fd()) {
            // SAFETY: accept returned a new descriptor that we alone own.
            drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(conn) });
        }
    }

    /// Hands the socket on (to a supervisor) without releasing the claim.
    pub fn into_fd(self) -> OwnedFd {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the descriptor is moved out exactly once.
        unsafe { std::ptr::read(&this.fd) }
    }

    pub fn from_fd(fd: OwnedFd) -> Claim {
        Claim { fd }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Before the socket closes (the field is dropped after this).
        platform::claim_release(self.fd.as_fd());
    }
}

impl AsFd for Claim {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

enum Holder {
    Listening(u32),
    NotListening,
}

/// Who holds the socket of `key`: a listener of our own user (its pid), a binder that does
/// not listen yet, or `None` for another user's socket.
fn holder(key: &str) -> Option<Holder> {
    // Non-blocking: a full backlog (a supervisor that does not answer) must not hang us.
    match platform::claim_connect(key) {
        Ok(fd) => platform::peer_pid(fd.as_fd()).map(Holder::Listening),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNREFUSED | libc::EAGAIN)) => {
            Some(Holder::NotListening)
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_per_name_and_store_and_its_holder_is_known_once_it_listens() {
        let dir = tempfile::tempdir().unwrap();
        let name = Name::parse("web-1").unwrap();
        let claim = Claim::take(dir.path(), &name)
            .unwrap()
            .expect("sockets here");
        if !platform::claim_listens_at_bind() {
            assert_eq!(Claim::take(dir.path(), &name).unwrap_err(), Taken::Starting);
            assert_eq!(Claim::holder(dir.path(), &name), None);
        }
        claim.listen();
        assert_eq!(
            Claim::take(dir.path(), &name).unwrap_err(),
            Taken::By(std::process::id())
        );
        assert_eq!(Claim::holder(dir.path(), &name), Some(std::process::id()));
        claim.answer();
        // Another name, another store: free.
        let other = Name::parse("web-2").unwrap();
        assert!(Claim::take(dir.path(), &other).unwrap().is_some());
        let elsewhere = dir.path().join("elsewhere");
        assert!(Claim::take(&elsewhere, &name).unwrap().is_some());
        drop(claim);
        // Released; a process another test forks at this moment holds a copy of the socket
        // until its exec closes it, so give that a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match Claim::take(dir.path(), &name) {
                Ok(Some(_)) => break,
                other => assert!(std::time::Instant::now() < deadline, "released: {other:?}"),
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
