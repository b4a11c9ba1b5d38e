//! attribute-writer Lambda: reads settings, builds the runtime once, serves invocations.

use attribute_writer::{handle_with, Options};
use bridge::http::HttpClient;
use bridge::settings::Settings;
use bridge::Runtime;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bridge::telemetry::init(true);
    let env = |k: &str| std::env::var(k).ok();
    let settings = Settings::from_lookup(env)?;
    let opts = Options::from_lookup(env)?;
    let http = HttpClient::new()?;
    let aws = bridge::aws::sdk_config_with(settings.aws_endpoint_url.as_deref(), &http).await;
    let rt = Runtime::from_settings(&settings, http, Some(&aws))?;
    let (rt, opts) = (&rt, &opts);
    lambda_runtime::run(service_fn(
        move |ev: LambdaEvent<serde_json::Value>| async move {
            handle_with(rt, opts, ev.payload, ev.context).await
        },
    ))
    .await
}
