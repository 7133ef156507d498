//! From a request to a [`Spec`]: the one place where what a user asked for (CLI flags,
//! plugin flags, an ecosystem app, a record piped in from Nushell) becomes what will run.
//! Nothing is written here: a plan can be made for every app of a file before any starts.

use std::path::PathBuf;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::name::Name;
use crate::options::{Opt, Options};
use crate::policy::Policy;
use crate::port::{self, PortInputs};
use crate::readiness::{self, Readiness, ReadyCheck};
use crate::record::{Record, MAX_RECORD, STATE_ROOM};
use crate::rotation::LogLimits;
use crate::spec::{Spec, KIND_CLI, KIND_ECOSYSTEM};
use crate::target::{self, Launch};

use super::Tpm;

/// A start, as any front end asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    /// A script path, a command string, or the name of a stopped process.
    pub target: String,
    /// The start options given (see `options::START_OPTIONS`); the script's arguments are
    /// [`Opt::Args`].
    pub options: Options,
    /// The folder a relative `cwd` is taken from: the caller's (`None`), or an ecosystem
    /// file's.
    pub base_dir: Option<PathBuf>,
    /// An app (of a file, or a record piped in): its script is found from its `cwd`, as
    /// pm2 does; a command line's, from where it is typed.
    pub script_in_cwd: bool,
    /// The record's `type`: `cli`, or `ecosystem` for an app of a file.
    pub kind: String,
    /// Start even when another process listens on its PORT (`--force`).
    pub force: bool,
    /// An app of a file or a record piped in, under pm2's rules: it may name no PORT (then
    /// it has none), and a `name` that is no safe file name is made into one. A command
    /// line's must name a PORT or say `--no-port` (exit 65), and its `--name` be safe.
    pub app: bool,
}

impl StartRequest {
    /// A request from a command line: `target` with `options`.
    pub fn new(target: impl Into<String>, options: Options) -> StartRequest {
        StartRequest {
            target: target.into(),
            options,
            base_dir: None,
            script_in_cwd: false,
            kind: KIND_CLI.into(),
            force: false,
            app: false,
        }
    }

    /// An app of an ecosystem file in folder `dir`.
    pub fn app(target: impl Into<String>, options: Options, dir: PathBuf) -> StartRequest {
        StartRequest {
            target: target.into(),
            options,
            base_dir: Some(dir),
            script_in_cwd: true,
            kind: KIND_ECOSYSTEM.into(),
            force: false,
            app: true,
        }
    }

    /// An app given as data (a record piped into the plugin's `tpm start`): like a file's,
    /// but relative to the caller's folder.
    pub fn record(target: impl Into<String>, options: Options) -> StartRequest {
        StartRequest {
            script_in_cwd: true,
            app: true,
            ..StartRequest::new(target, options)
        }
    }
}

/// What a start will create: the name and the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub name: Name,
    pub spec: Spec,
    /// Start even when another process listens on its PORT.
    pub force: bool,
    /// What is worth telling the user (a name made safe).
    pub warnings: Vec<String>,
}

impl Tpm {
    /// Validates a request and makes its plan, touching nothing.
    pub fn plan(&self, req: &StartRequest) -> Result<Plan> {
        let opts = &req.options;
        if let Some(env_name) = opts.env_names().first() {
            return Err(Error::Usage(format!(
                "--env {env_name}: a name without '=' picks env_{env_name} of an ecosystem file, and {} is not one; to set a variable, give KEY=VALUE",
                req.target
            )));
        }
        let base = match &req.base_dir {
            Some(dir) => dir.clone(),
            None => self.ctx.cwd.clone(),
        };
        let cwd = match opts.dir(Opt::Cwd) {
            Some(dir) => {
                let dir = target::normalize(&base.join(dir));
                if !dir.is_dir() {
                    return Err(Error::CwdNotFound { path: dir });
                }
                dir
            }
            None => base.clone(),
        };
        // pm2 finds an app's script from its cwd; a command line's, from where it is typed.
        let script_ctx = Context {
            env: self.ctx.env.clone(),
            cwd: if req.script_in_cwd { cwd.clone() } else { base },
        };
        let args = opts.words(Opt::Args).unwrap_or(&[]);
        let target = target::resolve(
            &req.target,
            &Launch {
                args,
                interpreter: opts.text(Opt::Interpreter),
                interpreter_args: opts.words(Opt::InterpreterArgs).unwrap_or(&[]),
            },
            &script_ctx,
        )?;
        let env = opts.env_vars();
        if let Some((key, _)) = env.iter().find(|(_, v)| v == crate::secrets::MASK) {
            return Err(Error::Usage(format!(
                "{key} holds {:?}, what `tpm dump` prints in place of a secret: put its real value back",
                crate::secrets::MASK
            )));
        }
        // `--env PORT=N` is what the process will see, so it counts before the caller's PORT.
        let env_port = match env.iter().rev().find(|(k, _)| k == "PORT") {
            Some((_, v)) => Some(v.clone()),
            None => self
                .ctx
                .var("PORT")
                .map(|v| v.to_string_lossy().into_owned()),
        };
        let port = if opts.no_port() {
            check_no_port(opts)?;
            None
        } else {
            match port::detect(&PortInputs {
                flag: opts.port(),
                args: target.args(),
                env: env_port.as_deref(),
                script: target.script_path.as_deref(),
                target: &req.target,
            }) {
                Ok(found) => Some(found.port),
                Err(e) => match port::known_default(&target.cmd) {
                    Some(port) => Some(port),
                    // pm2's apps mostly name no PORT (workers, bots, `npm start`): such an
                    // app has none. A PORT given that is no number stays an error.
                    None if req.app && env_port.as_deref().is_none_or(str::is_empty) => None,
                    None => return Err(e),
                },
            }
        };
        let cwd = cwd
            .to_str()
            .ok_or_else(|| Error::Usage(format!("{}: tpm needs UTF-8 paths", cwd.display())))?
            .to_string();
        let texts = target
            .cmd
            .iter()
            .chain([&cwd, &target.script])
            .chain(env.iter().flat_map(|(k, v)| [k, v]));
        for text in texts {
            if text.contains(['\n', '\r', '\0']) {
                return Err(Error::Usage(format!(
                    "{text:?}: line breaks cannot be stored in a process record"
                )));
            }
        }
        let mut warnings = Vec::new();
        let name = match opts.text(Opt::Name) {
            Some(custom) if req.app => match crate::name::safe_name(custom) {
                Some(safe) => {
                    if safe != custom {
                        warnings.push(format!(
                            "the name {custom:?} is not a safe file name: its process is named {safe} (the name as written is kept, and picks it with --only and in the file)"
                        ));
                    }
                    Name::with_port(&safe, port, false)?
                }
                None => Name::with_port(custom, port, false)?,
            },
            Some(custom) => Name::with_port(custom, port, false)?,
            None => Name::with_port(&target.base, port, true)?,
        };
        let mut spec = Spec::new(target.script, target.cmd, cwd, port);
        if req.app {
            spec.app = opts.text(Opt::Name).map(str::to_string);
        }
        spec.env = env;
        spec.kind = req.kind.clone();
        spec.policy = Policy {
            autorestart: opts.bool(Opt::Autorestart),
            max_restarts: opts.count(Opt::MaxRestarts),
            restart_delay: opts.millis(Opt::RestartDelay),
            kill_timeout: opts.millis(Opt::KillTimeout),
            min_uptime: opts.millis(Opt::MinUptime),
            stop_signal: opts.signal(Opt::StopSignal),
            stop_exit_codes: opts.codes(Opt::StopExitCodes),
            max_memory: opts.size(Opt::MaxMemory),
        };
        match (opts.paths(Opt::Watch), opts.paths(Opt::WatchIgnore)) {
            (Some(paths), ignore) => {
                let ignore = ignore.unwrap_or(&[]).to_vec();
                crate::watch::Ignore::new(&ignore).map_err(Error::Usage)?;
                let base = PathBuf::from(&spec.cwd);
                let mut watched = Vec::new();
                let cwd_only = [String::new()];
                let given = if paths.is_empty() {
                    &cwd_only[..]
                } else {
                    paths
                };
                for p in given {
                    let path = target::normalize(&base.join(p));
                    if !path.exists() {
                        return Err(Error::Usage(format!(
                            "--watch {}: no such file or folder",
                            path.display()
                        )));
                    }
                    watched.push(path.to_string_lossy().into_owned());
                }
                spec.watch = Some(crate::watch::Watch {
                    paths: watched,
                    ignore,
                });
            }
            (None, Some(_)) => {
                return Err(Error::Usage(
                    "--watch-ignore leaves files out of --watch, which was not given".into(),
                ))
            }
            (None, None) => {}
        }
        if let Some(expr) = opts.text(Opt::CronRestart) {
            crate::policy::check_cron(expr).map_err(Error::Usage)?;
            spec.cron_restart = Some(expr.to_string());
        }
        let check = match (
            opts.bool(Opt::ReadyCheck),
            opts.text(Opt::ReadyLine),
            opts.text(Opt::ReadyHttp),
        ) {
            (_, Some(_), Some(_)) => {
                return Err(Error::Usage(
                    "--ready-line and --ready-http: give one way to tell it is ready".into(),
                ))
            }
            (false, _, _) => ReadyCheck::None,
            (true, Some(re), None) => {
                readiness::check_regex(re).map_err(Error::Usage)?;
                ReadyCheck::Line(re.to_string())
            }
            (true, None, Some(path)) => ReadyCheck::Http(readiness::http_path(path)),
            (true, None, None) if opts.bool(Opt::ReadyNotify) => ReadyCheck::Notify,
            (true, None, None) => ReadyCheck::Port,
        };
        if opts.bool(Opt::ReadyNotify) && check != ReadyCheck::Notify {
            return Err(Error::Usage(format!(
                "--ready-notify and {}: give one way to tell it is ready",
                match check {
                    ReadyCheck::None => "--no-ready-check",
                    ReadyCheck::Line(_) => "--ready-line",
                    _ => "--ready-http",
                }
            )));
        }
        spec.health = health(opts, spec.port).map_err(Error::Usage)?;
        spec.watchdog = opts.get(Opt::Watchdog).map(|_| opts.millis(Opt::Watchdog));
        spec.ready = Readiness {
            check,
            wait: opts.bool(Opt::Wait),
            wait_timeout: opts.millis(Opt::WaitTimeout),
        };
        spec.logs = LogLimits {
            max_size: opts.size(Opt::MaxLogSize),
            keep: opts.count(Opt::LogKeep),
            compress: opts.bool(Opt::LogCompress),
            every: match opts.text(Opt::LogRotate) {
                Some(t) => crate::rotation::Every::parse(t).unwrap_or(None),
                None => None,
            },
            max_age: opts.millis(Opt::LogMaxAge),
            max_total: opts.size(Opt::LogMaxTotal),
        };
        spec.cluster.socket = opts.bool(Opt::Socket);
        spec.cluster.port_step = opts.count(Opt::PortStep);
        spec.cluster.instance_var = opts.text(Opt::InstanceVar).map(str::to_string);
        match opts.text(Opt::IncrementVar) {
            // The PORT is tpm's own: its step is `port_step`.
            Some("PORT") if opts.get(Opt::PortStep).is_none() && opts.instances().is_some() => {
                spec.cluster.port_step = 1
            }
            Some("PORT") | None => {}
            Some(var) => {
                if let Some((_, v)) = spec.env.iter().rev().find(|(k, _)| k == var) {
                    if v.trim().parse::<i64>().is_err() {
                        return Err(Error::Usage(format!(
                            "increment_var {var}: its value {v:?} is not a whole number to add each instance's number to"
                        )));
                    }
                }
                spec.cluster.increment_var = Some(var.to_string());
            }
        }
        if spec.cluster.port_step > 0 && opts.instances().is_none() {
            return Err(Error::Usage(
                "--port-step spaces the ports of instances: give --instances N too".into(),
            ));
        }
        // pm2's log files: /dev/null throws a stream away; any other path is not written,
        // the output stays where `tpm logs` reads it.
        for (opt, discard) in [
            (Opt::OutFile, &mut spec.discard.out),
            (Opt::ErrorFile, &mut spec.discard.err),
        ] {
            match opts.text(opt) {
                Some("/dev/null" | "NULL") => *discard = true,
                Some(path) => warnings.push(format!(
                    "`{}: {path}`: tpm writes this output to its own log file (`tpm logs`), not there",
                    opt.def().field
                )),
                None => {}
            }
        }
        // What runs must leave its record readable: refused here, before anything of the
        // process is written or stopped, with room kept for what its supervisor adds.
        let record = Record::new(spec);
        record.checked_line(name.as_str(), MAX_RECORD - STATE_ROOM)?;
        Ok(Plan {
            name,
            spec: record.spec,
            force: req.force,
            warnings,
        })
    }

    /// [`Tpm::plan`], with `--instances N` made into N plans: `NAME-PORT-0` ...
    /// `NAME-PORT-(N-1)`, instance i on PORT + port_step * i. Without it, the one plan.
    pub fn plans(&self, req: &StartRequest) -> Result<Vec<Plan>> {
        let plan = self.plan(req)?;
        match req.options.instances() {
            None => Ok(vec![plan]),
            Some(n) => (0..n).map(|i| instance_plan(&plan, i)).collect(),
        }
    }
}

/// `--no-port` leaves out what only a PORT means: given with it, said as a usage error.
fn check_no_port(opts: &Options) -> Result<()> {
    for opt in [Opt::Port, Opt::PortStep, Opt::Socket, Opt::ReadyHttp] {
        if opts.get(opt).is_some() {
            let def = opt.def();
            return Err(Error::Usage(format!(
                "--{} needs a PORT, and --no-port (port: false) says it has none: give one of them",
                def.flag.unwrap_or(def.field)
            )));
        }
    }
    Ok(())
}

/// Instance `i` of the app `app` plans (whose name and spec are the app's, instance 0's
/// PORT): its own name, number and PORT.
pub(crate) fn instance_plan(app: &Plan, i: u32) -> Result<Plan> {
    let mut plan = app.clone();
    let step = app.spec.cluster.port_step;
    if let Some(base) = app.spec.base_port() {
        let port = u32::from(base) + step * i;
        plan.spec.port = Some(u16::try_from(port).map_err(|_| {
            Error::Usage(format!(
                "instance {i} would listen on port {port}, past 65535: use fewer instances or a smaller --port-step"
            ))
        })?);
    }
    if i > 0 {
        plan.warnings.clear();
    }
    plan.spec.cluster.instance = Some(i);
    plan.name = crate::name::instance_name(&app.name, i)?;
    // Instances that share the PORT share it with instance 0, which alone is checked.
    if i > 0 && step == 0 {
        plan.force = true;
    }
    Ok(plan)
}

/// The liveness check the options ask for, if any; every problem with them at once.
fn health(opts: &Options, port: Option<u16>) -> Result<Option<crate::health::Health>, String> {
    use crate::health::{Health, HealthAction, HealthCheck};
    let mut problems = Vec::new();
    let mut checks = Vec::new();
    if let Some(path) = opts.text(Opt::HealthHttp) {
        checks.push((
            "--health-http",
            HealthCheck::Http(readiness::http_path(path)),
        ));
    }
    if opts.bool(Opt::HealthTcp) {
        checks.push(("--health-tcp", HealthCheck::Tcp));
    }
    if let Some(cmd) = opts.text(Opt::HealthCmd) {
        checks.push(("--health-cmd", HealthCheck::Cmd(cmd.to_string())));
    }
    if checks.len() > 1 {
        let flags: Vec<&str> = checks.iter().map(|(f, _)| *f).collect();
        problems.push(format!("{}: give one liveness check", flags.join(" and ")));
    }
    if port.is_none() {
        for (flag, check) in &checks {
            if !matches!(check, HealthCheck::Cmd(_)) {
                problems.push(format!(
                    "{flag} checks the PORT, and it has none: give --port, or use --health-cmd"
                ));
            }
        }
    }
    let settings = [
        Opt::HealthInterval,
        Opt::HealthTimeout,
        Opt::HealthRetries,
        Opt::HealthStartPeriod,
        Opt::HealthAction,
    ];
    if checks.is_empty() {
        let given: Vec<String> = settings
            .iter()
            .filter(|o| opts.get(**o).is_some())
            .map(|o| format!("--{}", o.def().flag.unwrap_or_default()))
            .collect();
        if !given.is_empty() {
            problems.push(format!(
                "{} set a liveness check, and none was given: add --health-http PATH, --health-tcp or --health-cmd CMD",
                given.join(", ")
            ));
        }
    }
    let action = match opts.text(Opt::HealthAction) {
        Some(a) => HealthAction::parse(a).unwrap_or_else(|e| {
            problems.push(e);
            HealthAction::Restart
        }),
        None => HealthAction::Restart,
    };
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let Some((_, check)) = checks.pop() else {
        return Ok(None);
    };
    Ok(Some(Health {
        check,
        interval: opts.millis(Opt::HealthInterval),
        timeout: opts.millis(Opt::HealthTimeout),
        retries: opts.count(Opt::HealthRetries),
        start_period: opts.millis(Opt::HealthStartPeriod),
        action,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    fn app(port: u16, step: u32) -> Plan {
        let mut spec = Spec::new("s".into(), vec!["s".into()], "/".into(), Some(port));
        spec.cluster.port_step = step;
        Plan {
            name: Name::parse(&format!("api-{port}")).unwrap(),
            spec,
            force: false,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn instance_i_is_named_numbered_and_placed_on_its_port() {
        let p = instance_plan(&app(3000, 0), 2).unwrap();
        assert_eq!(p.name.as_str(), "api-3000-2");
        assert_eq!(
            (p.spec.port, p.spec.cluster.instance),
            (Some(3000), Some(2))
        );
        assert!(p.force, "a shared PORT is checked for instance 0 alone");
        let p = instance_plan(&app(3000, 10), 2).unwrap();
        assert_eq!((p.spec.port, p.force), (Some(3020), false));
        assert_eq!(p.spec.base_port(), Some(3000));
        let i0 = instance_plan(&app(3000, 10), 0).unwrap();
        assert!(!i0.force);
        let err = instance_plan(&app(65530, 10), 1).unwrap_err();
        assert_eq!(err.exit_code(), 64);
        assert!(err.to_string().contains("65540"), "{err}");
        let mut worker = app(3000, 0);
        worker.spec.port = None;
        worker.name = Name::parse("worker").unwrap();
        let p = instance_plan(&worker, 1).unwrap();
        assert_eq!((p.name.as_str(), p.spec.port), ("worker-1", None));
    }
}
