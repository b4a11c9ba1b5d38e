//! `bridge dev`: the whole pipeline on one machine with the embedded defaults — the
//! sandbox for Genesys and Zendesk, org files from a directory, an in-memory queue,
//! idempotency store and DLQ — running the real handlers of all four functions.
//!
//! [`Pipeline`] (module `pipeline`) is the wiring, shared by the HTTP server ([`server`])
//! and the fixture replay ([`replay`]): invoke a function with a Lambda event, then drain
//! the queue into the three consumers as SQS batches, the way the event source mappings
//! would. This module holds what both need besides: the functions by name, the sandbox
//! with the org files pointed at it, and one-line descriptions of calls and jobs.

mod pipeline;
pub mod replay;
pub mod server;

use std::path::{Path, PathBuf};

use bridge::jobs::{Consumer, JobEnvelope};
use bridge::secrets::{MemorySource, SecretSource};
use bridge::OrgConfig;
use bridge_sandbox::{default_seed, JournalEntry, Sandbox};
use lambda_runtime::Diagnostic;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

pub use pipeline::{DeadLetter, Pipeline, WorkerRun, MAX_RECEIVES};

use crate::exit::CliError;

/// The four functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    WebhookIngest,
    AttributeWriter,
    TicketStatus,
    AgentlessMessages,
}

impl Function {
    pub const ALL: [Function; 4] = [
        Function::WebhookIngest,
        Function::AttributeWriter,
        Function::TicketStatus,
        Function::AgentlessMessages,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::WebhookIngest => "webhook-ingest",
            Function::AttributeWriter => "attribute-writer",
            Function::TicketStatus => "ticket-status",
            Function::AgentlessMessages => "agentless-messages",
        }
    }

    /// The names of all four, for messages: "webhook-ingest, attribute-writer, ...".
    pub fn names() -> String {
        Function::ALL.map(Function::name).join(", ")
    }

    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn of_consumer(c: Consumer) -> Function {
        match c {
            Consumer::AttributeWriter => Function::AttributeWriter,
            Consumer::TicketStatus => Function::TicketStatus,
            Consumer::AgentlessMessages => Function::AgentlessMessages,
        }
    }
}

/// A function as Lambda's invoke API names it: `name`, or `name:qualifier` for an alias
/// such as the org alias `org-<orgId>` through which Genesys invokes an org's data action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    pub function: Function,
    pub qualifier: Option<String>,
}

impl Invoked {
    /// The function itself, unqualified (SQS event source mappings, EventBridge rules and
    /// the Function URL invoke it so).
    pub fn unqualified(function: Function) -> Invoked {
        Invoked {
            function,
            qualifier: None,
        }
    }

    /// `name` or `name:qualifier`; `None` for an unknown function or an empty qualifier.
    pub fn parse(s: &str) -> Option<Invoked> {
        let (name, qualifier) = match s.split_once(':') {
            Some((name, q)) if !q.is_empty() => (name, Some(q.to_string())),
            Some(_) => return None,
            None => (s, None),
        };
        Function::from_name(name).map(|function| Invoked {
            function,
            qualifier,
        })
    }

    /// As it was named: `ticket-status:org-<orgId>`.
    pub fn label(&self) -> String {
        match &self.qualifier {
            Some(q) => format!("{}:{q}", self.function.name()),
            None => self.function.name().to_string(),
        }
    }

    /// The ARN a local invocation carries (`ctx.invoked_function_arn`), as in the shared
    /// stack, whose functions are named `<stack>-<binary>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:local:000000000000:function:genesys-bridge-{}",
            self.label()
        )
    }
}

/// Starts a sandbox with the default seed.
pub async fn start_sandbox() -> Result<Sandbox, CliError> {
    Sandbox::start(default_seed())
        .await
        .map_err(|e| CliError::failed(format!("could not start the sandbox: {e}")))
}

/// Starts a sandbox and loads every `<orgId>.json` of `orgs_dir` pointed at it (in memory:
/// the files are not changed; messages name the files, so a newcomer knows what to edit).
/// A missing directory is a usage error, "org directory DIR does not exist" then `advice`.
pub async fn sandbox_with_orgs(
    orgs_dir: &Path,
    advice: &str,
) -> Result<(Sandbox, MemorySource), CliError> {
    if !orgs_dir.is_dir() {
        return Err(CliError::usage(format!(
            "org directory {} does not exist{advice}",
            orgs_dir.display()
        )));
    }
    let sandbox = start_sandbox().await?;
    let base_url = sandbox.base_url();
    let source = MemorySource::from_dir(orgs_dir, |doc| {
        bridge_sandbox::point_org_config(doc, &base_url)
    })
    .map_err(|e| {
        CliError::usage(format!(
            "could not load the org files of {}: {e}",
            orgs_dir.display()
        ))
    })?;
    Ok((sandbox, source))
}

/// The org files of a directory, read and checked once, for pipelines that each point a
/// copy of them at their own sandbox ([`Pipeline::start_with`]).
pub struct OrgFiles {
    dir: PathBuf,
    /// (org id, document), in the order of [`SecretSource::list`].
    docs: Vec<(String, Value)>,
    orgs: Vec<LocalOrg>,
}

impl OrgFiles {
    /// Reads the documents of `source` (the files of `dir`): each must be a valid org
    /// config, and there must be at least one.
    async fn read(dir: &Path, source: &dyn SecretSource) -> Result<OrgFiles, CliError> {
        let mut docs = Vec::new();
        let mut orgs = Vec::new();
        for id in source.list().await.map_err(CliError::from)? {
            let doc = source
                .fetch(&id)
                .await
                .map_err(CliError::from)?
                .unwrap_or_default();
            let cfg = OrgConfig::from_json_for(doc.expose_secret(), &id).map_err(|e| {
                CliError::usage(format!(
                    "{}/{id}.json is not a valid org config: {e}",
                    dir.display()
                ))
            })?;
            orgs.push(LocalOrg {
                org_id: cfg.org_id.clone(),
                name: cfg.name.clone(),
                webhook_secret: cfg.webhook.shared_secret.expose_secret().to_string(),
            });
            // A valid config is JSON.
            docs.push((
                id,
                serde_json::from_str(doc.expose_secret()).unwrap_or_default(),
            ));
        }
        if orgs.is_empty() {
            return Err(CliError::usage(format!(
                "no <orgId>.json org files in {}",
                dir.display()
            )));
        }
        Ok(OrgFiles {
            dir: dir.to_path_buf(),
            docs,
            orgs,
        })
    }

    /// A fresh in-memory copy of the documents, pointed at the sandbox at `base_url`.
    fn source_for(&self, base_url: &str) -> MemorySource {
        let source = MemorySource::copied_from(&self.dir);
        for (id, doc) in &self.docs {
            let mut doc = doc.clone();
            bridge_sandbox::point_org_config(&mut doc, base_url);
            source.insert(id, doc.to_string());
        }
        source
    }
}

/// An org loaded for the local run (for the startup banner and curl examples).
#[derive(Debug, Clone)]
pub struct LocalOrg {
    pub org_id: String,
    pub name: Option<String>,
    /// The example's local, fake shared secret: printed in the curl examples on purpose.
    pub webhook_secret: String,
}

/// The token of the sandbox's seeded agent of `org_id` (fake, local: for curl examples of
/// the user route), with the user id.
pub fn seeded_agent(org_id: &str) -> Option<(String, String)> {
    default_seed()
        .genesys
        .orgs
        .into_iter()
        .find(|o| o.id == org_id)?
        .users
        .into_iter()
        .next()
        .map(|u| (u.id, u.token))
}

/// `METHOD path -> status`, one upstream call.
pub fn describe_call(e: &JournalEntry) -> String {
    format!("{} {} {}", e.method, e.path, e.status)
}

/// A failed invocation as Lambda's invoke API answers it: `{"errorType", "errorMessage"}`.
pub fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({"errorType": d.error_type, "errorMessage": d.error_message})
}

/// `<errorType>: <errorMessage>`, a failed invocation in one line.
pub fn describe_diagnostic(d: &Diagnostic) -> String {
    format!("{}: {}", d.error_type, d.error_message)
}

/// One line per job: kind and the ids that matter.
pub fn describe_job(j: &JobEnvelope) -> String {
    use bridge::jobs::Job;
    let detail = match &j.job {
        Job::ParticipantAttributes(p) => format!(
            "conversation {} participant {} attributes {}",
            p.conversation_id,
            p.participant_id,
            serde_json::to_string(&p.attributes).unwrap_or_default()
        ),
        Job::ContactFields(c) => {
            format!("contact {} ({} change(s))", c.contact_id, c.changes.len())
        }
        Job::ParticipantEnrich(p) => format!(
            "conversation {} participant {}{}{}",
            p.conversation_id,
            p.participant_id,
            p.phone
                .as_deref()
                .map(|x| format!(" phone {x}"))
                .unwrap_or_default(),
            p.email
                .as_deref()
                .map(|x| format!(" email {x}"))
                .unwrap_or_default()
        ),
        Job::TicketWrapup(t) => format!(
            "conversation {}{}{}",
            t.conversation_id,
            t.wrapup_code
                .as_deref()
                .map(|c| format!(" wrap-up code {c}"))
                .unwrap_or_default(),
            t.ticket_id
                .map(|id| format!(" ticket {id}"))
                .unwrap_or_default()
        ),
        // The recipient is not shown: a phone number is customer data.
        Job::MessageAgentless(m) => format!(
            "{} to {}{}",
            match (&m.template, &m.sender) {
                (Some(t), _) => format!("template {t}"),
                (None, Some(s)) => format!("text from sender {s}"),
                (None, None) => "(no template or sender)".to_string(),
            },
            match (&m.to_address, &m.conversation_id) {
                (Some(_), _) => "a given address".to_string(),
                (None, Some(c)) => format!("the customer of conversation {c}"),
                (None, None) => "(no recipient)".to_string(),
            },
            m.idempotency_key
                .as_deref()
                .map(|k| format!(" key {k}"))
                .unwrap_or_default()
        ),
    };
    format!(
        "{} -> {}: {detail}",
        j.job.kind(),
        Function::of_consumer(j.job.consumer()).name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoked_names_read_like_lambda_function_names() {
        let org = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
        let i = Invoked::parse(&format!("ticket-status:org-{org}")).unwrap();
        assert_eq!(i.function, Function::TicketStatus);
        assert_eq!(i.qualifier.as_deref(), Some(format!("org-{org}").as_str()));
        assert_eq!(
            i.arn(),
            format!(
                "arn:aws:lambda:local:000000000000:function:genesys-bridge-ticket-status:org-{org}"
            )
        );
        assert_eq!(
            Invoked::parse("attribute-writer").unwrap(),
            Invoked::unqualified(Function::AttributeWriter)
        );
        for bad in ["ticket-status:", "nope", "nope:org-x", ""] {
            assert_eq!(Invoked::parse(bad), None, "{bad}");
        }
        assert!(seeded_agent(org).is_some());
    }
}
