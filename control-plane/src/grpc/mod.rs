//! The agent-facing gRPC API (`cwic.agent.v1.AgentService`, tonic over rustls) and broker credentials.
//!
//! Owns enrollment (one-time token → identity, agent token, NATS user JWT), heartbeats and config
//! fetch, and the NATS operator-mode key material (`broker`, `nats_jwt`). Holds no SQL (that is
//! `store::agents`) and must not serve anything to people: that is the REST API.

pub mod broker;
pub mod nats_jwt;

use std::path::PathBuf;

use cwic_proto::agent::v1::agent_service_server::{AgentService, AgentServiceServer};
use cwic_proto::agent::v1::{
    EnrollRequest, EnrollResponse, GetConfigRequest, GetConfigResponse, HeartbeatRequest, HeartbeatResponse,
};
use cwic_shared::{AgentId, TenantId};
use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};
use tracing::{error, info, warn};

use crate::error::{ErrorCode, ServiceError};
use crate::store::agents::{EnrollRefusal, Enrolled};
use crate::store::{Store, StoreError};
use broker::AgentSigner;

/// Prefix of enrollment tokens, so a leaked one is recognisable (e.g. by secret scanners).
pub const ENROLLMENT_TOKEN_PREFIX: &str = "cwic_enroll_";
/// Prefix of agent tokens (the bearer credential of Heartbeat and GetConfig).
pub const AGENT_TOKEN_PREFIX: &str = "cwic_agent_";
/// Longest heartbeat status kept.
const MAX_STATUS_LEN: usize = 200;

/// A new random secret (256 bits) with `prefix`, and its SHA-256 hash for storage.
pub fn new_secret(prefix: &str) -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", BASE64URL_NOPAD.encode(&bytes));
    let hash = hash_secret(&secret);
    (secret, hash)
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.trim().as_bytes()).to_vec()
}

/// Where and with which certificate the gRPC API listens.
#[derive(Debug, Clone)]
pub struct GrpcTlsFiles {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

impl GrpcTlsFiles {
    pub fn load(&self) -> anyhow::Result<ServerTlsConfig> {
        let read = |path: &PathBuf, what: &str| {
            std::fs::read(path).map_err(|error| {
                anyhow::anyhow!("{}: cannot read the gRPC TLS {what}: {error}", path.display())
            })
        };
        let cert = read(&self.cert_pem, "certificate")?;
        let key = read(&self.key_pem, "private key")?;
        Ok(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
    }
}

pub struct AgentGrpcService {
    store: Store,
    signer: Option<AgentSigner>,
}

impl AgentGrpcService {
    /// `signer` is `None` when the broker runs without operator-mode auth (development): enrollment
    /// then returns no NATS credentials.
    pub fn new(store: Store, signer: Option<AgentSigner>) -> Self {
        Self { store, signer }
    }

    pub fn into_server(self) -> AgentServiceServer<Self> {
        AgentServiceServer::new(self)
    }

    async fn authenticate<T>(&self, request: &Request<T>) -> Result<Enrolled, Status> {
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                refuse(
                    ErrorCode::Unauthenticated,
                    "expected `authorization: Bearer <agent token>` metadata",
                )
            })?;
        self.store
            .agent_by_credential(&hash_secret(token))
            .await
            .map_err(store_status)?
            .ok_or_else(|| {
                refuse(
                    ErrorCode::Unauthenticated,
                    "unknown agent token: enroll the agent again",
                )
            })
    }
}

/// The gRPC status of a refusal: the code's mapping is the REST API's (`crate::error`).
fn refuse(code: ErrorCode, message: impl Into<String>) -> Status {
    ServiceError::new(code, message).into()
}

/// A store failure as the REST API would answer it: the caller's fault is its 4xx code, anything
/// else `internal` with the cause in the log.
fn store_status(error: StoreError) -> Status {
    ServiceError::from(error).into()
}

fn internal(error: impl std::fmt::Display) -> Status {
    error!(%error, "grpc request failed");
    Status::internal("internal error")
}

fn optional<T>(
    field: &str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, cwic_shared::IdError>,
) -> Result<Option<T>, Status> {
    if text.is_empty() {
        return Ok(None);
    }
    parse(text)
        .map(Some)
        .map_err(|error| ServiceError::bad_field(field, format!("{field}: {error}")).into())
}

#[tonic::async_trait]
impl AgentService for AgentGrpcService {
    async fn enroll(&self, request: Request<EnrollRequest>) -> Result<Response<EnrollResponse>, Status> {
        let request = request.into_inner();
        let tenant = optional("tenant_id", &request.tenant_id, TenantId::parse)?;
        let agent = optional("agent_id", &request.agent_id, AgentId::parse)?;
        // Check the key before the token is spent, so a bad request leaves the token usable.
        if self.signer.is_some() {
            match nkeys::KeyPair::from_public_key(&request.nats_public_key) {
                Ok(key) if key.key_pair_type() == nkeys::KeyPairType::User => {}
                _ => {
                    return Err(refuse(
                        ErrorCode::BadRequest,
                        "nats_public_key: expected a NATS user public key (an nkey starting with U)",
                    ));
                }
            }
        }
        let (agent_token, credential_hash) = new_secret(AGENT_TOKEN_PREFIX);
        let outcome = self
            .store
            .enroll_agent(&crate::store::agents::EnrollRequest {
                token_hash: &hash_secret(&request.enrollment_token),
                tenant: tenant.as_ref(),
                agent: agent.as_ref(),
                agent_version: &request.agent_version,
                nats_public_key: &request.nats_public_key,
                credential_hash: &credential_hash,
            })
            .await
            .map_err(store_status)?;
        let enrolled = match outcome {
            Ok(enrolled) => enrolled,
            Err(refusal) => {
                warn!(%refusal, "enrollment refused");
                return Err(match refusal {
                    EnrollRefusal::Unknown | EnrollRefusal::Used | EnrollRefusal::Expired => {
                        refuse(ErrorCode::Unauthenticated, refusal.to_string())
                    }
                    EnrollRefusal::OtherTenant { .. } | EnrollRefusal::OtherAgent { .. } => {
                        refuse(ErrorCode::Forbidden, refusal.to_string())
                    }
                });
            }
        };
        let nats_user_jwt = match &self.signer {
            Some(signer) => signer
                .sign_agent(&enrolled.tenant, &enrolled.agent, &request.nats_public_key)
                .map_err(internal)?,
            None => String::new(),
        };
        info!(tenant = %enrolled.tenant, agent = %enrolled.agent, "agent enrolled");
        Ok(Response::new(EnrollResponse {
            tenant_id: enrolled.tenant.to_string(),
            agent_id: enrolled.agent.to_string(),
            agent_token,
            nats_user_jwt,
            subject_prefix: broker::agent_subject_prefix(&enrolled.tenant, &enrolled.agent),
            inbox_prefix: broker::agent_inbox_prefix(&enrolled.tenant, &enrolled.agent),
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let agent = self.authenticate(&request).await?;
        let request = request.into_inner();
        let status: String = request.status.chars().take(MAX_STATUS_LEN).collect();
        let at = self
            .store
            .record_heartbeat(&agent.tenant, &agent.agent, &request.agent_version, &status)
            .await
            .map_err(store_status)?;
        Ok(Response::new(HeartbeatResponse {
            server_time_unix_ms: at.timestamp_millis(),
        }))
    }

    async fn get_config(
        &self,
        request: Request<GetConfigRequest>,
    ) -> Result<Response<GetConfigResponse>, Status> {
        let agent = self.authenticate(&request).await?;
        let (config_yaml, revision) = self
            .store
            .agent_config(&agent.tenant, &agent.agent)
            .await
            .map_err(store_status)?;
        Ok(Response::new(GetConfigResponse {
            config_yaml,
            revision,
        }))
    }
}

/// Serves the gRPC API on `listener` with TLS until `cancel` fires.
pub async fn serve(
    listener: TcpListener,
    tls: ServerTlsConfig,
    service: AgentGrpcService,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    info!(%address, "serving grpc (tls)");
    Server::builder()
        .tls_config(tls)?
        .add_service(service.into_server())
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            async move { cancel.cancelled().await },
        )
        .await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_prefixed_and_hashed() {
        let (first, first_hash) = new_secret(ENROLLMENT_TOKEN_PREFIX);
        let (second, _) = new_secret(ENROLLMENT_TOKEN_PREFIX);
        assert!(first.starts_with("cwic_enroll_"));
        assert_eq!(
            first.len(),
            "cwic_enroll_".len() + 43,
            "32 bytes in unpadded base64url"
        );
        assert_ne!(first, second);
        assert_eq!(first_hash, hash_secret(&first));
        assert_eq!(
            hash_secret(&format!(" {first}\n")),
            first_hash,
            "pasted whitespace is ignored"
        );
        assert_eq!(first_hash.len(), 32);
    }
}
