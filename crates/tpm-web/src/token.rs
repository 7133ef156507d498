//! The API token: made on first use, kept in the private store as `web.token` (0600, in the
//! 0700 store), printed by `tpm serve --token`. Requests that change something carry it as
//! `Authorization: Bearer TOKEN`; off loopback, every API request does.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use tpm_core::Tpm;

use crate::error::ServeError;

/// The file's name in `$TETRA_DIR/tpm/`.
pub const FILE: &str = "web.token";
/// Random bytes in a new token (written as hex).
const BYTES: usize = 32;
/// A token written by hand must still be hard to guess.
const MIN_LEN: usize = 16;

pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is, so response times
    /// do not reveal the token byte by byte.
    pub fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

pub fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// The token, if one was made. A file others can read (or that is not ours) is refused:
/// its token may be known to them.
pub fn load(root: &Path) -> Result<Option<Token>, ServeError> {
    let file = path(root);
    let f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&file)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ServeError::token_io("cannot read", &file, e)),
    };
    let meta = f
        .metadata()
        .map_err(|e| ServeError::token_io("cannot read", &file, e))?;
    if !meta.is_file() || meta.uid() != nix::unistd::geteuid().as_raw() || meta.mode() & 0o077 != 0
    {
        return Err(ServeError::token_exposed(&file, meta.mode() & 0o777));
    }
    let mut text = String::new();
    f.take(4096)
        .read_to_string(&mut text)
        .map_err(|e| ServeError::token_io("cannot read", &file, e))?;
    let token = text.trim();
    if token.len() < MIN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ServeError::token_invalid(&file, MIN_LEN));
    }
    Ok(Some(Token(token.to_string())))
}

/// The token, made now if there is none. Two first runs at once agree on one token: it is
/// written to a temp file, then linked into place only if no token is there yet.
pub fn load_or_create(tpm: &Tpm) -> Result<Token, ServeError> {
    let root = tpm.store().root();
    if let Some(token) = load(root)? {
        return Ok(token);
    }
    tpm.store().ensure()?;
    let file = path(root);
    let temp = root.join(format!(".{FILE}.{}.tmp", std::process::id()));
    let token = random_hex().map_err(|e| ServeError::token_io("cannot read", "/dev/urandom", e))?;
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut f| {
            f.write_all(format!("{token}\n").as_bytes())?;
            f.sync_all()
        });
    let linked = written.and_then(|()| fs::hard_link(&temp, &file));
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(Token(token)),
        // Another first run won: use its token.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            load(root)?.ok_or_else(|| ServeError::token_io("cannot create", &file, e))
        }
        Err(e) => Err(ServeError::token_io("cannot create", &file, e)),
    }
}

fn random_hex() -> io::Result<String> {
    let mut bytes = [0u8; BYTES];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        let t = Token("abcdefghijklmnopqrstuvwxyz".into());
        assert!(t.matches("abcdefghijklmnopqrstuvwxyz"));
        assert!(!t.matches("abcdefghijklmnopqrstuvwxy"));
        assert!(!t.matches("abcdefghijklmnopqrstuvwxyZ"));
        assert!(!t.matches(""));
    }

    #[test]
    fn a_token_is_made_once_private_and_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = tpm_core::Context {
            env: vec![("TETRA_DIR".into(), dir.path().into())],
            cwd: dir.path().into(),
        };
        let tpm = Tpm::new(ctx, "/bin/false".into()).unwrap();
        let root = tpm.store().root().to_path_buf();
        assert!(load(&root).unwrap().is_none());
        let first = load_or_create(&tpm).unwrap();
        assert_eq!(first.as_str().len(), 2 * BYTES);
        let meta = fs::metadata(path(&root)).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(load_or_create(&tpm).unwrap().as_str(), first.as_str());
        let leftovers: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_token_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path());
        fs::write(&file, "0123456789abcdef0123\n").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("readable"), "{err}");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load(dir.path()).unwrap().is_some());
        fs::write(&file, "short\n").unwrap();
        assert!(load(dir.path()).is_err());
    }
}
