//! Values that must not be printed: environment variables whose names look like secrets.
//! `dump` and any view of a process's environment show them as [`MASK`]; the store keeps
//! the real values (private to the user), so restarts and `tpm save` are not affected.

/// What a secret's value is shown as. A file that still holds it cannot start: the value
/// must be put back first (see `ops::plan`).
pub const MASK: &str = "<hidden by tpm>";

/// Parts of a variable name that mark it as secret (case-insensitive).
const MARKS: [&str; 6] = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL"];

/// Whether `key` names a variable whose value must not be printed.
pub fn is_secret(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    MARKS.iter().any(|m| upper.contains(m))
}

/// `env` with the values of secret keys replaced by [`MASK`].
pub fn masked(env: &[(String, String)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| {
            let v = if is_secret(k) {
                MASK.to_string()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_secret_are_secret() {
        for key in [
            "GITHUB_TOKEN",
            "api_key",
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "KEYCLOAK_URL",
            "Credentials",
        ] {
            assert!(is_secret(key), "{key}");
        }
        for key in ["PATH", "NODE_ENV", "PORT", "GREETING"] {
            assert!(!is_secret(key), "{key}");
        }
        let env = vec![
            ("TOKEN".to_string(), "abc".to_string()),
            ("A".into(), "1".into()),
        ];
        assert_eq!(
            masked(&env),
            [
                ("TOKEN".to_string(), MASK.to_string()),
                ("A".into(), "1".into())
            ]
        );
    }
}
