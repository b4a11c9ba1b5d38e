//! What the functions talk to in a local run: the sandbox (Genesys + Zendesk), and in the AWS
//! emulator the org secrets, the two job queues and the idempotency table.

use std::path::Path;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use bridge_sandbox::{default_seed, Sandbox};
use serde_json::Value;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The example org configs (`examples/orgs/<orgId>.json`), as (org id, document).
pub fn org_documents(dir: &Path) -> Result<Vec<(String, Value)>, Error> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().and_then(|e| e.to_str()) != Some("json")
            || bridge::config::validate_uuid("orgId", stem).is_err()
        {
            continue;
        }
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((stem.to_string(), doc));
    }
    if out.is_empty() {
        return Err(format!("no <orgId>.json org files in {}", dir.display()).into());
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// `docs` with their Genesys and Zendesk URLs pointed at the sandbox at `base_url`.
pub fn pointed_at(docs: &[(String, Value)], base_url: &str) -> Vec<(String, Value)> {
    docs.iter()
        .map(|(id, d)| {
            let mut d = d.clone();
            bridge_sandbox::point_org_config(&mut d, base_url);
            (id.clone(), d)
        })
        .collect()
}

/// A fresh sandbox with the default seed (the ids of `examples/orgs` and `events/`).
pub async fn fresh_sandbox() -> Result<Sandbox, Error> {
    Ok(Sandbox::start(default_seed()).await?)
}

/// The AWS emulator, through the SDK: org secrets, queues, the idempotency table.
#[derive(Clone)]
pub struct Aws {
    pub endpoint: String,
    secrets: aws_sdk_secretsmanager::Client,
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
}

/// The queues and table webhook-ingest writes to.
#[derive(Debug, Clone)]
pub struct IngestResources {
    pub attribute_queue_url: String,
    pub ticket_queue_url: String,
    /// webhook-ingest's queue of `message.agentless` jobs, and agentless-messages' DLQ.
    pub message_queue_url: String,
    pub message_dlq_url: String,
    pub table: String,
}

impl Aws {
    /// The emulator `scripts/` started (`BRIDGE_TEST_AWS_ENDPOINT`); fails with instructions
    /// when there is none.
    pub async fn from_env() -> Aws {
        let conf = bridge_testkit::aws_test_config().await;
        Aws {
            endpoint: bridge_testkit::aws_test_endpoint(),
            secrets: aws_sdk_secretsmanager::Client::new(&conf),
            sqs: aws_sdk_sqs::Client::new(&conf),
            dynamodb: aws_sdk_dynamodb::Client::new(&conf),
        }
    }

    /// Writes each document as the secret `<prefix><orgId>` (created or replaced).
    pub async fn put_org_secrets(
        &self,
        prefix: &str,
        docs: &[(String, Value)],
    ) -> Result<(), Error> {
        for (org, doc) in docs {
            let name = format!("{prefix}{org}");
            let body = doc.to_string();
            let created = self
                .secrets
                .create_secret()
                .name(&name)
                .secret_string(&body)
                .send()
                .await;
            if let Err(e) = created {
                let exists = e
                    .as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception());
                if !exists {
                    return Err(format!("create secret {name}: {e:?}").into());
                }
                self.secrets
                    .put_secret_value()
                    .secret_id(&name)
                    .secret_string(&body)
                    .send()
                    .await
                    .map_err(|e| format!("put secret {name}: {e:?}"))?;
            }
        }
        Ok(())
    }

    /// Creates two standard queues and the idempotency table, named after `run`.
    pub async fn create_ingest_resources(&self, run: &str) -> Result<IngestResources, Error> {
        let mut urls = Vec::new();
        for which in ["attributes", "tickets", "messages", "messages-dlq"] {
            let out = self
                .sqs
                .create_queue()
                .queue_name(format!("{run}-{which}"))
                .send()
                .await
                .map_err(|e| format!("create queue: {e:?}"))?;
            urls.push(out.queue_url.unwrap_or_default());
        }
        let table = format!("{run}-idempotency");
        self.dynamodb
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| format!("create table: {e:?}"))?;
        Ok(IngestResources {
            attribute_queue_url: urls[0].clone(),
            ticket_queue_url: urls[1].clone(),
            message_queue_url: urls[2].clone(),
            message_dlq_url: urls[3].clone(),
            table,
        })
    }

    /// Empties the queues and the table (between fixtures).
    pub async fn reset(&self, r: &IngestResources) -> Result<(), Error> {
        for url in [
            &r.attribute_queue_url,
            &r.ticket_queue_url,
            &r.message_queue_url,
            &r.message_dlq_url,
        ] {
            while !self.receive(url).await?.is_empty() {}
        }
        let items = self
            .dynamodb
            .scan()
            .table_name(&r.table)
            .send()
            .await
            .map_err(|e| format!("scan: {e:?}"))?;
        for item in items.items() {
            if let Some(id) = item.get("id") {
                self.dynamodb
                    .delete_item()
                    .table_name(&r.table)
                    .key("id", id.clone())
                    .send()
                    .await
                    .map_err(|e| format!("delete item: {e:?}"))?;
            }
        }
        Ok(())
    }

    /// Takes (receives and deletes) up to 10 messages of `url`: (message id, body).
    pub async fn receive(&self, url: &str) -> Result<Vec<(String, String)>, Error> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .map_err(|e| format!("receive: {e:?}"))?;
        let mut taken = Vec::new();
        for m in out.messages() {
            if let Some(handle) = m.receipt_handle() {
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| format!("delete message: {e:?}"))?;
            }
            taken.push((
                m.message_id().unwrap_or_default().to_string(),
                m.body().unwrap_or_default().to_string(),
            ));
        }
        Ok(taken)
    }
}
