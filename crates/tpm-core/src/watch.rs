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

/// The ignore rules. Globs are matched by hand (no regex engine in the supervisor).
#[derive(Debug)]
pub struct Ignore {
    globs: Vec<Vec<char>>,
}

impl Ignore {
    /// The default ignores and `globs`; an empty glob is an error.
    pub fn new(globs: &[String]) -> Result<Ignore, String> {
        let mut compiled = Vec::with_capacity(globs.len() + DEFAULT_IGNORES.len());
        for g in DEFAULT_IGNORES
            .iter()
            .copied()
            .chain(globs.iter().map(String::as_str))
        {
            let g = g.trim_end_matches('/');
            if g.is_empty() {
                return Err("--watch-ignore: an empty pattern leaves out nothing".into());
            }
            compiled.push(g.chars().collect());
        }
        Ok(Ignore { globs: compiled })
    }

    /// Whether `path` (under `root`) is left out: its name, or its path under `root`,
    /// matches, or one of its folders does.
    pub fn ignores(&self, root: &Path, path: &Path) -> bool {
        let rel = path.strip_prefix(root).unwrap_or(path);
        let rel_text: Vec<char> = rel.to_string_lossy().chars().collect();
        if self.globs.iter().any(|g| glob_match(g, &rel_text)) {
            return true;
        }
        rel.components().any(|c| {
            let name: Vec<char> = c.as_os_str().to_string_lossy().chars().collect();
            self.globs.iter().any(|g| glob_match(g, &name))
        })
    }
}

/// Whether `text` matches `glob` whole: `*` any characters but `/`, `**` any, `?` one
/// character but `/`; the rest literal.
fn glob_match(glob: &[char], text: &[char]) -> bool {
    match glob.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => {
            let (across, rest) = match rest.split_first() {
                Some(('*', after)) => (true, after),
                _ => (false, rest),
            };
            for skip in 0..=text.len() {
                if glob_match(rest, &text[skip..]) {
                    return true;
                }
                if !across && text.get(skip) == Some(&'/') {
                    return false;
                }
            }
            false
        }
        Some(('?', rest)) => {
            matches!(text.split_first(), Some((c, tail)) if *c != '/' && glob_match(rest, tail))
        }
        Some((c, rest)) => {
            matches!(text.split_first(), Some((t, tail)) if t == c && glob_match(rest, tail))
        }
    }
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
        assert!(Ignore::new(&["".into()]).is_err());
        let m = |g: &str, t: &str| {
            glob_match(
                &g.chars().collect::<Vec<_>>(),
                &t.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*.log", "a.log") && !m("*.log", "d/a.log") && m("**.log", "d/a.log"));
        assert!(m("a?c", "abc") && !m("a?c", "a/c") && m("dist/**", "dist/x/y"));
    }
}
