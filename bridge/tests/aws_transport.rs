//! The AWS SDK over the process's one HTTP client (`bridge::aws`): a service that takes its
//! time to answer gets one request, not a retry of a request it already applied.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers every request with a Secrets Manager `GetSecretValue` result after `delay`,
/// counting the requests.
async fn slow_service(delay: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                // Headers, then as much body as Content-Length says.
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                seen.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let body = r#"{"ARN":"arn:aws:secretsmanager:us-east-1:000000000000:secret:s","Name":"s","SecretString":"{}"}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_slow_answer_is_waited_for_not_retried() {
    // Longer than the SDK's 5-second upload stall grace period, shorter than the
    // function's 10-second operation timeout (the 4-second attempt timeout is lifted here,
    // as the test config does).
    let (url, requests) = slow_service(Duration::from_secs(6)).await;
    let creds = aws_credential_types::Credentials::new("t", "t", None, None, "test");
    let conf = bridge::aws::sdk_config(Some(&url))
        .await
        .into_builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .timeout_config(aws_config::timeout::TimeoutConfig::disabled())
        .build();
    let out = aws_sdk_secretsmanager::Client::new(&conf)
        .get_secret_value()
        .secret_id("s")
        .send()
        .await;
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}
