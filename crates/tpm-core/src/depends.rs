//! Dependencies between apps: `depends_on` in ecosystem files and piped records.
//!
//! An app names the apps it needs, in compose's and process-compose's two shapes:
//! `depends_on: [db]` (each one `ready`) or `depends_on: {db: {condition: started}}`. A
//! [`Condition`] says what "there" means for the dependency. `tpm start FILE` starts an app
//! once each of its dependencies meets its condition (see `ops::apps`), `stop` and
//! `delete` stop dependants first (see `ops::stop`), and the record keeps them as
//! `depends_on=db-5432:ready,cache:started` (process names, which hold no `:` or `,`).

use std::fmt;

use serde::Serialize;
use serde_json::Value as Json;

/// What a dependency must have reached before its dependant starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Its process was spawned.
    Started,
    /// It is ready, as its own readiness check judges (`ready_check`): its PORT listens,
    /// its line was written, its HTTP path answers.
    Ready,
    /// Ready, and its liveness check (where it has one) last passed.
    Healthy,
    /// It ran to its end with exit code 0 (a migration, a build step).
    Completed,
}

/// The condition of a dependency written without one (`depends_on: [db]`): tpm knows
/// when a process is ready, and "after the database" means once it serves.
pub const DEFAULT_CONDITION: Condition = Condition::Ready;

/// The spellings accepted, for messages.
const SPELLINGS: &str = "started, ready, healthy, completed (or compose's service_started, service_healthy, service_completed_successfully; process-compose's process_started, process_log_ready, process_healthy, process_completed_successfully)";

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "started",
            Condition::Ready => "ready",
            Condition::Healthy => "healthy",
            Condition::Completed => "completed",
        }
    }

    /// tpm's words, compose's and process-compose's.
    pub fn parse(text: &str) -> Option<Condition> {
        Some(match text {
            "started" | "service_started" | "process_started" => Condition::Started,
            "ready" | "process_log_ready" | "process_ready" => Condition::Ready,
            "healthy" | "service_healthy" | "process_healthy" => Condition::Healthy,
            "completed"
            | "completed_successfully"
            | "service_completed_successfully"
            | "process_completed_successfully" => Condition::Completed,
            _ => return None,
        })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One dependency: the process (or, as a file writes it, the app) and its condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub name: String,
    pub condition: Condition,
}

/// Reads a `depends_on` value: a list of names, one name, or an object of names to
/// `{condition: ...}` (or to the condition alone, or to null). Every problem is listed.
pub fn parse(value: &Json) -> Result<Vec<Dependency>, Vec<String>> {
    let mut out: Vec<Dependency> = Vec::new();
    let mut problems = Vec::new();
    let add = |out: &mut Vec<Dependency>, problems: &mut Vec<String>, name: &str, c| {
        if name.trim().is_empty() {
            problems.push("`depends_on`: an empty name".to_string());
        } else if out.iter().any(|d| d.name == name) {
            problems.push(format!("`depends_on`: {name} is named twice"));
        } else {
            out.push(Dependency {
                name: name.to_string(),
                condition: c,
            });
        }
    };
    match value {
        Json::Null => {}
        Json::String(name) => add(&mut out, &mut problems, name, DEFAULT_CONDITION),
        Json::Array(items) => {
            for item in items {
                match item {
                    Json::String(name) => add(&mut out, &mut problems, name, DEFAULT_CONDITION),
                    other => problems.push(format!(
                        "`depends_on`: each item is an app's name, not {}",
                        crate::options::describe(other)
                    )),
                }
            }
        }
        Json::Object(map) => {
            for (name, how) in map {
                match condition_of(name, how) {
                    Ok(c) => add(&mut out, &mut problems, name, c),
                    Err(mut e) => problems.append(&mut e),
                }
            }
        }
        other => problems.push(format!(
            "`depends_on` is a list of apps' names or an object of them, not {}",
            crate::options::describe(other)
        )),
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The condition of `name` in the object shape: `{condition: C}`, `C`, `{}` or null.
fn condition_of(name: &str, how: &Json) -> Result<Condition, Vec<String>> {
    let text = match how {
        Json::Null => return Ok(DEFAULT_CONDITION),
        Json::String(c) => c.as_str(),
        Json::Object(fields) => {
            let mut problems: Vec<String> = fields
                .keys()
                .filter(|k| k.as_str() != "condition")
                .map(|k| format!("`depends_on.{name}`: unknown key `{k}` (it takes `condition`)"))
                .collect();
            let condition = match fields.get("condition") {
                None => Some(DEFAULT_CONDITION),
                Some(Json::String(c)) => match Condition::parse(c) {
                    Some(c) => Some(c),
                    None => {
                        problems.push(unknown(name, c));
                        None
                    }
                },
                Some(other) => {
                    problems.push(format!(
                        "`depends_on.{name}.condition` is one of {SPELLINGS}, not {}",
                        crate::options::describe(other)
                    ));
                    None
                }
            };
            return match condition {
                Some(c) if problems.is_empty() => Ok(c),
                _ => Err(problems),
            };
        }
        other => {
            return Err(vec![format!(
                "`depends_on.{name}` is `{{condition: ...}}`, not {}",
                crate::options::describe(other)
            )])
        }
    };
    Condition::parse(text).ok_or_else(|| vec![unknown(name, text)])
}

fn unknown(name: &str, condition: &str) -> String {
    format!("`depends_on.{name}`: unknown condition {condition:?}; it is one of {SPELLINGS}")
}

/// The record's `depends_on` value.
pub fn to_text(deps: &[Dependency]) -> String {
    deps.iter()
        .map(|d| format!("{}:{}", d.name, d.condition))
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads the record's `depends_on` value.
pub fn from_text(text: &str) -> Result<Vec<Dependency>, String> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, condition) = part.rsplit_once(':').unwrap_or((part, "ready"));
            let condition = Condition::parse(condition)
                .ok_or_else(|| format!("depends_on: unknown condition {condition:?}"))?;
            Ok(Dependency {
                name: name.to_string(),
                condition,
            })
        })
        .collect()
}

/// The order to visit `nodes` in so that each comes after what it depends on (`edges(i)`:
/// the indices node `i` depends on), or the first cycle found, as indices in order, its
/// first repeated at the end (`api → web → api`).
pub fn order(count: usize, edges: impl Fn(usize) -> Vec<usize>) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        i: usize,
        edges: &dyn Fn(usize) -> Vec<usize>,
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Open => {
                let from = path.iter().position(|&p| p == i).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(i);
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[i] = Mark::Open;
        path.push(i);
        for j in edges(i) {
            visit(j, edges, marks, path, out)?;
        }
        path.pop();
        marks[i] = Mark::Done;
        out.push(i);
        Ok(())
    }
    let mut marks = vec![Mark::New; count];
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        visit(i, &edges, &mut marks, &mut Vec::new(), &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_shapes_and_every_spelling() {
        let list = parse(&json!(["db", "cache"])).unwrap();
        assert_eq!(list[0].condition, Condition::Ready);
        let map = parse(&json!({
            "db": {"condition": "service_healthy"},
            "migrate": {"condition": "process_completed_successfully"},
            "cache": {"condition": "started"},
            "queue": null,
        }))
        .unwrap();
        let got: Vec<(&str, Condition)> =
            map.iter().map(|d| (d.name.as_str(), d.condition)).collect();
        assert!(got.contains(&("db", Condition::Healthy)));
        assert!(got.contains(&("migrate", Condition::Completed)));
        assert!(got.contains(&("cache", Condition::Started)));
        assert!(got.contains(&("queue", Condition::Ready)));
    }

    #[test]
    fn unknown_keys_and_conditions_are_all_listed() {
        let problems = parse(&json!({
            "db": {"condition": "up", "restart": true},
            "web": 3,
        }))
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("\"up\"")));
        assert!(problems.iter().any(|p| p.contains("`restart`")));
    }

    #[test]
    fn the_record_text_reads_back() {
        let deps = parse(&json!({"db-5432": {"condition": "completed"}, "a": null})).unwrap();
        assert_eq!(from_text(&to_text(&deps)).unwrap(), deps);
        assert_eq!(from_text("").unwrap(), vec![]);
    }

    #[test]
    fn order_puts_dependencies_first_and_names_a_cycle() {
        // 0 web -> 1 api -> 2 db
        let edges = |i: usize| match i {
            0 => vec![1],
            1 => vec![2],
            _ => vec![],
        };
        assert_eq!(order(3, edges).unwrap(), vec![2, 1, 0]);
        let cyclic = |i: usize| match i {
            0 => vec![1],
            1 => vec![2],
            _ => vec![1],
        };
        assert_eq!(order(3, cyclic).unwrap_err(), vec![1, 2, 1]);
    }
}
