//! The one summary of a chaos run: what was sent, what was injected, what became of every
//! event, and whether it passed (nothing lost, nothing done twice, Zendesk's per-ticket
//! budget kept).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::judge::Verdict;
use super::model::TICKET_UPDATE_BUDGET;

/// An event that was lost or done twice, with what was seen.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub event_id: String,
    pub kind: String,
    pub channel: String,
    pub seen: String,
}

impl Finding {
    /// The event's finding, before anything was seen.
    pub(crate) fn of(e: &super::plan::Event) -> Finding {
        Finding {
            event_id: e.id.clone(),
            kind: e.kind.name().to_string(),
            channel: e.channel.name().to_string(),
            seen: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The command that reproduces the run.
    pub command: String,
    pub mode: String,
    pub seed: u64,
    pub fault_rate: f64,
    pub elapsed_secs: f64,
    pub cores: usize,
    pub events: usize,
    pub kinds: BTreeMap<String, usize>,
    pub channels: BTreeMap<String, usize>,
    /// Deliveries of an event after its first (same event id).
    pub duplicate_deliveries: usize,
    /// Deliveries webhook-ingest answered `duplicate: true`.
    pub answered_duplicate: u64,
    pub upstream_faults: BTreeMap<String, u64>,
    pub aws_faults: BTreeMap<String, u64>,
    pub ingest_invocations: u64,
    pub worker_invocations: u64,
    pub redeliveries: u64,
    pub worker_timeouts: u64,
    pub applied: usize,
    /// Applied, and a delivery of it dead-lettered as well (after the effect).
    pub applied_and_dead_lettered: usize,
    pub by_design: usize,
    pub dead_lettered: BTreeMap<String, usize>,
    pub expected_dead_letters: usize,
    pub poison: usize,
    pub lost: Vec<Finding>,
    pub duplicated: Vec<Finding>,
    pub genesys_calls: usize,
    pub zendesk_calls: usize,
    /// Requests that reached the AWS fault proxy (the AWS run only).
    pub aws_calls: u64,
    pub most_ticket_updates: usize,
    pub most_updated_ticket: String,
}

impl Report {
    /// Counts the verdicts in.
    pub fn tally(&mut self, verdicts: &[(Verdict, Finding)]) {
        for (v, f) in verdicts {
            match v {
                Verdict::Applied(dead) => {
                    self.applied += 1;
                    self.applied_and_dead_lettered += usize::from(*dead);
                }
                Verdict::ByDesign => self.by_design += 1,
                Verdict::DeadLettered(r) => *self.dead_lettered.entry(r.clone()).or_default() += 1,
                Verdict::ExpectedDeadLetter(_) => {
                    self.expected_dead_letters += 1;
                    self.poison += 1;
                }
                Verdict::Lost(seen) => {
                    if f.kind.contains("poison") {
                        self.poison += 1;
                    }
                    self.lost.push(Finding {
                        seen: seen.clone(),
                        ..f.clone()
                    })
                }
                Verdict::Duplicated(seen) => self.duplicated.push(Finding {
                    seen: seen.clone(),
                    ..f.clone()
                }),
            }
        }
    }

    pub fn over_budget(&self) -> bool {
        self.most_ticket_updates > TICKET_UPDATE_BUDGET
    }

    pub fn passed(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && !self.over_budget()
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        self.render_sent(&mut s);
        self.render_outcomes(&mut s);
        self.render_findings(&mut s);
        let _ = writeln!(s, "\n{}", self.verdict());
        s
    }

    fn per_event(&self, n: usize) -> f64 {
        n as f64 / self.events.max(1) as f64
    }

    /// The run, what was sent and what was injected.
    fn render_sent(&self, s: &mut String) {
        let list = |m: &BTreeMap<String, u64>| {
            if m.is_empty() {
                return "none".to_string();
            }
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let counts = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "chaos run: {} events, fault rate {:.0} %, seed {}, {}",
            self.events,
            self.fault_rate * 100.0,
            self.seed,
            self.mode
        );
        let _ = writeln!(
            s,
            "  took {:.1} s on {} core(s); reproduce: {}\n",
            self.elapsed_secs, self.cores, self.command
        );
        let _ = writeln!(
            s,
            "  events              {} ({})",
            self.events,
            counts(&self.kinds)
        );
        let _ = writeln!(s, "  channels            {}", counts(&self.channels));
        let _ = writeln!(
            s,
            "  duplicates          {} deliveries again with the same event id; webhook-ingest answered {} as duplicates",
            self.duplicate_deliveries, self.answered_duplicate
        );
        let _ = writeln!(
            s,
            "  faults injected     Genesys/Zendesk: {}",
            list(&self.upstream_faults)
        );
        if !self.aws_faults.is_empty() || self.aws_calls > 0 {
            let _ = writeln!(s, "                      AWS: {}", list(&self.aws_faults));
        }
        let _ = writeln!(
            s,
            "  invocations         webhook-ingest {} · workers {} ({} redelivered message(s), {} stopped at the timeout)",
            self.ingest_invocations, self.worker_invocations, self.redeliveries, self.worker_timeouts
        );
    }

    /// What became of the events, the calls they took and the per-ticket budget.
    fn render_outcomes(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "  applied             {} exactly once ({} of them also dead-lettered after the effect); {} handled by design with nothing to change",
            self.applied, self.applied_and_dead_lettered, self.by_design
        );
        let dead: usize = self.dead_lettered.values().sum();
        let _ = writeln!(s, "  dead-lettered       {dead}");
        for (reason, n) in &self.dead_lettered {
            let _ = writeln!(s, "                      {n:>5}  {reason}");
        }
        let _ = writeln!(
            s,
            "  poison              {} of {} in a DLQ as they must be",
            self.expected_dead_letters, self.poison
        );
        let _ = writeln!(s, "  LOST                {}", self.lost.len());
        let _ = writeln!(s, "  DUPLICATED EFFECTS  {}", self.duplicated.len());
        let aws = if self.aws_calls > 0 {
            format!(
                "; AWS {:.2}",
                self.aws_calls as f64 / self.events.max(1) as f64
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "  upstream calls      {:.2} per event (Genesys {:.2}, Zendesk {:.2}){aws}",
            self.per_event(self.genesys_calls + self.zendesk_calls),
            self.per_event(self.genesys_calls),
            self.per_event(self.zendesk_calls),
        );
        let ticket = if self.most_updated_ticket.is_empty() {
            String::new()
        } else {
            format!(", {}", self.most_updated_ticket)
        };
        let _ = writeln!(
            s,
            "  Zendesk budget      most updates to one ticket in any 10 minutes: {} (limit {TICKET_UPDATE_BUDGET}){ticket}",
            self.most_ticket_updates,
        );
    }

    /// The events lost or done twice (the first 20 of each).
    fn render_findings(&self, s: &mut String) {
        for (title, findings) in [("LOST", &self.lost), ("DUPLICATED", &self.duplicated)] {
            for f in findings.iter().take(20) {
                let _ = writeln!(
                    s,
                    "  {title}: {} ({}, {}): {}",
                    f.event_id, f.kind, f.channel, f.seen
                );
            }
            if findings.len() > 20 {
                let _ = writeln!(s, "  ... and {} more {title}", findings.len() - 20);
            }
        }
    }

    /// PASS, or FAIL with every reason.
    pub fn verdict(&self) -> String {
        if self.passed() {
            return "PASS: every event applied exactly once or dead-lettered with its reason"
                .to_string();
        }
        let mut why = Vec::new();
        if !self.lost.is_empty() {
            why.push(format!("{} lost", self.lost.len()));
        }
        if !self.duplicated.is_empty() {
            why.push(format!("{} done twice", self.duplicated.len()));
        }
        if self.over_budget() {
            why.push(format!(
                "{} updates to one ticket in 10 minutes, over Zendesk's {TICKET_UPDATE_BUDGET}",
                self.most_ticket_updates
            ));
        }
        format!("FAIL: {}", why.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_names_every_reason_to_fail() {
        let mut r = Report {
            events: 3,
            most_ticket_updates: TICKET_UPDATE_BUDGET,
            ..Report::default()
        };
        assert!(r.passed(), "at the budget is within it");
        let f = Finding {
            event_id: "e".into(),
            kind: "acw".into(),
            channel: "EventBridge".into(),
            seen: String::new(),
        };
        r.tally(&[
            (Verdict::Applied(true), f.clone()),
            (
                Verdict::DeadLettered("job DLQ: Zendesk.NotFound".into()),
                f.clone(),
            ),
            (Verdict::Lost("no note".into()), f.clone()),
            (Verdict::Duplicated("2 notes".into()), f),
        ]);
        r.most_ticket_updates = TICKET_UPDATE_BUDGET + 1;
        assert!(!r.passed());
        let v = r.verdict();
        for part in ["1 lost", "1 done twice", "31 updates to one ticket"] {
            assert!(v.contains(part), "{v}");
        }
        assert_eq!((r.applied, r.applied_and_dead_lettered), (1, 1));
        let text = r.render();
        assert!(
            text.contains("LOST: e (acw, EventBridge): no note"),
            "{text}"
        );
        assert!(text.contains("job DLQ: Zendesk.NotFound"), "{text}");
    }
}
