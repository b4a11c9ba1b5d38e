//! A hello-world Rust Lambda: the same runtime, tokio and release profile as the functions,
//! and nothing else. `bridge-bench` measures it in every run as the floor of cold starts.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
