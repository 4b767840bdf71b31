//! Broker isolation with nats-server in operator mode (decentralized JWT auth, no auth callout in 2.9).
//!
//! The control plane holds an operator, a system account and one application account. The server
//! trusts the operator and has both account JWTs preloaded (`resolver: MEMORY`). Every enrolled agent
//! gets a user JWT signed by the account key that may publish only under
//! `cwic.<tenant>.agent.<agent>.>` and subscribe only to its command subject and its own reply inbox.
//! The control plane connects with its own user JWT, unrestricted inside the account.
//!
//! Owns the key material and the JWTs (`nats_jwt`); must not talk to the broker or the database.

pub mod nats_jwt;

use std::path::Path;

use cwic_shared::{AgentId, TenantId};
use nkeys::KeyPair;

use nats_jwt::{JwtError, UserPermissions};

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("{path}: cannot read the account seed: {cause}")]
    ReadSeed { path: String, cause: String },
    #[error("{path}: expected an account nkey seed (starting with SA), {cause}")]
    BadSeed { path: String, cause: String },
    #[error("expected a NATS user public key (an nkey starting with U), {0}")]
    BadUserKey(String),
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error("cannot write {path}: {cause}")]
    Write { path: String, cause: String },
}

/// The subject prefix an agent publishes under: `cwic.<tenant>.agent.<agent>`.
pub fn agent_subject_prefix(tenant: &TenantId, agent: &AgentId) -> String {
    format!("cwic.{tenant}.agent.{agent}")
}

/// The agent's command subject, the only one it may subscribe to besides its inbox.
pub fn agent_command_subject(tenant: &TenantId, agent: &AgentId) -> String {
    format!("{}.cmd", agent_subject_prefix(tenant, agent))
}

/// The reply inbox prefix an agent must use (JetStream publish acks arrive there).
pub fn agent_inbox_prefix(tenant: &TenantId, agent: &AgentId) -> String {
    cwic_shared::subjects::agent_inbox_prefix(tenant, agent)
}

/// What an agent's credentials allow, and nothing more.
pub fn agent_permissions(tenant: &TenantId, agent: &AgentId) -> UserPermissions {
    UserPermissions {
        publish_allow: vec![format!("{}.>", agent_subject_prefix(tenant, agent))],
        subscribe_allow: vec![
            agent_command_subject(tenant, agent),
            format!("{}.>", agent_inbox_prefix(tenant, agent)),
        ],
        allow_responses: true,
    }
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signs agent user JWTs with the application account's key.
#[derive(Clone)]
pub struct AgentSigner {
    account: std::sync::Arc<KeyPair>,
}

impl AgentSigner {
    pub fn from_seed(seed: &str, origin: &str) -> Result<Self, BrokerError> {
        let account = KeyPair::from_seed(seed.trim()).map_err(|error| BrokerError::BadSeed {
            path: origin.to_owned(),
            cause: error.to_string(),
        })?;
        if account.key_pair_type() != nkeys::KeyPairType::Account {
            return Err(BrokerError::BadSeed {
                path: origin.to_owned(),
                cause: format!("found a {:?} seed", account.key_pair_type()),
            });
        }
        Ok(Self {
            account: std::sync::Arc::new(account),
        })
    }

    pub fn from_seed_file(path: &Path) -> Result<Self, BrokerError> {
        let text = std::fs::read_to_string(path).map_err(|error| BrokerError::ReadSeed {
            path: path.display().to_string(),
            cause: error.to_string(),
        })?;
        Self::from_seed(&text, &path.display().to_string())
    }

    /// A user JWT for the agent's own public key with the agent's subject permissions.
    pub fn sign_agent(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        user_public_key: &str,
    ) -> Result<String, BrokerError> {
        let user = KeyPair::from_public_key(user_public_key)
            .map_err(|error| BrokerError::BadUserKey(error.to_string()))?;
        if user.key_pair_type() != nkeys::KeyPairType::User {
            return Err(BrokerError::BadUserKey(format!(
                "found a {:?} key",
                user.key_pair_type()
            )));
        }
        let claims = nats_jwt::user_claims(&agent_permissions(tenant, agent));
        Ok(nats_jwt::encode(
            &self.account,
            user_public_key,
            &format!("{tenant}/{agent}"),
            claims,
            now_unix(),
        )?)
    }

    /// A fresh key pair and a `.creds` file for it with `permissions`.
    pub fn new_user_credentials(
        &self,
        name: &str,
        permissions: &UserPermissions,
    ) -> Result<String, BrokerError> {
        let user = KeyPair::new_user();
        let jwt = nats_jwt::encode(
            &self.account,
            &user.public_key(),
            name,
            nats_jwt::user_claims(permissions),
            now_unix(),
        )?;
        let seed = user.seed().map_err(|error| JwtError::Sign(error.to_string()))?;
        Ok(nats_jwt::credentials_file(&jwt, &seed))
    }
}

/// A complete operator-mode set-up: operator, system account, application account.
pub struct BrokerAuth {
    operator: KeyPair,
    system: KeyPair,
    account: KeyPair,
}

/// The files `BrokerAuth::write_to` creates.
pub const SERVER_AUTH_FILE: &str = "nats-auth.conf";
pub const ACCOUNT_SEED_FILE: &str = "account.seed";
pub const CONTROL_PLANE_CREDS_FILE: &str = "control-plane.creds";

impl Default for BrokerAuth {
    fn default() -> Self {
        Self::generate()
    }
}

impl BrokerAuth {
    pub fn generate() -> Self {
        Self {
            operator: KeyPair::new_operator(),
            system: KeyPair::new_account(),
            account: KeyPair::new_account(),
        }
    }

    pub fn account_public_key(&self) -> String {
        self.account.public_key()
    }

    pub fn account_seed(&self) -> Result<String, BrokerError> {
        self.account
            .seed()
            .map_err(|error| BrokerError::Jwt(JwtError::Sign(error.to_string())))
    }

    pub fn signer(&self) -> Result<AgentSigner, BrokerError> {
        AgentSigner::from_seed(&self.account_seed()?, "generated account")
    }

    /// The nats-server configuration block that trusts the operator and preloads both accounts;
    /// include it in the server's config (JetStream and listen settings stay there).
    pub fn server_config(&self) -> Result<String, BrokerError> {
        let now = now_unix();
        let system_key = self.system.public_key();
        let operator_jwt = nats_jwt::encode(
            &self.operator,
            &self.operator.public_key(),
            "cwic",
            nats_jwt::operator_claims(&system_key),
            now,
        )?;
        let system_jwt = nats_jwt::encode(
            &self.operator,
            &system_key,
            "SYS",
            nats_jwt::account_claims(false),
            now,
        )?;
        let account_key = self.account.public_key();
        let account_jwt = nats_jwt::encode(
            &self.operator,
            &account_key,
            "CWIC",
            nats_jwt::account_claims(true),
            now,
        )?;
        Ok(format!(
            "operator: \"{operator_jwt}\"\nsystem_account: \"{system_key}\"\nresolver: MEMORY\n\
             resolver_preload: {{\n  \"{system_key}\": \"{system_jwt}\"\n  \"{account_key}\": \"{account_jwt}\"\n}}\n"
        ))
    }

    /// Credentials for the control plane itself: unrestricted inside the application account.
    pub fn control_plane_credentials(&self) -> Result<String, BrokerError> {
        self.signer()?
            .new_user_credentials("cwic-control-plane", &UserPermissions::default())
    }

    /// Writes `nats-auth.conf`, `account.seed` and `control-plane.creds` into `dir` (seeds 0600).
    pub fn write_to(&self, dir: &Path) -> Result<(), BrokerError> {
        let write = |name: &str, text: String| -> Result<(), BrokerError> {
            let path = dir.join(name);
            let error = |cause: std::io::Error| BrokerError::Write {
                path: path.display().to_string(),
                cause: cause.to_string(),
            };
            std::fs::write(&path, text).map_err(error)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(error)
        };
        std::fs::create_dir_all(dir).map_err(|cause| BrokerError::Write {
            path: dir.display().to_string(),
            cause: cause.to_string(),
        })?;
        write(SERVER_AUTH_FILE, self.server_config()?)?;
        write(ACCOUNT_SEED_FILE, format!("{}\n", self.account_seed()?))?;
        write(CONTROL_PLANE_CREDS_FILE, self.control_plane_credentials()?)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn agent_permissions_are_scoped_to_the_agent() {
        let tenant = TenantId::parse("acme").unwrap();
        let agent = AgentId::parse("wh-1").unwrap();
        let permissions = agent_permissions(&tenant, &agent);
        assert_eq!(permissions.publish_allow, vec!["cwic.acme.agent.wh-1.>"]);
        assert_eq!(
            permissions.subscribe_allow,
            vec!["cwic.acme.agent.wh-1.cmd", "_INBOX.cwic.acme.wh-1.>"]
        );
    }

    #[test]
    fn signer_refuses_a_seed_that_is_not_an_account_seed() {
        let user_seed = KeyPair::new_user().seed().unwrap();
        let error = AgentSigner::from_seed(&user_seed, "x.seed").err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("x.seed: expected an account nkey seed"),
            "{error}"
        );
    }

    #[test]
    fn signer_refuses_an_account_key_as_agent_key() {
        let auth = BrokerAuth::generate();
        let signer = auth.signer().unwrap();
        let tenant = TenantId::parse("acme").unwrap();
        let agent = AgentId::parse("a").unwrap();
        assert!(
            signer
                .sign_agent(&tenant, &agent, &auth.account_public_key())
                .is_err()
        );
        assert!(signer.sign_agent(&tenant, &agent, "not a key").is_err());
        let user = KeyPair::new_user();
        assert!(signer.sign_agent(&tenant, &agent, &user.public_key()).is_ok());
    }
}
