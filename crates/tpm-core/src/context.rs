//! The caller's context: environment and working directory.
//!
//! The core never reads its own process's environment or directory: a front end passes the
//! user's. The CLI passes its own; the Nushell plugin passes Nushell's, which is not the
//! plugin process's.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Context {
    pub env: Vec<(OsString, OsString)>,
    pub cwd: PathBuf,
}

impl Context {
    /// The context of this process (the CLI's).
    pub fn from_process() -> Result<Context> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", ".", e))?;
        Ok(Context {
            env: std::env::vars_os().collect(),
            cwd,
        })
    }

    pub fn var(&self, key: &str) -> Option<&OsStr> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_os_str())
    }
}
