//! `cwic-agent enroll`: trades a one-time enrollment token for the agent's identity and broker
//! credentials over the control plane's gRPC API (TLS).
//!
//! The NATS key pair is generated here and only its public key is sent, so the seed never leaves this
//! machine. Writes `identity.json` (tenant, agent id, control plane, agent token) and `nats.creds`
//! into the output folder, both readable by the owner only. Must not collect or ship data.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cwic_proto::agent::v1::EnrollRequest;
use cwic_proto::agent::v1::agent_service_client::AgentServiceClient;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use cwic_proto::agent::v1::HeartbeatRequest;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tracing::{debug, warn};

/// How often `cwic-agent run` reports to the control plane when the agent is enrolled.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// File names written into the output folder.
pub const IDENTITY_FILE: &str = "identity.json";
pub const CREDENTIALS_FILE: &str = "nats.creds";

#[derive(clap::Args)]
pub struct EnrollArgs {
    /// The control plane's gRPC address, e.g. https://cwic.example.com:8443.
    #[arg(long)]
    control_plane: String,
    /// The one-time enrollment token (`cwic agents token create`, or POST /api/v1/agents/enrollment-tokens).
    #[arg(long, env = "CWIC_ENROLLMENT_TOKEN")]
    token: String,
    /// PEM file of the CA that signed the control plane's certificate (default: the system's roots).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The tenant this agent must join; a token of another tenant is refused.
    #[arg(long)]
    tenant: Option<String>,
    /// The agent id wanted, when the token does not name one.
    #[arg(long)]
    agent_id: Option<String>,
    /// Folder for identity.json and nats.creds (usually the folder of the agent's config file).
    #[arg(long)]
    out: PathBuf,
}

/// What enrollment established, as stored in `identity.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub tenant_id: String,
    pub agent_id: String,
    pub control_plane: String,
    pub agent_token: String,
    pub subject_prefix: String,
    /// The CA file given to `enroll`, used again for heartbeats.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// `nats.creds` when the broker runs with operator-mode auth, else `None`.
    pub nats_credentials: Option<String>,
}

/// The TLS endpoint of the control plane's gRPC API.
pub fn endpoint(control_plane: &str, ca: Option<&Path>) -> anyhow::Result<Endpoint> {
    let uri: tonic::transport::Uri = control_plane.parse().with_context(|| {
        format!("--control-plane: expected a URL like https://host:8443, found `{control_plane}`")
    })?;
    if uri.scheme_str() != Some("https") {
        bail!(
            "--control-plane: expected an https:// URL (the gRPC API is served over TLS), found `{control_plane}`"
        );
    }
    let mut tls = ClientTlsConfig::new();
    match ca {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("{}: cannot read the CA file", path.display()))?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        None => tls = tls.with_native_roots(),
    }
    if let Some(host) = uri.host() {
        tls = tls.domain_name(host.to_owned());
    }
    Channel::builder(uri)
        .tls_config(tls)
        .context("cannot set up TLS for the control plane")
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("{}: cannot create the file", tmp.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write the file", path.display()))?;
    Ok(())
}

pub async fn run(args: EnrollArgs) -> anyhow::Result<std::process::ExitCode> {
    let user = nkeys::KeyPair::new_user();
    let channel = endpoint(&args.control_plane, args.ca.as_deref())?
        .connect()
        .await
        .with_context(|| format!("cannot connect to the control plane at {}", args.control_plane))?;
    let response = AgentServiceClient::new(channel)
        .enroll(EnrollRequest {
            enrollment_token: args.token.trim().to_owned(),
            tenant_id: args.tenant.unwrap_or_default(),
            agent_id: args.agent_id.unwrap_or_default(),
            nats_public_key: user.public_key(),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        })
        .await
        .map_err(|status| anyhow::anyhow!("enrollment refused: {}", status.message()))?
        .into_inner();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the folder", args.out.display()))?;
    let nats_credentials = if response.nats_user_jwt.is_empty() {
        None
    } else {
        let seed = user
            .seed()
            .map_err(|error| anyhow::anyhow!("cannot encode the NATS seed: {error}"))?;
        let creds = cwic_shared::nats_creds::credentials_file(&response.nats_user_jwt, &seed);
        write_private(&args.out.join(CREDENTIALS_FILE), &creds)?;
        Some(CREDENTIALS_FILE.to_owned())
    };
    let identity = Identity {
        tenant_id: response.tenant_id,
        agent_id: response.agent_id,
        control_plane: args.control_plane,
        agent_token: response.agent_token,
        subject_prefix: response.subject_prefix,
        ca: args.ca.map(|ca| std::path::absolute(&ca).unwrap_or(ca)),
        nats_credentials,
    };
    write_private(
        &args.out.join(IDENTITY_FILE),
        &serde_json::to_string_pretty(&identity)?,
    )?;
    println!(
        "enrolled as agent {} of tenant {}",
        identity.agent_id, identity.tenant_id
    );
    println!("identity: {}", args.out.join(IDENTITY_FILE).display());
    if let Some(creds) = &identity.nats_credentials {
        println!(
            "nats credentials: {} (config: `nats: {{credentials: {creds}}}`)",
            args.out.join(creds).display()
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The identity written by `enroll` next to the config file at `config_path`, if there is one.
pub fn load_identity(config_path: &Path) -> anyhow::Result<Option<Identity>> {
    let path = config_path.parent().unwrap_or(Path::new(".")).join(IDENTITY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            Ok(Some(serde_json::from_str(&text).with_context(|| {
                format!("{}: not an agent identity", path.display())
            })?))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("{}: cannot read the file", path.display())),
    }
}

/// How long the last heartbeat (`stopped`) may take when the agent stops.
const LAST_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends a heartbeat (version, status `running`) now and every [`HEARTBEAT_INTERVAL`] until
/// cancelled, then one with status `stopped`. A failed one is logged and the next one tried, so an
/// unreachable control plane never stops collection.
pub async fn heartbeats(identity: Identity, cancel: CancellationToken) -> anyhow::Result<()> {
    let channel = endpoint(&identity.control_plane, identity.ca.as_deref())?.connect_lazy();
    let client = AgentServiceClient::new(channel);
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {}", identity.agent_token)
        .parse()
        .context("identity.json: agent_token is not valid header text")?;
    let mut ticker = tokio::time::interval(HEARTBEAT_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let heartbeat = |status: &str| {
        let mut request = tonic::Request::new(HeartbeatRequest {
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            status: status.to_owned(),
        });
        request.metadata_mut().insert("authorization", bearer.clone());
        let mut client = client.clone();
        async move {
            match client.heartbeat(request).await {
                Ok(_) => debug!("heartbeat sent"),
                Err(status) => warn!(error = %status.message(), "heartbeat failed"),
            }
        }
    };
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = heartbeat("running") => {}
        }
    }
    if tokio::time::timeout(LAST_HEARTBEAT_TIMEOUT, heartbeat("stopped"))
        .await
        .is_err()
    {
        warn!("the last heartbeat timed out");
    }
    Ok(())
}
