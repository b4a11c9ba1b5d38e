//! What only the sandbox's HTTP tests need: a client that speaks to a freshly started
//! sandbox (the seeded ids are in bridge-testkit).
#![allow(dead_code)]

use bridge_sandbox::{default_seed, Sandbox};
use serde_json::Value;

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
