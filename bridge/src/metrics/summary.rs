//! What a set of EMF lines adds up to, per org and metric: what CloudWatch would show as
//! the Sum (counts) or the samples (durations) of each metric. `bridge dev` prints it, and
//! tests compare it with what a handler did.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::catalogue::LATENCY;

/// The key of the lines without an `OrgId` (work no org could be named for).
pub const NO_ORG: &str = "";

/// The total of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Total {
    pub sum: f64,
    /// Values added (invocations that reported it).
    pub samples: u64,
    pub max: f64,
}

impl Total {
    fn add(&mut self, other: &Total) {
        self.sum += other.sum;
        self.samples += other.samples;
        self.max = self.max.max(other.max);
    }
}

/// Totals per org id ([`NO_ORG`] for the lines without one) and metric.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Summary {
    pub orgs: BTreeMap<String, BTreeMap<String, Total>>,
    /// EMF lines read.
    pub lines: usize,
}

impl Summary {
    /// Adds up the metrics of `lines` (lines that are not EMF documents are skipped).
    pub fn of_lines(lines: &[String]) -> Summary {
        let mut s = Summary::default();
        for line in lines {
            if let Ok(doc) = serde_json::from_str::<Value>(line) {
                s.add(&doc);
            }
        }
        s
    }

    /// Adds one parsed EMF document.
    pub fn add(&mut self, doc: &Value) {
        let Some(directives) = doc
            .pointer("/_aws/CloudWatchMetrics")
            .and_then(Value::as_array)
        else {
            return;
        };
        self.lines += 1;
        let org = doc.get("OrgId").and_then(Value::as_str).unwrap_or(NO_ORG);
        let totals = self.orgs.entry(org.to_string()).or_default();
        let metrics = directives
            .iter()
            .filter_map(|d| d.get("Metrics").and_then(Value::as_array))
            .flatten();
        for m in metrics {
            let Some(name) = m.get("Name").and_then(Value::as_str) else {
                continue;
            };
            let values: Vec<f64> = match doc.get(name) {
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_f64).collect(),
                Some(v) => v.as_f64().into_iter().collect(),
                None => Vec::new(),
            };
            let t = totals.entry(name.to_string()).or_default();
            for v in values {
                t.add(&Total {
                    sum: v,
                    samples: 1,
                    max: v,
                });
            }
        }
    }

    /// Adds every total of `other`.
    pub fn merge(&mut self, other: &Summary) {
        self.lines += other.lines;
        for (org, totals) in &other.orgs {
            let mine = self.orgs.entry(org.clone()).or_default();
            for (name, t) in totals {
                mine.entry(name.clone()).or_default().add(t);
            }
        }
    }

    /// The sum of `metric` for `org` (`None`: the lines without an org); 0 when absent.
    pub fn get(&self, org: Option<&str>, metric: &str) -> f64 {
        self.orgs
            .get(org.unwrap_or(NO_ORG))
            .and_then(|m| m.get(metric))
            .map_or(0.0, |t| t.sum)
    }

    /// The sum of `metric` over every line, with or without an org: the all-orgs view.
    pub fn all_orgs(&self, metric: &str) -> f64 {
        self.orgs
            .values()
            .filter_map(|m| m.get(metric))
            .map(|t| t.sum)
            .sum()
    }

    /// `Name n · Name n` for the counts of one org's totals, in name order (durations
    /// vary from run to run and are left out).
    pub fn describe(totals: &BTreeMap<String, Total>) -> String {
        totals
            .iter()
            .filter(|(name, _)| name.as_str() != LATENCY)
            .map(|(name, t)| format!("{name} {}", t.sum))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// One line per org (the org-less counts last): `(who, counts)`, orgs without counts
    /// left out.
    pub fn rows(&self) -> Vec<(&str, String)> {
        let mut rows: Vec<(&str, String)> = self
            .orgs
            .iter()
            .filter(|(org, _)| org.as_str() != NO_ORG)
            .map(|(org, t)| (org.as_str(), Summary::describe(t)))
            .collect();
        if let Some(t) = self.orgs.get(NO_ORG) {
            rows.push(("(no org)", Summary::describe(t)));
        }
        rows.retain(|(_, counts)| !counts.is_empty());
        rows
    }
}

impl fmt::Display for Summary {
    /// One line per org: `<org id>  Name n · Name n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (who, counts) in self.rows() {
            writeln!(f, "{who:<36}  {counts}")?;
        }
        Ok(())
    }
}
