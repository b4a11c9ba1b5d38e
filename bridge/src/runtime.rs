//! What every function builds once at cold start and lends to its handler: the org store,
//! the Genesys and Zendesk clients (sharing one HTTP client), and the deadline margin.

use std::sync::Arc;
use std::time::Duration;

use crate::aws::AwsConfig;
use crate::deadline::Deadline;
use crate::error::Result;
use crate::genesys::Genesys;
use crate::http::HttpClient;
use crate::secrets::{OrgStore, SecretSource};
use crate::settings::Settings;
use crate::zendesk::Zendesk;
use crate::OrgConfig;

pub struct Runtime {
    pub orgs: OrgStore,
    pub genesys: Genesys,
    pub zendesk: Zendesk,
    pub deadline_margin: Duration,
}

impl Runtime {
    pub fn new(source: Arc<dyn SecretSource>, secret_ttl: Duration, http: HttpClient) -> Runtime {
        Runtime {
            orgs: OrgStore::new(source, secret_ttl),
            genesys: Genesys::new(http.clone()),
            zendesk: Zendesk::new(http),
            deadline_margin: Duration::from_millis(500),
        }
    }

    /// Builds the runtime the settings describe (Secrets Manager or a directory) around the
    /// process's one HTTP client. `aws` is the process's SDK config, loaded once in `main`
    /// over that same client ([`crate::aws::sdk_config_with`]); Secrets Manager needs it.
    pub fn from_settings(
        settings: &Settings,
        http: HttpClient,
        aws: Option<&AwsConfig>,
    ) -> Result<Runtime> {
        let source = crate::secrets::open(&settings.secret_source, aws)?;
        let mut rt = Runtime::new(source, settings.secret_ttl, http);
        rt.deadline_margin = settings.deadline_margin;
        Ok(rt)
    }

    /// After `err`, re-reads `org`'s config if the error may come from credentials that were
    /// rotated since it was cached (a 401 from Genesys or Zendesk, or the token endpoint's
    /// `invalid_client`). Returns the new config when it differs, so the caller can retry
    /// once; `None` when a retry cannot help. Concurrent callers share one re-read.
    pub async fn refresh_after(
        &self,
        org: &Arc<OrgConfig>,
        err: &crate::BridgeError,
    ) -> Option<Arc<OrgConfig>> {
        if err.kind != crate::ErrorKind::BadCredentials {
            return None;
        }
        let fresh = self.orgs.refresh(&org.org_id, Some(org)).await.ok()?;
        let changed = crate::config::credentials_fingerprint(&fresh)
            != crate::config::credentials_fingerprint(org);
        if changed {
            // Tokens minted with the old client must not outlive it.
            self.genesys.forget_org(&org.org_id);
            tracing::info!(org_id = %org.org_id, "org credentials changed; retrying with the new ones");
            Some(fresh)
        } else {
            None
        }
    }

    /// Runs `op` with `org`'s config and, if it failed because the credentials were rotated
    /// since the config was cached (see [`Runtime::refresh_after`]), once more with the
    /// re-read config. Returns the config used last, with the result. `op` must be safe to
    /// repeat: the first attempt was refused before it changed anything.
    pub async fn with_rotation<T, F, Fut>(
        &self,
        org: Arc<OrgConfig>,
        op: F,
    ) -> (Arc<OrgConfig>, Result<T>)
    where
        F: Fn(Arc<OrgConfig>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        match op(org.clone()).await {
            Err(e) => match self.refresh_after(&org, &e).await {
                Some(fresh) => {
                    let retried = op(fresh.clone()).await;
                    (fresh, retried)
                }
                None => (org, Err(e)),
            },
            ok => (org, ok),
        }
    }

    /// The deadline of a Lambda invocation, minus the margin. The raw context value is read
    /// by [`crate::deadline::effective_epoch_ms`], so an emulator's duration is not "no time
    /// left".
    pub fn deadline(&self, ctx: &lambda_runtime::Context) -> Deadline {
        Deadline::from_epoch_ms(ctx.deadline, self.deadline_margin)
    }
}

/// Tenant identity from something the caller cannot forge: when a data-action function is
/// invoked through a per-org alias (`...:function:name:org-<orgId>` or `...:<orgId>`), the
/// event's org id must be that org, or nothing is done. Unqualified, version or other
/// aliases carry no org; the request template's org id is used (the Genesys role's
/// `sts:ExternalId` condition already limits which Genesys org can invoke).
pub fn check_invocation_alias(invoked_arn: &str, org_id: &str) -> crate::Result<()> {
    // arn:aws:lambda:region:account:function:name[:qualifier]
    let Some(qualifier) = invoked_arn.split(':').nth(7) else {
        return Ok(());
    };
    let candidate = qualifier.strip_prefix("org-").unwrap_or(qualifier);
    let Ok(alias_org) = crate::config::validate_uuid("alias", candidate) else {
        return Ok(());
    };
    if alias_org.eq_ignore_ascii_case(org_id) {
        return Ok(());
    }
    Err(crate::BridgeError::new(
        crate::ErrorKind::WrongOrg,
        format!("the function was invoked through the alias of org {alias_org}, but the event names org {org_id}"),
    )
    .with_org(org_id)
    .with_field("orgId")
    .with_hint(format!(
        "the data action imported in org {alias_org} must invoke its own alias and send its own org id in the request template (render it with infra/genesys/render.py --org-id {alias_org}); nothing was changed"
    )))
}

#[cfg(test)]
mod tests {
    use super::check_invocation_alias;
    use std::time::Duration;

    #[test]
    fn an_emulator_context_leaves_time_for_the_call() {
        // What `cargo lambda watch` 1.9.2 sends: the timeout as a duration, and a
        // placeholder ARN.
        let source = std::sync::Arc::new(crate::secrets::DirSource::new("/nonexistent"));
        let http = crate::http::HttpClient::new().expect("client");
        let rt = super::Runtime::new(source, Duration::from_secs(300), http);
        let mut ctx = lambda_runtime::Context::default();
        ctx.deadline = 600_000;
        ctx.invoked_function_arn = "function-arn".into();
        let d = rt.deadline(&ctx);
        assert!(!d.is_expired());
        assert!(d.remaining().unwrap() > Duration::from_secs(590));
        assert!(check_invocation_alias(
            &ctx.invoked_function_arn,
            "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11"
        )
        .is_ok());
    }

    #[test]
    fn alias_table() {
        let a = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
        let b = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";
        let base = "arn:aws:lambda:eu-west-1:123456789012:function:bridge-attribute-writer";
        assert!(check_invocation_alias("", a).is_ok());
        assert!(check_invocation_alias(base, a).is_ok());
        assert!(check_invocation_alias(&format!("{base}:7"), a).is_ok());
        assert!(check_invocation_alias(&format!("{base}:live"), a).is_ok());
        assert!(check_invocation_alias(&format!("{base}:{a}"), a).is_ok());
        assert!(check_invocation_alias(&format!("{base}:org-{a}"), a).is_ok());
        let e = check_invocation_alias(&format!("{base}:org-{b}"), a).unwrap_err();
        assert_eq!(e.error_type(), "Bridge.WrongOrg");
        assert!(e.to_string().contains(b), "{e}");
        assert!(check_invocation_alias(&format!("{base}:{b}"), a).is_err());
    }
}
