//! JavaScript ecosystem files, evaluated by the real `node` on the caller's PATH.
//!
//! pm2 `require()`s a config inside its own CLI, so the file sees the user's environment
//! and may use any Node API. tpm keeps that: a small evaluator script is run by `node` with
//! the caller's environment (`ctx.env`, not tpm's) and the file's folder as cwd. It loads
//! the file with `require()` (`.js`, `.cjs`; an ES module that `require` refuses, as
//! older nodes do and newer ones do for top-level `await`, is imported instead) or `import()` (`.mjs`), takes the `default` export of an ES module,
//! waits for a promise, and prints one JSON line on stdout: `{"value": ...}`, or
//! `{"error": ..., "stack": ..., "url": ...}` before re-throwing so that node prints its own
//! report (the only place the line of an ES module's syntax error appears). The file's own
//! `console.log` output is moved to stderr so it cannot corrupt that line. The path is an
//! argument, never part of the script's source.
//!
//! node runs in a process group of its own with a parent-death signal. When it exits, or
//! when it is killed at the deadline, the whole group is killed before node is reaped (so
//! the group's id cannot have been reused), and then whatever left the group (a child
//! spawned `detached`, in a session of its own) is found by its cgroup or its marker and
//! killed too (see `leftovers`): nothing a config started is left behind.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::unistd::Pid;
use serde::Deserialize;
use serde_json::Value;

use super::fail;
use super::leftovers::Marks;
use crate::context::Context;
use crate::error::{Error, Result};

/// How long a file may take to evaluate. A config is a data literal and takes
/// milliseconds past node's start-up; a file still running after this waits on something
/// that will not come, or loops.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);

/// What is kept of node's stdout: the apps as JSON. More means the file is not a config.
const MAX_STDOUT: usize = 16 << 20;
/// What is kept of node's stderr: enough for its error report.
const MAX_STDERR: usize = 64 << 10;
/// How long the pipes are drained after node has exited.
const DRAIN: Duration = Duration::from_secs(1);

const EVALUATOR: &str = r#"
const [file, how] = process.argv.slice(1);
const print = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);
const url = require('url').pathToFileURL(file).href;
const esm = () => import(url);
const unwrap = m => (m && m[Symbol.toStringTag] === 'Module' && m.default !== undefined ? m.default : m);
const loaded = how === 'import' ? esm()
  : new Promise(ok => ok(require(file)))
    .catch(e => (e && /^ERR_REQUIRE_(ESM|ASYNC_MODULE)$/.test(e.code) ? esm() : Promise.reject(e)));
loaded.then(unwrap).then(value => JSON.stringify({ value })).then(
  text => print(text + '\n', () => process.exit(0)),
  e => print(JSON.stringify({
    error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    stack: String(e && e.stack), url,
  }) + '\n', () => { throw e; }));
"#;

/// What the evaluator prints.
#[derive(Deserialize)]
struct Reply {
    value: Option<Value>,
    error: Option<String>,
    stack: Option<String>,
    url: Option<String>,
}

/// Evaluates the JavaScript file `path` (absolute) in `dir`, and returns what it exports.
pub(super) fn evaluate(path: &Path, dir: &Path, ctx: &Context, timeout: Duration) -> Result<Value> {
    let node = crate::target::which("node", ctx).ok_or_else(|| Error::NodeMissing {
        file: path.to_path_buf(),
    })?;
    // node reports the real path of what it loads; compare with that.
    let real = std::fs::canonicalize(path).map_err(|e| Error::io("cannot read", path, e))?;
    let how = match path.extension().and_then(|e| e.to_str()) {
        Some("mjs") => "import",
        _ => "require",
    };
    let mut cmd = Command::new(&node);
    // The evaluator is CommonJS (it needs `require`), whatever NODE_OPTIONS say.
    cmd.arg("--input-type=commonjs")
        .arg("-e")
        .arg(EVALUATOR)
        .arg("--")
        .arg(&real)
        .arg(how)
        .env_clear()
        .envs(ctx.env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let marks = Marks::new(ctx);
    let (key, value) = marks.env();
    cmd.env(key, value);
    let procs = marks.procs_fd();
    let parent = nix::unistd::getpid();
    // SAFETY: only async-signal-safe calls (write, sigprocmask, prctl, getppid) run in the
    // child.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(fd) = procs {
                // Into the evaluation's cgroup, before anything can fork. A failure leaves
                // node outside it: the sweep then goes by the marker (see `leftovers`).
                libc::write(fd, b"0".as_ptr().cast(), 1);
            }
            // The caller may block signals (a supervisor does); node must not inherit that.
            nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            // If tpm dies (Ctrl-C at the terminal reaches tpm's group, not node's), node goes
            // too, where the OS can do that; elsewhere the sweep by marker finds it later.
            crate::platform::die_with_parent(parent.as_raw())
        });
    }
    let run = run(cmd, timeout, &marks);
    marks.sweep();
    let run = run.map_err(|e| fail(path, None, format!("cannot run {}: {e}", node.display())))?;
    interpret(path, &real, &run, timeout)
}

/// How a run of node ended.
struct Run {
    /// node was still running at the deadline, and was killed.
    timed_out: bool,
    /// `None` if it could not be had (someone else reaped node).
    status: Option<ExitStatus>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// stdout went past [`MAX_STDOUT`] and node was killed.
    overflowed: bool,
}

/// One of node's output pipes, read until end of file or its cap.
struct Pipe {
    file: Option<File>,
    buf: Vec<u8>,
    cap: usize,
    overflowed: bool,
}

impl Pipe {
    fn new(file: Option<impl Into<std::os::fd::OwnedFd>>, cap: usize) -> Pipe {
        Pipe {
            file: file.map(|f| File::from(f.into())),
            buf: Vec::new(),
            cap,
            overflowed: false,
        }
    }

    /// Reads what is there (called when poll says it will not block).
    fn read_some(&mut self) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 64 << 10];
        match file.read(&mut chunk) {
            Ok(0) => self.file = None,
            Ok(n) => {
                let room = self.cap.saturating_sub(self.buf.len());
                self.buf.extend_from_slice(&chunk[..n.min(room)]);
                self.overflowed |= n > room;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.file = None,
        }
    }
}

/// Runs node until it exits (then drains its output for at most [`DRAIN`]), its stdout
/// passes the cap, or `timeout` passes. Every way out kills node's process group and
/// reaps node.
fn run(mut cmd: Command, timeout: Duration, marks: &Marks) -> io::Result<Run> {
    let mut child = cmd.spawn()?;
    marks.spawned(child.id());
    let pid = Pid::from_raw(i32::try_from(child.id()).map_err(io::Error::other)?);
    let mut out = Pipe::new(child.stdout.take(), MAX_STDOUT);
    let mut err = Pipe::new(child.stderr.take(), MAX_STDERR);
    let deadline = Instant::now() + timeout;
    let mut drain_until: Option<Instant> = None;
    let mut timed_out = false;
    // node's exit is noticed by polling, between reads of its output: a short pause that
    // grows, so a quick evaluation is not kept waiting.
    let mut pause = Duration::from_millis(1);
    loop {
        let now = Instant::now();
        if drain_until.is_none() {
            if has_exited(pid) {
                // Whatever the file started in node's group goes with it.
                kill_group(pid);
                drain_until = Some(now + DRAIN);
            } else if now >= deadline || out.overflowed {
                timed_out = !out.overflowed;
                kill_group(pid);
                break;
            }
        }
        let open = out.file.is_some() || err.file.is_some();
        if drain_until.is_some_and(|t| !open || now >= t) {
            break;
        }
        let until = drain_until.unwrap_or(deadline);
        let mut wait = until.saturating_duration_since(now);
        if !open || drain_until.is_none() {
            // Closed pipes do not mean node has exited (they close a moment before; a
            // grandchild can hold them open after), so exit is checked on its own.
            wait = wait.min(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut fds: Vec<PollFd> = Vec::with_capacity(2);
        let mut who: Vec<usize> = Vec::with_capacity(2);
        for (i, pipe) in [&out, &err].into_iter().enumerate() {
            if let Some(file) = &pipe.file {
                fds.push(PollFd::new(file.as_fd(), PollFlags::POLLIN));
                who.push(i);
            }
        }
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                kill_group(pid);
                let _ = child.wait();
                return Err(e.into());
            }
        }
        let ready: Vec<usize> = fds
            .iter()
            .zip(&who)
            .filter(|(fd, _)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, &i)| i)
            .collect();
        drop(fds);
        for i in ready {
            if i == 0 {
                out.read_some();
            } else {
                err.read_some();
            }
        }
    }
    // node has exited or been sent SIGKILL: this returns at once.
    let status = child.wait().ok();
    Ok(Run {
        timed_out,
        status,
        stdout: out.buf,
        stderr: err.buf,
        overflowed: out.overflowed,
    })
}

/// Whether node has exited, without reaping it: while it is unreaped its pid, and so its
/// process group's id, cannot be reused, and the group can be killed safely.
fn has_exited(pid: Pid) -> bool {
    crate::platform::has_exited(pid.as_raw() as u32)
}

fn kill_group(pid: Pid) {
    // The group may already be empty but for node's zombie; nothing to do about an error.
    let _ = nix::sys::signal::killpg(pid, Signal::SIGKILL);
}

/// Turns a run into the exported value or an error naming the file.
fn interpret(path: &Path, real: &Path, run: &Run, timeout: Duration) -> Result<Value> {
    if run.overflowed {
        return Err(fail(
            path,
            None,
            format!(
                "node printed more than {} MiB: not an ecosystem file",
                MAX_STDOUT >> 20
            ),
        ));
    }
    if run.timed_out {
        return Err(fail(
            path,
            None,
            format!(
                "still running after {} s, so node was stopped: does the file wait for something, or loop?",
                timeout.as_secs_f64()
            ),
        ));
    }
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The evaluator's line is the last one; anything before it was written past the
    // redirection (say with fs.writeSync(1, ...)).
    let reply = stdout
        .trim_end()
        .rsplit('\n')
        .next()
        .filter(|l| !l.is_empty())
        .map(serde_json::from_str::<Reply>);
    match reply {
        Some(Ok(Reply {
            error: Some(error),
            stack,
            url,
            ..
        })) => {
            let mut names = vec![real.to_string_lossy().into_owned()];
            names.extend(url);
            let line = stack
                .as_deref()
                .and_then(|s| line_in(s, &names))
                .or_else(|| line_in(&stderr, &names));
            let first = error.lines().map(str::trim).find(|l| !l.is_empty());
            Err(fail(path, line, first.unwrap_or("it threw an empty error")))
        }
        // An empty object is what a CommonJS file that sets no `module.exports` exports.
        Some(Ok(Reply { value: Some(v), .. })) if v.as_object().is_none_or(|m| !m.is_empty()) => {
            Ok(v)
        }
        Some(Ok(Reply { value: _, .. })) => Err(fail(
            path,
            None,
            "the file exports nothing: set `module.exports = { apps: [...] }` (or `export default { apps: [...] }` in an ES module)",
        )),
        Some(Err(e)) if run.status.is_some_and(|s| s.success()) => Err(fail(
            path,
            None,
            format!("cannot read the apps node printed: {e}"),
        )),
        _ => {
            let names = [real.to_string_lossy().into_owned()];
            let line = line_in(&stderr, &names);
            let why = report_line(&stderr);
            let code = run.status.and_then(|s| s.code());
            let signal = run.status.and_then(|s| s.signal());
            let message = match (code, signal, why) {
                (_, _, Some(why)) => why.to_string(),
                (Some(0), _, None) => {
                    "node ended before the apps were printed: does the file call process.exit()?"
                        .to_string()
                }
                (Some(code), _, None) => format!(
                    "node exited with status {code} before the apps were printed: does the file call process.exit()?"
                ),
                (None, Some(signal), None) => format!("node was killed by signal {signal}"),
                (None, None, None) => "node failed".to_string(),
            };
            Err(fail(path, line, message))
        }
    }
}

/// The first line number given after one of `names` (`/path/x.config.js:12` or
/// `file:///path/x.config.mjs:12:5`), as node writes locations in stacks and reports.
fn line_in(text: &str, names: &[String]) -> Option<usize> {
    names
        .iter()
        .filter(|n| !n.is_empty())
        .filter_map(|name| {
            text.match_indices(name.as_str()).find_map(|(at, _)| {
                let rest = text[at + name.len()..].strip_prefix(':')?;
                let digits =
                    rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                rest[..digits].parse::<usize>().ok().map(|n| (at, n))
            })
        })
        .min_by_key(|&(at, _)| at)
        .map(|(_, n)| n)
}

/// The meaningful line of a report node wrote on its own: the first `SomeError: message`
/// line, or else the last line that is not node's footer.
fn report_line(stderr: &str) -> Option<&str> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let is_error = |l: &&str| {
        l.split_once(": ")
            .and_then(|(head, _)| head.split(' ').next())
            .is_some_and(|name| name.ends_with("Error") || name.ends_with("Exception"))
    };
    lines.iter().copied().find(is_error).or_else(|| {
        lines
            .iter()
            .rev()
            .find(|l| {
                !l.starts_with("Node.js v") && !l.starts_with("(Use `node") && !l.starts_with("at ")
            })
            .copied()
    })
}
