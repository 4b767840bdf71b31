//! Notification channels (issue 14): where a tenant's alerts go, configured through the API with
//! their secrets never returned. This first part has the signed webhook: a JSON body with the header
//! `X-Cwic-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the channel's
//! secret>`, sent with a 10 s timeout, and "send test message".
//!
//! Owns: validation of a channel's settings, the signature, the message bodies (this file, pure),
//! the HTTP delivery (`deliver`), the capability (`service`). Must not: decide what is alerted or
//! routed where (incidents and routing will).

pub mod deliver;
pub mod digest;
pub mod email;
pub mod kinds;
pub mod notify;
pub mod quiet;
pub mod service;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header a webhook receiver verifies.
pub const SIGNATURE_HEADER: &str = "X-Cwic-Signature";

/// The shortest webhook secret accepted.
pub const MIN_SECRET_LEN: usize = 16;

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` for `body` sent at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={unix_seconds},v1={hex}")
}

/// A webhook URL: absolute `http` or `https` with a host, at most 2,000 characters.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.len() > 2000 {
        return Err("url: at most 2000 characters".into());
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("url: expected http(s)://host/path, got {url:?}"))?;
    if !matches!(scheme, "http" | "https") {
        return Err(format!(
            "url: expected an http or https URL, got scheme {scheme:?}"
        ));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return Err(format!("url: expected a host after {scheme}://, got {url:?}"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_time_dot_body() {
        // Expected value from Python: hmac.new(b"Jefe", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("Jefe", 1_700_000_000, b"{}"),
            "t=1700000000,v1=d3793e2b4103edfbd98cc19591832f5fad701d413db9fcae0ae7dab8184ed207"
        );
        assert_ne!(
            signature("Jefe", 1_700_000_001, b"{}"),
            signature("Jefe", 1_700_000_000, b"{}"),
            "the time is signed"
        );
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(check_url("https://hooks.example.com/cwic").is_ok());
        assert!(check_url("http://127.0.0.1:9000").is_ok());
        assert!(check_url("ftp://x").unwrap_err().contains("scheme"));
        assert!(check_url("https:///path").unwrap_err().contains("host"));
        assert!(check_url("example.com").unwrap_err().contains("expected"));
    }
}
