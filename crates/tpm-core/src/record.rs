//! The process record: `processes/NAME.meta`, one line of `key=value` pairs.
//!
//! Values are quoted with POSIX shell rules, so `eval "$(cat NAME.meta)"` in bash sets one
//! variable per key. The seed's keys (`script pid port start_time type`, and `cwd`) come
//! first; the keys supervision needs follow; keys this version does not know are kept, in
//! order, when the record is rewritten. Every known key is always written (empty when it
//! has no value), so a shell loop that evals several records never sees a stale value.

use std::time::Duration;

use crate::logs::LogLimits;
use crate::policy::Policy;
use crate::status::Status;

/// A record as stored. The name is the file name, not a field.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: Option<u32>,
    /// The script's absolute path, or the command string as given.
    pub script: String,
    /// Exactly what is executed: program and arguments.
    pub cmd: Vec<String>,
    pub cwd: String,
    /// Variables given with `--env`, applied over the caller's environment.
    pub env: Vec<(String, String)>,
    pub port: u16,
    /// `cli`, or `ecosystem` for processes from an ecosystem file.
    pub kind: String,
    pub status: Status,
    /// The running process, with its start time in clock ticks after boot (see `proc`).
    pub pid: Option<u32>,
    pub pid_start: Option<u64>,
    /// The supervisor, likewise.
    pub spid: Option<u32>,
    pub spid_start: Option<u64>,
    /// The boot the pids above belong to.
    pub boot_id: Option<String>,
    /// Unix time the current run began.
    pub start_time: Option<i64>,
    /// Unix time the record was first created.
    pub created_at: Option<i64>,
    pub restarts: u32,
    /// The last exit: the code, or 128 + the signal number.
    pub exit_code: Option<i32>,
    /// Why the process is in its status, when that is worth saying.
    pub reason: Option<String>,
    pub policy: Policy,
    /// When logs rotate.
    pub logs: LogLimits,
    /// Log bytes that could not be written (full disk, file size limit).
    pub log_dropped: u64,
    /// Keys this version does not know, kept as they were.
    pub extra: Vec<(String, String)>,
}

impl Record {
    /// A fresh record for a process about to be launched.
    pub fn new(script: String, cmd: Vec<String>, cwd: String, port: u16) -> Record {
        Record {
            id: None,
            script,
            cmd,
            cwd,
            env: Vec::new(),
            port,
            kind: "cli".into(),
            status: Status::Launching,
            pid: None,
            pid_start: None,
            spid: None,
            spid_start: None,
            boot_id: None,
            start_time: None,
            created_at: None,
            restarts: 0,
            exit_code: None,
            reason: None,
            policy: Policy::default(),
            logs: LogLimits::default(),
            log_dropped: 0,
            extra: Vec::new(),
        }
    }

    /// Serializes to the one-line format, ending in a newline.
    pub fn to_line(&self, name: &str) -> String {
        let opt = |v: Option<String>| v.unwrap_or_default();
        let fields: [(&str, String); 26] = [
            ("name", name.to_string()),
            ("id", opt(self.id.map(|v| v.to_string()))),
            ("script", self.script.clone()),
            ("pid", opt(self.pid.map(|v| v.to_string()))),
            ("port", self.port.to_string()),
            ("start_time", opt(self.start_time.map(|v| v.to_string()))),
            ("type", self.kind.clone()),
            ("cwd", self.cwd.clone()),
            ("status", self.status.to_string()),
            ("restarts", self.restarts.to_string()),
            ("exit_code", opt(self.exit_code.map(|v| v.to_string()))),
            ("reason", one_line(self.reason.as_deref().unwrap_or(""))),
            ("cmd", shell_words::join(&self.cmd)),
            (
                "env",
                shell_words::join(self.env.iter().map(|(k, v)| format!("{k}={v}"))),
            ),
            ("autorestart", self.policy.autorestart.to_string()),
            ("max_restarts", self.policy.max_restarts.to_string()),
            (
                "restart_delay",
                self.policy.restart_delay.as_millis().to_string(),
            ),
            (
                "kill_timeout",
                self.policy.kill_timeout.as_millis().to_string(),
            ),
            ("pid_start", opt(self.pid_start.map(|v| v.to_string()))),
            ("spid", opt(self.spid.map(|v| v.to_string()))),
            ("spid_start", opt(self.spid_start.map(|v| v.to_string()))),
            ("boot_id", opt(self.boot_id.clone())),
            ("created_at", opt(self.created_at.map(|v| v.to_string()))),
            ("log_dropped", self.log_dropped.to_string()),
            ("log_max_size", self.logs.max_size.to_string()),
            ("log_keep", self.logs.keep.to_string()),
        ];
        let mut out = String::with_capacity(512);
        let known = fields.iter().map(|(k, v)| (*k, v.as_str()));
        let extra = self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        for (i, (key, value)) in known.chain(extra).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(&quote(value));
        }
        out.push('\n');
        out
    }

    /// Parses the one-line format. The error says what is wrong, for the user.
    pub fn parse(text: &str) -> Result<Record, String> {
        let tokens = shell_words::split(text).map_err(|e| format!("unreadable quoting ({e})"))?;
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(tokens.len());
        for token in tokens {
            let (key, value) = token
                .split_once('=')
                .ok_or_else(|| format!("{:?} is not a key=value pair", clip(&token)))?;
            if !is_key(key) {
                return Err(format!("{:?} is not a valid key", clip(key)));
            }
            if pairs.iter().any(|(k, _)| k == key) {
                return Err(format!("key {key:?} appears twice"));
            }
            pairs.push((key.to_string(), value.to_string()));
        }
        let mut fields = Fields(pairs);

        let script = fields.take("script").ok_or("the script key is missing")?;
        let port_text = fields.take("port").ok_or("the port key is missing")?;
        let port = crate::port::parse_port(&port_text)
            .ok_or_else(|| format!("port {:?} is not a port number", clip(&port_text)))?;
        let cmd = match fields.take("cmd").filter(|c| !c.is_empty()) {
            Some(c) => {
                shell_words::split(&c).map_err(|e| format!("cmd: unreadable quoting ({e})"))?
            }
            // Records written by the shell version of tpm have no cmd: run the script.
            None => vec![script.clone()],
        };
        let env = match fields.take("env") {
            Some(e) => shell_words::split(&e)
                .map_err(|e| format!("env: unreadable quoting ({e})"))?
                .into_iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                    _ => Err(format!("env: {:?} is not NAME=value", clip(&kv))),
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let status = match fields.take("status").filter(|s| !s.is_empty()) {
            Some(s) => s
                .parse::<Status>()
                .map_err(|()| format!("status {:?} is not a status", clip(&s)))?,
            None => Status::Stopped,
        };
        let defaults = Policy::default();
        let policy = Policy {
            autorestart: fields.parse("autorestart")?.unwrap_or(defaults.autorestart),
            max_restarts: fields
                .parse("max_restarts")?
                .unwrap_or(defaults.max_restarts),
            restart_delay: fields
                .parse("restart_delay")?
                .map(Duration::from_millis)
                .unwrap_or(defaults.restart_delay),
            kill_timeout: fields
                .parse("kill_timeout")?
                .map(Duration::from_millis)
                .unwrap_or(defaults.kill_timeout),
        };
        let log_defaults = LogLimits::default();
        let logs = LogLimits {
            max_size: fields
                .parse("log_max_size")?
                .unwrap_or(log_defaults.max_size),
            keep: fields.parse("log_keep")?.unwrap_or(log_defaults.keep),
        };
        // The name is the file's; a `name` key is only for shell readers.
        fields.take("name");
        Ok(Record {
            id: fields.parse("id")?,
            cmd,
            cwd: fields.take("cwd").unwrap_or_default(),
            env,
            port,
            kind: fields
                .take("type")
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "cli".into()),
            status,
            pid: fields.parse("pid")?,
            pid_start: fields.parse("pid_start")?,
            spid: fields.parse("spid")?,
            spid_start: fields.parse("spid_start")?,
            boot_id: fields.take("boot_id").filter(|b| !b.is_empty()),
            start_time: fields.parse("start_time")?,
            created_at: fields.parse("created_at")?,
            restarts: fields.parse("restarts")?.unwrap_or(0),
            exit_code: fields.parse("exit_code")?,
            reason: fields.take("reason").filter(|r| !r.is_empty()),
            policy,
            logs,
            log_dropped: fields.parse("log_dropped")?.unwrap_or(0),
            script,
            extra: fields.0,
        })
    }
}

/// The key=value pairs not yet taken; what is left over is `extra`.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn take(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    /// An optional typed value: absent or empty is `None`, anything unparsable an error.
    fn parse<T: std::str::FromStr>(&mut self, key: &str) -> Result<Option<T>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("{key} {:?} is not valid", clip(&v))),
        }
    }
}

/// A shell variable name, so that `eval` of the record works.
fn is_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Quotes for POSIX shells; empty values become `''` so every key is visibly present.
fn quote(value: &str) -> std::borrow::Cow<'_, str> {
    shell_words::quote(value)
}

/// Free text (reasons) must not break the one-line format.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Keeps error messages about hostile input short.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut r = Record::new(
            "/srv/my app/server.sh".into(),
            vec!["bash".into(), "/srv/my app/server.sh".into(), "it's".into()],
            "/srv/my app".into(),
            3000,
        );
        r.id = Some(7);
        r.env = vec![
            ("GREETING".into(), "hello world".into()),
            ("EMPTY".into(), String::new()),
        ];
        r.status = Status::Online;
        r.pid = Some(1234);
        r.pid_start = Some(99);
        r.start_time = Some(1_694_123_456);
        r.reason = Some("line one\nline two".into());
        r.extra = vec![
            ("node_env".into(), "production".into()),
            ("zz".into(), "$(rm -rf /)".into()),
        ];
        r
    }

    #[test]
    fn round_trips_including_unknown_keys() {
        let r = sample();
        let line = r.to_line("server-3000");
        assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
        let back = Record::parse(&line).unwrap();
        let mut expected = r;
        expected.reason = Some("line one line two".into());
        assert_eq!(back, expected);
    }

    #[test]
    fn seed_records_are_read() {
        let cli = Record::parse(
            "script=/path/to/script.sh pid=12345 port=3000 start_time=1694123456 type=cli",
        )
        .unwrap();
        assert_eq!(
            (cli.port, cli.pid, cli.kind.as_str()),
            (3000, Some(12345), "cli")
        );
        assert_eq!(cli.cmd, ["/path/to/script.sh"]);
        // No pid_start: the pid can never be verified, so it is never signalled.
        assert_eq!(cli.pid_start, None);
        assert_eq!(cli.status, Status::Stopped);
        let eco = Record::parse(
            "script=./server/server.js pid=12346 port=4000 start_time=1694123500 type=ecosystem cwd=/path/to/project node_env=production",
        )
        .unwrap();
        assert_eq!(eco.cwd, "/path/to/project");
        assert_eq!(
            eco.extra,
            [("node_env".to_string(), "production".to_string())]
        );
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        for (text, says) in [
            ("", "script key is missing"),
            ("script=x", "port key is missing"),
            ("script=x port=abc", "not a port"),
            ("script=x port=3000 pid=12x", "pid"),
            ("script=x port=3000 script=y", "twice"),
            ("script='x port=3000", "quoting"),
            ("script=x port=3000 junk", "not a key=value"),
            ("script=x port=3000 1a=b", "not a valid key"),
            ("script=x port=3000 status=running", "status"),
            ("script=x port=3000 env=NOEQUALS", "env"),
            ("\u{0}\u{1}\u{2}", "key=value"),
        ] {
            let err = Record::parse(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    #[test]
    fn bash_can_eval_a_record() {
        let line = sample().to_line("server-3000");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg("eval \"$1\"; printf '%s|%s|%s|%s' \"$script\" \"$port\" \"$zz\" \"$env\"")
            .arg("_")
            .arg(&line)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "/srv/my app/server.sh|3000|$(rm -rf /)|'GREETING=hello world' 'EMPTY='"
        );
    }
}
