//! Every random secret of the control plane, made and hashed in one place: API and refresh tokens,
//! agent enrollment tokens and agent tokens (all [`OpaqueToken`]s: 256 random bits behind a readable
//! prefix that says what the secret is, so a leaked one is recognisable by secret scanners, stored
//! only as SHA-256), and raw key material such as the ephemeral access-token signing key
//! ([`random_bytes`]). Randomness comes only from the operating system (`getrandom`); nothing here
//! is seeded or reproducible. Must not store or send secrets: callers do.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Refresh,
    Api,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Refresh => "cwic_rt_",
            TokenKind::Api => "cwic_pat_",
        }
    }

    /// Which kind of opaque token `text` claims to be, by its prefix.
    pub fn of(text: &str) -> Option<Self> {
        [TokenKind::Refresh, TokenKind::Api]
            .into_iter()
            .find(|kind| text.starts_with(kind.prefix()))
    }
}

/// A freshly generated secret: `text` goes to the client once, `hash` to the database.
pub struct OpaqueToken {
    pub text: String,
    pub hash: Vec<u8>,
}

impl OpaqueToken {
    /// A new API or refresh token.
    pub fn generate(kind: TokenKind) -> anyhow::Result<Self> {
        Self::with_prefix(kind.prefix())
    }

    /// A new secret behind `prefix` (enrollment and agent tokens have their own prefixes).
    pub fn with_prefix(prefix: &str) -> anyhow::Result<Self> {
        let bytes: [u8; SECRET_BYTES] = random_bytes()?;
        let text = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
        let hash = hash_token(&text);
        Ok(Self { text, hash })
    }
}

/// Random bits in every opaque token.
pub const SECRET_BYTES: usize = 32;

/// `N` bytes from the operating system's random number generator.
pub fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0_u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|error| anyhow::anyhow!("the operating system's random number generator failed: {error}"))?;
    Ok(bytes)
}

/// The stored form of an opaque token. Plain SHA-256 is right here: the input has 256 bits of
/// entropy, so there is nothing for a slow hash to protect. Whitespace around the text (a token
/// pasted from a file or a terminal) is not part of it.
pub fn hash_token(text: &str) -> Vec<u8> {
    Sha256::digest(text.trim().as_bytes()).to_vec()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_prefixed_and_hash_to_their_stored_form() {
        let first = OpaqueToken::generate(TokenKind::Api).unwrap();
        let second = OpaqueToken::generate(TokenKind::Api).unwrap();
        assert_ne!(first.text, second.text);
        assert!(first.text.starts_with("cwic_pat_"));
        assert_eq!(first.text.len(), "cwic_pat_".len() + 43);
        assert_eq!(hash_token(&first.text), first.hash);
        assert_eq!(TokenKind::of(&first.text), Some(TokenKind::Api));
        assert_eq!(TokenKind::of("cwic_rt_abc"), Some(TokenKind::Refresh));
        assert_eq!(TokenKind::of("eyJhbGciOi"), None);
        assert_eq!(
            hash_token(&format!(" {}\n", first.text)),
            first.hash,
            "pasted whitespace is ignored"
        );
        assert_eq!(first.hash.len(), 32);
    }

    #[test]
    fn prefixed_secrets_and_raw_keys_are_random() {
        let first = OpaqueToken::with_prefix("cwic_enroll_").unwrap();
        let second = OpaqueToken::with_prefix("cwic_enroll_").unwrap();
        assert!(first.text.starts_with("cwic_enroll_"));
        assert_eq!(
            first.text.len(),
            "cwic_enroll_".len() + 43,
            "32 bytes in unpadded base64url"
        );
        assert_ne!(first.text, second.text);
        let (a, b) = (random_bytes::<32>().unwrap(), random_bytes::<32>().unwrap());
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }
}
