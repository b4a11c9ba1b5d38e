//! `bridge dlq replay`: moves dead-lettered jobs back to a queue.
//!
//! A message its worker dead-lettered as "may have been sent" (message attribute
//! `bridge-outcome` = `may-have-been-sent`: an agentless message whose send reached Genesys
//! with an unknown outcome) is refused and left in the DLQ: sending it again could message a
//! customer twice. `--resend-ambiguous` sends it again deliberately: the job is moved with
//! its `resend` count raised, which gives it a new claim, so the worker sends it once more
//! (and its own dead-letter marks are dropped).
//!
//! Order per message: send to the target, and only when that succeeded delete it from the
//! DLQ. A message whose send fails stays in the DLQ (it becomes visible again after the
//! visibility timeout), so nothing is ever lost; a delete that fails after a successful send
//! leaves the message in both queues, which is reported (job ids are deterministic, so the
//! copy is recognisable). A dry run keeps the messages invisible while it lists them and
//! releases them at the end, so it sees each message once and changes nothing.

use std::collections::HashSet;
use std::time::Duration;

use std::collections::HashMap;

use aws_sdk_sqs::types::{
    Message, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
};
use aws_sdk_sqs::Client;
use bridge::aws::sdk_error;
use bridge::jobs::{Job, JobEnvelope};
use bridge::queue::{
    CONVERSATION_ATTRIBUTE, ERROR_TYPE_ATTRIBUTE, MAY_HAVE_BEEN_SENT, OUTCOME_ATTRIBUTE,
    REASON_ATTRIBUTE,
};
use bridge::{BridgeError, ErrorKind, Upstream};
use serde::Serialize;

use crate::exit::CliError;

/// Long enough to send and delete a batch of 10; short enough that a message whose send
/// failed is back in the DLQ soon.
const VISIBILITY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub queue_url: String,
    pub to: Option<String>,
    pub dry_run: bool,
    pub max: Option<usize>,
    /// Send messages marked "may have been sent" again, deliberately (module docs).
    pub resend_ambiguous: bool,
}

/// One message seen in the DLQ.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageLine {
    pub message_id: String,
    /// Job kind, org and job id when the body is a job envelope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// How often SQS delivered it before it was dead-lettered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receive_count: Option<u32>,
    /// Its worker dead-lettered it as "may have been sent".
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub may_have_been_sent: bool,
    /// The conversation the message was about, when its worker named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// "moved", "would move", "send failed", "sent, delete failed", "refused: ...".
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplaySummary {
    pub dlq: String,
    pub target: String,
    pub dry_run: bool,
    pub moved: usize,
    pub failed: usize,
    pub would_move: usize,
    /// Messages marked "may have been sent", left in the DLQ (no `--resend-ambiguous`).
    pub refused: usize,
    pub messages: Vec<MessageLine>,
}

impl ReplaySummary {
    /// Every message moved (or, in a dry run, movable): none failed, none refused.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.refused == 0
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, m) in self.messages.iter().enumerate() {
            out.push_str(&format!(
                "  {:>3}  {}  {}  org {}  job {}{}{}  -> {}{}\n",
                i + 1,
                m.message_id,
                m.kind.as_deref().unwrap_or("(not a job envelope)"),
                m.org_id.as_deref().unwrap_or("-"),
                m.job_id.as_deref().unwrap_or("-"),
                m.conversation_id
                    .as_deref()
                    .map(|c| format!("  conversation {c}"))
                    .unwrap_or_default(),
                m.receive_count
                    .map(|n| format!("  received {n}x"))
                    .unwrap_or_default(),
                m.outcome,
                m.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default(),
            ));
        }
        if self.refused > 0 {
            out.push_str(&format!(
                "{} message(s) may have been sent already (their send reached Genesys with an unknown outcome) and stay in the DLQ: check with the customer's conversations in Genesys, then rerun with --resend-ambiguous to send them again deliberately\n",
                self.refused
            ));
        }
        if self.dry_run {
            out.push_str(&format!(
                "dry run: {} message(s) would be moved from {} to {}; nothing was sent or deleted\n",
                self.would_move, self.dlq, self.target
            ));
        } else {
            out.push_str(&format!(
                "moved {} message(s) from {} to {}, {} failed{}\n",
                self.moved,
                self.dlq,
                self.target,
                self.failed,
                if self.failed > 0 {
                    " (failed sends stay in the DLQ; run again to retry them)"
                } else {
                    ""
                }
            ));
        }
        out
    }
}

/// Called after each message: (done, expected total if known).
pub type OnProgress<'a> = &'a mut dyn FnMut(usize, Option<usize>);

fn sqs_err<E>(
    op: &str,
) -> impl Fn(aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>) -> BridgeError + '_
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| sdk_error(Upstream::Sqs, op, e)
}

/// A queue the operator named must exist; anything else about it is an AWS outcome.
fn queue_error(flag: &str, url: &str, e: BridgeError) -> CliError {
    if e.kind == ErrorKind::NotFound {
        CliError::usage(format!("{flag} {url}: no such queue ({})", e.message))
    } else {
        CliError::failed(format!("{flag} {url}: {e}"))
    }
}

async fn approximate_count(client: &Client, url: &str) -> Result<usize, BridgeError> {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(sqs_err("read the queue's attributes"))?;
    Ok(out
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// The queue whose redrive policy names this DLQ, when there is exactly one.
async fn source_queue(client: &Client, dlq: &str) -> Result<String, CliError> {
    let out = client
        .list_dead_letter_source_queues()
        .queue_url(dlq)
        .send()
        .await
        .map_err(|e| queue_error("--queue", dlq, sqs_err("list the DLQ's source queues")(e)))?;
    match out.queue_urls() {
        [one] => Ok(one.clone()),
        [] => Err(CliError::usage(format!(
            "no queue names {dlq} as its dead-letter queue; pass --to TARGET_URL"
        ))),
        many => Err(CliError::usage(format!(
            "several queues use {dlq} as their dead-letter queue ({}); pass --to TARGET_URL",
            many.join(", ")
        ))),
    }
}

/// The two queues of a replay, checked to exist and to differ.
struct Queues {
    dlq: String,
    target: String,
    /// A FIFO target needs a message group (and deduplication) id on every send.
    fifo: bool,
}

impl Queues {
    /// Checks the DLQ, finds the target (`--to`, else the DLQ's only source queue) and
    /// checks it; also answers how many messages the DLQ holds now (approximately).
    async fn resolve(client: &Client, opts: &ReplayOptions) -> Result<(Queues, usize), CliError> {
        let dlq = opts.queue_url.clone();
        let expected = approximate_count(client, &dlq)
            .await
            .map_err(|e| queue_error("--queue", &dlq, e))?;
        let target = match &opts.to {
            Some(t) => t.clone(),
            None => source_queue(client, &dlq).await?,
        };
        if target == dlq {
            return Err(CliError::usage(
                "--to is the DLQ itself; name the queue the jobs came from",
            ));
        }
        approximate_count(client, &target)
            .await
            .map_err(|e| queue_error("--to", &target, e))?;
        let fifo = target.ends_with(".fifo");
        Ok((Queues { dlq, target, fifo }, expected))
    }

    /// Up to `want` (at most 10) messages, kept invisible for [`VISIBILITY`].
    async fn receive(&self, client: &Client, want: usize) -> Result<Vec<Message>, CliError> {
        let received = client
            .receive_message()
            .queue_url(&self.dlq)
            .max_number_of_messages(want as i32)
            // Long polling asks every SQS server, so an empty answer means "empty".
            .wait_time_seconds(1)
            .visibility_timeout(VISIBILITY.as_secs() as i32)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| CliError::failed(sqs_err("receive from the DLQ")(e).to_string()))?;
        Ok(received.messages().to_vec())
    }

    /// Sends `m` (as `resend` rewrites it, if given) to the target and, only when that
    /// succeeded, deletes it from the DLQ.
    async fn move_message(
        &self,
        client: &Client,
        m: &Message,
        receipt: &str,
        resend: Option<Resend>,
    ) -> Move {
        let sys = |k: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&k)).cloned();
        let (body, attributes) = match resend {
            Some(r) => (r.body, r.attributes),
            None => (
                m.body().unwrap_or_default().to_string(),
                m.message_attributes().cloned(),
            ),
        };
        let mut send = client
            .send_message()
            .queue_url(&self.target)
            .message_body(body)
            .set_message_attributes(attributes);
        if self.fifo {
            send = send
                .message_group_id(
                    sys(MessageSystemAttributeName::MessageGroupId)
                        .unwrap_or_else(|| "bridge-dlq-replay".into()),
                )
                .message_deduplication_id(
                    sys(MessageSystemAttributeName::MessageDeduplicationId)
                        .unwrap_or_else(|| m.message_id().unwrap_or_default().to_string()),
                );
        }
        if let Err(e) = send.send().await {
            return Move::SendFailed(sqs_err("send to the target queue")(e).to_string());
        }
        match client
            .delete_message()
            .queue_url(&self.dlq)
            .receipt_handle(receipt)
            .send()
            .await
        {
            Ok(_) => Move::Moved,
            Err(e) => Move::DeleteFailed(sqs_err("delete from the DLQ")(e).to_string()),
        }
    }

    /// Makes the messages a dry run held visible again at once, instead of after the
    /// visibility timeout.
    async fn release(&self, client: &Client, receipts: Vec<String>) {
        for receipt in receipts {
            let _ = client
                .change_message_visibility()
                .queue_url(&self.dlq)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await;
        }
    }
}

/// A message marked "may have been sent", rewritten to be sent again deliberately.
struct Resend {
    body: String,
    attributes: Option<HashMap<String, MessageAttributeValue>>,
}

/// The worker's marks, dropped from a message that is sent again.
const MARKS: [&str; 4] = [
    OUTCOME_ATTRIBUTE,
    REASON_ATTRIBUTE,
    ERROR_TYPE_ATTRIBUTE,
    CONVERSATION_ATTRIBUTE,
];

/// A string message attribute of `m`.
fn attribute<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.message_attributes()?.get(name)?.string_value()
}

/// `m`, a message marked "may have been sent", as a deliberate resend: an agentless
/// message job gets its `resend` count raised (a new claim, so the worker sends it once
/// more); the worker's marks are dropped.
fn resend_of(m: &Message) -> Resend {
    let raw = m.body().unwrap_or_default();
    let body = match JobEnvelope::from_json(raw) {
        Ok(mut job) => {
            if let Job::MessageAgentless(msg) = &mut job.job {
                msg.resend += 1;
            }
            job.to_json()
        }
        // Not a job this build reads: moved as it is; its worker will say what is wrong.
        Err(_) => raw.to_string(),
    };
    let attributes = m.message_attributes().map(|a| {
        a.iter()
            .filter(|(k, _)| !MARKS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    });
    Resend { body, attributes }
}

/// What happened to one message that was to be moved.
enum Move {
    Moved,
    /// The message stays in the DLQ.
    SendFailed(String),
    /// The message is now in both queues.
    DeleteFailed(String),
}

impl MessageLine {
    /// The line of a received message, before anything is done with it.
    fn of(m: &Message) -> MessageLine {
        let job = JobEnvelope::from_json(m.body().unwrap_or_default()).ok();
        MessageLine {
            message_id: m.message_id().unwrap_or_default().to_string(),
            kind: job.as_ref().map(|j| j.job.kind().to_string()),
            org_id: job.as_ref().map(|j| j.org_id.clone()),
            job_id: job.as_ref().map(|j| j.job_id.clone()),
            receive_count: m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|v| v.parse().ok()),
            may_have_been_sent: attribute(m, OUTCOME_ATTRIBUTE) == Some(MAY_HAVE_BEEN_SENT),
            conversation_id: attribute(m, CONVERSATION_ATTRIBUTE).map(str::to_string),
            outcome: String::new(),
            error: None,
        }
    }
}

impl ReplaySummary {
    /// Counts `line`, whose outcome is `outcome`, and keeps it.
    fn record(&mut self, mut line: MessageLine, outcome: Move) {
        match outcome {
            Move::Moved if line.may_have_been_sent => {
                line.outcome = "moved to be sent again (it may have been sent before)".into();
                self.moved += 1;
            }
            Move::Moved => {
                line.outcome = "moved".into();
                self.moved += 1;
            }
            Move::SendFailed(e) => {
                line.outcome = "send failed, left in the DLQ".into();
                line.error = Some(e);
                self.failed += 1;
            }
            Move::DeleteFailed(e) => {
                line.outcome = "sent, but delete from the DLQ failed: now in both queues".into();
                line.error = Some(e);
                self.failed += 1;
            }
        }
        self.messages.push(line);
    }
}

/// Moves (or, in a dry run, lists) the messages of the DLQ, calling `progress` after each.
pub async fn replay(
    client: &Client,
    opts: &ReplayOptions,
    progress: OnProgress<'_>,
) -> Result<ReplaySummary, CliError> {
    if opts.max == Some(0) {
        return Err(CliError::usage("--max must be at least 1"));
    }
    let (queues, expected) = Queues::resolve(client, opts).await?;
    let total = Some(opts.max.map_or(expected, |m| m.min(expected)));
    let mut summary = ReplaySummary {
        dlq: queues.dlq.clone(),
        target: queues.target.clone(),
        dry_run: opts.dry_run,
        moved: 0,
        failed: 0,
        would_move: 0,
        refused: 0,
        messages: Vec::new(),
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut held: Vec<String> = Vec::new();
    loop {
        let done = summary.messages.len();
        // Never more than --max leaves, so the loop ends at --max here.
        let want = opts.max.map_or(10, |m| (m - done).min(10));
        if want == 0 {
            break;
        }
        let messages = queues.receive(client, want).await?;
        if messages.is_empty() {
            break;
        }
        for m in &messages {
            let Some(receipt) = m.receipt_handle() else {
                continue;
            };
            let line = MessageLine::of(m);
            if !seen.insert(line.message_id.clone()) {
                continue;
            }
            if line.may_have_been_sent && !opts.resend_ambiguous {
                // Left in the DLQ, visible again at the end.
                held.push(receipt.to_string());
                summary.refused += 1;
                summary.messages.push(MessageLine {
                    outcome: "refused: may have been sent; left in the DLQ (--resend-ambiguous sends it again)".into(),
                    ..line
                });
            } else if opts.dry_run {
                held.push(receipt.to_string());
                summary.would_move += 1;
                summary.messages.push(MessageLine {
                    outcome: "would move".into(),
                    ..line
                });
            } else {
                let resend = line.may_have_been_sent.then(|| resend_of(m));
                let outcome = queues.move_message(client, m, receipt, resend).await;
                summary.record(line, outcome);
            }
            progress(summary.messages.len(), total);
        }
    }
    queues.release(client, held).await;
    Ok(summary)
}
