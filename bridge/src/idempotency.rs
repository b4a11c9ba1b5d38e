//! Idempotency records, so an event delivered twice acts once (Powertools semantics).
//!
//! A record is keyed by `"<orgId>#<eventId>"` ([`key`]). [`IdempotencyStore::begin`] claims
//! it with a conditional put: status `INPROGRESS`, `in_progress_expiration` = the
//! invocation's deadline (epoch ms), `expiration` = now + record TTL (epoch seconds; the
//! table's TTL attribute), `owner` = who claims (the invocation's request id). The claim
//! succeeds when there is no record, the record has expired, or it is `INPROGRESS` past its
//! deadline (that invocation died), or `INPROGRESS` by the same owner: a claim whose put
//! was applied but whose answer was lost is retried by the SDK, and that retry must find
//! its own record, not a stranger's. After the jobs are queued,
//! [`IdempotencyStore::complete`] marks it `COMPLETED`; if queueing failed,
//! [`IdempotencyStore::release`] deletes it, so a retry can proceed.
//!
//! [`DynamoIdempotency`] is the AWS adapter (table with partition key `id` of type S, TTL
//! on `expiration`); `MemoryIdempotency` the local one (`bridge dev`, handler tests), with the
//! same semantics, compiled with the `local` feature.

#[cfg(feature = "dynamodb")]
use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
#[cfg(feature = "dynamodb")]
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
#[cfg(feature = "dynamodb")]
use aws_sdk_dynamodb::operation::put_item::PutItemError;
#[cfg(feature = "dynamodb")]
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::error::Result;
#[cfg(feature = "dynamodb")]
use crate::error::{BridgeError, ErrorKind, Upstream};

/// Genesys retries EventBridge delivery for up to 4 days; a record must outlive that, plus
/// a margin for clock skew and DynamoDB's lazy TTL deletion (which never matters for
/// correctness: expired records are treated as absent).
pub const DEFAULT_RECORD_TTL: Duration = Duration::from_secs(5 * 24 * 3600);

/// The record key of an event of an org.
pub fn key(org_id: &str, event_id: &str) -> String {
    format!("{org_id}#{event_id}")
}

/// The owner of a claim made by the invocation `request_id`: the request id itself, or,
/// when there is none (`Context::default()` in tests and local runs), a fresh id, so that
/// two such invocations never take each other's claim for their own.
pub fn owner(request_id: &str) -> String {
    match request_id.trim() {
        "" => format!("local-{}", uuid::Uuid::new_v4()),
        id => id.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    InProgress,
    Completed,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::InProgress => "INPROGRESS",
            RecordStatus::Completed => "COMPLETED",
        }
    }

    #[cfg(feature = "dynamodb")]
    fn parse(s: &str) -> Option<RecordStatus> {
        match s {
            "INPROGRESS" => Some(RecordStatus::InProgress),
            "COMPLETED" => Some(RecordStatus::Completed),
            _ => None,
        }
    }
}

/// The outcome of [`IdempotencyStore::begin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This invocation owns the event: do the work, then `complete` or `release`.
    Acquired,
    /// Another invocation did (`Completed`) or is doing (`InProgress`) the work.
    Duplicate(RecordStatus),
}

/// A stored record, for inspection (tests, operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub status: RecordStatus,
    /// Epoch seconds after which the record counts as absent.
    pub expiration: u64,
    /// Epoch milliseconds after which an `INPROGRESS` record may be taken over.
    pub in_progress_expiration: Option<u64>,
    /// What the work came to, as its owner recorded it ([`IdempotencyStore::complete_with`]),
    /// so that a duplicate can answer what the first one did.
    pub outcome: Option<String>,
    /// Who claimed it (records written before owners were stored have none).
    pub owner: Option<String>,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for `owner` (the invocation's request id: unique per invocation, and
    /// never empty) until `in_progress_until_ms` (the invocation deadline, epoch ms). An
    /// `INPROGRESS` record of the same owner is this claim seen again: `Acquired`.
    async fn begin(
        &self,
        key: &str,
        owner: &str,
        in_progress_until_ms: u64,
        now_ms: u64,
    ) -> Result<Claim>;
    /// Marks the work done; duplicates from now on are dropped until the record expires.
    async fn complete(&self, key: &str, now_ms: u64) -> Result<()>;
    /// [`IdempotencyStore::complete`], keeping `outcome` (a short JSON document, no
    /// secrets) in the record for the duplicates to read.
    async fn complete_with(&self, key: &str, now_ms: u64, outcome: &str) -> Result<()>;
    /// Forgets `owner`'s claim (the work failed, or the claim failed in a way that may
    /// have made it) so that a retry can proceed. A record of another owner, or one already
    /// `COMPLETED`, stays as it is.
    async fn release(&self, key: &str, owner: &str) -> Result<()>;
    /// The record as stored, `None` if there is none (expired ones included).
    async fn record(&self, key: &str) -> Result<Option<IdempotencyRecord>>;
}

#[cfg(any(test, feature = "local", feature = "dynamodb"))]
fn expiration(now_ms: u64, ttl: Duration) -> u64 {
    now_ms / 1000 + ttl.as_secs()
}

// Also built for this module's unit tests, which check the claim rules through it.
#[cfg(any(test, feature = "local"))]
pub use memory::MemoryIdempotency;

#[cfg(any(test, feature = "local"))]
mod memory {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;

    use super::{
        expiration, Claim, IdempotencyRecord, IdempotencyStore, RecordStatus, DEFAULT_RECORD_TTL,
    };
    use crate::error::Result;

    /// Whether an existing record still blocks a claim by `owner` at `now_ms` (the condition
    /// of the DynamoDB put, in memory).
    fn blocks(r: &IdempotencyRecord, owner: &str, now_ms: u64) -> bool {
        if r.expiration < now_ms / 1000 {
            return false;
        }
        match r.status {
            RecordStatus::Completed => true,
            RecordStatus::InProgress => {
                r.owner.as_deref() != Some(owner)
                    && r.in_progress_expiration.is_none_or(|d| d >= now_ms)
            }
        }
    }

    /// The local store, same semantics as the DynamoDB one.
    pub struct MemoryIdempotency {
        records: Mutex<HashMap<String, IdempotencyRecord>>,
        ttl: Duration,
    }

    impl Default for MemoryIdempotency {
        fn default() -> Self {
            MemoryIdempotency::new(DEFAULT_RECORD_TTL)
        }
    }

    impl MemoryIdempotency {
        pub fn new(ttl: Duration) -> MemoryIdempotency {
            MemoryIdempotency {
                records: Mutex::new(HashMap::new()),
                ttl,
            }
        }

        /// How many records are stored (expired ones included).
        pub fn len(&self) -> usize {
            self.records.lock().expect("poisoned").len()
        }

        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        fn store_completed(&self, key: &str, now_ms: u64, outcome: Option<String>) {
            let mut map = self.records.lock().expect("poisoned");
            let owner = map.get(key).and_then(|r| r.owner.clone());
            map.insert(
                key.to_string(),
                IdempotencyRecord {
                    status: RecordStatus::Completed,
                    expiration: expiration(now_ms, self.ttl),
                    in_progress_expiration: None,
                    outcome,
                    owner,
                },
            );
        }
    }

    #[async_trait]
    impl IdempotencyStore for MemoryIdempotency {
        async fn begin(
            &self,
            key: &str,
            owner: &str,
            in_progress_until_ms: u64,
            now_ms: u64,
        ) -> Result<Claim> {
            let mut map = self.records.lock().expect("poisoned");
            if let Some(r) = map.get(key) {
                if blocks(r, owner, now_ms) {
                    return Ok(Claim::Duplicate(r.status));
                }
            }
            map.insert(
                key.to_string(),
                IdempotencyRecord {
                    status: RecordStatus::InProgress,
                    expiration: expiration(now_ms, self.ttl),
                    in_progress_expiration: Some(in_progress_until_ms),
                    outcome: None,
                    owner: Some(owner.to_string()),
                },
            );
            Ok(Claim::Acquired)
        }

        async fn complete(&self, key: &str, now_ms: u64) -> Result<()> {
            self.store_completed(key, now_ms, None);
            Ok(())
        }

        async fn complete_with(&self, key: &str, now_ms: u64, outcome: &str) -> Result<()> {
            self.store_completed(key, now_ms, Some(outcome.to_string()));
            Ok(())
        }

        async fn release(&self, key: &str, owner: &str) -> Result<()> {
            let mut map = self.records.lock().expect("poisoned");
            let ours = map.get(key).is_some_and(|r| {
                r.status == RecordStatus::InProgress && r.owner.as_deref() == Some(owner)
            });
            if ours {
                map.remove(key);
            }
            Ok(())
        }

        async fn record(&self, key: &str) -> Result<Option<IdempotencyRecord>> {
            Ok(self.records.lock().expect("poisoned").get(key).cloned())
        }
    }
}

/// The AWS adapter.
#[cfg(feature = "dynamodb")]
#[derive(Clone, Debug)]
pub struct DynamoIdempotency {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl: Duration,
}

#[cfg(feature = "dynamodb")]
const OP_BEGIN: &str = "claim an idempotency record in DynamoDB";

#[cfg(feature = "dynamodb")]
impl DynamoIdempotency {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> DynamoIdempotency {
        DynamoIdempotency {
            client,
            table: table.into(),
            ttl: DEFAULT_RECORD_TTL,
        }
    }

    pub fn from_conf(conf: &aws_config::SdkConfig, table: impl Into<String>) -> DynamoIdempotency {
        DynamoIdempotency::new(aws_sdk_dynamodb::Client::new(conf), table)
    }

    /// Record lifetime (default [`DEFAULT_RECORD_TTL`]).
    pub fn with_ttl(mut self, ttl: Duration) -> DynamoIdempotency {
        self.ttl = ttl;
        self
    }

    async fn mark_completed(&self, key: &str, now_ms: u64, outcome: Option<&str>) -> Result<()> {
        let set = match outcome {
            Some(_) => "SET #status = :completed, expiration = :exp, outcome = :outcome REMOVE in_progress_expiration",
            None => "SET #status = :completed, expiration = :exp REMOVE in_progress_expiration",
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_string()))
            .update_expression(set)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":completed",
                AttributeValue::S(RecordStatus::Completed.as_str().into()),
            )
            .expression_attribute_values(
                ":exp",
                AttributeValue::N(expiration(now_ms, self.ttl).to_string()),
            );
        if let Some(o) = outcome {
            update = update.expression_attribute_values(":outcome", AttributeValue::S(o.into()));
        }
        update.send().await.map_err(|e| {
            crate::aws::sdk_error(
                Upstream::DynamoDb,
                "mark an idempotency record COMPLETED",
                e,
            )
            .with_hint(self.hint())
        })?;
        Ok(())
    }

    fn hint(&self) -> String {
        format!(
            "check that table {} exists (partition key `id` of type S, TTL on `expiration`) and the function may read and write it",
            self.table
        )
    }

    async fn try_put(
        &self,
        key: &str,
        owner: &str,
        in_progress_until_ms: u64,
        now_ms: u64,
    ) -> Result<Option<Claim>> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", AttributeValue::S(key.to_string()))
            .item("status", AttributeValue::S(RecordStatus::InProgress.as_str().into()))
            .item("expiration", AttributeValue::N(expiration(now_ms, self.ttl).to_string()))
            .item("in_progress_expiration", AttributeValue::N(in_progress_until_ms.to_string()))
            .item("owner", AttributeValue::S(owner.to_string()))
            .condition_expression(
                "attribute_not_exists(id) OR expiration < :now OR (#status = :inprogress AND (in_progress_expiration < :now_ms OR #owner = :owner))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_string()))
            .expression_attribute_values(":now", AttributeValue::N((now_ms / 1000).to_string()))
            .expression_attribute_values(":now_ms", AttributeValue::N(now_ms.to_string()))
            .expression_attribute_values(":inprogress", AttributeValue::S(RecordStatus::InProgress.as_str().into()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(_) => Ok(Some(Claim::Acquired)),
            Err(e) => {
                let existing = match e.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(c)) => {
                        c.item().map(parse_record)
                    }
                    _ => {
                        return Err(crate::aws::sdk_error(Upstream::DynamoDb, OP_BEGIN, e)
                            .with_hint(self.hint()))
                    }
                };
                let existing = match existing {
                    Some(r) => Some(r?),
                    // Not every DynamoDB implementation returns the old item: read it.
                    None => self.record(key).await?,
                };
                Ok(existing.map(|r| Claim::Duplicate(r.status)))
            }
        }
    }
}

#[cfg(feature = "dynamodb")]
fn parse_record(item: &HashMap<String, AttributeValue>) -> Result<IdempotencyRecord> {
    let bad = |what: &str| {
        BridgeError::upstream(
            Upstream::DynamoDb,
            ErrorKind::UnexpectedResponse,
            format!("idempotency record has no valid `{what}`"),
        )
    };
    let num = |name: &str| -> Option<u64> {
        match item.get(name) {
            Some(AttributeValue::N(n)) => n.parse().ok(),
            _ => None,
        }
    };
    let status = match item.get("status") {
        Some(AttributeValue::S(s)) => RecordStatus::parse(s).ok_or_else(|| bad("status"))?,
        _ => return Err(bad("status")),
    };
    Ok(IdempotencyRecord {
        status,
        expiration: num("expiration").ok_or_else(|| bad("expiration"))?,
        in_progress_expiration: num("in_progress_expiration"),
        outcome: match item.get("outcome") {
            Some(AttributeValue::S(o)) => Some(o.clone()),
            _ => None,
        },
        owner: match item.get("owner") {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        },
    })
}

#[cfg(feature = "dynamodb")]
#[async_trait]
impl IdempotencyStore for DynamoIdempotency {
    async fn begin(
        &self,
        key: &str,
        owner: &str,
        in_progress_until_ms: u64,
        now_ms: u64,
    ) -> Result<Claim> {
        // A record that blocked the put may be deleted (released) before we read it back;
        // then the put can simply be tried again.
        for _ in 0..3 {
            if let Some(claim) = self
                .try_put(key, owner, in_progress_until_ms, now_ms)
                .await?
            {
                return Ok(claim);
            }
        }
        Err(BridgeError::upstream(
            Upstream::DynamoDb,
            ErrorKind::Conflict,
            format!("the idempotency record {key} kept changing while it was being claimed"),
        )
        .with_operation(OP_BEGIN))
    }

    async fn complete(&self, key: &str, now_ms: u64) -> Result<()> {
        self.mark_completed(key, now_ms, None).await
    }

    async fn complete_with(&self, key: &str, now_ms: u64, outcome: &str) -> Result<()> {
        self.mark_completed(key, now_ms, Some(outcome)).await
    }

    async fn release(&self, key: &str, owner: &str) -> Result<()> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_string()))
            .condition_expression("#owner = :owner AND #status = :inprogress")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_string()))
            .expression_attribute_values(
                ":inprogress",
                AttributeValue::S(RecordStatus::InProgress.as_str().into()),
            )
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            // Not ours (or gone already): nothing of ours to release.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => {
                Err(
                    crate::aws::sdk_error(Upstream::DynamoDb, "release an idempotency record", e)
                        .with_hint(self.hint()),
                )
            }
        }
    }

    async fn record(&self, key: &str) -> Result<Option<IdempotencyRecord>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                crate::aws::sdk_error(Upstream::DynamoDb, "read an idempotency record", e)
                    .with_hint(self.hint())
            })?;
        out.item().map(parse_record).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    #[tokio::test]
    async fn memory_store_follows_powertools_semantics() {
        let s = MemoryIdempotency::new(Duration::from_secs(60));
        let k = key("org", "evt-1");
        assert_eq!(k, "org#evt-1");
        assert_eq!(
            s.begin(&k, "inv-1", NOW + 5_000, NOW).await.unwrap(),
            Claim::Acquired
        );
        assert_eq!(
            s.begin(&k, "inv-2", NOW + 6_000, NOW + 1).await.unwrap(),
            Claim::Duplicate(RecordStatus::InProgress)
        );
        // The first invocation died: after its deadline the event can be taken over.
        assert_eq!(
            s.begin(&k, "inv-3", NOW + 20_000, NOW + 5_001)
                .await
                .unwrap(),
            Claim::Acquired
        );
        s.complete(&k, NOW + 6_000).await.unwrap();
        let r = s.record(&k).await.unwrap().unwrap();
        assert_eq!(r.status, RecordStatus::Completed);
        assert_eq!(r.expiration, (NOW + 6_000) / 1000 + 60);
        assert_eq!(
            s.begin(&k, "inv-4", NOW + 99_000, NOW + 30_000)
                .await
                .unwrap(),
            Claim::Duplicate(RecordStatus::Completed)
        );
        // After the record TTL the key is new again.
        assert_eq!(
            s.begin(&k, "inv-5", NOW + 200_000, NOW + 68_000)
                .await
                .unwrap(),
            Claim::Acquired
        );
        s.release(&k, "inv-5").await.unwrap();
        assert!(s.record(&k).await.unwrap().is_none());
        assert_eq!(
            s.begin(&k, "inv-6", NOW + 200_000, NOW + 68_001)
                .await
                .unwrap(),
            Claim::Acquired
        );
    }

    #[tokio::test]
    async fn a_completed_record_keeps_its_outcome_and_owner() {
        let s = MemoryIdempotency::new(Duration::from_secs(60));
        let k = key("org", "evt-o");
        assert_eq!(
            s.begin(&k, "inv-1", NOW + 5_000, NOW).await.unwrap(),
            Claim::Acquired
        );
        s.complete_with(&k, NOW + 10, "{\"sent\":true}")
            .await
            .unwrap();
        let r = s.record(&k).await.unwrap().unwrap();
        assert_eq!(
            (r.status, r.outcome.as_deref(), r.owner.as_deref()),
            (
                RecordStatus::Completed,
                Some("{\"sent\":true}"),
                Some("inv-1")
            )
        );
    }

    /// The claim's put was applied but its answer was lost; the SDK sends it again. The
    /// second put must find the invocation's own record and carry on, not report the event
    /// "in progress elsewhere" until the claim expires.
    #[tokio::test]
    async fn a_claim_recognises_its_own_record() {
        let s = MemoryIdempotency::new(Duration::from_secs(60));
        let k = key("org", "evt-1");
        assert_eq!(
            s.begin(&k, "req-1", NOW + 5_000, NOW).await.unwrap(),
            Claim::Acquired
        );
        assert_eq!(
            s.begin(&k, "req-1", NOW + 5_000, NOW + 40).await.unwrap(),
            Claim::Acquired,
            "the same invocation's retry"
        );
        let r = s.record(&k).await.unwrap().unwrap();
        assert_eq!(r.owner.as_deref(), Some("req-1"));
        assert_eq!(r.status, RecordStatus::InProgress);
        // Anyone else still waits for it.
        assert_eq!(
            s.begin(&k, "req-2", NOW + 6_000, NOW + 50).await.unwrap(),
            Claim::Duplicate(RecordStatus::InProgress)
        );
        // Only the owner's release forgets a claim.
        s.release(&k, "req-2").await.unwrap();
        assert!(
            s.record(&k).await.unwrap().is_some(),
            "not req-2's to release"
        );
        // Once done, it is done, for its owner too, and no release undoes it.
        s.complete(&k, NOW + 100).await.unwrap();
        s.release(&k, "req-1").await.unwrap();
        assert_eq!(
            s.begin(&k, "req-1", NOW + 5_000, NOW + 200).await.unwrap(),
            Claim::Duplicate(RecordStatus::Completed)
        );
    }
}
