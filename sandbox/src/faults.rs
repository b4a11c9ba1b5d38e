//! Fault rules: make chosen requests fail, stall or both, the way a throttled or flaky
//! upstream would, so client retry and backoff paths can be exercised deterministically.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::pattern::{method_matches, path_matches};

/// One fault rule. Build with [`Fault::new`]; the same shape (camelCase JSON) is accepted by
/// `POST /__sandbox/faults`.
///
/// * `statuses` is consumed one per matching request; `0` means "answer normally this time".
///   When it is used up the rule is gone and normal behaviour resumes.
/// * `latencyMs` is added to every matching request while the rule is active; a rule with
///   latency but no statuses stays until the faults are cleared.
/// * `loseAnswers` is a number of matching requests, after the statuses, that are handled
///   as usual (their effect applied) and whose answer is then lost: the connection drops.
///   The rule is gone when both are used up.
/// * When several rules match, all their latencies add up, and only the first rule (in
///   insertion order) that still has statuses consumes one.
/// * `applied` makes a matching request take effect first (the upstream acted), and only
///   then the latency and the injected answer follow: "applied, but the answer was lost",
///   the case a client must not repeat blindly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    method: String,
    path: String,
    #[serde(default)]
    statuses: Vec<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(default)]
    latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text_body: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    applied: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    lose_answers: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Fault {
    /// `method` "*" matches any method; for `path_glob` see [`crate::pattern`].
    pub fn new(method: &str, path_glob: &str) -> Fault {
        Fault {
            method: method.to_owned(),
            path: path_glob.to_owned(),
            statuses: Vec::new(),
            retry_after: None,
            latency_ms: 0,
            body: None,
            text_body: None,
            applied: false,
            lose_answers: 0,
        }
    }

    /// The request takes effect before the latency and the injected answer (see the type).
    pub fn applied(mut self) -> Fault {
        self.applied = true;
        self
    }

    /// The token endpoint's own throttling as Genesys really reports it: 400
    /// `invalid_request` with "rate limit exceeded" (upstream-facts, from the vendor's
    /// Terraform provider), once.
    pub fn token_rate_limited() -> Fault {
        Fault::new("POST", "/oauth/token")
            .statuses([400])
            .body(serde_json::json!({
                "error": "invalid_request",
                "description": "rate limit exceeded",
                "error_description": "rate limit exceeded",
            }))
    }

    pub fn statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Fault {
        self.statuses = statuses.into_iter().collect();
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Fault {
        self.retry_after = Some(secs);
        self
    }

    /// The next `n` matching requests (after the statuses) are handled, then their
    /// connection drops: applied, but the client never sees the answer.
    pub fn lose_answers(mut self, n: u32) -> Fault {
        self.lose_answers = n;
        self
    }

    pub fn latency(mut self, latency: Duration) -> Fault {
        self.latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// JSON body for injected responses (replaces the upstream's default error body).
    pub fn body(mut self, body: serde_json::Value) -> Fault {
        self.body = Some(body);
        self.text_body = None;
        self
    }

    /// `text/plain` body for injected responses.
    pub fn text_body(mut self, body: &str) -> Fault {
        self.text_body = Some(body.to_owned());
        self.body = None;
        self
    }

    /// Whether the rule is one [`crate::Sandbox::inject`] takes: statuses 0 or 100..=599, a
    /// path with a leading `/`, at most one body.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(bad) = self
            .statuses
            .iter()
            .find(|&&s| s != 0 && !(100..=599).contains(&s))
        {
            return Err(format!(
                "fault status {bad} is neither 0 (pass through) nor an HTTP status"
            ));
        }
        if self.body.is_some() && self.text_body.is_some() {
            return Err("a fault has either body or textBody, not both".to_owned());
        }
        if !self.path.starts_with('/') {
            return Err(format!("fault path {:?} must start with '/'", self.path));
        }
        Ok(())
    }
}

/// What the fault rules decided for one request.
#[derive(Debug, Default)]
pub(crate) struct Decision {
    pub(crate) latency: Duration,
    pub(crate) inject: Option<Injection>,
    /// Handle the request (change state) before the latency and the injected answer.
    pub(crate) applied: bool,
    /// Handle the request, then drop the connection.
    pub(crate) lose_answer: bool,
}

#[derive(Debug)]
pub(crate) struct Injection {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<u64>,
    pub(crate) body: InjectedBody,
}

#[derive(Debug)]
pub(crate) enum InjectedBody {
    /// The upstream's realistic error body for the status.
    Default,
    Json(serde_json::Value),
    Text(String),
}

struct Rule {
    fault: Fault,
    next: usize,
    lost: u32,
}

impl Rule {
    /// Statuses or answers to lose still to come.
    fn counts(&self) -> bool {
        !self.fault.statuses.is_empty() || self.fault.lose_answers > 0
    }

    fn has_left(&self) -> bool {
        self.next < self.fault.statuses.len() || self.lost < self.fault.lose_answers
    }

    fn exhausted(&self) -> bool {
        self.counts() && !self.has_left()
    }
}

#[derive(Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<Rule>>,
}

impl Faults {
    pub(crate) fn add(&self, fault: Fault) {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.push(Rule {
            fault,
            next: 0,
            lost: 0,
        });
    }

    pub(crate) fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub(crate) fn decide(&self, method: &str, path: &str) -> Decision {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let mut decision = Decision::default();
        let mut consumed = false;
        for rule in rules.iter_mut() {
            if !method_matches(&rule.fault.method, method) || !path_matches(&rule.fault.path, path)
            {
                continue;
            }
            decision.latency += Duration::from_millis(rule.fault.latency_ms);
            decision.applied |= rule.fault.applied;
            if consumed || !rule.has_left() {
                continue;
            }
            consumed = true;
            if rule.next >= rule.fault.statuses.len() {
                rule.lost += 1;
                decision.lose_answer = true;
                continue;
            }
            let status = rule.fault.statuses[rule.next];
            rule.next += 1;
            if status != 0 {
                decision.inject = Some(Injection {
                    status,
                    retry_after: rule.fault.retry_after,
                    body: match (&rule.fault.body, &rule.fault.text_body) {
                        (Some(json), _) => InjectedBody::Json(json.clone()),
                        (None, Some(text)) => InjectedBody::Text(text.clone()),
                        (None, None) => InjectedBody::Default,
                    },
                });
            }
        }
        rules.retain(|rule| !rule.exhausted());
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_consumed_then_rule_disappears() {
        let faults = Faults::default();
        faults.add(Fault::new("GET", "/a/*").statuses([429, 0, 503]));
        let statuses: Vec<Option<u16>> = (0..4)
            .map(|_| faults.decide("GET", "/a/1").inject.map(|i| i.status))
            .collect();
        assert_eq!(statuses, [Some(429), None, Some(503), None]);
        assert!(faults.rules.lock().unwrap().is_empty());
    }

    #[test]
    fn latency_only_rule_stays_and_latencies_add() {
        let faults = Faults::default();
        faults.add(Fault::new("*", "/a/**").latency(Duration::from_millis(5)));
        faults.add(
            Fault::new("*", "/a/b")
                .latency(Duration::from_millis(7))
                .statuses([500]),
        );
        let first = faults.decide("POST", "/a/b");
        assert_eq!(first.latency, Duration::from_millis(12));
        assert_eq!(first.inject.map(|i| i.status), Some(500));
        let second = faults.decide("POST", "/a/b");
        assert_eq!(second.latency, Duration::from_millis(5));
        assert!(second.inject.is_none());
    }

    #[test]
    fn only_first_rule_with_statuses_consumes() {
        let faults = Faults::default();
        faults.add(Fault::new("*", "/x").statuses([429]));
        faults.add(Fault::new("*", "/x").statuses([503]));
        assert_eq!(
            faults.decide("GET", "/x").inject.map(|i| i.status),
            Some(429)
        );
        assert_eq!(
            faults.decide("GET", "/x").inject.map(|i| i.status),
            Some(503)
        );
        assert!(faults.decide("GET", "/x").inject.is_none());
    }

    #[test]
    fn applied_rules_say_so() {
        let faults = Faults::default();
        faults.add(Fault::new("POST", "/m").applied().statuses([504]));
        let d = faults.decide("POST", "/m");
        assert!(d.applied);
        assert_eq!(d.inject.map(|i| i.status), Some(504));
        let d = faults.decide("POST", "/m");
        assert!(!d.applied, "the rule is used up");
        let json: Fault = serde_json::from_str(
            r#"{"method": "POST", "path": "/m", "statuses": [504], "applied": true}"#,
        )
        .unwrap();
        assert_eq!(json, Fault::new("POST", "/m").applied().statuses([504]));
    }

    #[test]
    fn lost_answers_come_after_the_statuses() {
        let faults = Faults::default();
        faults.add(Fault::new("POST", "/t").statuses([503]).lose_answers(2));
        let d = faults.decide("POST", "/t");
        assert_eq!(
            (d.inject.map(|i| i.status), d.lose_answer),
            (Some(503), false)
        );
        for _ in 0..2 {
            let d = faults.decide("POST", "/t");
            assert!(d.inject.is_none() && d.lose_answer);
        }
        let d = faults.decide("POST", "/t");
        assert!(d.inject.is_none() && !d.lose_answer);
        assert!(faults.rules.lock().unwrap().is_empty());
    }

    #[test]
    fn validation() {
        assert!(Fault::new("GET", "/x")
            .statuses([0, 429])
            .validate()
            .is_ok());
        assert!(Fault::new("GET", "/x").statuses([42]).validate().is_err());
        assert!(Fault::new("GET", "x").validate().is_err());
    }
}
