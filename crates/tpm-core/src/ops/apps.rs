//! Ecosystem files as commands see them: `tpm start|restart|stop|delete FILE`.
//!
//! Starting is all or nothing: every app of the file is planned (the file parses, names
//! are valid and unique, scripts exist, ports are found) before any starts, so a bad file
//! starts nothing and leaves every record as it was. `start FILE` leaves the apps already
//! running as they are (pm2 restarts them all); `restart FILE` reads the file again, so an
//! edited env, args or script takes effect.

use std::path::Path;

use super::plan::Plan;
use super::{Each, Tpm};
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

    /// Reads `file` and plans every chosen app, touching nothing. The first problem, in
    /// the file or in any app, is the error.
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
        let mut plans: Vec<Plan> = Vec::with_capacity(apps.len());
        let mut labels: Vec<String> = Vec::with_capacity(apps.len());
        let mut sections_seen = Vec::new();
        for app in apps {
            let (app_plans, app_warnings, sections) = self.plan_app(&document, app, choice)?;
            warnings.extend(app_warnings);
            sections_seen.extend(sections);
            for mut plan in app_plans {
                warnings.extend(
                    std::mem::take(&mut plan.warnings)
                        .into_iter()
                        .map(|w| format!("{}: {}: {w}", document.path.display(), app.label())),
                );
                if let Some(twin) = plans.iter().position(|p| p.name == plan.name) {
                    return Err(Error::Ecosystem {
                        file: document.path.clone(),
                        app: Some(app.label()),
                        line: None,
                        message: format!(
                            "it would be named {}, like {}; give one of them another `name` or `port`",
                            plan.name, labels[twin]
                        ),
                    });
                }
                plans.push(plan);
                labels.push(app.label());
            }
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

    /// One app's plans (one per instance), its warnings and the `env_` sections it has.
    fn plan_app(
        &self,
        document: &Document,
        app: &RawApp,
        choice: &FileChoice,
    ) -> Result<(Vec<Plan>, Vec<String>, Vec<String>)> {
        let mut read = ecosystem::request(&document.path, &document.dir, app, &choice.env_names)?;
        for (opt, value) in choice.overrides.iter() {
            read.request.options.set(opt, value.clone());
        }
        read.request.force = choice.force;
        let plan = self
            .plans(&read.request)
            .map_err(|e| in_app(e, document, app))?;
        Ok((plan, read.warnings, read.env_sections))
    }

    /// `tpm start FILE`: starts the apps that are not running; those that are stay as
    /// they are.
    pub fn start_file(&self, plan: FilePlan) -> Each<AppStart> {
        plan.plans
            .into_iter()
            .map(|p| {
                let name = p.name.clone();
                let result = match self.start_planned(p) {
                    Ok(info) => Ok(AppStart {
                        info,
                        unchanged: false,
                    }),
                    Err(Error::AlreadyRunning { .. }) => self.info(&name).map(|info| AppStart {
                        info,
                        unchanged: true,
                    }),
                    Err(e) => Err(e),
                };
                (name, result)
            })
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
                Ok((plans, _, _)) => {
                    for plan in plans {
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
