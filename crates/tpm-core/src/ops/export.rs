//! `tpm export`: which apps, with what they run with, for `export::render`.

use super::{FileChoice, Tpm};
use crate::error::Result;
use crate::export::App;
use crate::name::Name;

impl Tpm {
    /// The apps `selectors` name (all processes when empty): processes of the store, with
    /// the PATH kept from their start, and the apps of ecosystem files, planned (not
    /// started) with the caller's PATH. Each once, in order; the warnings are the files'.
    pub fn export_apps(
        &self,
        selectors: &[String],
        choice: &FileChoice,
    ) -> Result<(Vec<App>, Vec<String>)> {
        self.check_file_flags(selectors, choice)?;
        let all = [super::ALL.to_string()];
        let selectors = if selectors.is_empty() {
            &all[..]
        } else {
            selectors
        };
        let caller_path = self
            .ctx
            .var("PATH")
            .and_then(|p| p.to_str())
            .map(str::to_string);
        let mut apps: Vec<App> = Vec::new();
        let mut warnings = Vec::new();
        let add = |apps: &mut Vec<App>, app: App| {
            if !apps.iter().any(|a| a.name == app.name) {
                apps.push(app);
            }
        };
        for selector in selectors {
            // A process's own name comes first, as everywhere (see `Tpm::select`).
            if self.is_ecosystem_file(selector)
                && !Name::parse(selector).is_ok_and(|n| self.store.exists(&n))
            {
                let plan = self.plan_file(selector, choice)?;
                warnings.extend(plan.warnings);
                for p in plan.plans {
                    add(
                        &mut apps,
                        App {
                            name: p.name,
                            spec: p.spec,
                            path: caller_path.clone(),
                            instances: 1,
                        },
                    );
                }
                continue;
            }
            for name in self.resolve(std::slice::from_ref(selector))? {
                let spec = self.store.load(&name)?.spec;
                let path = self
                    .store
                    .read_env(&name)
                    .and_then(|env| {
                        env.into_iter()
                            .find(|(k, _)| k == "PATH")
                            .and_then(|(_, v)| v.into_string().ok())
                    })
                    .or_else(|| caller_path.clone());
                add(
                    &mut apps,
                    App {
                        name,
                        spec,
                        path,
                        instances: 1,
                    },
                );
            }
        }
        Ok((one_per_app(apps), warnings))
    }
}

/// An app's instances as one app (its lowest-numbered instance's spec, on the app's PORT,
/// named without the number), counted, where its first instance stands.
fn one_per_app(apps: Vec<App>) -> Vec<App> {
    let mut out: Vec<App> = Vec::with_capacity(apps.len());
    for mut app in apps {
        let Some(i) = app.spec.cluster.instance else {
            out.push(app);
            continue;
        };
        let app_name = app
            .name
            .as_str()
            .strip_suffix(&format!("-{i}"))
            .and_then(|n| Name::parse(n).ok())
            .unwrap_or_else(|| app.name.clone());
        match out
            .iter_mut()
            .find(|a| a.name == app_name && a.spec.cluster.instance.is_some())
        {
            Some(first) => {
                first.instances += 1;
                if first.spec.cluster.instance > Some(i) {
                    app.spec.port = app.spec.base_port();
                    first.spec = app.spec;
                    first.path = app.path;
                }
            }
            None => {
                app.spec.port = app.spec.base_port();
                app.name = app_name;
                out.push(app);
            }
        }
    }
    out
}
