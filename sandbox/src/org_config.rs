//! Pointing a bridge org config document at a running sandbox. The sandbox owns its URL
//! layout (both Genesys hosts at the base URL, each Zendesk account under
//! `/zendesk/<subdomain>`), so the rewrite lives here rather than with its callers
//! (`bridge dev`, tests). It works on the JSON document, not on `bridge::OrgConfig`, so that
//! the sandbox stays independent of the library it stands in for.

use serde_json::Value;

/// The Zendesk base URL of account `subdomain` on the sandbox at `base_url`.
pub(crate) fn zendesk_base_url(base_url: &str, subdomain: &str) -> String {
    format!("{}/zendesk/{subdomain}", base_url.trim_end_matches('/'))
}

/// Rewrites an org config document so that its Genesys and Zendesk calls go to the sandbox
/// at `base_url` (`http://127.0.0.1:PORT`): Genesys API and login at the base, Zendesk at
/// `<base>/zendesk/<subdomain>`. Sections the document does not have stay absent.
pub fn point_org_config(doc: &mut Value, base_url: &str) {
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
            Value::String(zendesk_base_url(base, &sub)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn genesys_hosts_at_the_base_and_zendesk_under_its_subdomain() {
        let mut doc = json!({
            "genesys": {"region": "mypurecloud.ie"},
            "zendesk": {"subdomain": "acme"}
        });
        point_org_config(&mut doc, "http://127.0.0.1:4000/");
        assert_eq!(doc["genesys"]["apiBaseUrl"], "http://127.0.0.1:4000");
        assert_eq!(doc["genesys"]["loginBaseUrl"], "http://127.0.0.1:4000");
        assert_eq!(
            doc["zendesk"]["baseUrl"],
            "http://127.0.0.1:4000/zendesk/acme"
        );

        let mut no_zendesk = json!({"genesys": {}});
        point_org_config(&mut no_zendesk, "http://127.0.0.1:4000");
        assert!(no_zendesk.get("zendesk").is_none());
    }
}
