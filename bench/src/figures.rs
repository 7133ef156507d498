//! The measurements. Each takes a manager from empty to empty again, so they can run in any
//! order, and each times what a user waits for, from the moment the command is issued.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::clock::mono_ns;
use crate::managers::{describe, wait_until, App, Manager, Tpm};
use crate::procfs::{self, Memory};
use crate::stats::Samples;

/// How many of everything: the full run and the smoke run differ only in these.
#[derive(Debug, Clone)]
pub struct Counts {
    /// Managed processes for the list and memory figures.
    pub populations: Vec<usize>,
    pub list_runs: usize,
    pub start_runs: usize,
    pub restarts: usize,
    /// How long each run of the crashing process lasts.
    pub crash_life: Duration,
    pub log_bytes: u64,
    pub log_runs: usize,
    pub nu_cold_runs: usize,
    pub nu_warm_runs: usize,
    /// Pause after starting a population, before memory is read.
    pub settle: Duration,
    /// How long a manager of the largest population is watched at idle, once its
    /// processes have run past their start-up (`quiet`), for its CPU use.
    pub quiet: Duration,
    pub idle: Duration,
    /// How long the managers of the largest population are watched at rest for their CPU
    /// and wake-ups (the anchors' too): a minute, so that a once-a-minute timer shows.
    pub rest: Duration,
    /// Processes for the scale figures (tpm only): starts, and `stop|restart|delete '*'`.
    pub scale: Vec<usize>,
}

impl Counts {
    pub fn full() -> Counts {
        Counts {
            populations: vec![1, 10, 100],
            list_runs: 20,
            start_runs: 10,
            restarts: 20,
            crash_life: Duration::from_millis(100),
            log_bytes: 1 << 30,
            log_runs: 5,
            nu_cold_runs: 20,
            nu_warm_runs: 100,
            settle: Duration::from_secs(2),
            quiet: Duration::from_secs(12),
            idle: Duration::from_secs(10),
            rest: Duration::from_secs(60),
            scale: vec![100, 1000],
        }
    }

    pub fn smoke() -> Counts {
        Counts {
            populations: vec![1, 3],
            list_runs: 3,
            start_runs: 2,
            restarts: 2,
            crash_life: Duration::from_millis(50),
            log_bytes: 4 << 20,
            log_runs: 1,
            nu_cold_runs: 2,
            nu_warm_runs: 3,
            settle: Duration::from_millis(100),
            quiet: Duration::from_millis(100),
            idle: Duration::from_millis(500),
            rest: Duration::from_millis(500),
            scale: vec![3, 10],
        }
    }
}

/// Where the figures' files go, and the program the managers run.
pub struct Env {
    pub scratch: PathBuf,
    /// This binary: the managed program (`tpm-bench child ...`).
    pub me: PathBuf,
    pub sleep: PathBuf,
}

impl Env {
    fn child(&self, role: &[&str]) -> Vec<String> {
        std::iter::once(self.me.to_string_lossy().into_owned())
            .chain(std::iter::once("child".to_string()))
            .chain(role.iter().map(|s| s.to_string()))
            .collect()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.scratch.join(name)
    }

    fn err_file(&self) -> PathBuf {
        self.scratch.join("last-command.err")
    }
}

/// Runs `cmd` with its output discarded and returns when it has exited; fails if it failed.
fn run_quiet(cmd: &mut Command, env: &Env) -> Result<(), String> {
    let err = File::create(env.err_file()).map_err(|e| e.to_string())?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        let why = fs::read_to_string(env.err_file()).unwrap_or_default();
        Err(format!(
            "{} failed ({status}): {}",
            describe(cmd),
            why.trim()
        ))
    }
}

/// The wall time of a command, output discarded.
fn timed(cmd: &mut Command, env: &Env) -> Result<Duration, String> {
    let t = Instant::now();
    run_quiet(cmd, env)?;
    Ok(t.elapsed())
}

/// A stamp line written by the child: `start NS PID` or `exit NS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    Start { ns: u64, pid: u32 },
    Exit { ns: u64 },
}

pub fn read_stamps(path: &Path) -> Vec<Stamp> {
    let text = fs::read_to_string(path).unwrap_or_default();
    parse_stamps(&text)
}

fn parse_stamps(text: &str) -> Vec<Stamp> {
    // Only complete lines: the child may be writing the last one.
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                ["start", ns, pid] => Some(Stamp::Start {
                    ns: ns.parse().ok()?,
                    pid: pid.parse().ok()?,
                }),
                ["exit", ns] => Some(Stamp::Exit {
                    ns: ns.parse().ok()?,
                }),
                _ => None,
            }
        })
        .collect()
}

/// The gaps between each exit and the start that follows it.
pub fn restart_gaps(stamps: &[Stamp]) -> Vec<Duration> {
    stamps
        .windows(2)
        .filter_map(|w| match (w[0], w[1]) {
            (Stamp::Exit { ns: exit }, Stamp::Start { ns: start, .. }) if start >= exit => {
                Some(Duration::from_nanos(start - exit))
            }
            _ => None,
        })
        .collect()
}

fn wait_for_start(path: &Path, limit: Duration) -> Result<(u64, u32), String> {
    let mut found = None;
    wait_until(
        &format!("a start stamp in {}", path.display()),
        limit,
        || {
            found = read_stamps(path).into_iter().find_map(|s| match s {
                Stamp::Start { ns, pid } => Some((ns, pid)),
                Stamp::Exit { .. } => None,
            });
            Ok(found.is_some())
        },
    )?;
    found.ok_or_else(|| "no start stamp".into())
}

/// Whether the last 4 KiB of `path` hold `needle`. A missing file holds nothing (a log
/// being rotated is briefly missing).
fn tail_has(path: &Path, needle: &[u8]) -> bool {
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(4096)));
    let mut buf = Vec::with_capacity(4096);
    let _ = f.read_to_end(&mut buf);
    buf.windows(needle.len()).any(|w| w == needle)
}

// ---- list and memory ----------------------------------------------------------------------

/// A manager running `n` sleeps: the memory of its own processes, and its list times.
pub struct Population {
    pub memory: Memory,
    /// How many processes of its own the manager had (supervisors, daemon).
    pub processes: usize,
    pub list: Samples,
    /// The CPU its own processes used while nothing happened, in percent of one core
    /// (measured when asked: it takes `quiet` plus `idle`).
    pub idle_cpu: Option<f64>,
    /// Its processes' context switches per second over the same time (see [`at_rest`]).
    pub wakeups: Option<f64>,
}

/// A manager's processes watched at rest for `counts.rest`.
pub struct Rest {
    /// CPU used, in percent of one core.
    pub cpu_percent: f64,
    /// Context switches (voluntary and not, every thread) per second, all processes
    /// together: each is a wake-up of one of them.
    pub wakeups_per_second: f64,
}

/// Watches `pids` (a manager's own processes) for `counts.rest` while nothing happens.
pub fn at_rest(pids: &[u32], counts: &Counts) -> Rest {
    let used = || -> f64 { pids.iter().filter_map(|&p| procfs::cpu_seconds(p)).sum() };
    let switches = || -> u64 {
        pids.iter()
            .filter_map(|&p| procfs::context_switches(p))
            .sum()
    };
    let (cpu, woken, since) = (used(), switches(), Instant::now());
    std::thread::sleep(counts.rest);
    let (cpu_after, woken_after) = (used(), switches());
    let secs = since.elapsed().as_secs_f64();
    Rest {
        cpu_percent: (cpu_after - cpu) / secs * 100.0,
        wakeups_per_second: woken_after.saturating_sub(woken) as f64 / secs,
    }
}

/// Starts `n` sleeps, reads memory, times the listing, then runs `also` (the Nushell
/// figures use the same population) and stops everything.
pub fn population(
    m: &mut dyn Manager,
    n: usize,
    counts: &Counts,
    env: &Env,
    with_idle: bool,
    also: impl FnOnce(&dyn Manager) -> Result<(), String>,
) -> Result<Population, String> {
    m.up()?;
    let apps: Vec<App> = (0..n)
        .map(|i| App {
            name: format!("sleep{i}"),
            port: 30000 + i as u16,
            argv: vec![env.sleep.to_string_lossy().into_owned(), "100000".into()],
            restart: true,
        })
        .collect();
    m.add(&apps)?;
    let added = Instant::now();
    std::thread::sleep(counts.settle);
    let pids = m.own_pids()?;
    let mut memory = Memory::default();
    for &pid in &pids {
        memory = memory + procfs::memory(pid)?;
    }
    let mut list = Samples::default();
    run_quiet(&mut m.list(), env)?; // warm-up: the page cache, the daemon's first answer
    for _ in 0..counts.list_runs {
        list.push_duration(timed(&mut m.list(), env)?);
    }
    let online = m.online()?.len();
    if online != n {
        return Err(format!("{}: {online} of {n} processes online", m.label()));
    }
    let rest = if with_idle {
        std::thread::sleep(counts.quiet.saturating_sub(added.elapsed()));
        Some(at_rest(&pids, counts))
    } else {
        None
    };
    also(m)?;
    m.down()?;
    Ok(Population {
        memory,
        processes: pids.len(),
        list,
        idle_cpu: rest.as_ref().map(|r| r.cpu_percent),
        wakeups: rest.map(|r| r.wakeups_per_second),
    })
}

// ---- start and stop -----------------------------------------------------------------------

/// Start: from the command issued until it has returned and the process runs (its own
/// stamp). Stop: until the command has returned and the process is gone.
pub fn start_stop(
    m: &mut dyn Manager,
    counts: &Counts,
    env: &Env,
) -> Result<(Samples, Samples), String> {
    m.up()?;
    let stamp = env.file("start.stamp");
    let app = App {
        name: "bench".into(),
        port: 39000,
        argv: env.child(&["stamp", &stamp.to_string_lossy()]),
        restart: true,
    };
    let (mut starts, mut stops) = (Samples::default(), Samples::default());
    // One warm-up round, not counted.
    for round in 0..=counts.start_runs {
        let _ = fs::remove_file(&stamp);
        m.prepare(&app)?;
        let t0 = mono_ns();
        run_quiet(&mut m.start(&app), env)?;
        let returned = mono_ns();
        let (ran, pid) = wait_for_start(&stamp, Duration::from_secs(30))?;
        let started = Duration::from_nanos(returned.max(ran) - t0);

        let t0 = mono_ns();
        run_quiet(&mut m.stop(&app), env)?;
        let returned = mono_ns();
        let deadline = Instant::now() + Duration::from_secs(30);
        let gone = loop {
            if !procfs::is_running(pid) {
                break mono_ns();
            }
            if Instant::now() > deadline {
                return Err(format!("{}: pid {pid} still runs after stop", m.label()));
            }
            std::thread::sleep(Duration::from_micros(100));
        };
        let stopped = Duration::from_nanos(returned.max(gone) - t0);
        m.remove(&app)?;
        if round > 0 {
            starts.push_duration(started);
            stops.push_duration(stopped);
        }
    }
    m.down()?;
    Ok((starts, stops))
}

// ---- scale (tpm) ----------------------------------------------------------------------------

/// tpm with `n` processes: the time per start when they are started one by one, the
/// listing, and `stop '*'`, `restart '*'` (of running processes) and `delete '*'`, each from
/// the command issued until it returned.
pub struct Scale {
    pub start_each: Samples,
    pub list: Samples,
    /// `tpm metrics`, and `GET /metrics` of a `tpm serve`, with the processes running.
    pub metrics: Samples,
    pub scrape: Samples,
    pub stop: Samples,
    pub restart: Samples,
    pub delete: Samples,
    /// The supervisors at rest, every process running (see [`at_rest`]).
    pub rest: Rest,
}

/// Every command must exit 0 and leave every process in the state asked for, with nothing
/// of the tree it replaced still running: otherwise the figure is an error, not a number.
pub fn scale(tpm: &mut Tpm, n: usize, counts: &Counts, env: &Env) -> Result<Scale, String> {
    tpm.up()?;
    let apps: Vec<App> = (0..n)
        .map(|i| App {
            name: format!("scale{i}"),
            port: 31000 + i as u16,
            argv: vec![env.sleep.to_string_lossy().into_owned(), "100000".into()],
            restart: true,
        })
        .collect();
    let t0 = Instant::now();
    for app in &apps {
        run_quiet(&mut tpm.start(app), env)?;
    }
    let start_each = t0.elapsed() / n as u32;
    let running = all_in(tpm, n, "online")?;
    let mut list = Samples::default();
    for _ in 0..counts.list_runs {
        list.push_duration(timed(&mut tpm.list(), env)?);
    }
    let (metrics, scrape) = scrapes(tpm, n, counts.list_runs, env)?;
    std::thread::sleep(counts.quiet);
    let rest = at_rest(&tpm.own_pids()?, counts);
    let star = |verb: &str| -> Result<Duration, String> { timed(tpm.tpm().args([verb, "*"]), env) };
    let stop = star("stop")?;
    all_in(tpm, n, "stopped")?;
    gone(&running, "stop")?;
    run_quiet(tpm.tpm().args(["restart", "*"]), env)?;
    let running = all_in(tpm, n, "online")?;
    let restart = star("restart")?;
    gone(&running, "restart")?;
    let running = all_in(tpm, n, "online")?;
    let delete = star("delete")?;
    gone(&running, "delete")?;
    if !tpm.online()?.is_empty() {
        return Err(format!("tpm: processes listed after delete '*' at {n}"));
    }
    let one = |d: Duration| {
        let mut s = Samples::default();
        s.push_duration(d);
        s
    };
    Ok(Scale {
        start_each: one(start_each),
        list,
        metrics,
        scrape,
        stop: one(stop),
        restart: one(restart),
        delete: one(delete),
        rest,
    })
}

/// `tpm metrics` (output discarded), then `GET /metrics` of a `tpm serve` on a free loopback
/// port, `runs` times each after one warm-up; each answer must hold the `n` processes.
fn scrapes(tpm: &Tpm, n: usize, runs: usize, env: &Env) -> Result<(Samples, Samples), String> {
    use std::io::{BufRead, BufReader, Write};
    let mut cli = Samples::default();
    run_quiet(tpm.tpm().arg("metrics"), env)?;
    for _ in 0..runs {
        cli.push_duration(timed(tpm.tpm().arg("metrics"), env)?);
    }
    let mut server = tpm
        .tpm()
        .args(["serve", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run tpm serve: {e}"))?;
    let scraped = (|| -> Result<Samples, String> {
        let mut line = String::new();
        let stdout = server.stdout.take().ok_or("tpm serve: no stdout")?;
        // Kept open while the server runs: a closed pipe would end it at its next line.
        let mut stdout = BufReader::new(stdout);
        stdout
            .read_line(&mut line)
            .map_err(|e| format!("tpm serve: {e}"))?;
        let addr: std::net::SocketAddr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("tpm serve said no address: {line:?}"))?;
        let get = || -> Result<Duration, String> {
            let t = Instant::now();
            let mut stream = std::net::TcpStream::connect(addr)
                .map_err(|e| format!("cannot reach tpm serve: {e}"))?;
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .map_err(|e| format!("tpm serve: {e}"))?;
            let mut body = String::new();
            stream
                .read_to_string(&mut body)
                .map_err(|e| format!("tpm serve: {e}"))?;
            let took = t.elapsed();
            let up = body.matches("\ntpm_process_up{").count();
            if !body.starts_with("HTTP/1.1 200") || up != n {
                return Err(format!(
                    "GET /metrics: {} with {up} processes, expected {n}",
                    body.lines().next().unwrap_or("no answer")
                ));
            }
            Ok(took)
        };
        get()?;
        let mut http = Samples::default();
        for _ in 0..runs {
            http.push_duration(get()?);
        }
        Ok(http)
    })();
    let _ = server.kill();
    let _ = server.wait();
    Ok((cli, scraped?))
}

/// Checks every one of `n` processes is listed with `status`; returns the pids of each
/// process and supervisor (the trees a later command must end).
fn all_in(tpm: &Tpm, n: usize, status: &str) -> Result<Vec<u32>, String> {
    let out = crate::managers::exec(tpm.tpm().args(["list", "--json"]))?;
    let list: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("tpm list --json: {e}"))?;
    let wrong = list.iter().filter(|p| p["status"] != status).count();
    if list.len() != n || wrong > 0 {
        return Err(format!(
            "tpm: {} processes listed, {wrong} of them not {status} (expected {n})",
            list.len()
        ));
    }
    Ok(list
        .iter()
        .flat_map(|p| [&p["pid"], &p["supervisor"]])
        .filter_map(|v| v.as_u64().map(|v| v as u32))
        .collect())
}

/// Fails if any of `pids` still runs after `what`.
fn gone(pids: &[u32], what: &str) -> Result<(), String> {
    let left: Vec<&u32> = pids.iter().filter(|&&p| procfs::is_running(p)).collect();
    match left.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "tpm: {} processes still run after {what} '*': {left:?}",
            left.len()
        )),
    }
}

// ---- what the restart policies cost --------------------------------------------------------

/// One supervisor with a policy: its memory (RSS, KiB) and its CPU at idle (percent of one
/// core), measured as the population's are.
pub struct PolicyCost {
    pub key: &'static str,
    pub title: &'static str,
    pub rss_kib: f64,
    pub idle_cpu: f64,
}

/// How many folders and files the watch figure watches (100 x 100 = 10 000 files).
const WATCH_DIRS: usize = 100;
const WATCH_FILES: usize = 100;

/// A sleep under each policy in turn, alone: no readiness check, the default check by the
/// PORT (a sleep never listens, so it is looked for every second for ever: the worst case),
/// an HTTP check that is never answered (tried every 200 ms for ever), and `--watch` on a
/// tree of 10 000 files in 100 folders.
pub fn policy_costs(tpm: &Tpm, counts: &Counts, env: &Env) -> Result<Vec<PolicyCost>, String> {
    let tree = env.file("watched");
    for d in 0..WATCH_DIRS {
        let dir = tree.join(format!("d{d}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for f in 0..WATCH_FILES {
            std::fs::write(dir.join(format!("f{f}.js")), b"x")
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
    }
    let watch = format!("--watch={}", tree.display());
    let variants: [(&str, &str, Vec<&str>); 4] = [
        (
            "policy-none",
            "a supervisor, no readiness check",
            vec!["--no-ready-check"],
        ),
        (
            "policy-port",
            "a supervisor, readiness by the PORT (never listening)",
            vec![],
        ),
        (
            "policy-http",
            "a supervisor, readiness by HTTP (never answered)",
            vec!["--ready-http", "/health"],
        ),
        (
            "policy-watch",
            "a supervisor watching 10 000 files in 100 folders",
            vec![watch.as_str()],
        ),
    ];
    let mut out = Vec::new();
    for (i, (key, title, flags)) in variants.into_iter().enumerate() {
        let name = format!("policy{i}");
        let port = 32000 + i as u16;
        run_quiet(
            tpm.tpm()
                .args([
                    "start",
                    &format!("{} 100000", env.sleep.display()),
                    "--name",
                    &name,
                ])
                .args(["--port", &port.to_string()])
                .args(flags),
            env,
        )?;
        let full = format!("{name}-{port}");
        std::thread::sleep(counts.quiet);
        let out_json = crate::managers::exec(tpm.tpm().args(["list", "--json"]))?;
        let list: Vec<serde_json::Value> = serde_json::from_slice(&out_json.stdout)
            .map_err(|e| format!("tpm list --json: {e}"))?;
        let spid = list
            .iter()
            .find(|p| p["name"] == full.as_str())
            .and_then(|p| p["supervisor"].as_u64())
            .ok_or_else(|| format!("tpm: no supervisor for {full}"))? as u32;
        let rss_kib = procfs::memory(spid)?.rss_kib as f64;
        let before = procfs::cpu_seconds(spid).unwrap_or(0.0);
        let since = Instant::now();
        std::thread::sleep(counts.idle);
        let used = procfs::cpu_seconds(spid).unwrap_or(0.0) - before;
        let idle_cpu = used / since.elapsed().as_secs_f64() * 100.0;
        run_quiet(tpm.tpm().args(["delete", &full]), env)?;
        out.push(PolicyCost {
            key,
            title,
            rss_kib,
            idle_cpu,
        });
    }
    let _ = std::fs::remove_dir_all(&tree);
    Ok(out)
}

// ---- what a liveness check costs ---------------------------------------------------------

/// One supervisor watched at rest (see [`HealthCost`]).
pub struct HealthCost {
    pub key: &'static str,
    pub title: &'static str,
    pub rest: Rest,
}

/// Two supervisors side by side, each of a small HTTP server on its PORT: one with
/// `--health-http` at the default interval (30 s), one without; both watched together
/// at rest for `counts.rest`, once past their start-up (`quiet`).
pub fn health_costs(tpm: &Tpm, counts: &Counts, env: &Env) -> Result<Vec<HealthCost>, String> {
    let variants: [(&str, &str, &[&str]); 2] = [
        (
            "health-none",
            "a supervisor of an HTTP server, no liveness check",
            &[],
        ),
        (
            "health-http",
            "the same, `--health-http` at the default interval (30 s)",
            &["--health-http", "/healthz"],
        ),
    ];
    let mut started = Vec::new();
    for (i, (_, _, flags)) in variants.iter().enumerate() {
        let name = format!("health{i}");
        let port = 32100 + i as u16;
        let argv = env.child(&["serve", &port.to_string()]);
        let command = argv
            .iter()
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        run_quiet(
            tpm.tpm()
                .args(["start", &command, "--name", &name])
                .args(["--port", &port.to_string(), "--wait"])
                .args(*flags),
            env,
        )?;
        started.push(format!("{name}-{port}"));
    }
    let added = Instant::now();
    let out_json = crate::managers::exec(tpm.tpm().args(["list", "--json"]))?;
    let list: Vec<serde_json::Value> =
        serde_json::from_slice(&out_json.stdout).map_err(|e| format!("tpm list --json: {e}"))?;
    let mut spids = Vec::new();
    for full in &started {
        let spid = list
            .iter()
            .find(|p| p["name"] == full.as_str())
            .and_then(|p| p["supervisor"].as_u64())
            .ok_or_else(|| format!("tpm: no supervisor for {full}"))?;
        spids.push(spid as u32);
    }
    std::thread::sleep(counts.quiet.saturating_sub(added.elapsed()));
    // Both in the same window, so a busy moment of the machine falls on both alike.
    let look = |p: u32| {
        (
            procfs::cpu_seconds(p).unwrap_or(0.0),
            procfs::context_switches(p).unwrap_or(0),
        )
    };
    let before: Vec<_> = spids.iter().map(|&p| look(p)).collect();
    let since = Instant::now();
    std::thread::sleep(counts.rest);
    let after: Vec<_> = spids.iter().map(|&p| look(p)).collect();
    let secs = since.elapsed().as_secs_f64();
    // The check must have answered for its cost to be the cost of a working check.
    let checked = crate::managers::exec(tpm.tpm().args(["list", "--json"]))?;
    let list: Vec<serde_json::Value> =
        serde_json::from_slice(&checked.stdout).map_err(|e| format!("tpm list --json: {e}"))?;
    let unhealthy = list
        .iter()
        .any(|p| p["name"] == started[1].as_str() && p["health"] == "unhealthy");
    for full in &started {
        run_quiet(tpm.tpm().args(["delete", full]), env)?;
    }
    if unhealthy {
        return Err(format!("tpm: {}: its liveness check failed", started[1]));
    }
    Ok(variants
        .iter()
        .enumerate()
        .map(|(i, (key, title, _))| HealthCost {
            key,
            title,
            rest: Rest {
                cpu_percent: (after[i].0 - before[i].0) / secs * 100.0,
                wakeups_per_second: after[i].1.saturating_sub(before[i].1) as f64 / secs,
            },
        })
        .collect())
}

// ---- crash to restart ---------------------------------------------------------------------

/// A process that exits with code 1 after a short life, restarted with no delay: the gap
/// from each exit (stamped by the process just before it exits) to the next start.
pub fn crash_restart(m: &mut dyn Manager, counts: &Counts, env: &Env) -> Result<Samples, String> {
    m.up()?;
    let stamp = env.file("crash.stamp");
    let _ = fs::remove_file(&stamp);
    let life = counts.crash_life.as_millis().to_string();
    let app = App {
        name: "crash".into(),
        port: 39001,
        argv: env.child(&["crash", &stamp.to_string_lossy(), &life]),
        restart: true,
    };
    m.launch(std::slice::from_ref(&app))?;
    let want = counts.restarts;
    let limit =
        (counts.crash_life + Duration::from_secs(2)) * want as u32 + Duration::from_secs(30);
    wait_until(&format!("{} restarts", want), limit, || {
        Ok(restart_gaps(&read_stamps(&stamp)).len() >= want)
    })?;
    m.remove(&app)?;
    m.down()?;
    let mut gaps = Samples::default();
    for g in restart_gaps(&read_stamps(&stamp)).into_iter().take(want) {
        gaps.push_duration(g);
    }
    Ok(gaps)
}

// ---- log throughput -----------------------------------------------------------------------

/// One run of writing `bytes` of lines: the time from the child's start until its last line
/// is in the log file, and the CPU time the manager spent meanwhile.
pub struct LogRun {
    pub wall: Duration,
    pub manager_cpu: f64,
}

/// The child writes `bytes` of lines to stdout under the manager, which logs them.
pub fn log_throughput(
    m: &mut dyn Manager,
    counts: &Counts,
    env: &Env,
) -> Result<Vec<LogRun>, String> {
    m.up()?;
    let mut runs = Vec::new();
    for run in 0..counts.log_runs {
        settle_disk();
        let stamp = env.file(&format!("log-{run}.stamp"));
        let _ = fs::remove_file(&stamp);
        let sentinel = format!("END-OF-BENCH-{}-{run}", std::process::id());
        let app = App {
            name: format!("spew{run}"),
            port: 39100 + run as u16,
            argv: env.child(&[
                "spew",
                &stamp.to_string_lossy(),
                &counts.log_bytes.to_string(),
                &sentinel,
            ]),
            restart: false,
        };
        // A daemon's CPU time so far; tpm's supervisors are new with each process.
        let before: f64 = m
            .own_pids()
            .unwrap_or_default()
            .iter()
            .filter_map(|&p| procfs::cpu_seconds(p))
            .sum();
        m.launch(std::slice::from_ref(&app))?;
        let (t0, _) = wait_for_start(&stamp, Duration::from_secs(30))?;
        let log = m.out_log(&app);
        let limit = Duration::from_secs(60) + Duration::from_secs(counts.log_bytes >> 20);
        wait_until("the last line in the log", limit, || {
            Ok(tail_has(&log, sentinel.as_bytes()))
        })?;
        let wall = Duration::from_nanos(mono_ns() - t0);
        let after: f64 = m
            .own_pids()?
            .iter()
            .filter_map(|&p| procfs::cpu_seconds(p))
            .sum();
        m.remove(&app)?;
        remove_logs(&log);
        runs.push(LogRun {
            wall,
            manager_cpu: (after - before).max(0.0),
        });
    }
    m.down()?;
    Ok(runs)
}

/// The log and its rotated files (`x.out`, `x.out.1`, `x.out.2`, ...).
fn remove_logs(log: &Path) {
    let (Some(dir), Some(name)) = (log.parent(), log.file_name()) else {
        return;
    };
    let name = name.to_string_lossy().into_owned();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The same child, its stdout straight into a file: the baseline.
/// How the no-manager baselines get the child's lines into a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The child's stdout is the file: the fastest the lines can land.
    Direct,
    /// The child writes into a pipe that `cat` copies to the file: what any manager that
    /// reads its child's output must at least do, with no work on the lines.
    Cat,
}

/// Writes every dirty page of the machine out, so that each log run starts clean: the
/// kernel throttles whoever writes while an earlier run's gigabyte is being written back,
/// which made single runs several times slower.
fn settle_disk() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// The no-manager baselines for the log figure.
pub fn log_baseline(how: Baseline, counts: &Counts, env: &Env) -> Result<Vec<LogRun>, String> {
    let tag = match how {
        Baseline::Direct => "direct",
        Baseline::Cat => "cat",
    };
    let mut runs = Vec::new();
    for run in 0..counts.log_runs {
        settle_disk();
        let stamp = env.file(&format!("{tag}-{run}.stamp"));
        let _ = fs::remove_file(&stamp);
        let log = env.file(&format!("{tag}-{run}.out"));
        let sentinel = format!("END-OF-BENCH-{}-{tag}-{run}", std::process::id());
        let out = File::create(&log).map_err(|e| e.to_string())?;
        let mut cat = match how {
            Baseline::Direct => None,
            Baseline::Cat => Some(
                Command::new("cat")
                    .stdin(Stdio::piped())
                    .stdout(out.try_clone().map_err(|e| e.to_string())?)
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("cannot run cat: {e}"))?,
            ),
        };
        let stdout = match cat.as_mut().and_then(|c| c.stdin.take()) {
            Some(pipe) => Stdio::from(pipe),
            None => Stdio::from(out),
        };
        let child = Command::new(&env.me)
            .args([
                "child",
                "spew",
                &stamp.to_string_lossy(),
                &counts.log_bytes.to_string(),
                &sentinel,
            ])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn();
        let waited = child.map_err(|e| e.to_string()).and_then(|mut child| {
            let waited = (|| {
                let (t0, _) = wait_for_start(&stamp, Duration::from_secs(30))?;
                let limit = Duration::from_secs(60) + Duration::from_secs(counts.log_bytes >> 20);
                wait_until("the last line in the file", limit, || {
                    Ok(tail_has(&log, sentinel.as_bytes()))
                })?;
                Ok::<_, String>(Duration::from_nanos(mono_ns() - t0))
            })();
            let _ = child.kill();
            let _ = child.wait();
            waited
        });
        // The child gone, cat reads the end of its pipe and exits.
        if let Some(mut cat) = cat {
            let _ = cat.wait();
        }
        let _ = fs::remove_file(&log);
        runs.push(LogRun {
            wall: waited?,
            manager_cpu: 0.0,
        });
    }
    Ok(runs)
}

// ---- Nushell ------------------------------------------------------------------------------

pub struct Nushell {
    pub nu: PathBuf,
    pub plugin: PathBuf,
}

pub struct NuFigures {
    /// `nu -c 'tpm list'`: a new nu, so a new plugin process, each time.
    pub cold: Samples,
    /// `tpm list | table` inside one nu session, the plugin already running.
    pub warm: Samples,
    /// `nu -c '[] | ignore'`: what starting nu alone costs.
    pub nu_alone: Samples,
}

impl Nushell {
    fn nu(&self, env: &Env, tetra_dir: &Path) -> Command {
        let mut c = Command::new(&self.nu);
        // A private config folder: nothing of the user's is read or written.
        c.env("TETRA_DIR", tetra_dir)
            .env("XDG_CONFIG_HOME", env.file("nu-config"))
            .env("XDG_DATA_HOME", env.file("nu-data"))
            .arg("-n");
        c
    }

    /// Run while tpm manages the largest population.
    pub fn measure(
        &self,
        counts: &Counts,
        env: &Env,
        tetra_dir: &Path,
    ) -> Result<NuFigures, String> {
        let plugin = self.plugin.to_string_lossy().into_owned();
        let cold_cmd = || {
            let mut c = self.nu(env, tetra_dir);
            c.args(["--plugins", &plugin, "-c", "tpm list"]);
            c
        };
        let alone_cmd = || {
            let mut c = self.nu(env, tetra_dir);
            c.args(["-c", "[] | ignore"]);
            c
        };
        let (mut cold, mut nu_alone) = (Samples::default(), Samples::default());
        run_quiet(&mut cold_cmd(), env)?;
        for _ in 0..counts.nu_cold_runs {
            cold.push_duration(timed(&mut cold_cmd(), env)?);
            nu_alone.push_duration(timed(&mut alone_cmd(), env)?);
        }
        let script = format!(
            "tpm list | ignore; 1..{} | each {{ timeit {{ tpm list | table | ignore }} | into int }} | to json -r",
            counts.nu_warm_runs
        );
        let out = self
            .nu(env, tetra_dir)
            .args(["--plugins", &plugin, "-c", &script])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run nu: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "nu failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let ns: Vec<u64> = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "nu's timings: {e}: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })?;
        let mut warm = Samples::default();
        for v in ns {
            warm.push_duration(Duration::from_nanos(v));
        }
        Ok(NuFigures {
            cold,
            warm,
            nu_alone,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_parse_and_gaps_pair_each_exit_with_the_next_start() {
        let text = "start 100 7\nexit 200\nstart 260 8\nexit 300\nstart 301 9\nexit 4";
        let stamps = parse_stamps(text);
        assert_eq!(stamps.len(), 5, "the unfinished last line is left out");
        assert_eq!(stamps[0], Stamp::Start { ns: 100, pid: 7 });
        assert_eq!(
            restart_gaps(&stamps),
            [Duration::from_nanos(60), Duration::from_nanos(1)]
        );
    }

    #[test]
    fn the_tail_of_a_file_is_searched() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("log");
        assert!(!tail_has(&f, b"END"), "missing file");
        fs::write(&f, format!("{}END\n", "x".repeat(100_000))).unwrap();
        assert!(tail_has(&f, b"END"));
        fs::write(&f, format!("END\n{}", "x".repeat(100_000))).unwrap();
        assert!(!tail_has(&f, b"END"), "only the tail is read");
    }
}
