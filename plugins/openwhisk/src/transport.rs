//! HTTP transport shared by the OpenWhisk client and the DigitalOcean triggers API: one
//! connection pool, one global bound on requests in flight, retries with backoff.
//!
//! Why here and not per package: the original deployer ran up to 25 action deploys *per
//! package*, all packages at once, so its real concurrency grew with the project. One
//! semaphore for the whole run bounds it (`--deploy-jobs`, `DEPLOYMENT_CHUNK_SIZE`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::{OwError, Result};

/// Default for `--deploy-jobs`, as the original's `DEPLOYMENT_CHUNK_SIZE`.
pub const DEFAULT_DEPLOY_JOBS: usize = 25;

/// When and how often a failed request is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further one, with jitter.
    pub base_delay: Duration,
    /// Longest wait between attempts, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): exponential, with "equal jitter"
    /// (half fixed, half random) so that many clients do not retry in lock step.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter_ms = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// How a request authenticates.
#[derive(Clone)]
pub(crate) enum Auth {
    None,
    /// OpenWhisk: `uuid:key` as user and password.
    Basic {
        user: String,
        password: Option<String>,
    },
    /// DigitalOcean API token.
    Bearer(String),
}

impl Auth {
    pub(crate) fn basic(api_key: &str) -> Self {
        match api_key.split_once(':') {
            Some((u, p)) => Auth::Basic {
                user: u.to_string(),
                password: Some(p.to_string()),
            },
            None => Auth::Basic {
                user: api_key.to_string(),
                password: None,
            },
        }
    }
}

/// Settings of the transport.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Skip TLS certificate checks (`--insecure`).
    pub insecure: bool,
    /// Most requests in flight at once.
    pub max_in_flight: usize,
    pub retry: RetryPolicy,
    /// Whole-request timeout (uploads of big zips included).
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            insecure: false,
            max_in_flight: DEFAULT_DEPLOY_JOBS,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(15),
        }
    }
}

/// A pooled HTTP client with a concurrency bound, retries and a request counter.
///
/// Two clients, one per scheme: `http://` hosts (the local namespace, loopback test servers)
/// get a client with an empty TLS root store, because loading the system's root
/// certificates costs a command like `sluice invoke` more than the request itself; the
/// `https://` client, with the platform's roots, is built on the first `https://` request.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    https: Arc<OnceLock<std::result::Result<reqwest::Client, String>>>,
    options: ClientOptions,
    limiter: Arc<Semaphore>,
    retry: RetryPolicy,
    sent: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("retry", &self.retry)
            .field("sent", &self.sent.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// One request to make.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: Url,
    pub auth: &'a Auth,
    pub body: Option<&'a Value>,
    /// Safe to send twice (PUT with overwrite, GET, DELETE). Non-idempotent requests are
    /// retried only when the server surely did not act on them (429, 503, refused connection).
    pub idempotent: bool,
}

/// What both of a [`Transport`]'s clients are built with.
#[derive(Debug, Clone, Copy)]
struct ClientOptions {
    insecure: bool,
    timeout: Duration,
    connect_timeout: Duration,
}

impl ClientOptions {
    fn builder(self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .danger_accept_invalid_certs(self.insecure)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
    }
}

impl Transport {
    pub fn new(options: &TransportOptions) -> Result<Self> {
        let client_options = ClientOptions {
            insecure: options.insecure,
            timeout: options.timeout,
            connect_timeout: options.connect_timeout,
        };
        // Plain HTTP never verifies a certificate: no roots to load.
        let http = client_options
            .builder()
            .tls_certs_only(std::iter::empty())
            .build()
            .map_err(|e| OwError::Transport {
                method: "-".into(),
                url: "-".into(),
                message: e.to_string(),
                unreachable: false,
            })?;
        Ok(Transport {
            http,
            https: Arc::new(OnceLock::new()),
            options: client_options,
            limiter: Arc::new(Semaphore::new(options.max_in_flight.max(1))),
            retry: options.retry,
            sent: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The client for `url`'s scheme; the `https` one is built on first use.
    fn client_for(&self, url: &Url) -> std::result::Result<&reqwest::Client, String> {
        if url.scheme() != "https" {
            return Ok(&self.http);
        }
        self.https
            .get_or_init(|| {
                self.options
                    .builder()
                    .build()
                    .map_err(|e| format!("cannot set up TLS: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Requests sent so far (retries included), for benchmarks and tests.
    pub fn requests_sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends a request, retrying transient failures, and returns the JSON body (`Null` when
    /// the body is empty or not JSON).
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Value> {
        let mut attempt = 0u32;
        loop {
            let outcome = self.attempt(&call).await;
            attempt += 1;
            let wait = match &outcome {
                Ok(_) => None,
                Err(failure) => failure.retry_after(call.idempotent),
            };
            match wait {
                Some(server_wait) if attempt < self.retry.max_attempts => {
                    let delay = server_wait
                        .unwrap_or_else(|| self.retry.backoff(attempt - 1))
                        .min(self.retry.max_delay);
                    tracing::debug!(url = %call.url, attempt, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                }
                _ => return outcome.map(|(v, _)| v).map_err(|f| f.error),
            }
        }
    }

    async fn attempt(&self, call: &Call<'_>) -> std::result::Result<(Value, StatusCode), Failure> {
        let _permit = self.limiter.acquire().await.map_err(|e| Failure {
            error: transport_error(call, e.to_string(), false),
            kind: FailureKind::Fatal,
        })?;
        self.sent.fetch_add(1, Ordering::Relaxed);
        let client = self.client_for(&call.url).map_err(|message| Failure {
            error: transport_error(call, message, false),
            kind: FailureKind::Fatal,
        })?;
        let mut req = client.request(call.method.clone(), call.url.clone());
        req = match call.auth {
            Auth::None => req,
            Auth::Basic { user, password } => req.basic_auth(user, password.as_deref()),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        if let Some(body) = call.body {
            req = req.json(body);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_connect() {
                    FailureKind::NotSent
                } else {
                    FailureKind::MaybeSent
                };
                return Err(Failure {
                    error: transport_error(call, with_causes(&e), e.is_connect()),
                    kind,
                });
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Err(Failure {
                    error: transport_error(call, e.to_string(), false),
                    kind: FailureKind::MaybeSent,
                });
            }
        };
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok((body, status));
        }
        let error = body
            .get("error")
            .and_then(Value::as_str)
            .or_else(|| body.get("message").and_then(Value::as_str))
            .map(str::to_string);
        let kind = match status.as_u16() {
            429 | 503 => FailureKind::Throttled(retry_after),
            502 | 504 => FailureKind::Gateway(retry_after),
            _ => FailureKind::Fatal,
        };
        Err(Failure {
            error: OwError::Http {
                method: call.method.to_string(),
                url: redact_url(&call.url),
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_string(),
                error,
                retry_after: retry_after.map(|d| d.as_secs()),
            },
            kind,
        })
    }
}

/// reqwest's message and its causes (`error sending request …: client error (Connect): tcp
/// connect error: Connection refused (os error 111)`): the first alone does not say why.
fn with_causes(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn transport_error(call: &Call<'_>, message: String, unreachable: bool) -> OwError {
    OwError::Transport {
        method: call.method.to_string(),
        url: redact_url(&call.url),
        message,
        unreachable,
    }
}

/// The URL without query (the query never holds secrets, but keeps messages short).
fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

struct Failure {
    error: OwError,
    kind: FailureKind,
}

enum FailureKind {
    /// The connection was refused: nothing reached the server.
    NotSent,
    /// The request may have been processed (timeout, reset after sending).
    MaybeSent,
    /// 429 / 503: the server did not act on the request.
    Throttled(Option<Duration>),
    /// 502 / 504: a proxy gave up; the backend may have acted.
    Gateway(Option<Duration>),
    Fatal,
}

impl Failure {
    /// `None`: do not retry. `Some(wait)`: retry, after the server's wait when it named one.
    fn retry_after(&self, idempotent: bool) -> Option<Option<Duration>> {
        match self.kind {
            FailureKind::NotSent => Some(None),
            FailureKind::Throttled(wait) => Some(wait),
            FailureKind::MaybeSent if idempotent => Some(None),
            FailureKind::Gateway(wait) if idempotent => Some(wait),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        };
        for _ in 0..50 {
            let first = p.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let late = p.backoff(10);
            assert!(late >= Duration::from_millis(250) && late <= Duration::from_millis(500));
        }
    }

    #[test]
    fn basic_auth_splits_at_the_first_colon() {
        match Auth::basic("uuid:key:with:colons") {
            Auth::Basic { user, password } => {
                assert_eq!(user, "uuid");
                assert_eq!(password.as_deref(), Some("key:with:colons"));
            }
            _ => panic!("expected basic auth"),
        }
    }
}
