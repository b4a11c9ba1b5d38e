//! What every function builds once at cold start and lends to its handler: the org store,
//! the Genesys and Zendesk clients (sharing one HTTP client), the deadline margin, how
//! data-action invocations are tied to orgs, and the metrics setting.

use std::sync::Arc;
use std::time::Duration;

use crate::aws::AwsConfig;
use crate::deadline::Deadline;
use crate::error::Result;
use crate::genesys::Genesys;
use crate::http::HttpClient;
use crate::metrics::Metrics;
use crate::secrets::{OrgStore, SecretSource};
use crate::settings::Settings;
use crate::tenancy::DataActionOrgs;
use crate::zendesk::Zendesk;
use crate::OrgConfig;

pub struct Runtime {
    pub orgs: OrgStore,
    pub genesys: Genesys,
    pub zendesk: Zendesk,
    pub deadline_margin: Duration,
    /// Where each invocation's EMF lines go ([`crate::metrics`]): stdout in Lambda (from
    /// the settings), off by default; tests and `bridge dev` capture them.
    pub metrics: Metrics,
    /// Per-org aliases (the default) or the one org served (`BRIDGE_SINGLE_ORG_ID`).
    pub data_action_orgs: DataActionOrgs,
}

impl Runtime {
    pub fn new(source: Arc<dyn SecretSource>, secret_ttl: Duration, http: HttpClient) -> Runtime {
        Runtime {
            orgs: OrgStore::new(source, secret_ttl),
            genesys: Genesys::new(http.clone()),
            zendesk: Zendesk::new(http),
            deadline_margin: Duration::from_millis(500),
            metrics: Metrics::off(),
            data_action_orgs: DataActionOrgs::PerOrgAlias,
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
        let mut rt = Runtime::new(source.clone(), settings.secret_ttl, http);
        rt.orgs =
            OrgStore::with_max_entries(source, settings.secret_ttl, settings.org_cache_entries);
        rt.deadline_margin = settings.deadline_margin;
        rt.metrics = Metrics::from_settings(settings)?;
        rt.data_action_orgs = settings.data_action_orgs();
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

    /// The org a data-action invocation acts for: from the alias it was invoked through
    /// (`ctx.invoked_function_arn`, `...:org-<orgId>`), or the one org a single-org
    /// deployment serves; the payload's `orgId` must agree. Every data-action function calls
    /// this before it reads any secret, and reads the config of the org it answers.
    pub fn data_action_org(
        &self,
        ctx: &lambda_runtime::Context,
        payload_org: &str,
    ) -> Result<String> {
        self.data_action_orgs
            .org_for(&ctx.invoked_function_arn, payload_org)
    }

    /// The deadline of a Lambda invocation, minus the margin. The raw context value is read
    /// by [`crate::deadline::effective_epoch_ms`], so an emulator's duration is not "no time
    /// left".
    pub fn deadline(&self, ctx: &lambda_runtime::Context) -> Deadline {
        Deadline::from_epoch_ms(ctx.deadline, self.deadline_margin)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn an_emulator_context_leaves_time_for_the_call() {
        // What `cargo lambda watch` 1.9.2 sends as the deadline: the timeout, a duration.
        let source = std::sync::Arc::new(crate::secrets::DirSource::new("/nonexistent"));
        let http = crate::http::HttpClient::new().expect("client");
        let rt = super::Runtime::new(source, Duration::from_secs(300), http);
        let mut ctx = lambda_runtime::Context::default();
        ctx.deadline = 600_000;
        let d = rt.deadline(&ctx);
        assert!(!d.is_expired());
        assert!(d.remaining().unwrap() > Duration::from_secs(590));
    }
}
