//! The `ticket-status` Lambda: wiring only. See the library for what it does.

use bridge::http::HttpClient;
use bridge::settings::Settings;
use bridge::Runtime;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bridge::telemetry::init(true);
    let settings = Settings::from_lookup(|k| std::env::var(k).ok())?;
    // Built once per cold start: caches (org configs, Genesys tokens) live across warm
    // invocations.
    let http = HttpClient::new()?;
    let aws = bridge::aws::sdk_config_with(settings.aws_endpoint_url.as_deref(), &http).await;
    let rt = Runtime::from_settings(&settings, http, Some(&aws))?;
    let rt = &rt;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        ticket_status::handle(rt, event.payload, event.context).await
    }))
    .await
}
