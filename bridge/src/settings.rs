//! Process settings, read once at cold start from the environment by `main` (library code
//! never reads env vars itself: it is handed a lookup function).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{BridgeError, Result};
use crate::input::{canonical_uuid, uuid_expectation};
use crate::secrets::{DEFAULT_PREFIX, DEFAULT_TTL};
use crate::tenancy::DataActionOrgs;

/// Where org configs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSourceSetting {
    /// `BRIDGE_SECRET_SOURCE=secretsmanager` (default in AWS), with `BRIDGE_SECRET_PREFIX`.
    SecretsManager { prefix: String },
    /// `BRIDGE_SECRET_SOURCE=dir` with `BRIDGE_ORGS_DIR` (default `examples/orgs`).
    Dir { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub secret_source: SecretSourceSetting,
    /// `BRIDGE_SECRET_TTL_SECONDS` (default 300).
    pub secret_ttl: Duration,
    /// `BRIDGE_ORG_CACHE_ENTRIES` (default 1000): org ids the org cache keeps, known orgs
    /// and misses together.
    pub org_cache_entries: usize,
    /// `BRIDGE_DEADLINE_MARGIN_MS` (default 500): stop retrying this long before the
    /// Lambda deadline, so the failure is reported instead of the function being killed.
    pub deadline_margin: Duration,
    /// `BRIDGE_ATTRIBUTE_QUEUE_URL` (webhook-ingest).
    pub attribute_queue_url: Option<String>,
    /// `BRIDGE_TICKET_QUEUE_URL` (webhook-ingest).
    pub ticket_queue_url: Option<String>,
    /// `BRIDGE_MESSAGE_QUEUE_URL` (webhook-ingest): the queue of `message.agentless` jobs.
    pub message_queue_url: Option<String>,
    /// `BRIDGE_MESSAGE_DLQ_URL` (agentless-messages): where it dead-letters a message that
    /// may have been sent.
    pub message_dlq_url: Option<String>,
    /// `BRIDGE_IDEMPOTENCY_TABLE` (webhook-ingest, agentless-messages).
    pub idempotency_table: Option<String>,
    /// `BRIDGE_MAX_BODY_BYTES` (webhook-ingest, default 262144).
    pub max_body_bytes: usize,
    /// `AWS_ENDPOINT_URL`: the local AWS emulator.
    pub aws_endpoint_url: Option<String>,
    /// `BRIDGE_METRICS`: `emf` (default) writes CloudWatch EMF lines to stdout; `off`
    /// writes none.
    pub metrics_enabled: bool,
    /// `BRIDGE_METRICS_NAMESPACE` (default `GenesysBridge`).
    pub metrics_namespace: String,
    /// `BRIDGE_MAX_RECEIVE_COUNT` (SQS consumers): the job queue's `maxReceiveCount`, so a
    /// failure on a message's last delivery counts as dead-lettered.
    pub max_receive_count: Option<u32>,
    /// `BRIDGE_SINGLE_ORG_ID` (data-action functions): unset in the shared-stack deployment,
    /// where every data action must come through its org's alias `org-<orgId>`; a UUID in a
    /// deployment that serves that one org only (see `bridge::tenancy`).
    pub single_org_id: Option<String>,
}

impl Settings {
    /// Reads settings through `get` (pass `|k| std::env::var(k).ok()`). Errors name the
    /// variable and what was expected.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let num = |k: &str, default: u64| -> Result<u64> {
            match get(k) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().map_err(|_| {
                    BridgeError::config(k, format!("expected a whole number; got {v:?}"))
                }),
            }
        };
        let secret_source = match get("BRIDGE_SECRET_SOURCE").as_deref() {
            None | Some("secretsmanager") => SecretSourceSetting::SecretsManager {
                prefix: get("BRIDGE_SECRET_PREFIX").unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
            },
            Some("dir") => SecretSourceSetting::Dir {
                path: PathBuf::from(
                    get("BRIDGE_ORGS_DIR").unwrap_or_else(|| "examples/orgs".into()),
                ),
            },
            Some(other) => {
                return Err(BridgeError::config(
                    "BRIDGE_SECRET_SOURCE",
                    format!("expected \"secretsmanager\" or \"dir\"; got {other:?}"),
                ))
            }
        };
        Ok(Settings {
            secret_source,
            secret_ttl: Duration::from_secs(num(
                "BRIDGE_SECRET_TTL_SECONDS",
                DEFAULT_TTL.as_secs(),
            )?),
            org_cache_entries: num(
                "BRIDGE_ORG_CACHE_ENTRIES",
                crate::secrets::DEFAULT_MAX_ENTRIES as u64,
            )?
            .max(1) as usize,
            deadline_margin: Duration::from_millis(num("BRIDGE_DEADLINE_MARGIN_MS", 500)?),
            attribute_queue_url: get("BRIDGE_ATTRIBUTE_QUEUE_URL"),
            ticket_queue_url: get("BRIDGE_TICKET_QUEUE_URL"),
            message_queue_url: get("BRIDGE_MESSAGE_QUEUE_URL"),
            message_dlq_url: get("BRIDGE_MESSAGE_DLQ_URL"),
            idempotency_table: get("BRIDGE_IDEMPOTENCY_TABLE"),
            max_body_bytes: num("BRIDGE_MAX_BODY_BYTES", 262_144)? as usize,
            aws_endpoint_url: get("AWS_ENDPOINT_URL"),
            metrics_enabled: match get("BRIDGE_METRICS").as_deref() {
                None | Some("emf") => true,
                Some("off") => false,
                Some(other) => {
                    return Err(BridgeError::config(
                        "BRIDGE_METRICS",
                        format!("expected \"emf\" or \"off\"; got {other:?}"),
                    ))
                }
            },
            metrics_namespace: get("BRIDGE_METRICS_NAMESPACE")
                .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.to_string()),
            max_receive_count: match get("BRIDGE_MAX_RECEIVE_COUNT") {
                None => None,
                Some(_) => Some(num("BRIDGE_MAX_RECEIVE_COUNT", 0)? as u32).filter(|n| *n > 0),
            },
            single_org_id: match get("BRIDGE_SINGLE_ORG_ID") {
                None => None,
                Some(v) => Some(canonical_uuid(&v).ok_or_else(|| {
                    BridgeError::config(
                        "BRIDGE_SINGLE_ORG_ID",
                        format!(
                            "expected the Genesys org id (a UUID) of the one org this deployment serves, or no value for the shared-stack deployment; {}",
                            uuid_expectation(&v)
                        ),
                    )
                })?),
            },
        })
    }

    /// How data-action invocations are tied to orgs: per-org aliases unless
    /// `BRIDGE_SINGLE_ORG_ID` names the one org served.
    pub fn data_action_orgs(&self) -> DataActionOrgs {
        match &self.single_org_id {
            Some(org) => DataActionOrgs::SingleOrg(org.clone()),
            None => DataActionOrgs::PerOrgAlias,
        }
    }

    /// A required setting, or an error naming the variable.
    pub fn require<'a>(value: &'a Option<String>, var: &str) -> Result<&'a str> {
        value.as_deref().ok_or_else(|| {
            BridgeError::config(
                var,
                "expected this environment variable to be set (see infra/template.yaml)",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        let s = from(&[]).unwrap();
        assert_eq!(
            s.secret_source,
            SecretSourceSetting::SecretsManager {
                prefix: "genesys-bridge/orgs/".into()
            }
        );
        assert_eq!(s.secret_ttl, Duration::from_secs(300));
        assert_eq!(s.org_cache_entries, 1000);
        assert_eq!(
            from(&[("BRIDGE_ORG_CACHE_ENTRIES", "50")])
                .unwrap()
                .org_cache_entries,
            50
        );
        let s = from(&[
            ("BRIDGE_SECRET_SOURCE", "dir"),
            ("BRIDGE_ORGS_DIR", "/x"),
            ("BRIDGE_SECRET_TTL_SECONDS", "5"),
        ])
        .unwrap();
        assert_eq!(
            s.secret_source,
            SecretSourceSetting::Dir { path: "/x".into() }
        );
        assert_eq!(s.secret_ttl, Duration::from_secs(5));
        let e = from(&[("BRIDGE_SECRET_TTL_SECONDS", "five")]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("BRIDGE_SECRET_TTL_SECONDS"));
        let e = from(&[("BRIDGE_SECRET_SOURCE", "vault")]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("BRIDGE_SECRET_SOURCE"));
    }

    #[test]
    fn metrics_settings() {
        let s = from(&[]).unwrap();
        assert!(s.metrics_enabled);
        assert_eq!(s.metrics_namespace, "GenesysBridge");
        assert_eq!(s.max_receive_count, None);
        let s = from(&[
            ("BRIDGE_METRICS", "off"),
            ("BRIDGE_METRICS_NAMESPACE", "Bridge/prod"),
            ("BRIDGE_MAX_RECEIVE_COUNT", "5"),
        ])
        .unwrap();
        assert!(!s.metrics_enabled);
        assert_eq!(s.metrics_namespace, "Bridge/prod");
        assert_eq!(s.max_receive_count, Some(5));
        let e = from(&[("BRIDGE_METRICS", "cloudwatch")]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("BRIDGE_METRICS"));
        let e = from(&[("BRIDGE_MAX_RECEIVE_COUNT", "five")]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("BRIDGE_MAX_RECEIVE_COUNT"));
    }

    #[test]
    fn data_actions_need_org_aliases_unless_one_org_is_named() {
        let s = from(&[]).unwrap();
        assert_eq!(s.data_action_orgs(), DataActionOrgs::PerOrgAlias);
        // The shared template passes an empty value by default.
        let s = from(&[("BRIDGE_SINGLE_ORG_ID", "")]).unwrap();
        assert_eq!(s.data_action_orgs(), DataActionOrgs::PerOrgAlias);
        let s = from(&[(
            "BRIDGE_SINGLE_ORG_ID",
            " 4F2B1C9E-8A31-4D6E-9B7A-2C5D8E1F0A11 ",
        )])
        .unwrap();
        assert_eq!(
            s.data_action_orgs(),
            DataActionOrgs::SingleOrg("4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11".into())
        );
        for bad in ["true", "false", "acme", "4f2b1c9e"] {
            let e = from(&[("BRIDGE_SINGLE_ORG_ID", bad)]).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("BRIDGE_SINGLE_ORG_ID"), "{bad}");
            assert!(e.to_string().contains("UUID"), "{e}");
        }
    }
}
