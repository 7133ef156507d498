//! What `tpm start` runs: a script file, or a command string.
//!
//! A target that names an existing file is a script. `.sh`, `.py`, `.js`, `.cjs` and
//! `.mjs` files run with their interpreter (`bash`, `python3`, `node`) unless they are
//! executable and carry a `#!` line; any other file must be executable. Anything else is a
//! command string, split with POSIX shell rules (`shell-words`) and executed directly:
//! nothing the user did not write goes through a shell.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::context::Context;
use crate::error::{Error, Result};

/// A resolved target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// For the record: the script's absolute path, or the command as written.
    pub script: String,
    /// Exactly what is executed.
    pub cmd: Vec<String>,
    /// The base of the default name (file stem or program name).
    pub base: String,
    /// The script file, scanned for `PORT=` lines.
    pub script_path: Option<PathBuf>,
}

impl Target {
    /// The program's arguments, where PORT detection looks for `--port N`. For scripts
    /// run by an interpreter, the interpreter's own argument (the script) is skipped.
    pub fn args(&self) -> &[String] {
        let skip =
            if self.script_path.is_some() && self.cmd.get(1).is_some_and(|a| a == &self.script) {
                2
            } else {
                1
            };
        self.cmd.get(skip..).unwrap_or(&[])
    }
}

/// Resolves `target` (plus arguments given after `--`) in the caller's context.
pub fn resolve(target: &str, extra: &[String], ctx: &Context) -> Result<Target> {
    if target.trim().is_empty() {
        return Err(Error::Usage(
            "nothing to start: the script or command is empty".into(),
        ));
    }
    let as_path = normalize(&ctx.cwd.join(target));
    if as_path.is_file() {
        return script(&as_path, extra, ctx);
    }
    if as_path.is_dir() {
        return Err(Error::NotExecutable { path: as_path });
    }
    let words = shell_words::split(target)
        .map_err(|e| Error::Usage(format!("cannot split the command {target:?}: {e}")))?;
    let Some((program, args)) = words.split_first() else {
        return Err(Error::Usage(
            "nothing to start: the command is empty".into(),
        ));
    };
    let single_word = words.len() == 1 && extra.is_empty();
    if program.contains('/') {
        let path = normalize(&ctx.cwd.join(program));
        if !path.is_file() {
            return Err(Error::ScriptNotFound { path });
        }
        let mut all_args = args.to_vec();
        all_args.extend_from_slice(extra);
        let mut t = script(&path, &all_args, ctx)?;
        t.script = target.to_string();
        return Ok(t);
    }
    if which(program, ctx).is_none() {
        // `tpm start server.sh` with no such file is a missing script, not a command.
        return Err(if single_word {
            Error::ScriptNotFound { path: as_path }
        } else {
            Error::CommandNotFound {
                program: program.clone(),
            }
        });
    }
    let mut cmd = words.clone();
    cmd.extend_from_slice(extra);
    Ok(Target {
        script: if extra.is_empty() {
            target.to_string()
        } else {
            shell_words::join(&cmd)
        },
        base: stem(Path::new(program)),
        cmd,
        script_path: None,
    })
}

fn script(path: &Path, extra: &[String], ctx: &Context) -> Result<Target> {
    let text_path = path
        .to_str()
        .ok_or_else(|| Error::Usage(format!("{}: tpm needs UTF-8 paths", path.display())))?
        .to_string();
    let mode = fs::metadata(path)
        .map_err(|e| Error::io("cannot read", path, e))?
        .permissions()
        .mode();
    let executable =
        mode & 0o111 != 0 && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok();
    let interpreter = interpreter_for(path);
    let mut cmd = match interpreter {
        Some(interp) if !(executable && has_shebang(path)) => {
            if which(interp, ctx).is_none() {
                return Err(Error::CommandNotFound {
                    program: format!("{interp} (needed to run {})", path.display()),
                });
            }
            vec![interp.to_string(), text_path.clone()]
        }
        _ if executable => vec![text_path.clone()],
        _ => {
            return Err(Error::NotExecutable {
                path: path.to_path_buf(),
            })
        }
    };
    cmd.extend_from_slice(extra);
    Ok(Target {
        script: text_path,
        cmd,
        base: stem(path),
        script_path: Some(path.to_path_buf()),
    })
}

/// The interpreter tpm uses for a script extension.
pub fn interpreter_for(path: &Path) -> Option<&'static str> {
    match path.extension().and_then(OsStr::to_str)? {
        "sh" => Some("bash"),
        "py" => Some("python3"),
        "js" | "cjs" | "mjs" => Some("node"),
        _ => None,
    }
}

fn has_shebang(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"#!"
}

/// File name without its last extension: `api/backend.js` → `backend`.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Finds an executable on the caller's `PATH`.
pub fn which(program: &str, ctx: &Context) -> Option<PathBuf> {
    let path = ctx.var("PATH")?;
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| ctx.cwd.join(dir).join(program))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Removes `.` and resolves `..` lexically, so stored paths read cleanly.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn ctx(dir: &Path) -> Context {
        Context {
            env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
            cwd: dir.to_path_buf(),
        }
    }

    fn file(dir: &Path, rel: &str, text: &str, mode: u32) -> PathBuf {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn scripts_with_known_extensions_run_with_their_interpreter() {
        let d = tempfile::tempdir().unwrap();
        let p = file(d.path(), "api/backend.sh", "echo hi\n", 0o644);
        let t = resolve("api/backend.sh", &[], &ctx(d.path())).unwrap();
        assert_eq!(t.cmd, ["bash", p.to_str().unwrap()]);
        assert_eq!(
            (t.base.as_str(), t.script.as_str()),
            ("backend", p.to_str().unwrap())
        );
        assert!(t.args().is_empty());
    }

    #[test]
    fn executable_scripts_with_a_shebang_run_directly() {
        let d = tempfile::tempdir().unwrap();
        let p = file(d.path(), "s.sh", "#!/bin/sh\necho\n", 0o755);
        let t = resolve("./s.sh", &["--port".into(), "5".into()], &ctx(d.path())).unwrap();
        assert_eq!(t.cmd, [p.to_str().unwrap(), "--port", "5"]);
        assert_eq!(t.args(), ["--port", "5"]);
        // Executable but no shebang: bash runs it (exec would fail with ENOEXEC).
        let p = file(d.path(), "n.sh", "echo\n", 0o755);
        assert_eq!(
            resolve("n.sh", &[], &ctx(d.path())).unwrap().cmd,
            ["bash", p.to_str().unwrap()]
        );
    }

    #[test]
    fn other_files_must_be_executable() {
        let d = tempfile::tempdir().unwrap();
        file(d.path(), "server", "#!/bin/sh\n", 0o644);
        let err = resolve("server", &[], &ctx(d.path())).unwrap_err();
        assert!(matches!(err, Error::NotExecutable { .. }));
        assert_eq!(err.exit_code(), 66);
        let err = resolve(".", &[], &ctx(d.path())).unwrap_err();
        assert_eq!(err.exit_code(), 66, "a directory is not runnable");
    }

    #[test]
    fn missing_scripts_and_commands_are_66() {
        let d = tempfile::tempdir().unwrap();
        for target in ["missing.sh", "./missing", "no-such-program-xyz --port 1"] {
            assert_eq!(
                resolve(target, &[], &ctx(d.path()))
                    .unwrap_err()
                    .exit_code(),
                66,
                "{target}"
            );
        }
        assert!(matches!(
            resolve("missing.sh", &[], &ctx(d.path())).unwrap_err(),
            Error::ScriptNotFound { .. }
        ));
    }

    #[test]
    fn commands_are_split_not_given_to_a_shell() {
        let d = tempfile::tempdir().unwrap();
        let t = resolve("sleep '1 2' ; rm -rf x", &[], &ctx(d.path())).unwrap();
        assert_eq!(t.cmd, ["sleep", "1 2", ";", "rm", "-rf", "x"]);
        assert_eq!(t.base, "sleep");
        let t = resolve("python3 -m http.server 7777", &[], &ctx(d.path())).unwrap();
        assert_eq!(
            (t.base.as_str(), t.args()),
            (
                "python3",
                &["-m".to_string(), "http.server".into(), "7777".into()][..]
            )
        );
        assert_eq!(
            resolve("sleep 'open", &[], &ctx(d.path()))
                .unwrap_err()
                .exit_code(),
            64
        );
        assert_eq!(
            resolve("  ", &[], &ctx(d.path())).unwrap_err().exit_code(),
            64
        );
    }
}
