//! Access tokens: JWTs signed with HMAC-SHA256 under named keys.
//!
//! Keys rotate by key id: the first configured key signs, every configured key verifies, and a
//! token names its key in the `kid` header. To rotate, put the new key first, keep the old one
//! listed for one access-token lifetime, then drop it.

use std::collections::HashMap;

use chrono::Utc;
use cwic_shared::TenantId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ACCESS_TOKEN_TTL, Role};

const ISSUER: &str = "cwic";
const AUDIENCE: &str = "cwic-api";
/// HS256 keys shorter than the hash output weaken it (RFC 7518 §3.2).
const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("signing key `{0}` must look like `<key id>:<secret>`")]
    Shape(String),
    #[error("signing key `{kid}` has {len} bytes; use at least {MIN_KEY_BYTES} random bytes")]
    TooShort { kid: String, len: usize },
    #[error("signing key id `{0}` appears twice")]
    Duplicate(String),
    #[error("no signing key configured")]
    Empty,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: Uuid,
    pub email: String,
    /// The tenant this token acts in.
    pub tid: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
}

impl JwtKeys {
    /// Parses `kid:secret[,kid:secret...]`; the first key signs.
    pub fn parse(spec: &str) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let (kid, secret) = part
                .split_once(':')
                .filter(|(kid, _)| !kid.is_empty())
                .ok_or_else(|| KeyError::Shape(part.chars().take(12).collect()))?;
            if secret.len() < MIN_KEY_BYTES {
                return Err(KeyError::TooShort {
                    kid: kid.to_owned(),
                    len: secret.len(),
                });
            }
            if keys.iter().any(|(known, _)| known == kid) {
                return Err(KeyError::Duplicate(kid.to_owned()));
            }
            keys.push((kid.to_owned(), secret.as_bytes().to_vec()));
        }
        Self::from_keys(keys)
    }

    /// One random key, for a control plane started without configured keys: its tokens stop
    /// working when it restarts.
    pub fn ephemeral() -> anyhow::Result<Self> {
        let secret: [u8; 32] = super::secret::random_bytes()?;
        Ok(Self::from_keys(vec![("ephemeral".to_owned(), secret.to_vec())])?)
    }

    fn from_keys(keys: Vec<(String, Vec<u8>)>) -> Result<Self, KeyError> {
        let (signing_kid, signing_secret) = keys.first().cloned().ok_or(KeyError::Empty)?;
        let verifying = keys
            .iter()
            .map(|(kid, secret)| (kid.clone(), DecodingKey::from_secret(secret)))
            .collect();
        Ok(Self {
            signing: EncodingKey::from_secret(&signing_secret),
            signing_kid,
            verifying,
        })
    }

    /// Issues an access token for a member of `tenant`.
    pub fn issue(&self, user: Uuid, email: &str, tenant: &TenantId, role: Role) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user,
            email: email.to_owned(),
            tid: tenant.as_str().to_owned(),
            role,
            iat: now,
            exp: now + ACCESS_TOKEN_TTL.num_seconds(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.signing)?)
    }

    /// Verifies signature, key id, issuer, audience and expiry (no leeway: our own clock signs).
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::HS256 {
            return None;
        }
        let key = self.verifying.get(header.kid.as_deref()?)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OLD: &str = "old:0123456789abcdef0123456789abcdef";
    const NEW: &str = "new:fedcba9876543210fedcba9876543210";

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[test]
    fn a_token_verifies_with_its_claims() {
        let keys = JwtKeys::parse(OLD).unwrap();
        let user = Uuid::new_v4();
        let token = keys
            .issue(user, "ada@acme.test", &tenant(), Role::Editor)
            .unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.sub, user);
        assert_eq!(claims.tid, "acme");
        assert_eq!(claims.role, Role::Editor);
        assert_eq!(claims.exp - claims.iat, 15 * 60);
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_the_old_key_is_dropped() {
        let before = JwtKeys::parse(OLD).unwrap();
        let old_token = before
            .issue(Uuid::new_v4(), "a@b.c", &tenant(), Role::Viewer)
            .unwrap();
        let during = JwtKeys::parse(&format!("{NEW},{OLD}")).unwrap();
        assert!(during.verify(&old_token).is_some());
        let new_token = during
            .issue(Uuid::new_v4(), "a@b.c", &tenant(), Role::Viewer)
            .unwrap();
        assert!(jsonwebtoken::decode_header(&new_token).unwrap().kid.as_deref() == Some("new"));
        let after = JwtKeys::parse(NEW).unwrap();
        assert!(after.verify(&old_token).is_none());
        assert!(after.verify(&new_token).is_some());
    }

    #[test]
    fn tampered_expired_and_foreign_tokens_are_refused() {
        let keys = JwtKeys::parse(OLD).unwrap();
        let token = keys
            .issue(Uuid::new_v4(), "a@b.c", &tenant(), Role::Viewer)
            .unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = parts[1].replace('A', "B");
        assert!(keys.verify(&parts.join(".")).is_none());
        let other = JwtKeys::parse("old:ffffffffffffffffffffffffffffffffff").unwrap();
        assert!(other.verify(&token).is_none(), "same kid, different secret");
        let expired = AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: Uuid::new_v4(),
            email: "a@b.c".into(),
            tid: "acme".into(),
            role: Role::Owner,
            iat: 0,
            exp: Utc::now().timestamp() - 1,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("old".into());
        let secret = OLD.split_once(':').unwrap().1.as_bytes();
        let stale = jsonwebtoken::encode(&header, &expired, &EncodingKey::from_secret(secret)).unwrap();
        assert!(keys.verify(&stale).is_none());
        assert!(keys.verify("not.a.jwt").is_none());
    }

    #[test]
    fn bad_key_specs_are_explained() {
        assert_eq!(JwtKeys::parse("").err(), Some(KeyError::Empty));
        assert!(matches!(JwtKeys::parse("nokid"), Err(KeyError::Shape(_))));
        assert!(matches!(
            JwtKeys::parse("k:short"),
            Err(KeyError::TooShort { len: 5, .. })
        ));
        assert_eq!(
            JwtKeys::parse(&format!("{OLD},{OLD}")).err(),
            Some(KeyError::Duplicate("old".into()))
        );
    }
}
