//! What every function builds once at cold start and lends to its handler: the org store,
//! the Genesys and Zendesk clients (sharing one HTTP client), and the deadline margin.

use std::sync::Arc;
use std::time::Duration;

use crate::deadline::Deadline;
use crate::error::Result;
use crate::genesys::Genesys;
use crate::http::HttpClient;
use crate::secrets::{DirSource, OrgStore, SecretSource, SecretsManagerSource};
use crate::settings::{SecretSourceSetting, Settings};
use crate::zendesk::Zendesk;

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

    /// Builds the runtime the settings describe (Secrets Manager or a directory).
    pub async fn from_settings(settings: &Settings) -> Result<Runtime> {
        let source: Arc<dyn SecretSource> = match &settings.secret_source {
            SecretSourceSetting::SecretsManager { prefix } => {
                let conf = crate::aws::sdk_config(settings.aws_endpoint_url.as_deref()).await;
                Arc::new(SecretsManagerSource::from_conf(&conf, prefix.clone()))
            }
            SecretSourceSetting::Dir { path } => Arc::new(DirSource::new(path.clone())),
        };
        let mut rt = Runtime::new(source, settings.secret_ttl, HttpClient::new()?);
        rt.deadline_margin = settings.deadline_margin;
        Ok(rt)
    }

    /// After `err`, re-reads `org`'s config if the error may come from credentials that were
    /// rotated since it was cached (a 401 from Genesys or Zendesk, or the token endpoint's
    /// `invalid_client`). Returns the new config when it differs, so the caller can retry
    /// once; `None` when a retry cannot help. Concurrent callers share one re-read.
    pub async fn refresh_after(
        &self,
        org: &Arc<crate::OrgConfig>,
        err: &crate::BridgeError,
    ) -> Option<Arc<crate::OrgConfig>> {
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

    /// The deadline of a Lambda invocation, minus the margin.
    pub fn deadline(&self, ctx: &lambda_runtime::Context) -> Deadline {
        Deadline::from_epoch_ms(ctx.deadline, self.deadline_margin)
    }
}
