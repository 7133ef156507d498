//! The layout of macOS's `sysctl(KERN_PROCARGS2)` answer: a process's arguments and
//! environment in one buffer. Read here, apart from the call, so that the parsing is tested
//! on every OS.
//!
//! The layout: `argc` (a native-endian `int`), the executable's path and its NUL, NULs up to
//! an aligned offset, `argc` arguments each ending in a NUL, then the environment's
//! `KEY=VALUE` entries each ending in a NUL, up to an empty one (and then more that the
//! kernel keeps: `executable_path=...` for dyld, which is not the environment).

/// The arguments and the environment, each as NUL-separated entries (as Linux's
/// `/proc/PID/cmdline` and `environ` give them); `None` when the buffer is too short.
pub(crate) fn split(raw: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let argc = i32::from_ne_bytes(raw.get(..4)?.try_into().ok()?);
    let argc = usize::try_from(argc).ok()?;
    let mut rest = &raw[4..];
    // The executable's path, then the NULs that pad it.
    let end = rest.iter().position(|&b| b == 0)?;
    rest = &rest[end..];
    let start = rest.iter().position(|&b| b != 0).unwrap_or(rest.len());
    rest = &rest[start..];
    let mut entries = rest.split(|&b| b == 0);
    let mut args = Vec::new();
    for _ in 0..argc {
        let Some(arg) = entries.next() else { break };
        args.extend_from_slice(arg);
        args.push(0);
    }
    let mut env = Vec::new();
    for entry in entries {
        if entry.is_empty() {
            break;
        }
        env.extend_from_slice(entry);
        env.push(0);
    }
    Some((args, env))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(path: &str, pad: usize, args: &[&str], env: &[&str]) -> Vec<u8> {
        let mut raw = (args.len() as i32).to_ne_bytes().to_vec();
        raw.extend_from_slice(path.as_bytes());
        raw.extend(std::iter::repeat_n(0, 1 + pad));
        for a in args.iter().chain(env) {
            raw.extend_from_slice(a.as_bytes());
            raw.push(0);
        }
        raw.push(0);
        raw.extend_from_slice(b"executable_path=/bin/sh\0ptr_munge=\0");
        raw
    }

    #[test]
    fn arguments_and_environment_come_apart_at_argc() {
        let raw = buffer(
            "/bin/sh",
            7,
            &["sh", "-c", "echo hi there", ""],
            &["TPM_SUPERVISOR=41.99", "PORT=3000"],
        );
        let (args, env) = split(&raw).unwrap();
        assert_eq!(args, b"sh\0-c\0echo hi there\0\0");
        assert_eq!(env, b"TPM_SUPERVISOR=41.99\0PORT=3000\0");
    }

    #[test]
    fn no_padding_no_environment_and_short_buffers() {
        let (args, env) = split(&buffer("/x", 0, &["x"], &[])).unwrap();
        assert_eq!((args.as_slice(), env.as_slice()), (&b"x\0"[..], &b""[..]));
        assert!(split(b"\x01\0").is_none());
        assert!(split(&(-1i32).to_ne_bytes()).is_none());
        // A buffer cut short keeps what it has.
        let raw = buffer("/x", 3, &["a", "b"], &["K=V"]);
        let (args, _) = split(&raw[..raw.len() - 40]).unwrap();
        assert!(args.starts_with(b"a\0"));
    }
}
