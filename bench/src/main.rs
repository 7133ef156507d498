//! `tpm-bench`: tpm, pm2 and supervisord measured side by side on this machine.
//!
//! `bench/run` installs the other managers, builds tpm, and calls `tpm-bench run ...`;
//! the managers run `tpm-bench child ...` as the managed program (see `child`).

mod anchors;
mod child;
mod clock;
mod figures;
mod managers;
mod procfs;
mod report;
mod stats;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use figures::{Counts, Env, Nushell};
use managers::{Manager, Pm2, Supervisord, Tpm};
use report::{ratio, Report, Row, Target, Unit};
use stats::Samples;

const USAGE: &str = "usage: tpm-bench run --tpm PATH --scratch DIR --out FILE [--smoke]
         [--pm2 PATH] [--supervisord PATH --supervisorctl PATH] [--nu PATH --plugin PATH]
         [--readme FILE] [--build TEXT] [--log-mib N] [--only SECTION,...]
       tpm-bench child stamp|crash|spew ...   (the program the managers run)
sections: memory (list, memory, idle CPU), start, scale, policy, health, crash, logs";

/// The parts of a run `--only` may pick, in the order they run.
const SECTIONS: [&str; 7] = [
    "memory", "start", "scale", "policy", "health", "crash", "logs",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("child") => child::main(&args[1..]),
        Some("run") => match Options::parse(&args[1..]).and_then(|o| run(&o)) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("tpm-bench: {e}");
                1
            }
        },
        _ => {
            eprintln!("{USAGE}");
            64
        }
    };
    std::process::exit(code);
}

#[derive(Debug, Default)]
struct Options {
    smoke: bool,
    tpm: PathBuf,
    pm2: Option<PathBuf>,
    supervisord: Option<PathBuf>,
    supervisorctl: Option<PathBuf>,
    nu: Option<PathBuf>,
    plugin: Option<PathBuf>,
    scratch: PathBuf,
    out: PathBuf,
    readme: Option<PathBuf>,
    build: Option<String>,
    log_mib: Option<u64>,
    /// `--only`: the sections to run (all when empty), so one figure can be taken alone.
    only: Vec<String>,
}

impl Options {
    fn runs(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options::default();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--smoke" {
                o.smoke = true;
                continue;
            }
            let value = it
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            let path = PathBuf::from(value);
            match flag.as_str() {
                "--tpm" => o.tpm = path,
                "--pm2" => o.pm2 = Some(path),
                "--supervisord" => o.supervisord = Some(path),
                "--supervisorctl" => o.supervisorctl = Some(path),
                "--nu" => o.nu = Some(path),
                "--plugin" => o.plugin = Some(path),
                "--scratch" => o.scratch = path,
                "--out" => o.out = path,
                "--readme" => o.readme = Some(path),
                "--build" => o.build = Some(value.clone()),
                "--only" => {
                    for part in value.split(',').filter(|p| !p.is_empty()) {
                        if !SECTIONS.contains(&part) {
                            return Err(format!(
                                "--only {part}: no such section (one of {})",
                                SECTIONS.join(", ")
                            ));
                        }
                        o.only.push(part.to_string());
                    }
                }
                "--log-mib" => {
                    o.log_mib = Some(
                        value
                            .parse()
                            .map_err(|_| format!("--log-mib {value}: not a number"))?,
                    )
                }
                _ => return Err(format!("unknown option {flag}\n{USAGE}")),
            }
        }
        if o.tpm.as_os_str().is_empty()
            || o.scratch.as_os_str().is_empty()
            || o.out.as_os_str().is_empty()
        {
            return Err(format!("--tpm, --scratch and --out are required\n{USAGE}"));
        }
        if o.supervisord.is_some() != o.supervisorctl.is_some()
            || o.nu.is_some() != o.plugin.is_some()
        {
            return Err(format!(
                "--supervisord needs --supervisorctl, --nu needs --plugin\n{USAGE}"
            ));
        }
        Ok(o)
    }
}

fn say(what: &str) {
    eprintln!("tpm-bench: {what}");
}

/// Runs every figure; whatever happens, every manager is brought down before returning.
fn run(o: &Options) -> Result<(), String> {
    let began = Instant::now();
    let mut counts = if o.smoke {
        Counts::smoke()
    } else {
        Counts::full()
    };
    if let Some(mib) = o.log_mib {
        counts.log_bytes = mib << 20;
    }
    std::fs::create_dir_all(&o.scratch).map_err(|e| format!("{}: {e}", o.scratch.display()))?;
    let env = Env {
        scratch: o.scratch.clone(),
        me: std::env::current_exe().map_err(|e| e.to_string())?,
        sleep: which("sleep").ok_or("no `sleep` on PATH")?,
    };
    let tetra_dir = o.scratch.join("tetra");
    let tpm = Tpm::new(o.tpm.clone(), tetra_dir.clone());
    let mut managers: Vec<Box<dyn Manager>> = vec![Box::new(tpm.variant("tpm", &[]))];
    if let Some(pm2) = &o.pm2 {
        managers.push(Box::new(Pm2::new(pm2.clone(), o.scratch.join("pm2"))));
    }
    if let (Some(d), Some(c)) = (&o.supervisord, &o.supervisorctl) {
        managers.push(Box::new(Supervisord::new(
            d.clone(),
            c.clone(),
            o.scratch.join("supervisord"),
        )));
    }
    let nushell = match (&o.nu, &o.plugin) {
        (Some(nu), Some(plugin)) => Some(Nushell {
            nu: nu.clone(),
            plugin: plugin.clone(),
        }),
        _ => None,
    };
    let load_before = loadavg();
    let mut rows = Vec::new();
    // The anchors (s6, runit) where installed; a smoke run only with --others.
    let anchors: Vec<anchors::Anchor> = if o.smoke && o.pm2.is_none() && o.supervisord.is_none() {
        Vec::new()
    } else {
        [anchors::Kind::S6, anchors::Kind::Runit]
            .into_iter()
            .filter_map(|k| {
                let found = anchors::Anchor::find(k);
                if found.is_none() {
                    say(&format!(
                        "{0} is not installed (Debian: apt-get install {0}): left out",
                        k.label()
                    ));
                }
                found
            })
            .collect()
    };
    let result = measure(
        o,
        &mut managers,
        &anchors,
        &tpm,
        nushell.as_ref(),
        &counts,
        &env,
        &tetra_dir,
        &mut rows,
    );
    for m in managers.iter_mut() {
        if let Err(e) = m.down() {
            say(&format!("{}: {e}", m.label()));
        }
    }
    result?;

    let mut labels: Vec<&'static str> = managers.iter().map(|m| m.label()).collect();
    if o.runs("memory") {
        labels.extend(anchors.iter().map(|a| a.label()));
    }
    let mut facts = machine();
    facts.push((
        "scratch folder (stores, logs, the daemons' homes)".into(),
        format!(
            "{} ({})",
            o.scratch.display(),
            filesystem(&o.scratch).unwrap_or_else(|| "?".into())
        ),
    ));
    facts.push((
        "load average (1, 5, 15 min)".into(),
        format!("{load_before} before, {} after", loadavg()),
    ));
    let mut versions = versions(&managers, o);
    for a in &anchors {
        versions += &format!(", {} {}", a.label(), a.version());
    }
    facts.push(("versions".into(), versions));
    let mode = if o.smoke {
        "smoke run (tiny counts: checks the suite, not the figures)"
    } else {
        "full run"
    };
    facts.push((
        "run".into(),
        format!(
            "{mode}, {:.0} s; every figure is the median of its runs, but the no-manager baselines are their fastest run (details below the table)",
            began.elapsed().as_secs_f64()
        ),
    ));
    let mut report = Report {
        heading: format!("### {}", date()),
        facts,
        managers: labels,
        rows,
        targets: Vec::new(),
        notes: notes(&counts),
    };
    report.targets = targets(&report, &counts);
    let text = report.full();
    std::fs::write(&o.out, &text).map_err(|e| format!("{}: {e}", o.out.display()))?;
    if let Some(readme) = &o.readme {
        let old =
            std::fs::read_to_string(readme).map_err(|e| format!("{}: {e}", readme.display()))?;
        let new = report::splice(&old, &report.summary()).ok_or_else(|| {
            format!(
                "{}: no <!-- bench:begin --> ... <!-- bench:end --> section",
                readme.display()
            )
        })?;
        std::fs::write(readme, new).map_err(|e| format!("{}: {e}", readme.display()))?;
    }
    println!("{text}");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn measure(
    o: &Options,
    managers: &mut [Box<dyn Manager>],
    anchors: &[anchors::Anchor],
    tpm: &Tpm,
    nushell: Option<&Nushell>,
    counts: &Counts,
    env: &Env,
    tetra_dir: &Path,
    rows: &mut Vec<Row>,
) -> Result<(), String> {
    let largest = counts.populations.iter().copied().max().unwrap_or(0);
    let mut nu_rows = Vec::new();
    if o.runs("memory") {
        for &n in &counts.populations {
            let procs = processes(n);
            let mut list = Row::new(format!("list-{n}"), format!("list, {procs}"), Unit::Time);
            let mut rss = Row::new(
                format!("rss-{n}"),
                format!("memory (RSS) of the manager, {procs}"),
                Unit::KiB,
            );
            let mut pss = Row::new(
                format!("pss-{n}"),
                format!("memory (PSS) of the manager, {procs}"),
                Unit::KiB,
            );
            let mut idle = Row::new(
                format!("idle-{n}"),
                format!("CPU of the manager at idle, {procs} (of one core)"),
                Unit::Percent,
            );
            let mut wake = Row::new(
                format!("wakeups-{n}"),
                format!("wake-ups of the manager at rest, {procs} (context switches)"),
                Unit::PerSecond,
            );
            for m in managers.iter_mut() {
                say(&format!("{}: {procs}: memory and list", m.label()));
                let with_nu = m.label() == "tpm" && n == largest;
                let mut nu = None;
                let p = figures::population(m.as_mut(), n, counts, env, n == largest, |_| {
                    if let (true, Some(nushell)) = (with_nu, nushell) {
                        say(&format!("tpm: {procs}: nu -c 'tpm list'"));
                        nu = Some(nushell.measure(counts, env, tetra_dir)?);
                    }
                    Ok(())
                })?;
                if m.label() == "tpm" && p.processes != n {
                    return Err(format!(
                        "tpm: {} supervisors for {n} processes",
                        p.processes
                    ));
                }
                list.cells.push((m.label(), p.list));
                rss.cells
                    .push((m.label(), Samples(vec![p.memory.rss_kib as f64])));
                pss.cells
                    .push((m.label(), Samples(vec![p.memory.pss_kib as f64])));
                if let Some(cpu) = p.idle_cpu {
                    idle.cells.push((m.label(), Samples(vec![cpu])));
                }
                if let Some(w) = p.wakeups {
                    wake.cells.push((m.label(), Samples(vec![w])));
                }
                if let Some(nu) = nu {
                    let mut cold = Row::new(
                        "nu-cold",
                        format!("`nu -c 'tpm list'`, {procs}, plugin cold"),
                        Unit::Time,
                    );
                    cold.cells.push(("tpm", nu.cold));
                    let mut warm = Row::new(
                        "nu-warm",
                        format!("`tpm list \\| table` in nu, {procs}, plugin warm"),
                        Unit::Time,
                    );
                    warm.cells.push(("tpm", nu.warm));
                    let mut alone = Row::new(
                        "nu-alone",
                        "`nu -c '[] \\| ignore'` (nu starting, for scale)",
                        Unit::Time,
                    );
                    alone.cells.push(("tpm", nu.nu_alone));
                    nu_rows.extend([cold, warm, alone]);
                }
            }
            for a in anchors {
                say(&format!("{}: {procs}: memory", a.label()));
                let f = anchors::population(a, n, counts, env, n == largest)?;
                rss.cells
                    .push((a.label(), Samples(vec![f.memory.rss_kib as f64])));
                pss.cells
                    .push((a.label(), Samples(vec![f.memory.pss_kib as f64])));
                if let Some(cpu) = f.idle_cpu {
                    idle.cells.push((a.label(), Samples(vec![cpu])));
                }
                if let Some(w) = f.wakeups {
                    wake.cells.push((a.label(), Samples(vec![w])));
                }
            }
            rows.extend([list, rss, pss]);
            for row in [idle, wake] {
                if !row.cells.is_empty() {
                    rows.push(row);
                }
            }
        }
    }

    if o.runs("start") {
        let mut start = Row::new("start", "start → running", Unit::Time);
        let mut stop = Row::new("stop", "stop → gone", Unit::Time);
        for m in managers.iter_mut() {
            say(&format!("{}: start and stop", m.label()));
            let (s, t) = figures::start_stop(m.as_mut(), counts, env)?;
            start.cells.push((m.label(), s));
            stop.cells.push((m.label(), t));
        }
        // What start's check of the PORT (is someone else listening?) costs: the same start
        // with --force, which skips it.
        say("tpm --force: start and stop");
        let mut unchecked = tpm.variant("tpm", &["--force"]);
        let (s, _) = figures::start_stop(&mut unchecked, counts, env)?;
        let mut start_forced = Row::new(
            "start-force",
            "start → running, tpm --force (no check of the PORT)",
            Unit::Time,
        );
        start_forced.cells.push(("tpm", s));
        rows.extend([start, start_forced, stop]);
    }

    let mut scaled = tpm.variant("tpm", &[]);
    if o.runs("scale") {
        for &n in &counts.scale {
            let procs = processes(n);
            say(&format!(
                "tpm: {procs}: start each, list, stop/restart/delete '*'"
            ));
            let f = figures::scale(&mut scaled, n, counts, env)?;
            let row = |key: &str, title: String, samples: Samples| {
                let mut row = Row::new(format!("{key}-{n}"), title, Unit::Time);
                row.cells.push(("tpm", samples));
                row
            };
            // A count the population figures have already has its list row.
            if !counts.populations.contains(&n) {
                rows.push(row("list", format!("list, {procs}"), f.list));
                let mut idle = Row::new(
                    format!("idle-{n}"),
                    format!("CPU of the manager at idle, {procs} (of one core)"),
                    Unit::Percent,
                );
                idle.cells.push(("tpm", Samples(vec![f.rest.cpu_percent])));
                let mut wake = Row::new(
                    format!("wakeups-{n}"),
                    format!("wake-ups of the manager at rest, {procs} (context switches)"),
                    Unit::PerSecond,
                );
                wake.cells
                    .push(("tpm", Samples(vec![f.rest.wakeups_per_second])));
                rows.extend([idle, wake]);
            }
            rows.extend([
                row(
                    "start-each",
                    format!("start, each of {procs} started one by one"),
                    f.start_each,
                ),
                row("metrics", format!("`tpm metrics`, {procs}"), f.metrics),
                row(
                    "scrape",
                    format!("`GET /metrics` of `tpm serve`, {procs}"),
                    f.scrape,
                ),
                row("stop-all", format!("`stop '*'`, {procs}"), f.stop),
                row(
                    "restart-all",
                    format!("`restart '*'`, {procs} running"),
                    f.restart,
                ),
                row("delete-all", format!("`delete '*'`, {procs}"), f.delete),
            ]);
        }
    }

    if o.runs("policy") {
        say("tpm: what readiness checks and --watch cost a supervisor");
        for cost in figures::policy_costs(&scaled, counts, env)? {
            let mut rss = Row::new(
                format!("{}-rss", cost.key),
                format!("memory (RSS): {}", cost.title),
                Unit::KiB,
            );
            rss.cells.push(("tpm", Samples(vec![cost.rss_kib])));
            let mut cpu = Row::new(
                format!("{}-idle", cost.key),
                format!("CPU at idle: {} (of one core)", cost.title),
                Unit::Percent,
            );
            cpu.cells.push(("tpm", Samples(vec![cost.idle_cpu])));
            rows.extend([rss, cpu]);
        }
    }

    if o.runs("health") {
        say("tpm: what a liveness check costs a supervisor at rest");
        for cost in figures::health_costs(&scaled, counts, env)? {
            let mut wake = Row::new(
                format!("{}-wakeups", cost.key),
                format!("wake-ups at rest: {} (context switches)", cost.title),
                Unit::PerSecond,
            );
            wake.cells
                .push(("tpm", Samples(vec![cost.rest.wakeups_per_second])));
            let mut cpu = Row::new(
                format!("{}-idle", cost.key),
                format!("CPU at rest: {} (of one core)", cost.title),
                Unit::Percent,
            );
            cpu.cells
                .push(("tpm", Samples(vec![cost.rest.cpu_percent])));
            rows.extend([wake, cpu]);
        }
    }

    if o.runs("crash") {
        let mut crash = Row::new("crash", "crash → restarted, zero delay", Unit::Time);
        for m in managers.iter_mut() {
            say(&format!("{}: crash to restart", m.label()));
            crash
                .cells
                .push((m.label(), figures::crash_restart(m.as_mut(), counts, env)?));
        }
        rows.push(crash);
    }

    if o.runs("logs") {
        let size = human_bytes(counts.log_bytes);
        let baseline = |how, key: &str, what: String| -> Result<Row, String> {
            say(&what);
            let runs = figures::log_baseline(how, counts, env)?;
            let mut row = Row::new(key.to_string(), format!("{what}, fastest run"), Unit::Time);
            row.floor = true;
            row.cells.push((
                "tpm",
                Samples(runs.iter().map(|r| r.wall.as_secs_f64()).collect()),
            ));
            Ok(row)
        };
        let direct_row = baseline(
            figures::Baseline::Direct,
            "log-direct",
            format!("{size} of lines straight to a file (no manager)"),
        )?;
        let cat_row = baseline(
            figures::Baseline::Cat,
            "log-cat",
            format!("{size} of lines through a pipe and `cat` to a file (no manager)"),
        )?;
        let mut log = Row::new(
            "log",
            format!("{size} of log lines through the manager"),
            Unit::Time,
        );
        let mut cpu = Row::new(
            "log-cpu",
            format!("CPU time of the manager for those {size}"),
            Unit::Time,
        );
        for m in managers.iter_mut() {
            say(&format!("{}: {size} of log lines", m.label()));
            let runs = figures::log_throughput(m.as_mut(), counts, env)?;
            log.cells.push((
                m.label(),
                Samples(runs.iter().map(|r| r.wall.as_secs_f64()).collect()),
            ));
            cpu.cells.push((
                m.label(),
                Samples(runs.iter().map(|r| r.manager_cpu).collect()),
            ));
        }
        say(&format!("tpm --max-log-size 0: {size} of log lines"));
        let mut flat = tpm.variant("tpm", &["--max-log-size", "0"]);
        let runs = figures::log_throughput(&mut flat, counts, env)?;
        let mut flat_row = Row::new(
            "log-flat",
            format!("{size} of log lines, tpm with rotation off"),
            Unit::Time,
        );
        flat_row.cells.push((
            "tpm",
            Samples(runs.iter().map(|r| r.wall.as_secs_f64()).collect()),
        ));
        rows.extend([log, flat_row, direct_row, cat_row, cpu]);
    }
    rows.extend(nu_rows);
    Ok(())
}

/// The targets, each with what this run measured.
fn targets(r: &Report, counts: &Counts) -> Vec<Target> {
    let med = |key: &str, m: &str| r.row(key).and_then(|row| row.figure(m));
    let largest = counts.populations.iter().copied().max().unwrap_or(1);
    let mut out = Vec::new();
    let faster = |what: String, key: &str, at_least: f64| {
        let (t, p) = (med(key, "tpm"), med(key, "pm2"));
        match (t, p) {
            (Some(t), Some(p)) => Target {
                what,
                measured: format!(
                    "{} ({} vs {})",
                    ratio(p / t),
                    Unit::Time.show(t),
                    Unit::Time.show(p)
                ),
                met: Some(p / t >= at_least),
            },
            _ => Target {
                what,
                measured: "pm2 not run".into(),
                met: None,
            },
        }
    };
    out.push(faster(
        format!(
            "`tpm list` at {} ≥ 50× faster than `pm2 jlist`",
            processes(largest)
        ),
        &format!("list-{largest}"),
        50.0,
    ));
    out.push(faster(
        "start → running ≥ 10× faster than pm2".into(),
        "start",
        10.0,
    ));
    if let Some(c) = med("crash", "tpm") {
        out.push(Target {
            what: "crash → restarted < 5 ms at zero delay".into(),
            measured: Unit::Time.show(c),
            met: Some(c < 0.005),
        });
    }
    // Per managed process: the worst over the populations.
    let per = |kind: &str| {
        counts
            .populations
            .iter()
            .filter_map(|&n| Some(med(&format!("{kind}-{n}"), "tpm")? / n as f64))
            .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
    };
    if let (Some(pss), Some(rss)) = (per("pss"), per("rss")) {
        out.push(Target {
            what: "supervisor PSS < 1 MiB per managed process".into(),
            measured: format!("{} at most", Unit::KiB.show(pss)),
            met: Some(pss < 1024.0),
        });
        out.push(Target {
            what: "supervisor RSS < 2 MiB per managed process".into(),
            measured: format!("{} at most", Unit::KiB.show(rss)),
            met: Some(rss < 2048.0),
        });
    }
    let key = format!("pss-{largest}");
    if let Some(t) = med(&key, "tpm") {
        let per = t / largest as f64;
        let runit = med(&key, "runit").map(|r| r / largest as f64);
        out.push(Target {
            what: format!(
                "PSS per supervisor ≤ 150 KiB and below runsv's, at {}",
                processes(largest)
            ),
            measured: match runit {
                Some(r) => format!("{} (runsv {})", Unit::KiB.show(per), Unit::KiB.show(r)),
                None => format!("{} (runit not run)", Unit::KiB.show(per)),
            },
            met: Some(per <= 150.0 && runit.is_none_or(|r| per < r)),
        });
    }
    let mut at_rest: Vec<usize> = vec![largest];
    at_rest.extend(counts.scale.iter().copied().filter(|&n| n != largest));
    for n in at_rest {
        if let Some(w) = med(&format!("wakeups-{n}"), "tpm") {
            out.push(Target {
                what: format!("no wake-up at rest, {}", processes(n)),
                measured: Unit::PerSecond.show(w),
                met: Some(w == 0.0),
            });
        }
    }
    out.push(match (med(&key, "tpm"), med(&key, "pm2")) {
        (Some(t), Some(p)) => Target {
            what: format!(
                "tpm's total at {} below pm2's daemon alone (PSS)",
                processes(largest)
            ),
            measured: format!("{} vs {}", Unit::KiB.show(t), Unit::KiB.show(p)),
            met: Some(t < p),
        },
        _ => Target {
            what: "tpm's total below pm2's daemon".into(),
            measured: "pm2 not run".into(),
            met: None,
        },
    });
    // Scale: the largest count against the smallest.
    if let (Some(&small), Some(&large)) = (counts.scale.first(), counts.scale.last()) {
        let grow = |key: &str| {
            Some(med(&format!("{key}-{large}"), "tpm")? / med(&format!("{key}-{small}"), "tpm")?)
        };
        let times = large as f64 / small as f64;
        if let Some(g) = grow("start-each") {
            out.push(Target {
                what: format!(
                    "a start takes as long with {} as with {} (each, {large} ÷ {small} at most 1.5×)",
                    processes(large),
                    processes(small)
                ),
                measured: ratio(g),
                met: Some(g <= 1.5),
            });
        }
        let star: Vec<(&str, f64)> = [
            ("stop", "stop-all"),
            ("restart", "restart-all"),
            ("delete", "delete-all"),
        ]
        .into_iter()
        .filter_map(|(verb, key)| Some((verb, grow(key)?)))
        .collect();
        if star.len() == 3 {
            // Linear, with a fifth to spare: ≤ 12× for ten times the processes.
            let bound = times * 1.2;
            out.push(Target {
                what: format!(
                    "`stop`, `restart` and `delete '*'` grow linearly ({large} ÷ {small} at most {}, for {} the processes)",
                    ratio(bound),
                    ratio(times)
                ),
                measured: star
                    .iter()
                    .map(|(verb, g)| format!("{verb} {}", ratio(*g)))
                    .collect::<Vec<_>>()
                    .join(", "),
                met: Some(star.iter().all(|(_, g)| *g <= bound)),
            });
        }
    }
    if let (Some(t), Some(d)) = (med("log", "tpm"), med("log-direct", "tpm")) {
        out.push(Target {
            what: "log throughput ≥ 0.8× straight-to-file".into(),
            measured: format!(
                "{} ({} vs {}){}",
                ratio(d / t),
                Unit::Time.show(t),
                Unit::Time.show(d),
                // What relaying through a pipe alone reaches, for scale.
                med("log-cat", "tpm").map_or(String::new(), |c| format!(
                    "; a bare `cat` relay: {}",
                    ratio(d / c)
                ))
            ),
            met: Some(d / t >= 0.8),
        });
    }
    if let (Some(t), Some(c)) = (med("log", "tpm"), med("log-cat", "tpm")) {
        // The floor of a manager that reads its child through a pipe: what is left is the
        // manager's own work (stamping, rotating).
        out.push(Target {
            what: "log throughput ≥ 0.9× a bare `cat` relay".into(),
            measured: format!(
                "{} ({} vs {})",
                ratio(c / t),
                Unit::Time.show(t),
                Unit::Time.show(c)
            ),
            met: Some(c / t >= 0.9),
        });
    }
    let mut logs = faster("log throughput ≥ 5× pm2's".into(), "log", 5.0);
    if let (Some(p), Some(c)) = (med("log", "pm2"), med("log-cat", "tpm")) {
        // The most any manager that reads through a pipe could reach.
        logs.measured += &format!("; a bare `cat` relay: {}", ratio(p / c));
    }
    out.push(logs);
    out
}

fn notes(c: &Counts) -> Vec<String> {
    vec![
        format!(
            "list: {} runs after one warm-up, output to /dev/null: `tpm list --json`, `pm2 jlist`, `supervisorctl status`.",
            c.list_runs
        ),
        "memory: Rss and Pss from /proc/PID/smaps_rollup, summed over the manager's own processes (tpm: every supervisor; pm2: its daemon; supervisord: itself), the managed `sleep`s not counted. PSS shares each shared page among the processes that map it.".into(),
        format!(
            "start: from the command issued until it has returned and the process runs (the process stamps its own start); stop: until the command has returned and the process is gone. {} runs after one warm-up; supervisord with `startsecs=0` (its default, 1 s, makes `start` wait a second).",
            c.start_runs
        ),
        format!(
            "crash → restarted: a process that exits with code 1 after {} ms, restarted at once (tpm `--restart-delay 0 --max-restarts 0`, pm2 `restart_delay: 0`, supervisord `autorestart=true`); the gap from its exit stamp to its replacement's start stamp, {} restarts. The replacement's own start-up (exec, dynamic loading) is included, for every manager alike.",
            c.crash_life.as_millis(),
            c.restarts
        ),
        format!(
            "logs: a child writes {} of 100-byte lines to stdout in 64 KiB writes; the time from its start until its last line is in the log file (in the scratch folder, see above), {} runs, each after `sync`. Each manager at its defaults: tpm prefixes every line with a timestamp and rotates at 10 MiB (5 kept); pm2 writes lines as they come (no timestamps, no rotation); supervisord rotates at 50 MB (10 kept). CPU time: the manager's own processes. The `cat` baseline is the floor for a manager that reads its child's output from a pipe: one more copy of every byte, and no work on the lines.",
            human_bytes(c.log_bytes),
            c.log_runs
        ),
        format!(
            "at rest: the manager's own processes watched for {} once their processes have run {} (CPU time, and context switches voluntary and not of every thread, from /proc/PID/task/*/status). The anchors s6 (`s6-supervise`) and runit (`runsv`), Debian's packages, each supervise the same `sleep`s, one supervisor per process started by the harness (no scanner): their memory is the supervisors'.",
            clock::human(c.rest),
            clock::human(c.quiet)
        ),
        format!(
            "health (tpm only): two supervisors side by side, each of a small HTTP server (`tpm-bench child serve`), one with `--health-http /healthz` at the default interval (30 s) and one without, watched together for {} once they have run {} (the same counters as at rest); the run fails if the check said `unhealthy`.",
            clock::human(c.rest),
            clock::human(c.quiet)
        ),
        "Nushell: cold is a new `nu` (so a new plugin process) each time; warm is nu's `timeit` inside one session, the plugin already running.".into(),
        format!(
            "scale (tpm only; {}): `sleep`s started one by one with `tpm start` (the time per start), `tpm list --json` ({} runs), `tpm metrics` and `GET /metrics` of a `tpm serve` ({} runs each, the answer checked to hold every process), then `stop '*'`, `restart '*'` of the running processes and `delete '*'`, each once, from the command issued until it returned. Each must exit 0 with every process in the state asked for and every process (and supervisor) it replaced gone, or the run fails.",
            c.scale.iter().map(|&n| processes(n)).collect::<Vec<_>>().join(" and "),
            c.list_runs,
            c.list_runs
        ),
    ]
}

/// `1 process`, `10 processes`.
fn processes(n: usize) -> String {
    if n == 1 {
        "1 process".into()
    } else {
        format!("{n} processes")
    }
}

fn human_bytes(b: u64) -> String {
    if b >= 1 << 30 && b.is_multiple_of(1 << 30) {
        format!("{} GiB", b >> 30)
    } else {
        format!("{} MiB", b >> 20)
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .into_owned();
    text.lines().next().map(|l| l.trim().to_string())
}

fn date() -> String {
    first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
        .unwrap_or_else(|| "(no date)".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn machine() -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0);
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| {
            Some(
                l.strip_prefix("PRETTY_NAME=")?
                    .trim_matches('"')
                    .to_string(),
            )
        })
        .unwrap_or_else(|| "Linux".into());
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    vec![(
        "machine".into(),
        format!(
            "{cpu}, {cores} cores, {:.0} GiB, {os}, Linux {kernel}",
            mem_kib as f64 / 1048576.0
        ),
    )]
}

/// The type of the file system `path` is on: the longest mount point that holds it.
fn filesystem(path: &Path) -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (point, kind) = (f.get(1)?, f.get(2)?);
            path.starts_with(point)
                .then(|| (point.len(), kind.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, kind)| kind)
}

fn versions(managers: &[Box<dyn Manager>], o: &Options) -> String {
    let mut parts = Vec::new();
    for m in managers {
        let mut v = format!("{} {}", m.label(), m.version().trim_start_matches("tpm "));
        match m.label() {
            "tpm" => {
                if let Some(b) = &o.build {
                    v += &format!(" ({b})");
                }
            }
            "pm2" => {
                if let Some(node) = first_line(Command::new("node").arg("--version")) {
                    v += &format!(" (node {node})");
                }
            }
            "supervisord" => {
                let python = o.supervisord.as_ref().map(|d| d.with_file_name("python3"));
                if let Some(py) = python.and_then(|p| first_line(Command::new(p).arg("--version")))
                {
                    v += &format!(" ({py})");
                }
            }
            _ => {}
        }
        parts.push(v);
    }
    if let Some(nu) = &o.nu {
        if let Some(version) = first_line(Command::new(nu).arg("--version")) {
            parts.push(format!("nu {version}"));
        }
    }
    parts.join(", ")
}
