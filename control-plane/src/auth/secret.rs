//! Opaque bearer secrets (refresh tokens, API tokens): 256 random bits, a readable prefix that says
//! what the secret is (so a leaked one is recognisable by secret scanners), stored only as SHA-256.

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
    pub fn generate(kind: TokenKind) -> anyhow::Result<Self> {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
        let text = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
        let hash = hash_token(&text);
        Ok(Self { text, hash })
    }
}

/// The stored form of an opaque token. Plain SHA-256 is right here: the input has 256 bits of
/// entropy, so there is nothing for a slow hash to protect.
pub fn hash_token(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
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
    }
}
