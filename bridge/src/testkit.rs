//! Helpers for tests and local runs: the AWS emulator endpoint, and pointing org configs at
//! the local sandbox. Nothing here is used by the deployed functions.

use serde_json::Value;

/// The AWS emulator (moto) endpoint that `scripts/test.sh` started. A test that needs it and
/// does not find it fails with instructions: it never skips silently.
pub fn aws_test_endpoint() -> String {
    match std::env::var("BRIDGE_TEST_AWS_ENDPOINT") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "this test needs the AWS emulator: run `scripts/test.sh` (it creates a venv with moto, starts it on loopback and sets BRIDGE_TEST_AWS_ENDPOINT), or start `moto_server -H 127.0.0.1 -p PORT` and export BRIDGE_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

/// SDK config for the emulator, with fixed fake credentials and region.
#[cfg(feature = "aws")]
pub async fn aws_test_config() -> aws_config::SdkConfig {
    let endpoint = aws_test_endpoint();
    let creds =
        aws_credential_types::Credentials::new("testing", "testing", None, None, "bridge-tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::aws::new_transport())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A name unique to this process and call, for emulator resources shared by parallel tests.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Rewrites an org config document so that Genesys and Zendesk calls go to the sandbox at
/// `base_url` (`http://127.0.0.1:PORT`): Genesys API and login at the base, Zendesk at
/// `<base>/zendesk/<subdomain>`.
pub fn point_at_sandbox(doc: &mut Value, base_url: &str) {
    let base = base_url.trim_end_matches('/');
    if let Some(g) = doc.get_mut("genesys").and_then(Value::as_object_mut) {
        g.insert("apiBaseUrl".into(), Value::String(base.to_string()));
        g.insert("loginBaseUrl".into(), Value::String(base.to_string()));
    }
    if let Some(z) = doc.get_mut("zendesk").and_then(Value::as_object_mut) {
        let sub = z
            .get("subdomain")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        z.insert(
            "baseUrl".into(),
            Value::String(format!("{base}/zendesk/{sub}")),
        );
    }
}

/// Loads every `<orgId>.json` of `dir`, points it at the sandbox, and returns an in-memory
/// source holding them whose messages name the files (which are not changed).
pub fn sandbox_orgs_from_dir(
    dir: &std::path::Path,
    base_url: &str,
) -> std::io::Result<crate::secrets::MemorySource> {
    let src = crate::secrets::MemorySource::copied_from(dir);
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().and_then(|e| e.to_str()) != Some("json")
            || crate::config::validate_uuid("orgId", stem).is_err()
        {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let mut doc: Value = serde_json::from_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        point_at_sandbox(&mut doc, base_url);
        src.insert(stem, doc.to_string());
    }
    Ok(src)
}
