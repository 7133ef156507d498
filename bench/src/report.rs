//! The results as markdown: the machine, the versions, one table of medians with ratios,
//! the targets met or missed, and every run's spread.

use std::fmt::Write as _;

use crate::clock::{human, human_kib};
use crate::stats::Samples;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Samples in seconds.
    Time,
    /// Samples in KiB.
    KiB,
    /// Samples in percent of one core.
    Percent,
    /// Samples in events per second.
    PerSecond,
}

impl Unit {
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Time => human(std::time::Duration::from_secs_f64(v.max(0.0))),
            Unit::KiB => human_kib(v.round() as u64),
            Unit::Percent => format!("{v:.2}%"),
            Unit::PerSecond => format!("{v:.1}/s"),
        }
    }
}

/// One figure: a median per manager, or for a floor, the fastest run.
#[derive(Debug, Clone)]
pub struct Row {
    pub key: String,
    pub title: String,
    pub unit: Unit,
    pub cells: Vec<(&'static str, Samples)>,
    /// A baseline without a manager, shown by its fastest run: what the machine can do.
    /// (Its slow runs measure the machine's bad moments, not the work.)
    pub floor: bool,
}

impl Row {
    pub fn new(key: impl Into<String>, title: impl Into<String>, unit: Unit) -> Row {
        Row {
            key: key.into(),
            title: title.into(),
            unit,
            cells: Vec::new(),
            floor: false,
        }
    }

    /// The figure for `manager`: the median of its runs, the fastest for a floor.
    pub fn figure(&self, manager: &str) -> Option<f64> {
        let (_, s) = self.cells.iter().find(|(m, _)| *m == manager)?;
        if self.floor {
            s.min()
        } else {
            s.median()
        }
    }
}

/// A target of the issue, and what was measured.
#[derive(Debug, Clone)]
pub struct Target {
    pub what: String,
    pub measured: String,
    /// `None`: not measured in this run (a manager was left out).
    pub met: Option<bool>,
}

pub struct Report {
    pub heading: String,
    /// `label: value` lines about the run.
    pub facts: Vec<(String, String)>,
    /// Manager columns, tpm first.
    pub managers: Vec<&'static str>,
    pub rows: Vec<Row>,
    pub targets: Vec<Target>,
    pub notes: Vec<String>,
}

/// `41×`, `3.2×`, `0.85×`.
pub fn ratio(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}×")
    } else {
        format!("{v:.2}×")
    }
}

impl Report {
    pub fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.key == key)
    }

    /// The summary: facts, the table, the targets (what bench/README.md shows).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.heading);
        for (k, v) in &self.facts {
            let _ = writeln!(out, "- {k}: {v}");
        }
        out.push('\n');
        let others: Vec<&str> = self.managers.iter().skip(1).copied().collect();
        let _ = write!(out, "| figure (median) |");
        for m in &self.managers {
            let _ = write!(out, " {m} |");
        }
        for m in &others {
            let _ = write!(out, " {m} ÷ tpm |");
        }
        let _ = write!(out, "\n|---|");
        for _ in 0..self.managers.len() + others.len() {
            out.push_str("--:|");
        }
        out.push('\n');
        for row in &self.rows {
            let _ = write!(out, "| {} |", row.title);
            for m in &self.managers {
                let cell = row.figure(m).map_or("—".into(), |v| row.unit.show(v));
                let _ = write!(out, " {cell} |");
            }
            for m in &others {
                let cell = match (row.figure(m), row.figure("tpm")) {
                    (Some(o), Some(t)) if t > 0.0 => ratio(o / t),
                    _ => "—".into(),
                };
                let _ = write!(out, " {cell} |");
            }
            out.push('\n');
        }
        if !self.targets.is_empty() {
            let _ = writeln!(out, "\n| target | measured | |\n|---|---|---|");
            for t in &self.targets {
                let verdict = match t.met {
                    Some(true) => "met",
                    Some(false) => "**missed**",
                    None => "not measured",
                };
                let _ = writeln!(out, "| {} | {} | {verdict} |", t.what, t.measured);
            }
        }
        out
    }

    /// The whole results file: the summary, the notes, and each figure's spread.
    pub fn full(&self) -> String {
        let mut out = self.summary();
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        let _ = writeln!(
            out,
            "\n<details><summary>Every figure's runs: count, min, median, max</summary>\n\n\
             | figure | manager | runs | min | median | max |\n|---|---|--:|--:|--:|--:|"
        );
        for row in &self.rows {
            for (m, s) in &row.cells {
                let show = |v: Option<f64>| v.map_or("—".into(), |v| row.unit.show(v));
                let _ = writeln!(
                    out,
                    "| {} | {m} | {} | {} | {} | {} |",
                    row.title,
                    s.len(),
                    show(s.min()),
                    show(s.median()),
                    show(s.max())
                );
            }
        }
        out.push_str("\n</details>\n");
        out
    }
}

/// Replaces what lies between the `<!-- bench:begin -->` and `<!-- bench:end -->` lines.
pub fn splice(text: &str, content: &str) -> Option<String> {
    const BEGIN: &str = "<!-- bench:begin -->";
    const END: &str = "<!-- bench:end -->";
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text[start..].find(END)?;
    Some(format!(
        "{}\n{}\n{}",
        &text[..start],
        content.trim_end(),
        &text[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut list = Row::new("list-100", "list, 100 processes", Unit::Time);
        list.cells.push(("tpm", Samples(vec![0.004, 0.005, 0.006])));
        list.cells.push(("pm2", Samples(vec![0.3])));
        let mut mem = Row::new("pss-100", "PSS, 100 processes", Unit::KiB);
        mem.cells.push(("tpm", Samples(vec![30_000.0])));
        Report {
            heading: "### run".into(),
            facts: vec![("machine".into(), "2 cores".into())],
            managers: vec!["tpm", "pm2", "supervisord"],
            rows: vec![list, mem],
            targets: vec![Target {
                what: "list ≥ 50× pm2".into(),
                measured: "60×".into(),
                met: Some(true),
            }],
            notes: vec!["a note".into()],
        }
    }

    #[test]
    fn the_table_has_medians_and_ratios_against_tpm() {
        let text = report().summary();
        assert!(
            text.contains(
                "| figure (median) | tpm | pm2 | supervisord | pm2 ÷ tpm | supervisord ÷ tpm |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| list, 100 processes | 5.0 ms | 300 ms | — | 60× | — |"),
            "{text}"
        );
        assert!(
            text.contains("| PSS, 100 processes | 29 MiB | — | — | — | — |"),
            "{text}"
        );
        assert!(text.contains("| list ≥ 50× pm2 | 60× | met |"), "{text}");
        let full = report().full();
        assert!(
            full.contains("| list, 100 processes | tpm | 3 | 4.0 ms | 5.0 ms | 6.0 ms |"),
            "{full}"
        );
    }

    #[test]
    fn the_readme_section_is_replaced_between_its_markers() {
        let readme = "a\n<!-- bench:begin -->\nold\n<!-- bench:end -->\nb\n";
        assert_eq!(
            splice(readme, "new\n").unwrap(),
            "a\n<!-- bench:begin -->\nnew\n<!-- bench:end -->\nb\n"
        );
        assert_eq!(splice("no markers", "x"), None);
    }

    #[test]
    fn ratios_keep_two_digits_below_ten() {
        assert_eq!(ratio(41.4), "41×");
        assert_eq!(ratio(3.214), "3.21×");
        assert_eq!(ratio(0.851), "0.85×");
    }
}
