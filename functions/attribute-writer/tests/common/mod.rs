//! What only attribute-writer's tests need: its handler called over the shared org harness
//! (with a short re-read delay), its fixtures, and table-test edits of them.
#![allow(dead_code)]

use std::ops::Deref;
use std::time::Duration;

use attribute_writer::Options;
use bridge::secrets::MemorySource;
use bridge_testkit::{data_action_ctx_with_deadline, OrgHarness};
use serde_json::Value;

pub const ATTR_PATCH: &str = "/api/v2/conversations/*/participants/*/attributes";

/// A fixture of `events/attribute-writer/`.
pub fn fixture(name: &str) -> Value {
    bridge_testkit::fixture(&format!("attribute-writer/{name}"))
}

/// The org harness (its fields through `Deref`) and the handler's options.
pub struct Harness {
    pub orgs: OrgHarness,
    pub opts: Options,
}

impl Deref for Harness {
    type Target = OrgHarness;
    fn deref(&self) -> &OrgHarness {
        &self.orgs
    }
}

impl Harness {
    /// The sandbox with its default seed, and every example org.
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    /// Like [`Harness::start`]; `edit` may change org documents before the runtime sees them.
    pub async fn start_with(edit: impl FnOnce(&MemorySource)) -> Harness {
        Harness {
            orgs: OrgHarness::start_with(edit).await,
            // Short, so the re-read path does not slow the suite; the default is tested in lib.
            opts: Options {
                verify_retry_delay: Duration::from_millis(50),
            },
        }
    }

    /// Invokes the handler as Genesys invokes the event's org's data action (its alias).
    pub async fn invoke(&self, event: Value) -> Result<Value, lambda_runtime::Diagnostic> {
        let ctx =
            data_action_ctx_with_deadline("attribute-writer", &event, Duration::from_secs(15));
        attribute_writer::handle_with(&self.rt, &self.opts, event, ctx).await
    }
}

/// `event` with `field` set to `value` (for table tests built on a fixture).
pub fn with(mut event: Value, field: &str, value: Value) -> Value {
    event[field] = value;
    event
}
