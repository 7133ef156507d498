//! PORT detection. The order, most explicit first:
//!
//! 1. `--port N` given to tpm;
//! 2. the command's own arguments: `--port N`, `--port=N`, `-p N`, then a bare number
//!    (what the server will actually bind, so it beats an ambient `PORT`);
//! 3. `PORT` in the environment (`--env PORT=N` first, then the caller's);
//! 4. for scripts, `PORT=N` / `export PORT=N` lines (also `PORT=${PORT:-N}` and the
//!    `PORT = N` of Python and JavaScript files).
//!
//! Steps 1, 3 and 4 are the shell tpm's order; step 2 is where command strings differ.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::error::{Error, Result};

/// How much of a script is scanned for a `PORT=` line.
const SCAN_LIMIT: u64 = 1 << 20;

/// Where a port was found, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSource {
    Flag,
    Argument,
    Environment,
    Script,
    /// The program's own default (see [`known_default`]).
    ProgramDefault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub port: u16,
    pub source: PortSource,
}

/// What detection looks at.
pub struct PortInputs<'a> {
    /// `--port` as given to tpm.
    pub flag: Option<u16>,
    /// The arguments the program will receive (not the program itself).
    pub args: &'a [String],
    /// `PORT` from the caller's environment, if set.
    pub env: Option<&'a str>,
    /// The script file, when the target is one.
    pub script: Option<&'a Path>,
    /// How the target was written, for the error message.
    pub target: &'a str,
}

/// Finds the port in the documented order, or fails with exit code 65.
pub fn detect(inputs: &PortInputs<'_>) -> Result<Detected> {
    let found = |port, source| Ok(Detected { port, source });
    if let Some(port) = inputs.flag {
        return found(port, PortSource::Flag);
    }
    if let Some(port) = from_args(inputs.args) {
        return found(port, PortSource::Argument);
    }
    if let Some(raw) = inputs.env.filter(|v| !v.is_empty()) {
        return match parse_port(raw) {
            Some(port) => found(port, PortSource::Environment),
            None => Err(Error::NoPort {
                target: format!(
                    "{} (PORT={raw:?} in the environment is not a port number)",
                    inputs.target
                ),
            }),
        };
    }
    if let Some(script) = inputs.script {
        if let Some(port) = from_script(script) {
            return found(port, PortSource::Script);
        }
    }
    Err(Error::NoPort {
        target: inputs.target.to_string(),
    })
}

/// The port `tpm serve` listens on when given none.
pub const SERVE_PORT: u16 = 4444;

/// The port a program listens on by itself, for programs tpm knows: `tpm serve` (the web
/// dashboard) listens on [`SERVE_PORT`], so `tpm start "tpm serve" --name tetra` is
/// `tetra-4444`. Asked last, when nothing else names a PORT.
pub fn known_default(cmd: &[String]) -> Option<u16> {
    let (program, args) = cmd.split_first()?;
    let base = std::path::Path::new(program).file_name()?.to_str()?;
    (base == "tpm" && args.first().map(String::as_str) == Some("serve")).then_some(SERVE_PORT)
}

/// A port number: digits only, 1 to 65535.
pub fn parse_port(raw: &str) -> Option<u16> {
    if raw.is_empty() || raw.len() > 5 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<u16>().ok().filter(|&p| p != 0)
}

/// `--port N`, `--port=N`, `-p N`, then the first bare number.
fn from_args(args: &[String]) -> Option<u16> {
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        if let Some(v) = arg.strip_prefix("--port=") {
            if let Some(p) = parse_port(v) {
                return Some(p);
            }
        } else if arg == "--port" || arg == "-p" {
            if let Some(p) = iter.peek().and_then(|v| parse_port(v)) {
                return Some(p);
            }
        }
    }
    args.iter().find_map(|a| parse_port(a))
}

fn script_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // `export PORT=3000`, `PORT="3000"`, `PORT=${PORT:-3000}`, `const PORT = 3000`.
        Regex::new(
            r#"(?-u)^\s*(?:export\s+|const\s+|let\s+|var\s+)?PORT\s*=\s*["']?(?:\$\{PORT:?-)?([0-9]{1,5})(?:[^0-9]|$)"#,
        )
        .expect("the PORT pattern is valid")
    })
}

/// The first valid `PORT=` line of a script, scanning at most [`SCAN_LIMIT`] bytes.
pub fn from_script(path: &Path) -> Option<u16> {
    let file = File::open(path).ok()?;
    scan(BufReader::new(file.take(SCAN_LIMIT)))
}

/// The first valid `PORT=` line of a text, which may be any bytes.
pub fn scan(mut reader: impl BufRead) -> Option<u16> {
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        if let Some(caps) = script_line().captures(&line) {
            let digits = std::str::from_utf8(&caps[1]).ok()?;
            if let Some(port) = parse_port(digits) {
                return Some(port);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpm_serve_listens_on_its_own_default_port() {
        let cmd = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(known_default(&cmd(&["tpm", "serve"])), Some(SERVE_PORT));
        assert_eq!(
            known_default(&cmd(&["/usr/local/bin/tpm", "serve", "--bind", "0.0.0.0"])),
            Some(4444)
        );
        assert_eq!(known_default(&cmd(&["tpm", "list"])), None);
        assert_eq!(known_default(&cmd(&["mytpm", "serve"])), None);
    }
    use std::io::Write;

    fn script(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn inputs<'a>(
        args: &'a [String],
        env: Option<&'a str>,
        script: Option<&'a Path>,
    ) -> PortInputs<'a> {
        PortInputs {
            flag: None,
            args,
            env,
            script,
            target: "t",
        }
    }

    #[test]
    fn script_lines_in_the_forms_people_write() {
        for (text, port) in [
            ("#!/bin/bash\nexport PORT=3000\n", 3000),
            ("PORT=8080\n", 8080),
            ("  export PORT=\"4000\" # comment\n", 4000),
            ("PORT='5000'\n", 5000),
            ("export PORT=${PORT:-6000}\n", 6000),
            ("PORT=\"${PORT-7000}\"\n", 7000),
            ("PORT = 8000\n", 8000),
            ("const PORT = 9000;\n", 9000),
            ("# PORT=1111\nexport PORT=2222\n", 2222),
            ("PORT=99999\nPORT=3001\n", 3001),
        ] {
            let f = script(text);
            assert_eq!(from_script(f.path()), Some(port), "{text:?}");
        }
    }

    #[test]
    fn lines_that_are_not_port_assignments_are_ignored() {
        for text in [
            "# PORT=3000\n",
            "echo PORT=3000\n",
            "MYPORT=3000\n",
            "PORT=abc\n",
            "PORT=0\n",
            "",
        ] {
            let f = script(text);
            assert_eq!(from_script(f.path()), None, "{text:?}");
        }
    }

    #[test]
    fn non_utf8_scripts_are_scanned() {
        let f = script("\u{0}\u{1}binary\n");
        let mut raw = std::fs::read(f.path()).unwrap();
        raw.extend_from_slice(b"\xff\xfe\nexport PORT=1234\n");
        std::fs::write(f.path(), raw).unwrap();
        assert_eq!(from_script(f.path()), Some(1234));
    }

    #[test]
    fn command_arguments_give_the_port() {
        let a = args(&["-m", "http.server", "7777"]);
        assert_eq!(detect(&inputs(&a, None, None)).unwrap().port, 7777);
        let a = args(&["serve", "--port", "4000", "5"]);
        assert_eq!(detect(&inputs(&a, None, None)).unwrap().port, 4000);
        let a = args(&["--port=4001"]);
        assert_eq!(detect(&inputs(&a, None, None)).unwrap().port, 4001);
        let a = args(&["-p", "4002"]);
        assert_eq!(detect(&inputs(&a, None, None)).unwrap().port, 4002);
    }

    #[test]
    fn the_order_is_flag_then_arguments_then_environment_then_script() {
        let f = script("export PORT=3000\n");
        let none: Vec<String> = vec![];
        let a = args(&["7777"]);
        let d = detect(&inputs(&none, Some("9000"), Some(f.path()))).unwrap();
        assert_eq!((d.port, d.source), (9000, PortSource::Environment));
        let d = detect(&inputs(&none, None, Some(f.path()))).unwrap();
        assert_eq!((d.port, d.source), (3000, PortSource::Script));
        let d = detect(&inputs(&a, Some("9000"), Some(f.path()))).unwrap();
        assert_eq!((d.port, d.source), (7777, PortSource::Argument));
        let mut i = inputs(&a, Some("9000"), Some(f.path()));
        i.flag = Some(1);
        assert_eq!(detect(&i).unwrap().source, PortSource::Flag);
    }

    #[test]
    fn no_port_is_exit_65_and_a_bad_env_port_says_so() {
        let none: Vec<String> = vec![];
        let err = detect(&inputs(&none, None, None)).unwrap_err();
        assert_eq!(err.exit_code(), 65);
        let err = detect(&inputs(&none, Some("abc"), None)).unwrap_err();
        assert_eq!(err.exit_code(), 65);
        assert!(err.to_string().contains("abc"));
        // An empty PORT is as good as unset.
        assert!(detect(&inputs(&none, Some(""), None)).is_err());
    }

    #[test]
    fn parse_port_bounds() {
        assert_eq!(parse_port("1"), Some(1));
        assert_eq!(parse_port("65535"), Some(65535));
        for bad in ["0", "65536", "-1", "+80", " 80", "080x", "", "000000080"] {
            assert_eq!(parse_port(bad), None, "{bad:?}");
        }
    }
}
