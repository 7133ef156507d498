//! `tpm export`: the same apps, as files a bigger engine runs: systemd units, a Nomad job, a
//! compose file, Kubernetes manifests. Each file is rendered from the apps' [`Spec`]s alone,
//! so the CLI and the Nushell plugin share one mapping ([`render`]), and `-o DIR` writes
//! through [`write`], which never replaces a file tpm did not write.
//!
//! What every engine gets, decided once here:
//! - **argv**: the spec's `cmd`, exactly. Engines that run on the host (systemd, Nomad's
//!   `raw_exec`) get the program as an absolute path, found on the app's PATH (below);
//!   container engines keep it as stored, for the image's own PATH to find.
//! - **environment**: the spec's variables (what `--env` and an app's `env` set), then
//!   `PORT` (the spec's port, as a supervisor sets it last; none for a process without
//!   one) and `TPM_NAME` (the name, which the app keeps elsewhere). `TPM_ID` and `TPM_SUPERVISOR` are left out: they
//!   point into tpm's store and at its supervisor, which are not there.
//! - **the captured environment** (`envs/NAME.env`, the shell's whole environment at start)
//!   is not exported: it holds whatever the shell had (credentials among it), and an engine
//!   gives its own. Only its `PATH` is, to the host engines: programs are found through it,
//!   by the process as by tpm, and systemd's and Nomad's default PATHs are short. A PATH the
//!   spec sets wins, as it does under tpm. Containers get none: the image has its own.
//! - **secrets** (`secrets::is_secret`) are never written: each engine gets a placeholder in
//!   its own way of handing secrets in, and [`Export::notes`] says what to fill in, where.
//! - **instances**: an app's instances (`NAME-PORT-0` ...) are one app with a count
//!   ([`App::instances`]): Kubernetes' `replicas`, Nomad's `count`. systemd and compose
//!   get one unit or service, and a note saying so (their copies would fight over the
//!   PORT, which tpm shares between instances with SO_REUSEPORT).
//!
//! The mapping of the restart policy and of stopping is each engine's module comment.

mod compose;
mod hcl;
mod kubernetes;
mod nomad;
pub mod systemd;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::name::Name;
use crate::secrets;
use crate::spec::Spec;
use crate::supervisor::ENV_NAME;
use crate::target::which;

/// What every file `tpm export` writes contains (a comment, or the Nomad job's `Meta` in
/// JSON): how [`write`] knows a file it may replace.
pub const MARKER: &str = "written by tpm export";

/// The name of the whole set: the systemd target, the Nomad job, the compose project.
pub const SET: &str = "tpm-apps";

/// The engines tpm exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Systemd,
    Nomad,
    Compose,
    Kubernetes,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Systemd => "systemd",
            Engine::Nomad => "nomad",
            Engine::Compose => "compose",
            Engine::Kubernetes => "kubernetes",
        }
    }

    /// Whether it runs the apps on a host, as tpm does (rather than in containers).
    fn on_host(self) -> bool {
        matches!(self, Engine::Systemd | Engine::Nomad)
    }
}

/// systemd units for the user's manager or the system's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnitScope {
    /// `systemctl --user`: the apps run as you, as under tpm.
    #[default]
    User,
    /// System units (`/etc/systemd/system`), with `User=` set to the user tpm runs as.
    System,
}

/// Nomad's two ways of reading a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NomadFormat {
    /// A job file (`nomad job run tpm-apps.nomad.hcl`).
    #[default]
    Hcl,
    /// The HTTP API's JSON (`nomad job run -json`, or `POST /v1/jobs`).
    Json,
}

/// How to export, besides the apps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportOptions {
    /// The container image (compose, Kubernetes): required there.
    pub image: Option<String>,
    pub scope: UnitScope,
    /// The major version of the systemd that will run the units (`systemd --version`);
    /// `None` when unknown: only settings older systemd versions know are written.
    pub systemd_version: Option<u32>,
    /// The user system units run as (`User=`); `None`: root's.
    pub user: Option<String>,
    pub nomad_format: NomadFormat,
}

/// What a front end was asked, before it becomes [`ExportOptions`]: the flags as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Asked {
    pub image: Option<String>,
    /// `--user` was given (the default for systemd anyway).
    pub user: bool,
    /// `--system`.
    pub system: bool,
    pub systemd_version: Option<u32>,
    /// `--format`: `Some` when given.
    pub nomad_format: Option<NomadFormat>,
}

impl ExportOptions {
    /// The options for `engine` from what was asked; a flag meant for another engine is a
    /// usage error (a silent no-op would hide a mistake). systemd's version defaults to
    /// this machine's, and system units run as the caller.
    pub fn from_asked(engine: Engine, asked: &Asked, ctx: &Context) -> Result<ExportOptions> {
        let given: [(&str, bool, &[Engine]); 5] = [
            (
                "--image",
                asked.image.is_some(),
                &[Engine::Compose, Engine::Kubernetes],
            ),
            ("--user", asked.user, &[Engine::Systemd]),
            ("--system", asked.system, &[Engine::Systemd]),
            (
                "--systemd-version",
                asked.systemd_version.is_some(),
                &[Engine::Systemd],
            ),
            ("--format", asked.nomad_format.is_some(), &[Engine::Nomad]),
        ];
        for (flag, set, engines) in given {
            if set && !engines.contains(&engine) {
                let names: Vec<&str> = engines.iter().map(|e| e.as_str()).collect();
                return Err(crate::error::Error::Usage(format!(
                    "{flag} is for tpm export {}, not {}",
                    names.join(" and "),
                    engine.as_str()
                )));
            }
        }
        if asked.user && asked.system {
            return Err(crate::error::Error::Usage(
                "--user and --system: give one (user units are the default)".into(),
            ));
        }
        let scope = if asked.system {
            UnitScope::System
        } else {
            UnitScope::User
        };
        let systemd = engine == Engine::Systemd;
        Ok(ExportOptions {
            image: asked.image.clone(),
            scope,
            systemd_version: asked
                .systemd_version
                .or_else(|| systemd.then(|| systemd::installed_version(ctx)).flatten()),
            user: (systemd && scope == UnitScope::System)
                .then(|| current_user(ctx))
                .flatten(),
            nomad_format: asked.nomad_format.unwrap_or_default(),
        })
    }
}

impl Engine {
    /// The engine a front end names (`systemd`, `nomad`, `compose`, `kubernetes`).
    pub fn parse(name: &str) -> Option<Engine> {
        [
            Engine::Systemd,
            Engine::Nomad,
            Engine::Compose,
            Engine::Kubernetes,
        ]
        .into_iter()
        .find(|e| e.as_str() == name)
    }
}

/// One app to export.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub name: Name,
    pub spec: Spec,
    /// The PATH it runs with under tpm (from the environment kept at its start, else the
    /// caller's): host engines find its program with it, and give it to the process.
    pub path: Option<String>,
    /// How many copies run (an app's instances; 1 for a process without).
    pub instances: u32,
}

/// One file of an export: its name (relative; where `-o DIR` puts it) and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportFile {
    pub path: PathBuf,
    pub text: String,
}

/// What an export made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Export {
    pub files: Vec<ExportFile>,
    /// What the user must do or know (secrets to fill in, programs not found): for stderr.
    pub notes: Vec<String>,
}

/// The files `engine` runs `apps` from.
pub fn render(engine: Engine, apps: &[App], options: &ExportOptions) -> Result<Export> {
    if apps.is_empty() {
        return Err(Error::Usage(format!(
            "nothing to export to {}: no process or app was selected",
            engine.as_str()
        )));
    }
    let mut notes = Vec::new();
    let mut prepared: Vec<Prepared> = apps
        .iter()
        .map(|app| Prepared::new(app, engine, &mut notes))
        .collect();
    for i in 0..prepared.len() {
        prepared[i].depends_on = dependencies(&prepared, i, engine, &mut notes);
    }
    let files = match engine {
        Engine::Systemd => systemd::render(&prepared, options, &mut notes)?,
        Engine::Nomad => nomad::render(&prepared, options, &mut notes)?,
        Engine::Compose => compose::render(&prepared, image(engine, options)?, &mut notes)?,
        Engine::Kubernetes => kubernetes::render(&prepared, image(engine, options)?, &mut notes)?,
    };
    Ok(Export { files, notes })
}

/// The apps of the export that `apps[i]` depends on, by their exported names (an
/// instance's dependency is its app), each once. A dependency left out of the export is a
/// note: the engine would not know to wait for it.
fn dependencies(
    apps: &[Prepared],
    i: usize,
    engine: Engine,
    notes: &mut Vec<String>,
) -> Vec<(String, crate::depends::Condition)> {
    let mut out: Vec<(String, crate::depends::Condition)> = Vec::new();
    for dep in &apps[i].spec.depends_on {
        let found = apps.iter().find(|a| {
            a.name.as_str() == dep.name
                || (a.instances > 1
                    && crate::name::split_instance(&dep.name)
                        .is_some_and(|(base, _)| base == a.name.as_str()))
        });
        match found {
            Some(a) if !out.iter().any(|(n, _)| n == a.name.as_str()) => {
                out.push((a.name.to_string(), dep.condition))
            }
            Some(_) => {}
            None => notes.push(format!(
                "{}: it depends on {} ({}), which is not exported with it: {} will not wait for it",
                apps[i].name,
                dep.name,
                dep.condition,
                engine.as_str()
            )),
        }
    }
    out
}

fn image(engine: Engine, options: &ExportOptions) -> Result<&str> {
    match options.image.as_deref().map(str::trim) {
        Some(image) if !image.is_empty() => Ok(image),
        // A usage error, not a variant of its own: every front end renders it already.
        _ => Err(Error::Usage(format!(
            "{e} runs containers, so `tpm export {e}` needs --image IMAGE: an image that holds the apps' programs and files at the paths tpm runs them from",
            e = engine.as_str()
        ))),
    }
}

/// An app as every engine writes it: argv, public variables, the names of its secrets.
struct Prepared<'a> {
    name: &'a Name,
    spec: &'a Spec,
    argv: Vec<String>,
    /// Variables to write, in order: the spec's (secrets left out), then PATH (host
    /// engines, unless the spec sets it), PORT and TPM_NAME.
    env: Vec<(String, String)>,
    /// Variables whose values must not be written: the user fills them in.
    secrets: Vec<String>,
    /// How many copies run.
    instances: u32,
    /// The exported apps it depends on (`depends_on`), by their names here, with the
    /// condition tpm waits for (see [`Prepared::depends_on`]).
    depends_on: Vec<(String, crate::depends::Condition)>,
}

impl<'a> Prepared<'a> {
    fn new(app: &'a App, engine: Engine, notes: &mut Vec<String>) -> Prepared<'a> {
        let spec = &app.spec;
        let mut env: Vec<(String, String)> = Vec::new();
        let mut secrets_found: Vec<String> = Vec::new();
        let set = |env: &mut Vec<(String, String)>, k: &str, v: &str| {
            env.retain(|(key, _)| key != k);
            env.push((k.to_string(), v.to_string()));
        };
        for (k, v) in &spec.env {
            if secrets::is_secret(k) {
                if !secrets_found.contains(k) {
                    secrets_found.push(k.clone());
                }
            } else {
                set(&mut env, k, v);
            }
        }
        let path = spec
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .or_else(|| app.path.clone());
        if engine.on_host() && !env.iter().any(|(k, _)| k == "PATH") {
            if let Some(path) = &path {
                set(&mut env, "PATH", path);
            }
        }
        if let Some(port) = spec.port {
            set(&mut env, "PORT", &port.to_string());
        }
        set(&mut env, ENV_NAME, app.name.as_str());
        let mut argv = spec.cmd.clone();
        if engine.on_host() {
            if let Some(program) = argv.first_mut() {
                if !program.contains('/') {
                    match path.as_deref().and_then(|p| find(program, p, &spec.cwd)) {
                        Some(found) => *program = found,
                        None => notes.push(format!(
                            "{}: `{program}` is not on its PATH here; the file names it as it is, for {} to find",
                            app.name,
                            engine.as_str()
                        )),
                    }
                }
            }
        }
        let step = spec.cluster.port_step;
        let port = spec.port.unwrap_or_default();
        if app.instances > 1
            && spec.port.is_none()
            && matches!(engine, Engine::Systemd | Engine::Compose)
        {
            notes.push(format!(
                "{}: {} instances under tpm; {} gets one: run more copies of it if it needs them",
                app.name,
                app.instances,
                engine.as_str()
            ));
        } else if spec.port.is_none() {
            // A worker: its copies share nothing that could collide.
        } else if app.instances > 1 && matches!(engine, Engine::Systemd | Engine::Compose) {
            notes.push(if step == 0 {
                format!(
                    "{}: {} instances under tpm; {} gets one (copies would each bind port {}): run more where the PORT is free",
                    app.name,
                    app.instances,
                    engine.as_str(),
                    port
                )
            } else {
                format!(
                    "{}: {} instances under tpm, on ports {} and on, {step} apart; {} gets the first, on port {}",
                    app.name,
                    app.instances,
                    port,
                    engine.as_str(),
                    port
                )
            });
        } else if app.instances > 1 && step > 0 {
            notes.push(format!(
                "{}: its {} instances have ports {step} apart under tpm ({} and on); here every copy gets PORT {}, each in its own {}",
                app.name,
                app.instances,
                port,
                port,
                if engine == Engine::Nomad {
                    "allocation (two on one client would collide: give the group a dynamic port, or a constraint distinct_hosts)"
                } else {
                    "pod"
                }
            ));
        }
        Prepared {
            name: &app.name,
            spec,
            argv,
            env,
            secrets: secrets_found,
            instances: app.instances,
            depends_on: Vec::new(),
        }
    }

    fn policy(&self) -> &crate::policy::Policy {
        &self.spec.policy
    }
}

/// The user this process runs as (system units run the apps as that user, as tpm does).
pub fn current_user(ctx: &Context) -> Option<String> {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => Some(user.name),
        _ => ctx
            .var("USER")
            .and_then(|u| u.to_str())
            .map(str::to_string)
            .or_else(|| Some(uid.to_string())),
    }
}

/// What to run once the files are in `dir`, to hand the apps over.
pub fn next_steps(engine: Engine, options: &ExportOptions, dir: &Path) -> Vec<String> {
    let d = dir.display();
    let stop = "tpm stop the same apps first: they use the same ports".to_string();
    match engine {
        Engine::Systemd => {
            let (ctl, units) = match options.scope {
                UnitScope::User => ("systemctl --user", "~/.config/systemd/user"),
                UnitScope::System => ("sudo systemctl", "/etc/systemd/system"),
            };
            let mut steps = vec![stop];
            // Exported straight into a folder systemd reads: nothing to copy.
            if !dir.ends_with("systemd/user") && !dir.ends_with("systemd/system") {
                steps.push(format!("copy them to {units} (or export there with -o)"));
            }
            steps.push(format!(
                "{ctl} daemon-reload && {ctl} enable --now {SET}.target"
            ));
            steps
        }
        Engine::Nomad => {
            let file = match options.nomad_format {
                NomadFormat::Hcl => format!("nomad job run {d}/{SET}.nomad.hcl"),
                NomadFormat::Json => format!("nomad job run -json {d}/{SET}.nomad.json"),
            };
            vec![stop, file]
        }
        Engine::Compose => vec![stop, format!("docker compose -f {d}/compose.yaml up -d")],
        Engine::Kubernetes => vec![format!("kubectl apply -f {d}/{SET}.yaml")],
    }
}

/// `program` on `path` (relative PATH entries from `cwd`, as the process would see them).
fn find(program: &str, path: &str, cwd: &str) -> Option<String> {
    let ctx = Context {
        env: vec![("PATH".into(), path.into())],
        cwd: PathBuf::from(cwd),
    };
    which(program, &ctx).and_then(|p| p.to_str().map(str::to_string))
}

/// A duration as Go, systemd and compose all read it: `3s`, `1500ms`, `0s`.
fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Writes `files` into `dir` (created if needed). A file that exists and was not written
/// by `tpm export` (it lacks [`MARKER`]) is never replaced unless `force`; nothing is
/// written then. Each file is written atomically. Returns the paths written.
pub fn write(dir: &Path, files: &[ExportFile], force: bool) -> Result<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(&f.path)).collect();
    if !force {
        for path in &paths {
            match fs::read(path) {
                Ok(bytes) if !String::from_utf8_lossy(&bytes).contains(MARKER) => {
                    return Err(Error::Usage(format!(
                        "{} exists and was not written by tpm export: export into another folder, move it away, or give --force to replace it",
                        path.display()
                    )))
                }
                _ => {}
            }
        }
    }
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    for (file, path) in files.iter().zip(&paths) {
        write_file(path, file.text.as_bytes())?;
    }
    Ok(paths)
}

/// Like `store::write_atomic`, but readable by the engines' own users (units are read by
/// systemd, manifests by others): 0644, as an editor would leave it.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tpm-tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(fs::Permissions::from_mode(0o644))?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("cannot write", path, e));
    }
    Ok(())
}

/// The longest DNS label (RFC 1123): a Kubernetes object's name, a Nomad service's.
const MAX_NAME: usize = 63;

/// `name` as a DNS label: lowercase letters, digits and `-`, beginning with a letter.
pub(super) fn dns_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "tpm-");
    }
    out.truncate(MAX_NAME);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// `db (ready), cache (started)`: dependencies as a note or an annotation says them.
pub(super) fn said(deps: &[(String, crate::depends::Condition)]) -> String {
    deps.iter()
        .map(|(n, c)| format!("{n} ({c})"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn app(name: &str, cmd: &[&str], env: &[(&str, &str)]) -> App {
        let name = Name::parse(name).unwrap();
        let mut spec = Spec::new(
            cmd.join(" "),
            cmd.iter().map(|s| s.to_string()).collect(),
            "/srv/app dir".into(),
            Some(
                name.as_str()
                    .rsplit('-')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(3000),
            ),
        );
        spec.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        App {
            name,
            spec,
            path: Some("/usr/bin:/bin".into()),
            instances: 1,
        }
    }

    #[test]
    fn the_environment_has_port_and_name_and_no_secret() {
        let a = app(
            "web-7777",
            &["sh", "-c", "exit 0"],
            &[
                ("PORT", "1"),
                ("DB_PASSWORD", "hunter2"),
                ("GREETING", "hi"),
            ],
        );
        let mut notes = Vec::new();
        let p = Prepared::new(&a, Engine::Systemd, &mut notes);
        assert_eq!(p.argv[0], "/usr/bin/sh");
        let keys: Vec<&str> = p.env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["GREETING", "PATH", "PORT", "TPM_NAME"]);
        assert!(p.env.contains(&("PORT".into(), "7777".into())));
        assert_eq!(p.secrets, ["DB_PASSWORD"]);
        // Containers keep the program for the image's PATH, and get no PATH of ours.
        let p = Prepared::new(&a, Engine::Compose, &mut notes);
        assert_eq!(p.argv[0], "sh");
        assert!(!p.env.iter().any(|(k, _)| k == "PATH"));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn durations_read_the_same_everywhere() {
        assert_eq!(duration(Duration::from_millis(100)), "100ms");
        assert_eq!(duration(Duration::from_millis(3000)), "3s");
        assert_eq!(duration(Duration::ZERO), "0s");
    }

    #[test]
    fn compose_and_kubernetes_need_an_image() {
        let apps = [app("web-7777", &["sh"], &[])];
        for engine in [Engine::Compose, Engine::Kubernetes] {
            let err = render(engine, &apps, &ExportOptions::default()).unwrap_err();
            assert!(err.to_string().contains("--image"), "{err}");
            assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        }
    }

    #[test]
    fn files_tpm_did_not_write_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let files = [ExportFile {
            path: "a.service".into(),
            text: format!("# {MARKER}\n"),
        }];
        write(dir.path(), &files, false).unwrap();
        // Its own file, it replaces.
        write(dir.path(), &files, false).unwrap();
        fs::write(dir.path().join("a.service"), "mine\n").unwrap();
        let err = write(dir.path(), &files, false).unwrap_err();
        assert!(
            err.to_string().contains("not written by tpm export"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("a.service")).unwrap(),
            "mine\n"
        );
        write(dir.path(), &files, true).unwrap();
        assert!(fs::read_to_string(dir.path().join("a.service"))
            .unwrap()
            .contains(MARKER));
    }
}
