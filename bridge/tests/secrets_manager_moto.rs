//! The Secrets Manager adapter against a real AWS emulator (moto on loopback, started by
//! scripts/test.sh). Fails, never skips, when the emulator is missing.

use std::sync::Arc;

use bridge::secrets::{OrgStore, SecretSource, SecretsManagerSource, DEFAULT_TTL};
use bridge::ErrorKind;
use bridge_testkit::ids::{ORG_A, ORG_B};
use bridge_testkit::{aws_test_config, unique_name, CountingSource};
use secrecy::SecretString;
use serde_json::json;

fn doc(org: &str, client: &str) -> SecretString {
    SecretString::from(
        json!({
            "orgId": org,
            "genesys": {"region": "eu-west-1", "clientId": client, "clientSecret": "moto-secret-value"},
            "webhook": {"sharedSecret": "0123456789abcdef0123456789abcdef"}
        })
        .to_string(),
    )
}

async fn source() -> (SecretsManagerSource, String) {
    let conf = aws_test_config().await;
    let prefix = format!("{}/orgs/", unique_name("genesys-bridge-test"));
    (
        SecretsManagerSource::from_conf(&conf, prefix.clone()),
        prefix,
    )
}

#[tokio::test]
async fn put_fetch_list_rotate_delete() {
    let (src, prefix) = source().await;
    assert_eq!(src.secret_id(ORG_A), format!("{prefix}{ORG_A}"));
    assert!(
        src.fetch(ORG_A).await.unwrap().is_none(),
        "missing secret is None, not an error"
    );

    src.put(ORG_A, &doc(ORG_A, "client-a")).await.unwrap();
    src.put(ORG_B, &doc(ORG_B, "client-b")).await.unwrap();
    assert_eq!(
        src.list().await.unwrap(),
        vec![ORG_A.to_string(), ORG_B.to_string()]
    );

    let counting = Arc::new(CountingSource::new(src));
    let store = Arc::new(OrgStore::new(counting.clone(), DEFAULT_TTL));
    let calls = (0..10).map(|_| {
        let s = store.clone();
        tokio::spawn(async move { s.get(ORG_A).await.map(|c| c.genesys.client_id.clone()) })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap(), "client-a");
    }
    assert_eq!(
        counting.fetches(),
        1,
        "ten concurrent cold calls make one secret fetch"
    );
    assert_eq!(
        counting.fetches_for(ORG_B),
        0,
        "org A's lookups never read org B's secret"
    );

    // Rotation: put a new value (the adapter updates the existing secret), then force refresh.
    let stale = store.get(ORG_A).await.unwrap();
    counting
        .inner()
        .put(ORG_A, &doc(ORG_A, "client-a-rotated"))
        .await
        .unwrap();
    assert_eq!(
        store.get(ORG_A).await.unwrap().genesys.client_id,
        "client-a",
        "cached until refreshed"
    );
    let fresh = store.refresh(ORG_A, Some(&stale)).await.unwrap();
    assert_eq!(fresh.genesys.client_id, "client-a-rotated");
    assert_eq!(counting.fetches(), 2);

    // Deleting keeps the recovery window; a secret marked for deletion reads as "no org".
    assert!(counting.inner().delete(ORG_B).await.unwrap());
    assert!(counting.inner().fetch(ORG_B).await.unwrap().is_none());
    assert_eq!(
        counting.inner().list().await.unwrap(),
        vec![ORG_A.to_string()]
    );
}

#[tokio::test]
async fn unknown_org_is_reported_as_such() {
    let (src, _) = source().await;
    let store = OrgStore::new(Arc::new(src), DEFAULT_TTL);
    let e = store.get(ORG_A).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownOrg);
    assert!(e.to_string().contains("Secrets Manager secret"), "{e}");
}

#[tokio::test]
async fn unreachable_endpoint_is_a_transport_error_naming_secrets_manager() {
    // A closed loopback port: the error must say which upstream failed, and for which org.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let creds = aws_sdk_secretsmanager::config::Credentials::new("t", "t", None, None, "t");
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let src = SecretsManagerSource::from_conf(&conf, "p/");
    let e = src.fetch(ORG_A).await.unwrap_err();
    assert_eq!(e.upstream, Some(bridge::Upstream::SecretsManager));
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.to_string().contains(ORG_A), "{e}");
}
