//! Setup of the client tests: the shared org harness, with retries fast enough that tests
//! do not sleep long.

use std::time::Duration;

use bridge::http::HttpClient;
use bridge::retry::RetryPolicy;
use bridge_testkit::OrgHarness;

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        default_retry_after: Duration::from_millis(50),
    }
}

/// The sandbox, the example orgs pointed at it and a runtime with [`fast_policy`].
pub async fn env() -> OrgHarness {
    OrgHarness::start_with_http(HttpClient::with_policy(fast_policy()).unwrap()).await
}
