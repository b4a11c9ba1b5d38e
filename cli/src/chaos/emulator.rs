//! The AWS side of a chaos run on the local emulator (moto): the idempotency table and the
//! two job queues with their DLQs, shaped like `infra/template.yaml`'s, and the sandbox's
//! AWS fault proxy between webhook-ingest and the emulator (the harness itself talks to the
//! emulator directly). Only a loopback emulator is accepted: the run creates and deletes
//! resources.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use bridge::jobs::Consumer;
use bridge_sandbox::AwsProxy;
use serde_json::json;

use super::model::{MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_SECS};
use super::queues::SqsQueues;
use crate::exit::CliError;

pub struct Emulator {
    pub proxy: AwsProxy,
    /// What webhook-ingest uses: through the proxy, with the functions' timeouts and retries.
    pub function_conf: aws_config::SdkConfig,
    pub table: String,
    pub queues: SqsQueues,
    ddb: aws_sdk_dynamodb::Client,
}

fn fake_account() -> aws_config::ConfigLoader {
    let creds = aws_sdk_sqs::config::Credentials::new("chaos", "chaos", None, None, "chaos");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
}

fn failed(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::failed(format!(
        "the AWS emulator could not {what}: {e} (is moto running? scripts/test.sh starts one)"
    ))
}

impl Emulator {
    /// Creates the run's table and queues on the emulator at `endpoint` (loopback only),
    /// and a fault proxy in front of it at `rate` with `seed`.
    pub async fn start(
        endpoint: &str,
        run: &str,
        seed: u64,
        rate: f64,
    ) -> Result<Emulator, CliError> {
        let proxy = AwsProxy::start(endpoint)
            .await
            .map_err(|e| CliError::usage(format!("--aws-endpoint: {e}")))?;
        proxy.set_chaos(Some((seed, rate)));
        // The run's own calls (set-up, reading the final state) go straight to the emulator,
        // over the functions' transport (the workspace builds the SDK without one of its
        // own), without their attempt timeouts.
        let direct = bridge::aws::configure(fake_account(), Some(endpoint))
            .timeout_config(aws_config::timeout::TimeoutConfig::disabled())
            .load()
            .await;
        let ddb = aws_sdk_dynamodb::Client::new(&direct);
        let sqs = aws_sdk_sqs::Client::new(&direct);
        let table = format!("{run}-idempotency");
        create_table(&ddb, &table).await?;
        let mut queues = Vec::new();
        for (consumer, name) in [
            (Consumer::AttributeWriter, "attribute"),
            (Consumer::TicketStatus, "ticket"),
        ] {
            let dlq = create_queue(&sqs, &format!("{run}-{name}-jobs-dlq"), None).await?;
            let arn = sqs
                .get_queue_attributes()
                .queue_url(&dlq)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| {
                    failed(
                        "read a queue ARN",
                        aws_sdk_sqs::error::DisplayErrorContext(e),
                    )
                })?
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .unwrap_or_default();
            let redrive = json!({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVE_COUNT.to_string()});
            let url = create_queue(
                &sqs,
                &format!("{run}-{name}-jobs"),
                Some(redrive.to_string()),
            )
            .await?;
            queues.push((consumer, url, dlq));
        }
        let function_conf = bridge::aws::configure(fake_account(), Some(&proxy.endpoint()))
            .load()
            .await;
        Ok(Emulator {
            proxy,
            function_conf,
            table,
            queues: SqsQueues { sqs, queues },
            ddb,
        })
    }

    pub fn queue_url(&self, consumer: Consumer) -> String {
        self.queues
            .queues
            .iter()
            .find(|(c, _, _)| *c == consumer)
            .map(|(_, q, _)| q.clone())
            .unwrap_or_default()
    }

    /// Deletes the run's table and queues (best effort: the emulator forgets them anyway).
    pub async fn remove(&self) {
        let _ = self.ddb.delete_table().table_name(&self.table).send().await;
        for (_, q, d) in &self.queues.queues {
            for url in [q, d] {
                let _ = self.queues.sqs.delete_queue().queue_url(url).send().await;
            }
        }
    }
}

async fn create_table(ddb: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), CliError> {
    let key = |what: &str| failed("describe the table", what);
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| key(&e.to_string()))?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| key(&e.to_string()))?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| {
            failed(
                "create the idempotency table",
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            )
        })?;
    Ok(())
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive: Option<String>,
) -> Result<String, CliError> {
    let mut req = sqs.create_queue().queue_name(name).attributes(
        QueueAttributeName::VisibilityTimeout,
        VISIBILITY_TIMEOUT_SECS.to_string(),
    );
    if let Some(r) = redrive {
        req = req.attributes(QueueAttributeName::RedrivePolicy, r);
    }
    let out = req
        .send()
        .await
        .map_err(|e| failed("create a queue", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    Ok(out.queue_url().unwrap_or_default().to_string())
}
