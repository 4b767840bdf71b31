//! The agent-facing gRPC API (`cwic.agent.v1.AgentService`, tonic over rustls) and broker credentials.
//!
//! Owns enrollment (one-time token → identity, agent token, NATS user JWT signed by
//! `crate::broker`), heartbeats and config fetch. Holds no SQL (that is `store::agents`, reached
//! through the `ApiStore` handle: tenant data under row-level security) and must not serve
//! anything to people: that is the REST API.

use std::path::PathBuf;

use cwic_proto::agent::v1::agent_service_server::{AgentService, AgentServiceServer};
use cwic_proto::agent::v1::{
    AttachedContract, EnrollRequest, EnrollResponse, GetConfigRequest, GetConfigResponse, HeartbeatRequest,
    HeartbeatResponse,
};
use cwic_shared::{AgentId, TenantId};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};
use tracing::{error, info, warn};

use crate::auth::{OpaqueToken, hash_token};
use crate::broker::{self, AgentSigner};
use crate::error::{ErrorCode, ServiceError};
use crate::store::agents::{EnrollRefusal, Enrolled};
use crate::store::{ApiStore, StoreError};

/// Prefix of enrollment tokens, so a leaked one is recognisable (e.g. by secret scanners).
pub const ENROLLMENT_TOKEN_PREFIX: &str = "cwic_enroll_";
/// Prefix of agent tokens (the bearer credential of Heartbeat and GetConfig).
pub const AGENT_TOKEN_PREFIX: &str = "cwic_agent_";
/// Longest heartbeat status kept.
const MAX_STATUS_LEN: usize = 200;

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
    store: ApiStore,
    signer: Option<AgentSigner>,
}

impl AgentGrpcService {
    /// `signer` is `None` when the broker runs without operator-mode auth (development): enrollment
    /// then returns no NATS credentials.
    pub fn new(store: ApiStore, signer: Option<AgentSigner>) -> Self {
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
            .identity()
            .agent_by_credential(&hash_token(token))
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
        let OpaqueToken {
            text: agent_token,
            hash: credential_hash,
        } = OpaqueToken::with_prefix(AGENT_TOKEN_PREFIX).map_err(internal)?;
        let outcome = self
            .store
            .identity()
            .enroll_agent(&crate::store::agents::EnrollRequest {
                token_hash: &hash_token(&request.enrollment_token),
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
            .tenant(&agent.tenant)
            .record_heartbeat(&agent.agent, &request.agent_version, &status)
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
        let store = self.store.tenant(&agent.tenant);
        let (config_yaml, revision) = store.agent_config(&agent.agent).await.map_err(store_status)?;
        let contracts = crate::contracts::service::for_agent(&store, &agent.agent)
            .await
            .map_err(Status::from)?
            .into_iter()
            .map(|c| AttachedContract {
                source: c.source_name,
                dataset: format!("{}.{}", c.schema_name, c.asset_name),
                contract_id: c.contract_id,
                version: c.version,
                contract_dataset: c.dataset,
                document: c.document,
            })
            .collect();
        Ok(Response::new(GetConfigResponse {
            config_yaml,
            revision,
            contracts,
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
