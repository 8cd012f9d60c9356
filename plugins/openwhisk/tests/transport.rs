//! Retries and the request bound of the transport, against wiremock on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use sluice_openwhisk::{Client, RetryPolicy, TransportOptions};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn options(max_in_flight: usize) -> TransportOptions {
    TransportOptions {
        max_in_flight,
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(2),
        },
        ..Default::default()
    }
}

/// Fails the first `failures` requests with `status`, then succeeds.
struct Flaky {
    seen: Arc<AtomicUsize>,
    failures: usize,
    status: u16,
    retry_after: Option<&'static str>,
}

impl Respond for Flaky {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        if n < self.failures {
            let mut t = ResponseTemplate::new(self.status).set_body_json(json!({"error": "busy"}));
            if let Some(after) = self.retry_after {
                t = t.insert_header("Retry-After", after);
            }
            t
        } else {
            ResponseTemplate::new(200).set_body_json(json!({"version": "0.0.1"}))
        }
    }
}

async fn server_with(responder: Flaky, m: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(m))
        .and(path("/api/v1/namespaces/_/actions/p/a"))
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn put_is_retried_on_503_and_honours_retry_after() -> Result<(), Box<dyn std::error::Error>> {
    let seen = Arc::new(AtomicUsize::new(0));
    let server = server_with(
        Flaky {
            seen: seen.clone(),
            failures: 2,
            status: 503,
            retry_after: Some("1"),
        },
        "PUT",
    )
    .await;
    let client = Client::new(&server.uri(), "u:k", &options(5))?;
    let start = Instant::now();
    let answer = client
        .put(client.entity_url("actions", "p/a"), &json!({}))
        .await?;
    assert_eq!(answer["version"], "0.0.1");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(client.transport().requests_sent(), 3);
    Ok(())
}

#[tokio::test]
async fn attempts_are_bounded() -> Result<(), Box<dyn std::error::Error>> {
    let seen = Arc::new(AtomicUsize::new(0));
    let server = server_with(
        Flaky {
            seen: seen.clone(),
            failures: 100,
            status: 429,
            retry_after: None,
        },
        "PUT",
    )
    .await;
    let client = Client::new(&server.uri(), "u:k", &options(5))?;
    let err = client
        .put(client.entity_url("actions", "p/a"), &json!({}))
        .await
        .err()
        .ok_or("expected a failure")?;
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.to_string(), "busy (429 Too Many Requests)");
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    Ok(())
}

#[tokio::test]
async fn client_errors_and_non_idempotent_gateway_errors_are_not_retried()
-> Result<(), Box<dyn std::error::Error>> {
    let seen = Arc::new(AtomicUsize::new(0));
    let server = server_with(
        Flaky {
            seen: seen.clone(),
            failures: 100,
            status: 409,
            retry_after: None,
        },
        "PUT",
    )
    .await;
    let client = Client::new(&server.uri(), "u:k", &options(5))?;
    assert!(
        client
            .put(client.entity_url("actions", "p/a"), &json!({}))
            .await
            .is_err()
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    let seen = Arc::new(AtomicUsize::new(0));
    let server = server_with(
        Flaky {
            seen: seen.clone(),
            failures: 100,
            status: 502,
            retry_after: None,
        },
        "POST",
    )
    .await;
    let client = Client::new(&server.uri(), "u:k", &options(5))?;
    assert!(
        client
            .post(client.entity_url("actions", "p/a"), &json!({}))
            .await
            .is_err()
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    Ok(())
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() -> Result<(), Box<dyn std::error::Error>> {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let client = Client::new(&format!("http://127.0.0.1:{port}"), "u:k", &options(5))?;
    let err = client
        .namespaces()
        .await
        .err()
        .ok_or("expected a failure")?;
    assert!(
        err.to_string().starts_with("http request failed: GET"),
        "{err}"
    );
    assert_eq!(client.transport().requests_sent(), 4);
    Ok(())
}

#[tokio::test]
async fn requests_in_flight_never_exceed_the_bound() -> Result<(), Box<dyn std::error::Error>> {
    // Each answer takes 100 ms (an async delay, so the server answers requests in parallel).
    // With at most 3 in flight, 12 requests need at least 4 rounds; unbounded, one round.
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({}))
                .set_delay(Duration::from_millis(100)),
        )
        .mount(&server)
        .await;
    let rounds = |client: Client| async move {
        let start = Instant::now();
        let puts = (0..12).map(|i| {
            let client = client.clone();
            async move {
                client
                    .put(client.entity_url("actions", &format!("p/a{i}")), &json!({}))
                    .await
            }
        });
        for r in futures::future::join_all(puts).await {
            r?;
        }
        Ok::<_, sluice_openwhisk::OwError>(start.elapsed())
    };
    let bounded = rounds(Client::new(&server.uri(), "u:k", &options(3))?).await?;
    assert!(
        bounded >= Duration::from_millis(400),
        "bounded run took {bounded:?}"
    );
    Ok(())
}
