//! `tpm scale APP N|+N|-N`: more or fewer instances of an app.
//!
//! New instances are copies of the app's lowest-numbered one (its spec, and the environment
//! it was started in), taking the lowest free numbers; the highest-numbered instances are
//! the ones removed (stopped and deleted), as pm2 does.

use serde::Serialize;

use super::plan::{instance_plan, Plan};
use super::{Each, Tpm};
use crate::error::{Error, Result};
use crate::info::ProcessInfo;
use crate::name::Name;
use crate::options::MAX_INSTANCES;

/// How many instances an app should have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleTo {
    /// `N`.
    Exactly(u32),
    /// `+N`.
    More(u32),
    /// `-N`.
    Fewer(u32),
}

impl ScaleTo {
    /// `3`, `+2`, `-1`.
    pub fn parse(raw: &str) -> Result<ScaleTo> {
        let bad = || {
            Error::Usage(format!(
                "{raw:?} is not a number of instances: give N, +N or -N (tpm scale api-3000 4)"
            ))
        };
        let number = |digits: &str| -> Result<u32> {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            digits.parse().map_err(|_| bad())
        };
        Ok(match raw.as_bytes().first() {
            Some(b'+') => ScaleTo::More(number(&raw[1..])?),
            Some(b'-') => ScaleTo::Fewer(number(&raw[1..])?),
            _ => ScaleTo::Exactly(number(raw)?),
        })
    }

    fn target(self, now: u32) -> u32 {
        match self {
            ScaleTo::Exactly(n) => n,
            ScaleTo::More(n) => now.saturating_add(n),
            ScaleTo::Fewer(n) => now.saturating_sub(n),
        }
    }
}

/// What a scale did.
#[derive(Debug, Serialize)]
pub struct Scaled {
    /// The app's name (`NAME-PORT`).
    pub app: String,
    /// Instances before and after.
    pub from: u32,
    pub to: u32,
    /// The instances started, and those removed (highest numbers first).
    #[serde(skip)]
    pub started: Each<ProcessInfo>,
    #[serde(skip)]
    pub removed: Each<ProcessInfo>,
}

impl Tpm {
    /// Gives the app `app` (the name of its instances without `-i`, or any one of them)
    /// `to` instances.
    pub fn scale(&self, app: &str, to: ScaleTo) -> Result<Scaled> {
        let (all, _) = self.store.names()?;
        let app = match crate::name::split_instance(app) {
            Some((base, i))
                if self
                    .instances_of(base, &all)
                    .iter()
                    .any(|n| n.as_str() == app) =>
            {
                let _ = i;
                base
            }
            _ => app,
        };
        let app_name = Name::parse(app)?;
        let instances = self.instances_of(app, &all);
        let Some(first) = instances.first() else {
            if all.contains(&app_name) {
                return Err(Error::Usage(format!(
                    "{app} was started without --instances: delete it and start it again with --instances N (its instances are then {app}-0, {app}-1, ...)"
                )));
            }
            return Err(Error::NotFound {
                name: app.to_string(),
            });
        };
        let now = instances.len() as u32;
        let target = to.target(now);
        if target == 0 {
            return Err(Error::Usage(format!(
                "an app keeps at least one instance: `tpm delete {app}` removes them all"
            )));
        }
        if target > MAX_INSTANCES {
            return Err(Error::Usage(format!(
                "{target} instances is out of range (1 to {MAX_INSTANCES})"
            )));
        }
        let template = self.load_record(first)?;
        let env = self
            .store
            .read_env(first)
            .unwrap_or_else(|| self.ctx.env.clone());
        let mut numbered: Vec<(u32, Name)> = instances
            .iter()
            .filter_map(|n| {
                let (_, i) = crate::name::split_instance(n.as_str())?;
                Some((i, n.clone()))
            })
            .collect();
        numbered.sort();
        let mut removed = Vec::new();
        let mut started = Vec::new();
        if target < now {
            let gone: Vec<Name> = numbered
                .iter()
                .rev()
                .take((now - target) as usize)
                .map(|(_, n)| n.clone())
                .collect();
            removed = self.delete(&gone);
        } else if target > now {
            let taken: Vec<u32> = numbered.iter().map(|(i, _)| *i).collect();
            let app_plan = Plan {
                name: app_name.clone(),
                spec: template.spec.clone(),
                force: false,
                warnings: Vec::new(),
            };
            let mut plans = Vec::new();
            let mut i = 0;
            while (plans.len() as u32) < target - now {
                if !taken.contains(&i) {
                    let mut plan = instance_plan(&app_plan, i)?;
                    // A shared PORT is held by the instances already running.
                    plan.force = template.spec.cluster.port_step == 0;
                    plan.spec.wanted = true;
                    plans.push(plan);
                }
                i += 1;
            }
            started = super::parallel_map(plans, 4, |p| {
                (p.name.clone(), self.start_plan_in(p, false, &env))
            });
        }
        Ok(Scaled {
            app: app.to_string(),
            from: now,
            to: self.instances_of(app, &self.store.names()?.0).len() as u32,
            started,
            removed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse_as_exact_more_or_fewer() {
        assert_eq!(ScaleTo::parse("3").unwrap(), ScaleTo::Exactly(3));
        assert_eq!(ScaleTo::parse("+2").unwrap(), ScaleTo::More(2));
        assert_eq!(ScaleTo::parse("-1").unwrap(), ScaleTo::Fewer(1));
        for bad in ["", "+", "-", "x", "1.5", "+-1", "99999999999"] {
            assert_eq!(ScaleTo::parse(bad).unwrap_err().exit_code(), 64, "{bad}");
        }
        assert_eq!(ScaleTo::Fewer(5).target(3), 0);
        assert_eq!(ScaleTo::More(2).target(3), 5);
    }
}
