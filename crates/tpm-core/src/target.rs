//! What `tpm start` runs: a script file, or a command string.
//!
//! A target that names an existing file is a script. `.sh`, `.py`, `.js`, `.cjs` and
//! `.mjs` files run with their interpreter (`bash`, `python3`, `node`) unless they are
//! executable and carry a `#!` line; any other file must be executable. An interpreter
//! given by the user (`--interpreter`, pm2's `interpreter`) replaces that choice, and
//! `none` runs the file itself. Anything else is a command string, split with POSIX shell
//! rules (`shell-words`) and executed directly: nothing the user did not write goes
//! through a shell.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::context::Context;
use crate::error::{Error, Result};

/// How to run a target, besides the target itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Launch<'a> {
    /// Arguments for the script or program.
    pub args: &'a [String],
    /// The interpreter for a script file; `none` runs the file itself.
    pub interpreter: Option<&'a str>,
    /// Arguments for the interpreter, before the script.
    pub interpreter_args: &'a [String],
}

/// The interpreter value that means "run the file itself", as pm2 spells it.
pub const NO_INTERPRETER: &str = "none";

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
    /// Where in `cmd` the script's or program's own arguments begin.
    args_from: usize,
}

impl Target {
    /// The program's arguments, where PORT detection looks for `--port N`: the script's
    /// own, not the interpreter's.
    pub fn args(&self) -> &[String] {
        self.cmd.get(self.args_from..).unwrap_or(&[])
    }
}

/// Resolves `target` (plus the arguments and interpreter in `how`) in the caller's context.
pub fn resolve(target: &str, how: &Launch<'_>, ctx: &Context) -> Result<Target> {
    let extra = how.args;
    if target.trim().is_empty() {
        return Err(Error::Usage(
            "nothing to start: the script or command is empty".into(),
        ));
    }
    let as_path = normalize(&ctx.cwd.join(target));
    if as_path.is_file() {
        return script(&as_path, how, ctx);
    }
    if as_path.is_dir() {
        // A folder runs as node runs one: its package.json `main`, or its index.js.
        return match folder_entry(&as_path) {
            Some(entry) => {
                let mut t = script(&entry, how, ctx)?;
                t.base = stem(&as_path);
                Ok(t)
            }
            None => Err(Error::NotExecutable { path: as_path }),
        };
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
        let mut t = script(
            &path,
            &Launch {
                args: &all_args,
                ..*how
            },
            ctx,
        )?;
        t.script = target.to_string();
        return Ok(t);
    }
    if how.interpreter.is_some_and(|i| i != NO_INTERPRETER) || !how.interpreter_args.is_empty() {
        return Err(Error::Usage(format!(
            "{target:?} is a command, not a script file: an interpreter applies to script files only"
        )));
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
        args_from: 1,
    })
}

fn script(path: &Path, how: &Launch<'_>, ctx: &Context) -> Result<Target> {
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
    let interpreter = match how.interpreter {
        Some(NO_INTERPRETER) => None,
        Some(chosen) => Some(chosen),
        None if executable && has_shebang(path) => None,
        None => interpreter_for(path),
    };
    let mut cmd = match interpreter {
        Some(interp) => {
            let found = if interp.contains('/') {
                Some(ctx.cwd.join(interp)).filter(|p| p.is_file())
            } else {
                which(interp, ctx)
            };
            if found.is_none() {
                return Err(Error::CommandNotFound {
                    program: format!("{interp} (needed to run {})", path.display()),
                });
            }
            let mut cmd = vec![interp.to_string()];
            cmd.extend_from_slice(how.interpreter_args);
            cmd
        }
        None if executable => Vec::new(),
        None => {
            return Err(Error::NotExecutable {
                path: path.to_path_buf(),
            })
        }
    };
    cmd.push(text_path.clone());
    let args_from = cmd.len();
    cmd.extend_from_slice(how.args);
    Ok(Target {
        script: text_path,
        cmd,
        base: stem(path),
        script_path: Some(path.to_path_buf()),
        args_from,
    })
}

/// The file node runs for a folder: package.json's `main` (a file, the file with `.js`
/// added, or a folder's index.js), else index.js. `None`: the folder has neither.
fn folder_entry(dir: &Path) -> Option<PathBuf> {
    let main = fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|pkg| pkg.get("main")?.as_str().map(str::to_string))
        .filter(|m| !m.trim().is_empty());
    let mut candidates = Vec::new();
    if let Some(main) = main {
        let main = normalize(&dir.join(main));
        candidates.push(main.clone());
        candidates.push(PathBuf::from(format!("{}.js", main.display())));
        candidates.push(main.join("index.js"));
    }
    candidates.push(dir.join("index.js"));
    candidates.into_iter().find(|p| p.is_file())
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
pub(crate) fn normalize(path: &Path) -> PathBuf {
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
        let t = resolve("api/backend.sh", &Launch::default(), &ctx(d.path())).unwrap();
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
        let t = resolve(
            "./s.sh",
            &Launch {
                args: &["--port".into(), "5".into()],
                ..Launch::default()
            },
            &ctx(d.path()),
        )
        .unwrap();
        assert_eq!(t.cmd, [p.to_str().unwrap(), "--port", "5"]);
        assert_eq!(t.args(), ["--port", "5"]);
        // Executable but no shebang: bash runs it (exec would fail with ENOEXEC).
        let p = file(d.path(), "n.sh", "echo\n", 0o755);
        assert_eq!(
            resolve("n.sh", &Launch::default(), &ctx(d.path()))
                .unwrap()
                .cmd,
            ["bash", p.to_str().unwrap()]
        );
    }

    #[test]
    fn other_files_must_be_executable() {
        let d = tempfile::tempdir().unwrap();
        file(d.path(), "server", "#!/bin/sh\n", 0o644);
        let err = resolve("server", &Launch::default(), &ctx(d.path())).unwrap_err();
        assert!(matches!(err, Error::NotExecutable { .. }));
        assert_eq!(err.exit_code(), 66);
        let err = resolve(".", &Launch::default(), &ctx(d.path())).unwrap_err();
        assert_eq!(err.exit_code(), 66, "a directory is not runnable");
    }

    #[test]
    fn missing_scripts_and_commands_are_66() {
        let d = tempfile::tempdir().unwrap();
        for target in ["missing.sh", "./missing", "no-such-program-xyz --port 1"] {
            assert_eq!(
                resolve(target, &Launch::default(), &ctx(d.path()))
                    .unwrap_err()
                    .exit_code(),
                66,
                "{target}"
            );
        }
        assert!(matches!(
            resolve("missing.sh", &Launch::default(), &ctx(d.path())).unwrap_err(),
            Error::ScriptNotFound { .. }
        ));
    }

    #[test]
    fn commands_are_split_not_given_to_a_shell() {
        let d = tempfile::tempdir().unwrap();
        let t = resolve("sleep '1 2' ; rm -rf x", &Launch::default(), &ctx(d.path())).unwrap();
        assert_eq!(t.cmd, ["sleep", "1 2", ";", "rm", "-rf", "x"]);
        assert_eq!(t.base, "sleep");
        let t = resolve(
            "python3 -m http.server 7777",
            &Launch::default(),
            &ctx(d.path()),
        )
        .unwrap();
        assert_eq!(
            (t.base.as_str(), t.args()),
            (
                "python3",
                &["-m".to_string(), "http.server".into(), "7777".into()][..]
            )
        );
        assert_eq!(
            resolve("sleep 'open", &Launch::default(), &ctx(d.path()))
                .unwrap_err()
                .exit_code(),
            64
        );
        assert_eq!(
            resolve("  ", &Launch::default(), &ctx(d.path()))
                .unwrap_err()
                .exit_code(),
            64
        );
    }
}
