//! Org configs in AWS Secrets Manager: one secret per org, named prefix + org id.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};

use super::SecretSource;
use crate::aws::sdk_error;
use crate::config::validate_uuid;
use crate::error::{Result, Upstream};

pub struct SecretsManagerSource {
    client: Client,
    prefix: String,
}

impl SecretsManagerSource {
    pub fn new(client: Client, prefix: impl Into<String>) -> SecretsManagerSource {
        SecretsManagerSource {
            client,
            prefix: prefix.into(),
        }
    }

    pub fn from_conf(conf: &aws_config::SdkConfig, prefix: impl Into<String>) -> Self {
        SecretsManagerSource::new(Client::new(conf), prefix)
    }

    pub fn secret_id(&self, org_id: &str) -> String {
        format!("{}{org_id}", self.prefix)
    }
}

/// A secret of a removed org stays in its recovery window, "scheduled for deletion":
/// reads and deletes answer InvalidRequestException, meaning the org is gone.
fn scheduled_for_deletion<E>(e: &aws_sdk_secretsmanager::error::SdkError<E>) -> bool
where
    E: aws_sdk_secretsmanager::error::ProvideErrorMetadata,
{
    e.as_service_error().is_some_and(|s| {
        s.code() == Some("InvalidRequestException")
            && s.message()
                .is_some_and(|m| m.contains("deleted") || m.contains("deletion"))
    })
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn fetch(&self, org_id: &str) -> Result<Option<SecretString>> {
        let org_id = validate_uuid("orgId", org_id)?;
        let id = self.secret_id(&org_id);
        match self.client.get_secret_value().secret_id(&id).send().await {
            Ok(out) => Ok(out.secret_string.map(SecretString::from)),
            Err(e) => {
                let gone = e
                    .as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                    || scheduled_for_deletion(&e);
                if gone {
                    return Ok(None);
                }
                Err(
                    sdk_error(Upstream::SecretsManager, "read the org secret", e)
                        .with_org(org_id)
                        .with_field(id),
                )
            }
        }
    }

    async fn list(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_secrets()
            .filters(
                aws_sdk_secretsmanager::types::Filter::builder()
                    .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                    .values(&self.prefix)
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| sdk_error(Upstream::SecretsManager, "list org secrets", e))?;
            for s in page.secret_list() {
                if s.deleted_date().is_some() {
                    continue;
                }
                if let Some(org) = s.name().and_then(|n| n.strip_prefix(&self.prefix)) {
                    if validate_uuid("orgId", org).is_ok() {
                        out.push(org.to_string());
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn put(&self, org_id: &str, document: &SecretString) -> Result<bool> {
        let org_id = validate_uuid("orgId", org_id)?;
        let id = self.secret_id(&org_id);
        let created = self
            .client
            .create_secret()
            .name(&id)
            .secret_string(document.expose_secret())
            .description(format!(
                "genesys-bridge org config for Genesys org {org_id}"
            ))
            .send()
            .await;
        match created {
            Ok(_) => Ok(false),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception()) =>
            {
                self.client
                    .put_secret_value()
                    .secret_id(&id)
                    .secret_string(document.expose_secret())
                    .send()
                    .await
                    .map(|_| true)
                    .map_err(|e| {
                        sdk_error(Upstream::SecretsManager, "update the org secret", e)
                            .with_org(org_id)
                    })
            }
            Err(e) => {
                let in_recovery = scheduled_for_deletion(&e);
                let mut err = sdk_error(Upstream::SecretsManager, "create the org secret", e)
                    .with_org(&org_id);
                if in_recovery {
                    err.hint = Some(format!(
                        "the org was removed recently and its secret {id} is in its recovery window: restore it (`aws secretsmanager restore-secret --secret-id {id}`) and put it again"
                    ));
                }
                Err(err)
            }
        }
    }

    async fn delete(&self, org_id: &str) -> Result<bool> {
        let org_id = validate_uuid("orgId", org_id)?;
        // Keeps Secrets Manager's recovery window (default 30 days): an org removed by
        // mistake can be restored with `aws secretsmanager restore-secret`.
        match self
            .client
            .delete_secret()
            .secret_id(self.secret_id(&org_id))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                    || scheduled_for_deletion(&e) =>
            {
                Ok(false)
            }
            Err(e) => Err(
                sdk_error(Upstream::SecretsManager, "delete the org secret", e).with_org(org_id),
            ),
        }
    }

    fn location(&self, org_id: &str) -> String {
        format!("Secrets Manager secret {}", self.secret_id(org_id))
    }
}
