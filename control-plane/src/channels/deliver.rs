//! Sending a message to a channel over HTTP: one client for the process (rustls with the web PKI
//! roots; the reqwest 0.12 build the OIDC client already brings, so no second TLS stack), no
//! redirects (a receiver cannot bounce a signed body elsewhere), a 10 s timeout.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use http_client::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use super::SIGNATURE_HEADER;

/// How long one delivery may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What became of one delivery.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The receiver answered 2xx.
    pub delivered: bool,
    /// Its HTTP status, when it answered.
    pub status: Option<u16>,
    /// Its `Retry-After` (seconds) on a 429 or 503.
    pub retry_after: Option<Duration>,
    /// One sentence: what happened.
    pub message: String,
    /// The receiver's answer (at most 64 KiB).
    pub answer: Vec<u8>,
    pub elapsed: Duration,
}

fn client() -> Result<&'static http_client::Client, String> {
    static CLIENT: OnceLock<Result<http_client::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            http_client::Client::builder()
                .timeout(TIMEOUT)
                .redirect(http_client::redirect::Policy::none())
                .build()
                .map_err(|error| format!("cannot build the HTTP client: {error}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The header naming a notification: the same on every attempt, so a receiver can drop a repeat.
pub const DELIVERY_HEADER: &str = "X-Cwic-Delivery";

/// The most of a receiver's answer kept (Slack's `ts`, an error to show).
const MAX_ANSWER: usize = 64 * 1024;

/// Sends `outbound` (a JSON POST): signed with `secret` at `unix_seconds` when the kind signs,
/// with the notification's id in [`DELIVERY_HEADER`] when it is one. The receiver's answer is in
/// the outcome for the kind to judge (`kinds::judge`); `delivered` here means only "answered 2xx".
pub async fn send(
    outbound: &super::kinds::Outbound,
    secret: Option<&str>,
    unix_seconds: i64,
    delivery: Option<uuid::Uuid>,
) -> Outcome {
    let started = Instant::now();
    let failed = |message: String, started: Instant| Outcome {
        delivered: false,
        status: None,
        retry_after: None,
        message,
        answer: Vec::new(),
        elapsed: started.elapsed(),
    };
    let client = match client() {
        Ok(client) => client,
        Err(message) => return failed(message, started),
    };
    let body = match serde_json::to_vec(&outbound.body) {
        Ok(body) => body,
        Err(error) => return failed(format!("cannot encode the message: {error}"), started),
    };
    let url = outbound.url.as_str();
    let mut request = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, concat!("cwic/", env!("CARGO_PKG_VERSION")));
    for (name, value) in &outbound.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(delivery) = delivery {
        request = request.header(DELIVERY_HEADER, delivery.to_string());
    }
    if outbound.sign
        && let Some(secret) = secret
    {
        request = request.header(SIGNATURE_HEADER, super::signature(secret, unix_seconds, &body));
    }
    match request.body(body).send().await {
        Ok(response) => {
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let mut answer = response.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            answer.truncate(MAX_ANSWER);
            let delivered = status.is_success();
            Outcome {
                delivered,
                status: Some(status.as_u16()),
                retry_after,
                message: if delivered {
                    format!("delivered: the receiver answered {status}")
                } else {
                    format!("not delivered: the receiver answered {status}")
                },
                answer,
                elapsed: started.elapsed(),
            }
        }
        Err(error) => failed(
            if error.is_timeout() {
                format!("not delivered: no answer within {} s", TIMEOUT.as_secs())
            } else if error.is_connect() {
                format!("not delivered: cannot connect to {url}")
            } else {
                format!("not delivered: {error}")
            },
            started,
        ),
    }
}
