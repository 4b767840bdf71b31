//! OpenID Connect single sign-on: authorization code flow with PKCE against a tenant's identity
//! provider, through the `openidconnect` crate.
//!
//! Owns talking to the provider (discovery, the authorization URL, code exchange, ID-token
//! verification with the nonce). Must not store anything or know HTTP routes: the API keeps the
//! login attempt (state, verifier, nonce) in the database between the two legs.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("the identity provider's issuer URL `{0}` is not a URL")]
    IssuerUrl(String),
    #[error("cannot read the identity provider's configuration at {issuer}: {cause}")]
    Discovery { issuer: String, cause: String },
    #[error("the callback URL `{0}` is not a URL")]
    RedirectUrl(String),
    #[error("the identity provider refused the authorization code: {0}")]
    Exchange(String),
    #[error("the identity provider sent no ID token")]
    NoIdToken,
    #[error("the ID token does not verify: {0}")]
    IdToken(String),
    #[error("the identity provider did not share a verified e-mail address (grant the `email` scope)")]
    NoEmail,
    #[error("cannot build an HTTP client: {0}")]
    Http(String),
}

/// One tenant's connection to an identity provider, as configured by its admin.
#[derive(Debug, Clone)]
pub struct Connection {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: String,
}

/// What the first leg hands to the browser (the URL) and keeps for the second (the rest).
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

/// The person the provider vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub email: String,
    pub name: String,
}

fn http_client() -> Result<openidconnect::reqwest::Client, SsoError> {
    // No redirects: the OpenID Connect spec forbids following them on these calls (SSRF).
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|error| SsoError::Http(error.to_string()))
}

async fn discover(
    connection: &Connection,
    http: &openidconnect::reqwest::Client,
) -> Result<CoreProviderMetadata, SsoError> {
    let issuer = IssuerUrl::new(connection.issuer_url.clone())
        .map_err(|_| SsoError::IssuerUrl(connection.issuer_url.clone()))?;
    CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|error| SsoError::Discovery {
            issuer: connection.issuer_url.clone(),
            cause: crate::sso::describe(&error),
        })
}

/// Every cause of an error on one line (the crate's errors nest the transport's reason).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The provider's client as discovered from its issuer, with our callback URL.
type ProviderClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

async fn provider_client(
    connection: &Connection,
    redirect_url: &str,
) -> Result<(ProviderClient, openidconnect::reqwest::Client), SsoError> {
    let http = http_client()?;
    let metadata = discover(connection, &http).await?;
    let redirect = RedirectUrl::new(redirect_url.to_owned())
        .map_err(|_| SsoError::RedirectUrl(redirect_url.to_owned()))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(connection.client_id.clone()),
        Some(ClientSecret::new(connection.client_secret.clone())),
    )
    .set_redirect_uri(redirect);
    Ok((client, http))
}

/// First leg: where to send the browser, with a fresh state, nonce and PKCE (S256) challenge.
pub async fn authorize(connection: &Connection, redirect_url: &str) -> Result<Authorization, SsoError> {
    let (client, _) = provider_client(connection, redirect_url).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
    })
}

/// Second leg: trades the code for tokens and verifies the ID token (signature, issuer, audience,
/// expiry, nonce).
pub async fn complete(
    connection: &Connection,
    redirect_url: &str,
    code: &str,
    pkce_verifier: &str,
    nonce: &str,
) -> Result<Identity, SsoError> {
    let (client, http) = provider_client(connection, redirect_url).await?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|error| SsoError::Exchange(describe(&error)))?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
        .request_async(&http)
        .await
        .map_err(|error| SsoError::Exchange(describe(&error)))?;
    let id_token = tokens.id_token().ok_or(SsoError::NoIdToken)?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
        .map_err(|error| SsoError::IdToken(describe(&error)))?;
    let subject = claims.subject().clone();
    let from_token = claims
        .email()
        .filter(|_| claims.email_verified() != Some(false))
        .map(|email| email.as_str().to_lowercase());
    let name_from_token = claims
        .name()
        .and_then(|names| names.get(None))
        .map(|name| name.as_str().to_owned());
    if let Some(email) = from_token {
        return Ok(Identity {
            subject: subject.as_str().to_owned(),
            email,
            name: name_from_token.unwrap_or_default(),
        });
    }
    // Many providers put profile claims only in the UserInfo response (OIDC Core 5.4).
    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(subject.clone()))
        .map_err(|_| SsoError::NoEmail)?
        .request_async(&http)
        .await
        .map_err(|error| SsoError::IdToken(format!("userinfo: {}", describe(&error))))?;
    let email = info
        .email()
        .filter(|_| info.email_verified() != Some(false))
        .map(|email| email.as_str().to_lowercase())
        .ok_or(SsoError::NoEmail)?;
    let name = info
        .name()
        .and_then(|names| names.get(None))
        .map(|name| name.as_str().to_owned())
        .or(name_from_token)
        .unwrap_or_default();
    Ok(Identity {
        subject: subject.as_str().to_owned(),
        email,
        name,
    })
}
