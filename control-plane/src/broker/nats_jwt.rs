//! NATS decentralized-auth JWTs (nats-io/jwt v2 format), written by hand.
//!
//! Checked on 2026-12-07 against the crates that issue them: `nats-jwt` 0.3.0 (AircastDev) writes
//! account and user JWTs only (no operator JWT, which `BrokerAuth::generate` needs), has no setting
//! for the `resp` permission agents answer commands with, and has seen no release in years;
//! `nats-io-jwt` 0.1 calls itself a work in progress; `nats-jwt-rs` 0.1.1 (wasmCloud) is an early
//! release with almost no documentation. All three pin `sha2` 0.10 (the workspace is on 0.11).
//! None is a maintained crate producing these claims, so the ~100 lines below stay, kept honest by
//! `tests/tests/agent_enrollment.rs` against a real nats-server in operator mode.
//!
//! A token is `base64url(header).base64url(claims).base64url(signature)`, no padding, with the
//! header `{"typ":"JWT","alg":"ed25519-nkey"}` and the signature an ed25519 signature by the issuer's
//! nkey over the first two parts. `jti` is the unpadded base32 of SHA-512/256 over the standard claims,
//! as nats-io/jwt computes it (the server does not check it; it only has to be unique).

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use nkeys::KeyPair;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha512_256};

/// "No limit" in NATS claims.
const UNLIMITED: i64 = -1;

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("cannot sign the JWT: {0}")]
    Sign(String),
    #[error("cannot encode the JWT claims: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The standard claims, in nats-io/jwt's field order (the `jti` hash is taken over these).
#[derive(Serialize)]
struct StandardClaims<'a> {
    iat: i64,
    iss: &'a str,
    name: &'a str,
    sub: &'a str,
}

/// Encodes and signs a JWT for `subject` with the `nats` section `nats`, issued by `issuer`.
pub fn encode(
    issuer: &KeyPair,
    subject: &str,
    name: &str,
    nats: Value,
    issued_at: i64,
) -> Result<String, JwtError> {
    let issuer_key = issuer.public_key();
    let standard = StandardClaims {
        iat: issued_at,
        iss: &issuer_key,
        name,
        sub: subject,
    };
    let jti = BASE32_NOPAD.encode(&Sha512_256::digest(serde_json::to_vec(&standard)?));
    let claims = json!({
        "jti": jti,
        "iat": issued_at,
        "iss": issuer_key,
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let header = BASE64URL_NOPAD.encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let payload = BASE64URL_NOPAD.encode(&serde_json::to_vec(&claims)?);
    let signed = format!("{header}.{payload}");
    let signature = issuer
        .sign(signed.as_bytes())
        .map_err(|error| JwtError::Sign(error.to_string()))?;
    Ok(format!("{signed}.{}", BASE64URL_NOPAD.encode(&signature)))
}

/// The `nats` section of an operator JWT.
pub fn operator_claims(system_account: &str) -> Value {
    json!({"system_account": system_account, "type": "operator", "version": 2})
}

/// The `nats` section of an account JWT; `jetstream` gives the account unlimited JetStream storage.
pub fn account_claims(jetstream: bool) -> Value {
    let mut limits = json!({
        "subs": UNLIMITED, "data": UNLIMITED, "payload": UNLIMITED, "imports": UNLIMITED,
        "exports": UNLIMITED, "wildcards": true, "conn": UNLIMITED, "leaf": UNLIMITED,
    });
    if jetstream {
        limits["mem_storage"] = json!(UNLIMITED);
        limits["disk_storage"] = json!(UNLIMITED);
        limits["streams"] = json!(UNLIMITED);
        limits["consumer"] = json!(UNLIMITED);
    }
    json!({"limits": limits, "default_permissions": {"pub": {}, "sub": {}}, "type": "account", "version": 2})
}

/// Subject permissions of a user. Empty lists mean "everything" to the server, so a user that must
/// not do something gets a deny or a narrow allow list, never an empty one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPermissions {
    pub publish_allow: Vec<String>,
    pub subscribe_allow: Vec<String>,
    /// Lets the user answer requests it received (one reply each), for commands sent to the agent.
    pub allow_responses: bool,
}

/// The `nats` section of a user JWT.
pub fn user_claims(permissions: &UserPermissions) -> Value {
    let mut nats = json!({
        "pub": {}, "sub": {},
        "subs": UNLIMITED, "data": UNLIMITED, "payload": UNLIMITED,
        "type": "user", "version": 2,
    });
    if !permissions.publish_allow.is_empty() {
        nats["pub"] = json!({"allow": permissions.publish_allow});
    }
    if !permissions.subscribe_allow.is_empty() {
        nats["sub"] = json!({"allow": permissions.subscribe_allow});
    }
    if permissions.allow_responses {
        nats["resp"] = json!({"max": 1, "ttl": 0});
    }
    nats
}

pub use cwic_shared::nats_creds::credentials_file;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn decode_part(part: &str) -> Value {
        serde_json::from_slice(&BASE64URL_NOPAD.decode(part.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn user_jwt_is_signed_by_the_account_and_carries_the_permissions() {
        let account = KeyPair::new_account();
        let user = KeyPair::new_user();
        let permissions = UserPermissions {
            publish_allow: vec!["cwic.acme.agent.a1.>".to_owned()],
            subscribe_allow: vec!["cwic.acme.agent.a1.cmd".to_owned()],
            allow_responses: true,
        };
        let token = encode(
            &account,
            &user.public_key(),
            "a1",
            user_claims(&permissions),
            1_700_000_000,
        )
        .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode_part(parts[0]),
            json!({"typ": "JWT", "alg": "ed25519-nkey"})
        );
        let claims = decode_part(parts[1]);
        assert_eq!(claims["iss"], account.public_key());
        assert_eq!(claims["sub"], user.public_key());
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["nats"]["pub"]["allow"], json!(["cwic.acme.agent.a1.>"]));
        assert_eq!(claims["nats"]["sub"]["allow"], json!(["cwic.acme.agent.a1.cmd"]));
        assert_eq!(claims["nats"]["resp"]["max"], 1);
        assert_eq!(
            claims["jti"].as_str().unwrap().len(),
            52,
            "base32 of 32 bytes, unpadded"
        );
        let signature = BASE64URL_NOPAD.decode(parts[2].as_bytes()).unwrap();
        let verifier = KeyPair::from_public_key(&account.public_key()).unwrap();
        verifier
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
        assert!(verifier.verify(b"something else", &signature).is_err());
    }

    #[test]
    fn a_user_without_restrictions_gets_empty_permission_sections() {
        let claims = user_claims(&UserPermissions::default());
        assert_eq!(claims["pub"], json!({}));
        assert_eq!(claims["sub"], json!({}));
        assert!(claims.get("resp").is_none());
    }
}
