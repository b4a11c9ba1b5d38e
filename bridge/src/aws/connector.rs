//! The AWS SDK's HTTP client: the process's one `reqwest::Client` (its pool and its TLS
//! settings, see [`crate::http::HttpClient`]) behind the SDK's connector trait.
//!
//! Without it each SDK client builds its own hyper + rustls stack and, at construction, reads
//! and parses the system's root certificates: a second TLS stack in the binary, and the
//! larger part of a cold start. The SDK keeps its own signing, retries and timeouts (the
//! attempt and operation timeouts of [`super::sdk_config`] wrap every call made here).

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// Hands the SDK a connector over the shared `reqwest::Client`.
#[derive(Debug, Clone)]
pub(super) struct ReqwestHttpClient {
    /// The error instead, if the client could not be built: every call fails with it.
    client: Result<reqwest::Client, String>,
}

impl ReqwestHttpClient {
    pub(super) fn new(client: Result<reqwest::Client, String>) -> ReqwestHttpClient {
        ReqwestHttpClient { client }
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // The connect timeout is the shared client's; a read timeout, when the SDK sets one,
        // bounds each request.
        match &self.client {
            Ok(client) => SharedHttpConnector::new(ReqwestConnector {
                client: client.clone(),
                read_timeout: settings.read_timeout(),
            }),
            Err(e) => SharedHttpConnector::new(NoConnector(e.clone())),
        }
    }
}

/// Fails every call: the HTTP client could not be built.
#[derive(Debug)]
struct NoConnector(String);

impl HttpConnector for NoConnector {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let reason = format!("no HTTP client: {}", self.0);
        HttpConnectorFuture::ready(Err(ConnectorError::other(reason.into(), None)))
    }
}

#[derive(Debug, Clone)]
struct ReqwestConnector {
    client: reqwest::Client,
    read_timeout: Option<Duration>,
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (client, read_timeout) = (self.client.clone(), self.read_timeout);
        HttpConnectorFuture::new(async move { send(&client, read_timeout, request).await })
    }
}

async fn send(
    client: &reqwest::Client,
    read_timeout: Option<Duration>,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    let method = reqwest::Method::from_bytes(request.method().as_bytes())
        .map_err(|e| ConnectorError::user(e.into()))?;
    // The services this crate calls (Secrets Manager, SQS, DynamoDB) take small JSON
    // bodies that the SDK holds in memory.
    let body = request.body().bytes().ok_or_else(|| {
        ConnectorError::user("streaming request bodies are not supported by this client".into())
    })?;
    let mut req = client.request(method, request.uri()).body(body.to_vec());
    for (name, value) in request.headers().iter() {
        req = req.header(name, value);
    }
    if let Some(t) = read_timeout {
        req = req.timeout(t);
    }
    let resp = req.send().await.map_err(connector_error)?;
    let status = StatusCode::try_from(resp.status().as_u16())
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let bytes = resp.bytes().await.map_err(connector_error)?;
    let mut out = HttpResponse::new(status, SdkBody::from(bytes));
    for (name, value) in headers {
        // Values that are not text are not ones the SDK reads.
        let _ = out.headers_mut().try_append(name, value);
    }
    Ok(out)
}

/// Tells the SDK's retry classifier what happened: a timeout, an I/O error (and whether the
/// request never left), or something else.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() {
        ConnectorError::io(e.into()).never_connected()
    } else if e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> reqwest::Client {
        crate::http::HttpClient::new().unwrap().reqwest().clone()
    }

    #[tokio::test]
    async fn passes_method_headers_and_body_through() {
        let sb = bridge_sandbox::Sandbox::start(bridge_sandbox::default_seed())
            .await
            .unwrap();
        let mut req = HttpRequest::get(format!("{}/__sandbox/health", sb.base_url())).unwrap();
        req.headers_mut().insert("x-amz-target", "Test.Op");
        let resp = send(&client(), Some(Duration::from_secs(5)), req)
            .await
            .expect("answered");
        assert_eq!(resp.status().as_u16(), 200);
        assert!(resp.body().bytes().is_some());
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_an_io_error_before_sending() {
        // A port nothing listens on: connection refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let req = HttpRequest::get(format!("http://127.0.0.1:{port}/")).unwrap();
        let err = send(&client(), None, req).await.unwrap_err();
        assert!(err.is_io(), "{err:?}");
    }

    #[tokio::test]
    async fn a_client_that_could_not_be_built_fails_every_call_with_the_reason() {
        let err = NoConnector("no TLS roots".into())
            .call(HttpRequest::get("http://127.0.0.1:1/").unwrap())
            .await
            .unwrap_err();
        assert!(format!("{err:?}").contains("no TLS roots"), "{err:?}");
    }
}
