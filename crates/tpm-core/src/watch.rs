//! What `--watch` watches: the paths of a spec's [`Watch`], less what is never worth a
//! restart ([`DEFAULT_IGNORES`], tpm's own store) and the user's `--watch-ignore` globs.
//! The supervisor does the watching (`supervisor::watch`, inotify); this module owns the
//! rules, so that the spec, the record and the supervisor agree.

use std::path::Path;

/// Names left out of every watch: version control, dependencies, bytecode caches.
pub const DEFAULT_IGNORES: [&str; 3] = [".git", "node_modules", "__pycache__"];

/// A spec's watch settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Watch {
    /// Absolute paths (folders are watched with everything under them).
    pub paths: Vec<String>,
    /// Globs (`*.log`, `tmp`, `dist/**`): matched against a file's or folder's name and
    /// its path under the watched folder.
    pub ignore: Vec<String>,
}

/// The ignore rules, compiled.
#[derive(Debug)]
pub struct Ignore {
    globs: Vec<regex::Regex>,
}

impl Ignore {
    /// The default ignores and `globs`; a glob that cannot be compiled is an error.
    pub fn new(globs: &[String]) -> Result<Ignore, String> {
        let mut compiled = Vec::with_capacity(globs.len() + DEFAULT_IGNORES.len());
        for g in DEFAULT_IGNORES
            .iter()
            .copied()
            .chain(globs.iter().map(String::as_str))
        {
            compiled.push(
                regex::Regex::new(&glob_to_regex(g))
                    .map_err(|e| format!("--watch-ignore {g:?} is not a pattern: {e}"))?,
            );
        }
        Ok(Ignore { globs: compiled })
    }

    /// Whether `path` (under `root`) is left out: its name, or its path under `root`,
    /// matches, or one of its folders does.
    pub fn ignores(&self, root: &Path, path: &Path) -> bool {
        let rel = path.strip_prefix(root).unwrap_or(path);
        let rel_text = rel.to_string_lossy();
        if self.globs.iter().any(|g| g.is_match(&rel_text)) {
            return true;
        }
        rel.components().any(|c| {
            let name = c.as_os_str().to_string_lossy();
            self.globs.iter().any(|g| g.is_match(&name))
        })
    }
}

/// `*` any characters but `/`, `**` any, `?` one character but `/`; the rest literal.
fn glob_to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    let mut chars = glob.trim_end_matches('/').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_globs_leave_out_what_they_name_at_any_depth() {
        let ig = Ignore::new(&["*.log".into(), "dist/**".into(), "tmp".into()]).unwrap();
        let root = Path::new("/app");
        for left_out in [
            "/app/.git/index",
            "/app/node_modules/x/index.js",
            "/app/src/node_modules/y.js",
            "/app/server.log",
            "/app/logs/a.log",
            "/app/dist/bundle/main.js",
            "/app/tmp",
            "/app/src/tmp/x",
            "/app/__pycache__/m.pyc",
        ] {
            assert!(ig.ignores(root, Path::new(left_out)), "{left_out}");
        }
        for watched in [
            "/app/server.js",
            "/app/src/index.ts",
            "/app/logs.js",
            "/app/distx",
        ] {
            assert!(!ig.ignores(root, Path::new(watched)), "{watched}");
        }
        assert!(Ignore::new(&["a[".into()]).is_ok(), "brackets are literal");
    }
}
