//! Ecosystem files as commands see them: `tpm start|restart|stop|delete FILE`.
//!
//! Starting is all or nothing: every app of the file is planned (the file parses, names
//! are valid and unique, scripts exist, ports are found) before any starts, so a bad file
//! starts nothing and leaves every record as it was. `start FILE` leaves the apps already
//! running as they are (pm2 restarts them all); `restart FILE` reads the file again, so an
//! edited env, args or script takes effect.

use std::path::Path;

use super::plan::{Plan, StartRequest};
use super::{Each, Tpm};
use crate::depends::{self, Dependency};
use crate::ecosystem::{self, Document, RawApp};
use crate::error::{Error, Result};
use crate::info::ProcessInfo;
use crate::name::Name;
use crate::options::{Opt, Options};

/// Which apps of a file a command acts on, and how.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileChoice {
    /// `--only a,b`: apps by their `name` field (or their full process name); empty: all.
    pub only: Vec<String>,
    /// `--env NAME`s: each applies the apps' `env_NAME` over their `env`.
    pub env_names: Vec<String>,
    /// Options given on the command line with the file: they apply to every app, over
    /// what the file says (`--env KEY=VALUE` adds a variable).
    pub overrides: Options,
    /// Start apps even when their PORT is taken.
    pub force: bool,
}

impl FileChoice {
    /// A choice from command-line options: `--env NAME`s pick `env_NAME` sections; every
    /// other option (`--env KEY=VALUE` among them) applies to each app.
    pub fn from_options(mut options: Options, only: Vec<String>) -> FileChoice {
        let env_names = options.env_names();
        let vars = options.env_vars();
        options.remove(Opt::Env);
        if !vars.is_empty() {
            options.set(
                Opt::Env,
                crate::options::Value::Env(
                    vars.into_iter()
                        .map(|(k, v)| crate::options::EnvItem::Var(k, v))
                        .collect(),
                ),
            );
        }
        FileChoice {
            only,
            env_names,
            overrides: options,
            force: false,
        }
    }
}

/// A file's chosen apps, planned.
#[derive(Debug, Clone)]
pub struct FilePlan {
    pub document: Document,
    pub plans: Vec<Plan>,
    /// What the file holds that tpm ignored (unknown fields, an `--env` name no app has).
    pub warnings: Vec<String>,
    /// Processes the file's chosen apps started that the file now names otherwise (it
    /// reads a variable that changed): `restart FILE` stops them as it starts the new.
    pub replaced: Vec<Name>,
}

/// One app, planned.
struct AppPlans {
    /// One per instance.
    plans: Vec<Plan>,
    warnings: Vec<String>,
    /// The `env_` sections it has.
    env_sections: Vec<String>,
    autostart: bool,
    /// `depends_on`, as the file names the apps.
    depends_on: Vec<Dependency>,
}

/// An app of a file and the plans made for it, while a file is planned.
struct Unit<'d> {
    app: &'d RawApp,
    depends_on: Vec<Dependency>,
    /// Indices into the file's plans.
    plans: Vec<usize>,
}

/// What `start FILE` did with one app.
#[derive(Debug, Clone, PartialEq)]
pub struct AppStart {
    pub info: ProcessInfo,
    /// It was running already and was left as it was.
    pub unchanged: bool,
}

/// Options that name or place one process: given with a file, they would apply to every
/// app at once, which is never meant.
const PER_APP: [Opt; 7] = [
    Opt::Name,
    Opt::Port,
    Opt::NoPort,
    Opt::Cwd,
    Opt::Interpreter,
    Opt::InterpreterArgs,
    Opt::Args,
];

impl Tpm {
    /// Whether `target` names an ecosystem file that exists (as opposed to a script, a
    /// command or a process name).
    pub fn is_ecosystem_file(&self, target: &str) -> bool {
        let path = self.ctx.cwd.join(target);
        ecosystem::format_of(&path).is_some() && path.is_file()
    }

    /// Reads `file` and plans every chosen app, touching nothing. Every app is checked:
    /// the error lists every problem found, in the file and in each app.
    pub fn plan_file(&self, file: &str, choice: &FileChoice) -> Result<FilePlan> {
        let document = ecosystem::read(Path::new(file), &self.ctx)?;
        let mut plan = self.plan_document(document, choice)?;
        // Kept on each record, so that `tpm stop FILE` finds the apps the file started
        // whatever the file, or the environment it reads, names them now.
        let path = plan.document.path.to_string_lossy().into_owned();
        for p in &mut plan.plans {
            p.spec.file = Some(path.clone());
        }
        let started = self.started_from(&path);
        for (old, app) in &started {
            let Some(new) = plan
                .plans
                .iter()
                .find(|p| p.spec.app.is_some() && p.spec.app == *app)
            else {
                continue;
            };
            if plan.plans.iter().any(|p| &p.name == old) {
                continue;
            }
            plan.warnings.push(format!(
                "{}: {} was started from this file as {}, which it now names {}: `tpm restart` of the file stops {}, `tpm start` of it leaves it running",
                path,
                old,
                app.as_deref().unwrap_or_default(),
                new.name,
                old
            ));
            plan.replaced.push(old.clone());
        }
        Ok(plan)
    }

    /// The processes started from the ecosystem file at `path` (absolute), with the name
    /// of the app that started each as the file wrote it.
    fn started_from(&self, path: &str) -> Vec<(Name, Option<String>)> {
        let Ok((names, _)) = self.store.names() else {
            return Vec::new();
        };
        names
            .into_iter()
            .filter_map(|n| {
                let record = self.store.read(&n).ok().flatten()?;
                (record.spec.file.as_deref() == Some(path)).then_some((n, record.spec.app))
            })
            .collect()
    }

    /// [`Tpm::plan_file`] for apps already read (see `ecosystem::document_from_value`).
    pub fn plan_document(&self, document: Document, choice: &FileChoice) -> Result<FilePlan> {
        if let Some((opt, _)) = choice.overrides.iter().find(|(o, _)| PER_APP.contains(o)) {
            return Err(Error::Usage(format!(
                "{}: --{} cannot be given with an ecosystem file; set `{}` for each app in the file",
                document.path.display(),
                opt.def().flag.unwrap_or(opt.def().field),
                opt.def().field
            )));
        }
        let apps = chosen(&document, &choice.only)?;
        let mut warnings = Vec::new();
        let mut problems = Vec::new();
        let mut plans: Vec<Plan> = Vec::with_capacity(apps.len());
        let mut labels: Vec<String> = Vec::with_capacity(apps.len());
        let mut sections_seen = Vec::new();
        let mut units: Vec<Unit> = Vec::new();
        // Apps with problems of their own: a dependency on one is no further problem.
        let mut unplanned: Vec<&RawApp> = Vec::new();
        for app in apps {
            let planned = match self.plan_app(&document, app, choice) {
                Ok(planned) => planned,
                Err(e) => {
                    problems.push(e);
                    unplanned.push(app);
                    continue;
                }
            };
            warnings.extend(planned.warnings);
            sections_seen.extend(planned.env_sections);
            if !planned.autostart && choice.only.is_empty() {
                warnings.push(format!(
                    "{}: {}: not started (autostart: false); `--only {}` starts it",
                    document.path.display(),
                    app.label(),
                    app.label()
                ));
                continue;
            }
            let mut unit = Unit {
                app,
                depends_on: planned.depends_on,
                plans: Vec::new(),
            };
            for mut plan in planned.plans {
                unit.plans.push(plans.len());
                warnings.extend(
                    std::mem::take(&mut plan.warnings)
                        .into_iter()
                        .map(|w| format!("{}: {}: {w}", document.path.display(), app.label())),
                );
                if let Some(twin) = plans.iter().position(|p| p.name == plan.name) {
                    problems.push(Error::Ecosystem {
                        file: document.path.clone(),
                        app: Some(app.label()),
                        line: None,
                        message: format!(
                            "it would be named {}, like {}; give one of them another `name` or `port`",
                            plan.name, labels[twin]
                        ),
                    });
                    break;
                }
                plans.push(plan);
                labels.push(app.label());
            }
            units.push(unit);
        }
        problems.extend(self.resolve_depends(&document, &units, &unplanned, &mut plans));
        if let Some(e) = Error::all(problems) {
            return Err(e);
        }
        for env_name in &choice.env_names {
            if !sections_seen.contains(env_name) {
                warnings.push(format!(
                    "{}: no app has env_{env_name}; --env {env_name} changed nothing",
                    document.path.display()
                ));
            }
        }
        Ok(FilePlan {
            document,
            plans,
            warnings,
            replaced: Vec::new(),
        })
    }

    /// Turns each app's `depends_on` (apps as the file names them) into the processes
    /// they are, on each plan's spec: the plans of a chosen app of the file, else
    /// processes that run. A name that is neither, and a cycle, are problems (naming the
    /// chain), so nothing starts.
    fn resolve_depends(
        &self,
        document: &Document,
        units: &[Unit<'_>],
        unplanned: &[&RawApp],
        plans: &mut [Plan],
    ) -> Vec<Error> {
        let mut problems = Vec::new();
        if units.iter().all(|u| u.depends_on.is_empty()) {
            return problems;
        }
        let line = |unit: &Unit<'_>| {
            let text = document.text.as_deref()?;
            let name = written_name(unit.app)?;
            let next = document
                .apps
                .get(unit.app.index + 1)
                .and_then(|a| a.fields.get("name")?.as_str());
            ecosystem::field_line(text, name, next, "depends_on")
        };
        let problem = |unit: &Unit<'_>, message: String| Error::Ecosystem {
            file: document.path.clone(),
            app: Some(unit.app.label()),
            line: line(unit),
            message,
        };
        // Which unit each app's dependency is, when it is one of the file's.
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
        let running = self.store.names().map(|(n, _)| n).unwrap_or_default();
        for (u, unit) in units.iter().enumerate() {
            let mut resolved = Vec::new();
            for dep in &unit.depends_on {
                if let Some(d) = units.iter().position(|other| picks(other.app, &dep.name)) {
                    edges[u].push(d);
                    resolved.extend(units[d].plans.iter().map(|&p| Dependency {
                        name: plans[p].name.to_string(),
                        condition: dep.condition,
                    }));
                    continue;
                }
                match self.running_dependency(&dep.name, &running) {
                    Ok(names) => resolved.extend(names.into_iter().map(|n| Dependency {
                        name: n.to_string(),
                        condition: dep.condition,
                    })),
                    Err(_) if unplanned.iter().any(|a| picks(a, &dep.name)) => {}
                    // An app of the file left out (`--only`, `autostart: false`) must run
                    // already.
                    Err(_) if document.apps.iter().any(|a| picks(a, &dep.name)) => {
                        problems.push(problem(
                            unit,
                            format!(
                                "`depends_on`: {} is an app of this file that is not started with it (--only, or autostart: false) and does not run",
                                dep.name
                            ),
                        ))
                    }
                    Err(why) => problems.push(problem(
                        unit,
                        format!("`depends_on`: {} {why}", dep.name),
                    )),
                }
            }
            for &p in &unit.plans {
                plans[p].spec.depends_on = resolved.clone();
            }
        }
        if let Err(cycle) = depends::order(units.len(), |i| edges[i].clone()) {
            let chain: Vec<String> = cycle.iter().map(|&u| units[u].app.label()).collect();
            problems.push(problem(
                &units[cycle[0]],
                format!(
                    "`depends_on` makes a cycle: {} (each waits for the next, so none could start)",
                    chain.join(" → ")
                ),
            ));
        }
        problems
    }

    /// The running processes a dependency that is not an app of the file names: a process
    /// by its name, an app's instances, or the processes started as that app of a file.
    /// The error says why there are none.
    fn running_dependency(
        &self,
        name: &str,
        all: &[Name],
    ) -> std::result::Result<Vec<Name>, String> {
        let mut found: Vec<Name> = all.iter().filter(|n| n.as_str() == name).cloned().collect();
        if found.is_empty() {
            found = self.instances_of(name, all);
        }
        if found.is_empty() {
            found = all
                .iter()
                .filter(|n| {
                    self.store
                        .read(n)
                        .ok()
                        .flatten()
                        .is_some_and(|r| r.spec.app.as_deref() == Some(name))
                })
                .cloned()
                .collect();
        }
        if found.is_empty() {
            return Err("is neither an app of this file nor a process tpm runs".into());
        }
        let stopped: Vec<String> = found
            .iter()
            .filter(|n| {
                !self
                    .store
                    .read(n)
                    .ok()
                    .flatten()
                    .is_some_and(|r| r.state.status.is_active())
            })
            .map(|n| n.to_string())
            .collect();
        if !stopped.is_empty() {
            return Err(format!(
                "is not an app of this file, and {} is not running (`tpm start {}` first)",
                stopped.join(", "),
                stopped[0]
            ));
        }
        Ok(found)
    }

    /// One app's plans (one per instance), its warnings and the `env_` sections it has.
    fn plan_app(&self, document: &Document, app: &RawApp, choice: &FileChoice) -> Result<AppPlans> {
        let mut read = ecosystem::request_in(document, app, &choice.env_names)?;
        for (opt, value) in choice.overrides.iter() {
            read.request.options.set(opt, value.clone());
        }
        read.request.force = choice.force;
        if let Some(warning) = self.command_interpreter(&mut read.request) {
            read.warnings.push(format!(
                "{}: {}: {warning}",
                document.path.display(),
                app.label()
            ));
        }
        let plans = self
            .plans(&read.request)
            .map_err(|e| in_app(e, document, app))?;
        Ok(AppPlans {
            plans,
            warnings: read.warnings,
            env_sections: read.env_sections,
            autostart: read.autostart,
            depends_on: read.depends_on,
        })
    }

    /// pm2 runs a command found on PATH (`script: "npm"`) even when the app names an
    /// interpreter; tpm runs the command as it is (its own `#!` line picks what runs
    /// it), drops the interpreter and says so.
    fn command_interpreter(&self, req: &mut StartRequest) -> Option<String> {
        let interpreter = req.options.text(Opt::Interpreter);
        let has_args = req.options.words(Opt::InterpreterArgs).is_some();
        if interpreter.is_none_or(|i| i == crate::target::NO_INTERPRETER) && !has_args {
            return None;
        }
        let word = req.target.trim();
        if word.contains(['/', ' ', '\t']) {
            return None;
        }
        let base = req.base_dir.clone().unwrap_or_else(|| self.ctx.cwd.clone());
        let cwd = match req.options.dir(Opt::Cwd) {
            Some(dir) => base.join(dir),
            None => base,
        };
        if cwd.join(word).exists() {
            return None;
        }
        let found = crate::target::which(word, &self.ctx)?;
        let said = match interpreter {
            Some(i) => format!("`interpreter: {i}`"),
            None => "`interpreter_args`".into(),
        };
        req.options.remove(Opt::Interpreter);
        req.options.remove(Opt::InterpreterArgs);
        Some(format!(
            "{said} is for a script file; `{word}` is a command ({}), run as it is",
            found.display()
        ))
    }

    /// A start's row: what it started, or, when it was running already, the process as it
    /// is, marked unchanged (`tpm start FILE`, `tpm resurrect`).
    pub(super) fn started_or_unchanged(
        &self,
        name: &Name,
        started: Result<ProcessInfo>,
    ) -> Result<AppStart> {
        match started {
            Ok(info) => Ok(AppStart {
                info,
                unchanged: false,
            }),
            Err(Error::AlreadyRunning { .. }) => self.info(name).map(|info| AppStart {
                info,
                unchanged: true,
            }),
            Err(e) => Err(e),
        }
    }

    /// `tpm start FILE`: starts the apps that are not running; those that are stay as
    /// they are.
    /// Apps with `depends_on` start once what they depend on meets its condition.
    pub fn start_file(&self, plan: FilePlan) -> Each<AppStart> {
        let start = |p: Plan| {
            let name = p.name.clone();
            self.started_or_unchanged(&name, self.start_planned(p))
        };
        if plan.plans.iter().any(|p| !p.spec.depends_on.is_empty()) {
            return self.start_in_order(plan.plans, start);
        }
        plan.plans
            .into_iter()
            .map(|p| (p.name.clone(), start(p)))
            .collect()
    }

    /// `tpm restart FILE`: each app is stopped if it runs, then started as the file now
    /// says.
    pub fn restart_file(&self, plan: FilePlan) -> Each<ProcessInfo> {
        // What the file started under names it no longer gives is stopped, not left
        // running beside its replacement.
        if !plan.replaced.is_empty() {
            let _ = self.stop(&plan.replaced);
        }
        if plan.plans.iter().any(|p| !p.spec.depends_on.is_empty()) {
            return self.restart_in_order(plan.plans);
        }
        plan.plans
            .into_iter()
            .map(|p| {
                let name = p.name.clone();
                let result = if self.store.exists(&name) {
                    self.stop(std::slice::from_ref(&name))
                        .pop()
                        .map_or(Ok(()), |(_, r)| r.map(|_| ()))
                        .and_then(|()| self.start_plan(p, true))
                } else {
                    self.start_planned(p)
                };
                (name, result)
            })
            .collect()
    }

    /// `restart FILE` of apps that depend on each other: all stopped (dependants first),
    /// then started as the file says, each once its dependencies meet their condition.
    fn restart_in_order(&self, plans: Vec<Plan>) -> Each<ProcessInfo> {
        let existing: Vec<Name> = plans
            .iter()
            .filter(|p| self.store.exists(&p.name))
            .map(|p| p.name.clone())
            .collect();
        let mut failed: Each<ProcessInfo> = self
            .stop(&existing)
            .into_iter()
            .filter(|(_, r)| r.is_err())
            .collect();
        let plans: Vec<Plan> = plans
            .into_iter()
            .filter(|p| !failed.iter().any(|(n, _)| n == &p.name))
            .collect();
        let started = self.start_in_order(plans, |p| {
            let again = existing.contains(&p.name);
            self.start_plan(p, again).map(|info| AppStart {
                info,
                unchanged: false,
            })
        });
        let mut out: Each<ProcessInfo> = started
            .into_iter()
            .map(|(n, r)| (n, r.map(|a| a.info)))
            .collect();
        out.append(&mut failed);
        out
    }

    /// The processes of a file's chosen apps that exist, for `stop`, `delete`, `reload`
    /// and `restart`. An app is found by what started it (each record keeps the file and
    /// the app's name in it), so a process the file names otherwise now (it reads a
    /// variable that changed) is still found; one the file no longer has is named in a
    /// warning and left alone. An app never started from this file (by an older tpm) is
    /// found by the name the file gives it now; one whose name cannot be worked out (its
    /// script is gone, say) is skipped with a warning: stopping what can be found beats
    /// stopping nothing.
    pub fn file_names(&self, file: &str, choice: &FileChoice) -> Result<(Vec<Name>, Vec<String>)> {
        let document = ecosystem::read(Path::new(file), &self.ctx)?;
        let path = document.path.to_string_lossy().into_owned();
        let started = self.started_from(&path);
        let mut names = Vec::new();
        let mut warnings = Vec::new();
        for app in chosen(&document, &choice.only)? {
            let written = written_name(app);
            let mut found = false;
            for (name, _) in started
                .iter()
                .filter(|(_, a)| written.is_some() && a.as_deref() == written)
            {
                found = true;
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            if found {
                continue;
            }
            match self.plan_app(&document, app, choice) {
                Ok(planned) => {
                    for plan in planned.plans {
                        if !self.store.exists(&plan.name) {
                            warnings.push(format!(
                                "{}: {} ({}) is not started",
                                document.path.display(),
                                app.label(),
                                plan.name
                            ));
                        } else if !names.contains(&plan.name) {
                            names.push(plan.name);
                        }
                    }
                }
                Err(e) => warnings.push(format!("{e}; skipped")),
            }
        }
        if choice.only.is_empty() {
            for (name, app) in &started {
                let in_file = app
                    .as_deref()
                    .is_some_and(|a| document.apps.iter().any(|d| written_name(d) == Some(a)));
                if !names.contains(name) && !in_file {
                    warnings.push(format!(
                        "{}: {name} was started from this file{}, which it no longer has: left as it is (`tpm stop {name}` acts on it)",
                        document.path.display(),
                        app.as_deref()
                            .map_or_else(String::new, |a| format!(" as app {a:?}")),
                    ));
                }
            }
        }
        Ok((names, warnings))
    }
}

/// An app's `name` as the file wrote it.
fn written_name(app: &RawApp) -> Option<&str> {
    app.fields
        .get("name")
        .and_then(serde_json::Value::as_str)
        .filter(|n| !n.is_empty())
}

/// The apps `--only` picks (all without it); a name in `--only` that no app has is an
/// error listing those there are.
fn chosen<'d>(document: &'d Document, only: &[String]) -> Result<Vec<&'d RawApp>> {
    if only.is_empty() {
        return Ok(document.apps.iter().collect());
    }
    for wanted in only {
        if !document.apps.iter().any(|a| picks(a, wanted)) {
            let labels: Vec<String> = document.apps.iter().map(RawApp::label).collect();
            return Err(Error::Ecosystem {
                file: document.path.clone(),
                app: None,
                line: None,
                message: format!(
                    "--only {wanted}: no app of that name (the apps: {})",
                    labels.join(", ")
                ),
            });
        }
    }
    Ok(document
        .apps
        .iter()
        .filter(|a| only.iter().any(|w| picks(a, w)))
        .collect())
}

/// Whether `--only wanted` picks `app`: its `name` as written or as its process is named
/// (`Test es6 modules`, `Test-es6-modules`), or that name with its port suffix.
fn picks(app: &RawApp, wanted: &str) -> bool {
    let label = app.label();
    let safe = crate::name::safe_name(&label);
    let picked = [Some(label.as_str()), safe.as_deref()]
        .into_iter()
        .flatten()
        .any(|name| {
            name == wanted
                || wanted
                    .strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|port| {
                        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                    })
        });
    picked
}

/// An error planning an app, said as the file's: which file, which app.
fn in_app(e: Error, document: &Document, app: &RawApp) -> Error {
    match e {
        Error::Ecosystem { .. } => e,
        other => Error::App {
            file: document.path.clone(),
            app: app.label(),
            source: Box::new(other),
        },
    }
}
