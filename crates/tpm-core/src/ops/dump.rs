//! `tpm dump`: the processes as an ecosystem file that `tpm start` reads back to the same
//! names, ports, commands, working directories and environments.
//!
//! Each spec is turned back into start options ([`Tpm::plan`]'s inverse) and written with
//! the start-option table's field names; options at their defaults are left out.

use serde_json::{Map, Value as Json};

use super::Tpm;
use crate::error::Result;
use crate::name::Name;
use crate::options::{Default, EnvItem, Opt, Options, Value, START_OPTIONS};
use crate::readiness::ReadyCheck;
use crate::secrets;
use crate::spec::Spec;
use crate::target::{interpreter_for, NO_INTERPRETER};

impl Tpm {
    /// The ecosystem document (`{"apps": [...]}`) of `names`, in order, for printing: the
    /// values of secret variables are masked (see `secrets`).
    pub fn dump(&self, names: &[Name]) -> Result<Json> {
        self.document(names, true)
    }

    /// The ecosystem document of `names`; `mask` hides the values of secrets. An app's
    /// instances among them are one app, with `instances` (as many as there are), written
    /// where the first of them stands.
    pub(super) fn document(&self, names: &[Name], mask: bool) -> Result<Json> {
        let mut apps: Vec<(Name, Spec, u32)> = Vec::with_capacity(names.len());
        for name in names {
            let mut spec = self.store.load(name)?.spec;
            if mask {
                spec.env = secrets::masked(&spec.env);
            }
            let Some(i) = spec.cluster.instance else {
                apps.push((name.clone(), spec, 0));
                continue;
            };
            let app_name = name
                .as_str()
                .strip_suffix(&format!("-{i}"))
                .and_then(|a| Name::parse(a).ok())
                .unwrap_or_else(|| name.clone());
            match apps
                .iter_mut()
                .find(|(n, s, _)| n == &app_name && s.cluster.instance.is_some())
            {
                Some((_, first, count)) => {
                    *count += 1;
                    // The app's spec is its lowest-numbered instance's.
                    if first.cluster.instance > Some(i) {
                        *first = spec;
                    }
                }
                None => apps.push((app_name, spec, 1)),
            }
        }
        let apps = apps
            .into_iter()
            .map(|(name, mut spec, count)| {
                if spec.cluster.instance.is_none() {
                    return Json::Object(app(&name, &spec));
                }
                spec.port = spec.base_port();
                let mut fields = app(&name, &spec);
                fields.insert(Opt::Instances.def().field.into(), Json::from(count));
                Json::Object(fields)
            })
            .collect::<Vec<Json>>();
        let mut doc = Map::new();
        doc.insert("apps".into(), Json::Array(apps));
        Ok(Json::Object(doc))
    }
}

/// One process as an app object: `name` and `script` first, then its options in the
/// table's order.
pub fn app(name: &Name, spec: &Spec) -> Map<String, Json> {
    let (script, options) = options_of(name, spec);
    let mut fields = Map::new();
    fields.insert("name".into(), Json::String(name.to_string()));
    fields.insert("script".into(), Json::String(script));
    for def in START_OPTIONS {
        if def.id == Opt::Name {
            continue;
        }
        match options.get(def.id) {
            // Written as pm2 files say it, and read back so.
            Some(Value::Bool(true)) if def.id == Opt::NoPort => {
                fields.insert(Opt::Port.def().field.into(), Json::Bool(false));
            }
            Some(value) => {
                fields.insert(def.field.into(), value.to_json());
            }
            None => {}
        }
    }
    // So that `tpm start` of the dump (and `resurrect`) starts them in order again.
    if !spec.depends_on.is_empty() {
        let deps: Map<String, Json> = spec
            .depends_on
            .iter()
            .map(|d| {
                let condition = serde_json::json!({ "condition": d.condition.as_str() });
                (d.name.clone(), condition)
            })
            .collect();
        fields.insert("depends_on".into(), Json::Object(deps));
    }
    fields
}

/// The target and options that plan back to `spec` under `name`.
///
/// A script is found in the command (after its interpreter and the interpreter's
/// arguments); anything else was a command string, written back as its program and
/// arguments.
pub fn options_of(name: &Name, spec: &Spec) -> (String, Options) {
    let mut o = Options::new();
    let script_at = spec
        .cmd
        .iter()
        .position(|c| c == &spec.script && c.starts_with('/'));
    let target = match script_at {
        Some(i) => {
            match i {
                0 if interpreter_for(std::path::Path::new(&spec.script)).is_some() => {
                    o.set(Opt::Interpreter, Value::Text(NO_INTERPRETER.into()))
                }
                0 => {}
                // The interpreter its extension picks goes without saying.
                1 if interpreter_for(std::path::Path::new(&spec.script))
                    == Some(spec.cmd[0].as_str()) => {}
                _ => {
                    o.set(Opt::Interpreter, Value::Text(spec.cmd[0].clone()));
                    if i > 1 {
                        o.set(Opt::InterpreterArgs, Value::Words(spec.cmd[1..i].to_vec()));
                    }
                }
            }
            if spec.cmd.len() > i + 1 {
                o.set(Opt::Args, Value::Words(spec.cmd[i + 1..].to_vec()));
            }
            spec.script.clone()
        }
        None => {
            if spec.cmd.len() > 1 {
                o.set(Opt::Args, Value::Words(spec.cmd[1..].to_vec()));
            }
            spec.cmd.first().cloned().unwrap_or_default()
        }
    };
    o.set(Opt::Name, Value::Text(name.to_string()));
    match spec.port {
        Some(port) => o.set(Opt::Port, Value::Port(port)),
        None => o.set(Opt::NoPort, Value::Bool(true)),
    }
    o.set(Opt::Cwd, Value::Dir(spec.cwd.clone().into()));
    if !spec.env.is_empty() {
        o.set(
            Opt::Env,
            Value::Env(
                spec.env
                    .iter()
                    .map(|(k, v)| EnvItem::Var(k.clone(), v.clone()))
                    .collect(),
            ),
        );
    }
    let p = &spec.policy;
    let l = &spec.logs;
    for (opt, value) in [
        (Opt::Autorestart, Value::Bool(p.autorestart)),
        (Opt::MaxRestarts, Value::Count(p.max_restarts)),
        (Opt::RestartDelay, Value::Millis(p.restart_delay)),
        (Opt::KillTimeout, Value::Millis(p.kill_timeout)),
        (Opt::MinUptime, Value::Millis(p.min_uptime)),
        (Opt::MaxMemory, Value::Size(p.max_memory)),
        (Opt::MaxLogSize, Value::Size(l.max_size)),
        (Opt::LogKeep, Value::Count(l.keep)),
        (Opt::PortStep, Value::Count(spec.cluster.port_step)),
        (Opt::Socket, Value::Bool(spec.cluster.socket)),
        (Opt::LogCompress, Value::Bool(l.compress)),
        (Opt::LogMaxAge, Value::Millis(l.max_age)),
        (Opt::LogMaxTotal, Value::Size(l.max_total)),
    ] {
        if !is_default(opt, &value) {
            o.set(opt, value);
        }
    }
    for (opt, var) in [
        (Opt::InstanceVar, &spec.cluster.instance_var),
        (Opt::IncrementVar, &spec.cluster.increment_var),
    ] {
        if let Some(var) = var {
            o.set(opt, Value::Text(var.clone()));
        }
    }
    for (opt, discard) in [
        (Opt::OutFile, spec.discard.out),
        (Opt::ErrorFile, spec.discard.err),
    ] {
        if discard {
            o.set(opt, Value::Text("/dev/null".into()));
        }
    }
    if p.stop_signal != crate::policy::DEFAULT_STOP_SIGNAL {
        o.set(Opt::StopSignal, Value::Signal(p.stop_signal));
    }
    if !p.stop_exit_codes.is_empty() {
        o.set(Opt::StopExitCodes, Value::Codes(p.stop_exit_codes));
    }
    if let Some(w) = &spec.watch {
        o.set(Opt::Watch, Value::Paths(w.paths.clone()));
        if !w.ignore.is_empty() {
            o.set(Opt::WatchIgnore, Value::Paths(w.ignore.clone()));
        }
    }
    if let Some(expr) = &spec.cron_restart {
        o.set(Opt::CronRestart, Value::Text(expr.clone()));
    }
    let r = &spec.ready;
    match &r.check {
        ReadyCheck::Port => {}
        ReadyCheck::Line(re) => o.set(Opt::ReadyLine, Value::Text(re.clone())),
        ReadyCheck::Http(path) => o.set(Opt::ReadyHttp, Value::Text(path.clone())),
        ReadyCheck::None => o.set(Opt::ReadyCheck, Value::Bool(false)),
        ReadyCheck::Notify => o.set(Opt::ReadyNotify, Value::Bool(true)),
    }
    for (opt, value) in [
        (Opt::Wait, Value::Bool(r.wait)),
        (Opt::WaitTimeout, Value::Millis(r.wait_timeout)),
    ] {
        if !is_default(opt, &value) {
            o.set(opt, value);
        }
    }
    if let Some(every) = l.every {
        o.set(Opt::LogRotate, Value::Text(every.as_str().into()));
    }
    if let Some(w) = spec.watchdog {
        o.set(Opt::Watchdog, Value::Millis(w));
    }
    if let Some(h) = &spec.health {
        use crate::health::{HealthAction, HealthCheck};
        match &h.check {
            HealthCheck::Http(path) => o.set(Opt::HealthHttp, Value::Text(path.clone())),
            HealthCheck::Tcp => o.set(Opt::HealthTcp, Value::Bool(true)),
            HealthCheck::Cmd(cmd) => o.set(Opt::HealthCmd, Value::Text(cmd.clone())),
        }
        for (opt, value) in [
            (Opt::HealthInterval, Value::Millis(h.interval)),
            (Opt::HealthTimeout, Value::Millis(h.timeout)),
            (Opt::HealthRetries, Value::Count(h.retries)),
            (Opt::HealthStartPeriod, Value::Millis(h.start_period)),
        ] {
            if !is_default(opt, &value) {
                o.set(opt, value);
            }
        }
        if h.action == HealthAction::Mark {
            o.set(Opt::HealthAction, Value::Text("mark".into()));
        }
    }
    (target, o)
}

fn is_default(opt: Opt, value: &Value) -> bool {
    match (opt.def().default, value) {
        (Default::Bool(d), Value::Bool(v)) => d == *v,
        (Default::Count(d), Value::Count(v)) => d == *v,
        (Default::Millis(d), Value::Millis(v)) => d == *v,
        (Default::Size(d), Value::Size(v)) => d == *v,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::spec::Spec;

    fn spec(script: &str, cmd: &[&str]) -> Spec {
        Spec::new(
            script.into(),
            cmd.iter().map(|s| s.to_string()).collect(),
            "/srv".into(),
            Some(3000),
        )
    }

    #[test]
    fn scripts_come_back_with_their_interpreter_and_arguments() {
        let name = Name::parse("api-3000").unwrap();
        let s = spec(
            "/srv/app.js",
            &["node", "--inspect", "/srv/app.js", "--verbose"],
        );
        let (target, o) = options_of(&name, &s);
        assert_eq!(target, "/srv/app.js");
        assert_eq!(o.text(Opt::Interpreter), Some("node"));
        assert_eq!(
            o.words(Opt::InterpreterArgs),
            Some(&["--inspect".to_string()][..])
        );
        assert_eq!(o.words(Opt::Args), Some(&["--verbose".to_string()][..]));
        // Run directly although its extension has an interpreter: said, so it stays so.
        let (_, o) = options_of(&name, &spec("/srv/run.sh", &["/srv/run.sh"]));
        assert_eq!(o.text(Opt::Interpreter), Some("none"));
    }

    #[test]
    fn commands_come_back_as_program_and_arguments() {
        let name = Name::parse("web-7777").unwrap();
        let s = spec(
            "python3 -m http.server 7777",
            &["python3", "-m", "http.server", "7777"],
        );
        let (target, o) = options_of(&name, &s);
        assert_eq!(target, "python3");
        assert_eq!(o.words(Opt::Args).map(<[String]>::len), Some(3));
        assert_eq!(o.text(Opt::Interpreter), None);
    }

    #[test]
    fn only_options_off_their_defaults_are_written() {
        let name = Name::parse("w-1").unwrap();
        let mut s = spec("sleep 9", &["sleep", "9"]);
        s.policy.kill_timeout = Duration::from_millis(500);
        s.env = vec![("A".into(), "1".into())];
        let fields = app(&name, &s);
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "name",
                "script",
                "port",
                "cwd",
                "env",
                "args",
                "kill_timeout"
            ]
        );
        assert_eq!(fields["kill_timeout"], 500);
    }

    #[test]
    fn a_liveness_check_and_the_watchdog_are_written_back() {
        use crate::health::{Health, HealthAction, HealthCheck};
        let name = Name::parse("w-1").unwrap();
        let mut s = spec("sleep 9", &["sleep", "9"]);
        let mut h = Health::new(HealthCheck::Http("/healthz".into()));
        h.retries = 5;
        h.action = HealthAction::Mark;
        s.health = Some(h);
        s.watchdog = Some(Duration::from_secs(30));
        s.ready.check = ReadyCheck::Notify;
        let fields = app(&name, &s);
        assert_eq!(fields["health_http"], "/healthz");
        assert_eq!(fields["health_retries"], 5);
        assert_eq!(fields["health_action"], "mark");
        assert_eq!(fields["ready_notify"], true);
        assert!(
            fields.get("health_interval").is_none(),
            "a default: {fields:?}"
        );
        assert!(fields.contains_key("watchdog"), "{fields:?}");
        // And the record keeps them, read back whole.
        let mut r = crate::record::Record::new(s.clone());
        r.state.health = Some(crate::health::HealthState::Unhealthy);
        r.state.health_failures = 5;
        r.state.notify_status = Some("serving 3 queues".into());
        let back = crate::record::Record::parse(&r.to_line("w-1")).unwrap();
        assert_eq!(back.spec, s);
        assert_eq!(back.state.health, r.state.health);
        assert_eq!(back.state.health_failures, 5);
        assert_eq!(
            back.state.notify_status.as_deref(),
            Some("serving 3 queues")
        );
    }
}
