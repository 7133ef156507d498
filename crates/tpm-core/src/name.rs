//! Process names: validation, the `basename-PORT` rule, and `*` selectors.
//!
//! A name becomes a file name in three folders, so it is validated before it touches a
//! path: ASCII letters, digits, `.`, `_` and `-`; not starting with `.` (hidden files and
//! `..`); at most [`MAX_LEN`] characters, which leaves room for suffixes like `.out.10`.

use std::fmt;

use crate::error::{Error, Result};

/// The longest name tpm accepts.
pub const MAX_LEN: usize = 100;

/// A validated process name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    /// Validates a name given by a user or read from a file name.
    pub fn parse(raw: &str) -> Result<Name> {
        let invalid = |reason| Error::InvalidName {
            name: raw.to_string(),
            reason,
        };
        if raw.is_empty() {
            return Err(invalid("it is empty"));
        }
        if raw.len() > MAX_LEN {
            return Err(invalid("it is longer than 100 characters"));
        }
        if raw.starts_with('.') {
            return Err(invalid("it starts with '.'"));
        }
        if !raw.bytes().all(is_name_byte) {
            return Err(invalid(
                "it may only hold letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Name(raw.to_string()))
    }

    /// The `basename-PORT` rule. `base` is a custom name (validated as given) or, when
    /// `derived` is set, a script or program base name, whose other characters become `-`.
    /// A base that already ends in `-PORT` is not suffixed again; without a PORT the name
    /// is the base alone (`worker`).
    pub fn with_port(base: &str, port: Option<u16>, derived: bool) -> Result<Name> {
        let base = if derived {
            sanitize(base)
        } else {
            // A custom name must be valid on its own, not only once suffixed.
            Name::parse(base)?.0
        };
        let Some(port) = port else {
            return Name::parse(&base);
        };
        let suffix = format!("-{port}");
        if base.ends_with(&suffix) {
            Name::parse(&base)
        } else {
            Name::parse(&format!("{base}{suffix}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without its `-PORT` suffix, as `tpm ports` shows it.
    pub fn base(&self, port: u16) -> &str {
        self.0
            .strip_suffix(&format!("-{port}"))
            .filter(|b| !b.is_empty())
            .unwrap_or(&self.0)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// A name as pm2 users write it (`"Test es6 modules"`, `"🏰 Watchtower"`) made into a safe
/// one: each run of other characters (and dashes) becomes one `-`, and dots and dashes at the ends go
/// (`Test-es6-modules`, `Watchtower`). `None` when nothing of it is left, or it is too long.
/// A name that is safe already is returned as it is.
pub fn safe_name(raw: &str) -> Option<String> {
    if Name::parse(raw).is_ok() {
        return Some(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c != '-' && c.is_ascii() && is_name_byte(c as u8) {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out
        .trim_start_matches(['.', '-'])
        .trim_end_matches('-')
        .to_string();
    Name::parse(&out).ok().map(|n| n.0)
}

/// Makes a derived base name valid: other characters become `-`, leading dots go.
fn sanitize(base: &str) -> String {
    let mapped: String = base
        .chars()
        .map(|c| {
            if c.is_ascii() && is_name_byte(c as u8) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches('.');
    let mut out = if trimmed.is_empty() {
        "process".to_string()
    } else {
        trimmed.to_string()
    };
    // Leave room for "-65535".
    out.truncate(MAX_LEN - 6);
    out
}

/// Instance `i` of the app named `app`: `app-i` (`server-3000-1`).
pub fn instance_name(app: &Name, i: u32) -> Result<Name> {
    Name::parse(&format!("{app}-{i}"))
}

/// The app name and the instance number a name `app-i` would have, if it ends in `-DIGITS`
/// (whether it is an instance is the record's to say: `Spec::cluster`).
pub fn split_instance(name: &str) -> Option<(&str, u32)> {
    let (app, digits) = name.rsplit_once('-')?;
    if app.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((app, digits.parse().ok()?))
}

/// What a command acts on: one name, or a pattern where `*` matches any run of characters
/// (`*` alone is every process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Exact(Name),
    Pattern(String),
}

impl Selector {
    pub fn parse(raw: &str) -> Result<Selector> {
        if raw.contains('*') {
            let without_stars = raw.replace('*', "");
            if !without_stars.bytes().all(is_name_byte) || raw.len() > MAX_LEN {
                return Err(Error::InvalidName {
                    name: raw.to_string(),
                    reason: "a pattern may only hold name characters and '*'",
                });
            }
            Ok(Selector::Pattern(raw.to_string()))
        } else {
            Name::parse(raw).map(Selector::Exact)
        }
    }

    pub fn matches(&self, name: &Name) -> bool {
        match self {
            Selector::Exact(n) => n == name,
            Selector::Pattern(p) => glob_match(p.as_bytes(), name.as_str().as_bytes()),
        }
    }
}

/// `*`-only glob matching, iterative with backtracking to the last star.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_pass() {
        for ok in ["server-3000", "a", "web.api_v2-8080", "X-1"] {
            assert_eq!(Name::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn hostile_names_are_rejected() {
        let long = "a".repeat(MAX_LEN + 1);
        for bad in [
            "", "../x", "a/b", ".x", "..", ".", "a b", "a\nb", "a\0b", "é", &long, "*", "a\\b",
        ] {
            assert!(Name::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Name::parse("../x").unwrap_err().exit_code(), 64);
    }

    #[test]
    fn basename_port_rule_matches_the_documented_examples() {
        assert_eq!(
            Name::with_port("server", Some(3000), true)
                .unwrap()
                .as_str(),
            "server-3000"
        );
        assert_eq!(
            Name::with_port("backend", Some(8080), true)
                .unwrap()
                .as_str(),
            "backend-8080"
        );
        assert_eq!(
            Name::with_port("api", Some(8080), false).unwrap().as_str(),
            "api-8080"
        );
        assert_eq!(
            Name::with_port("web-7777", Some(7777), false)
                .unwrap()
                .as_str(),
            "web-7777"
        );
        // Only the exact port is recognised as a suffix.
        assert_eq!(
            Name::with_port("web-777", Some(7777), false)
                .unwrap()
                .as_str(),
            "web-777-7777"
        );
    }

    #[test]
    fn derived_names_are_sanitized_but_custom_names_are_not() {
        assert_eq!(
            Name::with_port("my server", Some(1), true)
                .unwrap()
                .as_str(),
            "my-server-1"
        );
        assert_eq!(
            Name::with_port(".hidden", Some(1), true).unwrap().as_str(),
            "hidden-1"
        );
        assert!(Name::with_port("my server", Some(1), false).is_err());
        assert!(Name::with_port("../x", Some(1), false).is_err());
        assert!(Name::with_port("", Some(1), false).is_err(), "not `-1`");
    }

    #[test]
    fn without_a_port_the_name_is_the_base_alone() {
        assert_eq!(
            Name::with_port("worker", None, false).unwrap().as_str(),
            "worker"
        );
        assert_eq!(
            Name::with_port("my worker.sh", None, true)
                .unwrap()
                .as_str(),
            "my-worker.sh"
        );
        assert!(Name::with_port("a b", None, false).is_err());
    }

    #[test]
    fn pm2_names_are_made_safe() {
        for (raw, safe) in [
            ("Test es6 modules", "Test-es6-modules"),
            ("🏰 Watchtower", "Watchtower"),
            ("Server - Node.js", "Server-Node.js"),
            ("api", "api"),
            (".hidden app", "hidden-app"),
        ] {
            assert_eq!(safe_name(raw).as_deref(), Some(safe), "{raw:?}");
        }
        for hopeless in ["🏰", " - ", "", "..", &"x ".repeat(80)] {
            assert_eq!(safe_name(hopeless), None, "{hopeless:?}");
        }
    }

    #[test]
    fn base_strips_only_the_port_suffix() {
        let n = Name::parse("server-3000").unwrap();
        assert_eq!(n.base(3000), "server");
        assert_eq!(n.base(4000), "server-3000");
    }

    #[test]
    fn instance_names_add_the_number_to_the_app_name() {
        let app = Name::parse("server-3000").unwrap();
        assert_eq!(instance_name(&app, 2).unwrap().as_str(), "server-3000-2");
        assert_eq!(split_instance("server-3000-2"), Some(("server-3000", 2)));
        assert_eq!(split_instance("server-3000"), Some(("server", 3000)));
        assert_eq!(split_instance("server"), None);
        assert_eq!(split_instance("-1"), None);
        assert_eq!(split_instance("a-"), None);
    }

    #[test]
    fn selectors_match_names_and_patterns() {
        let web = Name::parse("web-8080").unwrap();
        let api = Name::parse("api-9000").unwrap();
        let all = Selector::parse("*").unwrap();
        assert!(all.matches(&web) && all.matches(&api));
        let webs = Selector::parse("web-*").unwrap();
        assert!(webs.matches(&web) && !webs.matches(&api));
        let mid = Selector::parse("*-80*0").unwrap();
        assert!(mid.matches(&web) && !mid.matches(&api));
        assert!(Selector::parse("web-8080").unwrap().matches(&web));
        assert!(Selector::parse("../*").is_err());
    }
}
