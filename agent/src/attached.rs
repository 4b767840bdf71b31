//! Contracts attached in the control plane (`PUT /api/v1/assets/{id}/contract`): an enrolled agent
//! fetches the contracts of the assets it collects with `GetConfig` at the start of a session and
//! before every collection, and runs them like the contracts of its config file. They are cached in
//! the state folder, so a control plane that cannot be reached leaves the last ones running, and a
//! change starts the session again with the new set (the outbox carries over).
//!
//! Owns: fetching, caching and translating attached contracts. Must not: read contracts from files
//! (`contracts::translate` does) or judge data (the check runner does).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use cwic_proto::agent::v1::GetConfigRequest;
use cwic_proto::agent::v1::agent_service_client::AgentServiceClient;
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;
use tracing::{info, warn};

use crate::checks::model::CheckSuite;
use crate::enroll::{self, Identity};

/// The cache of the last fetched set, in the state folder.
pub const CACHE_FILE: &str = "attached-contracts.json";

/// How long one `GetConfig` may take before the cached set is used.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// One attached contract, as `GetConfig` sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attached {
    /// The source's name in the config, and the table (`schema.name`) the contract is for.
    pub source: String,
    pub dataset: String,
    pub contract_id: String,
    pub version: String,
    /// The contract's dataset that describes the table.
    pub contract_dataset: String,
    pub document: String,
}

/// `GetConfig` for an enrolled agent.
pub struct Fetcher {
    client: AgentServiceClient<Channel>,
    bearer: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
}

impl Fetcher {
    pub fn new(identity: &Identity) -> anyhow::Result<Self> {
        let channel = enroll::endpoint(&identity.control_plane, identity.ca.as_deref())?.connect_lazy();
        Ok(Self {
            client: AgentServiceClient::new(channel),
            bearer: format!("Bearer {}", identity.agent_token)
                .parse()
                .context("identity.json: agent_token is not valid header text")?,
        })
    }

    /// The contracts attached to this agent's assets now.
    pub async fn fetch(&mut self) -> anyhow::Result<Vec<Attached>> {
        let mut request = tonic::Request::new(GetConfigRequest {});
        request
            .metadata_mut()
            .insert("authorization", self.bearer.clone());
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.client.get_config(request))
            .await
            .context("the control plane did not answer GetConfig in time")?
            .map_err(|status| anyhow::anyhow!("GetConfig failed: {}", status.message()))?
            .into_inner();
        Ok(response
            .contracts
            .into_iter()
            .map(|c| Attached {
                source: c.source,
                dataset: c.dataset,
                contract_id: c.contract_id,
                version: c.version,
                contract_dataset: c.contract_dataset,
                document: c.document,
            })
            .collect())
    }
}

fn cache_path(state_dir: &Path) -> PathBuf {
    state_dir.join(CACHE_FILE)
}

/// The last fetched set; empty when there is none (a damaged cache is logged and ignored).
pub fn cached(state_dir: &Path) -> Vec<Attached> {
    let path = cache_path(state_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
            warn!(%error, path = %path.display(), "the attached contracts cache is unreadable; ignored");
            Vec::new()
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => {
            warn!(%error, path = %path.display(), "cannot read the attached contracts cache");
            Vec::new()
        }
    }
}

/// Replaces the cache with `attached` (written beside it, then renamed: never half written).
pub fn save(state_dir: &Path, attached: &[Attached]) -> anyhow::Result<()> {
    std::fs::create_dir_all(state_dir).with_context(|| format!("{}: cannot create", state_dir.display()))?;
    let path = cache_path(state_dir);
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec_pretty(attached)?)
        .with_context(|| format!("{}: cannot write", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// The set a session starts with: fetched (and cached) when the control plane answers, else the
/// cached one.
pub async fn refresh(fetcher: Option<&mut Fetcher>, state_dir: &Path) -> Vec<Attached> {
    let Some(fetcher) = fetcher else {
        return Vec::new();
    };
    match fetcher.fetch().await {
        Ok(attached) => {
            if let Err(error) = save(state_dir, &attached) {
                warn!(error = %format!("{error:#}"), "cannot cache the attached contracts");
            }
            if !attached.is_empty() {
                info!(
                    contracts = attached.len(),
                    "contracts attached in the control plane"
                );
            }
            attached
        }
        Err(error) => {
            let attached = cached(state_dir);
            warn!(
                error = %format!("{error:#}"),
                cached = attached.len(),
                "cannot fetch the attached contracts; running the cached ones"
            );
            attached
        }
    }
}

/// The checks of the contracts attached to the tables of `source`, for its engine. A contract the
/// agent cannot translate is logged and left out (the control plane validated it, so this is an
/// engine it cannot check).
pub fn suite_for(source: &str, attached: &[Attached], engine: &str) -> CheckSuite {
    let mut suite = CheckSuite { datasets: Vec::new() };
    for contract in attached.iter().filter(|c| c.source == source) {
        let origin = PathBuf::from(format!(
            "contract {} (attached to {})",
            contract.contract_id, contract.dataset
        ));
        let parsed = cwic_shared::contract::parse(&origin, &contract.document);
        let Some(read) = parsed.contract else {
            let error = parsed
                .errors()
                .next()
                .map(ToString::to_string)
                .unwrap_or_default();
            warn!(%error, contract = %contract.contract_id, "attached contract skipped");
            continue;
        };
        match crate::contracts::translate::suite(&origin, &read, Some(engine)) {
            Ok(translated) => suite.datasets.extend(
                translated
                    .datasets
                    .into_iter()
                    .filter(|d| d.dataset == contract.contract_dataset)
                    .map(|mut d| {
                        d.dataset = contract.dataset.clone();
                        d
                    }),
            ),
            Err(error) => warn!(%error, contract = %contract.contract_id, "attached contract skipped"),
        }
    }
    suite
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ORDERS: &str = include_str!("../../tests/data/contracts/orders-latest.datacontract.yaml");

    fn attached(source: &str) -> Attached {
        Attached {
            source: source.into(),
            dataset: "sales.orders_v2".into(),
            contract_id: "urn:datacontract:checkout:orders-latest".into(),
            version: "2.0.0".into(),
            contract_dataset: "orders".into(),
            document: ORDERS.into(),
        }
    }

    #[test]
    fn an_attached_contract_runs_on_its_table_and_only_for_its_source() {
        let suite = suite_for(
            "warehouse",
            &[attached("warehouse"), attached("lake")],
            "postgres",
        );
        assert_eq!(suite.datasets.len(), 1, "one dataset of the contract, once");
        let orders = &suite.datasets[0];
        assert_eq!(
            orders.dataset, "sales.orders_v2",
            "named as the asset it is attached to"
        );
        let check = orders
            .checks
            .iter()
            .find(|c| c.name == "required(order_id)")
            .unwrap();
        assert!(
            check
                .tags
                .contains(&"contract:urn:datacontract:checkout:orders-latest".to_owned()),
            "{:?}",
            check.tags
        );
        assert!(
            check.origin.starts_with(
                "contract urn:datacontract:checkout:orders-latest (attached to sales.orders_v2):"
            ),
            "{}",
            check.origin
        );
        assert!(
            suite_for("elsewhere", &[attached("warehouse")], "postgres")
                .datasets
                .is_empty()
        );
    }

    #[test]
    fn the_cache_keeps_the_last_set_and_a_damaged_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(cached(dir.path()).is_empty());
        save(dir.path(), &[attached("warehouse")]).unwrap();
        assert_eq!(cached(dir.path()), vec![attached("warehouse")]);
        std::fs::write(dir.path().join(CACHE_FILE), "{").unwrap();
        assert!(cached(dir.path()).is_empty());
    }
}
