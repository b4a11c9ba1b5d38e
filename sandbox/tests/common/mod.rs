//! Shared fixtures for the sandbox's HTTP tests: the seeded ids and a client that speaks to
//! a freshly started sandbox.
#![allow(dead_code)]

use bridge_sandbox::{default_seed, Sandbox};
use serde_json::Value;

pub const ORG_A: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
pub const ORG_B: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";
pub const ACME_CLIENT: (&str, &str) = ("acme-bridge-client", "acme-client-secret-local");
pub const ACME_LIMITED: (&str, &str) = ("acme-limited-client", "acme-limited-secret-local");
pub const GLOBEX_CLIENT: (&str, &str) = ("globex-bridge-client", "globex-client-secret-local");

pub const CONV_A1: &str = "c0a00001-0000-4000-8000-000000000000";
pub const CONV_A1_CUSTOMER: &str = "c0a00001-0000-4000-8000-00000000c001";
pub const CONV_A3_ENDED: &str = "c0a00003-0000-4000-8000-000000000000";
pub const CONV_A3_CUSTOMER: &str = "c0a00003-0000-4000-8000-00000000c001";
pub const CONV_B1: &str = "c0b00001-0000-4000-8000-000000000000";
pub const CONTACT_A1: &str = "e0a00001-0000-4000-8000-000000000000";
pub const CONTACT_B1: &str = "e0b00001-0000-4000-8000-000000000000";

pub const ACME_ZD: (&str, &str) = ("bridge@acme.example", "acme-zendesk-token-local");

pub struct Harness {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
}

pub async fn start() -> Harness {
    let sandbox = Sandbox::start(default_seed())
        .await
        .expect("sandbox starts");
    Harness {
        sandbox,
        http: reqwest::Client::new(),
    }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url())
    }

    pub fn zd(&self, subdomain: &str, path: &str) -> String {
        format!("{}{path}", self.sandbox.zendesk_base_url(subdomain))
    }

    pub async fn token(&self, (id, secret): (&str, &str)) -> String {
        let response = self
            .http
            .post(self.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub fn zd_basic(
        &self,
        req: reqwest::RequestBuilder,
        (email, token): (&str, &str),
    ) -> reqwest::RequestBuilder {
        req.basic_auth(format!("{email}/token"), Some(token))
    }
}

pub async fn body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}
