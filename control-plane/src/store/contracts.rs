//! Data contracts attached to assets: the stored document per asset, the latest results of its
//! checks, and what an agent fetches for the assets it collects.

use chrono::{DateTime, Utc};
use cwic_shared::AgentId;
use uuid::Uuid;

use super::StoreResult;
use super::handles::TenantStore;
use super::slas::{NewSla, insert_sla_in};

/// A contract as stored beside its asset.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredContract {
    pub asset_id: Uuid,
    pub source_name: String,
    pub schema_name: String,
    pub asset_name: String,
    pub contract_id: String,
    pub version: String,
    pub dataset: String,
    pub document: String,
    pub attached_at: DateTime<Utc>,
    pub attached_by: String,
    /// The SLA made from its service levels, if it has any CWIC states.
    pub sla_id: Option<Uuid>,
}

/// What is written when a contract is attached.
pub struct NewContract<'a> {
    pub contract_id: &'a str,
    pub version: &'a str,
    pub dataset: &'a str,
    pub document: &'a str,
    pub by: &'a str,
}

/// The latest result of one check of a contract.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContractCheckRow {
    pub check_name: String,
    pub template: String,
    pub severity: String,
    pub status: String,
    pub failing_rows: Option<i64>,
    pub total_rows: Option<i64>,
    pub message: String,
    pub observed_at: DateTime<Utc>,
}

const CONTRACT_SELECT: &str = "
SELECT c.asset_id, a.source_name, a.schema_name, a.name AS asset_name, c.contract_id, c.version,
       c.dataset, c.document, c.attached_at, c.attached_by,
       (SELECT s.id FROM slas s
         WHERE s.tenant_id = c.tenant_id AND s.asset_id = c.asset_id AND s.contract_id IS NOT NULL
         LIMIT 1) AS sla_id
FROM asset_contracts c JOIN assets a ON a.tenant_id = c.tenant_id AND a.id = c.asset_id";

/// Removes the SLA made from the contract of `asset`, in the caller's transaction.
async fn delete_contract_sla(tx: &mut sqlx::PgConnection, tenant: &str, asset: Uuid) -> StoreResult<()> {
    sqlx::query("DELETE FROM slas WHERE tenant_id = $1 AND asset_id = $2 AND contract_id IS NOT NULL")
        .bind(tenant)
        .bind(asset)
        .execute(tx)
        .await?;
    Ok(())
}

impl TenantStore {
    /// Attaches `contract` to `asset` with the SLA its service levels state, replacing the contract
    /// and SLA it had, in one transaction; `None` when the asset does not exist.
    pub async fn attach_contract(
        &self,
        asset: Uuid,
        contract: &NewContract<'_>,
        sla: Option<&NewSla>,
    ) -> StoreResult<Option<StoredContract>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id().as_str();
        let attached = sqlx::query(
            "INSERT INTO asset_contracts (tenant_id, asset_id, contract_id, version, dataset, document,
                                          attached_at, attached_by)
             SELECT $1, a.id, $3, $4, $5, $6, now(), $7 FROM assets a WHERE a.tenant_id = $1 AND a.id = $2
             ON CONFLICT (tenant_id, asset_id) DO UPDATE SET
                 contract_id = EXCLUDED.contract_id, version = EXCLUDED.version, dataset = EXCLUDED.dataset,
                 document = EXCLUDED.document, attached_at = EXCLUDED.attached_at,
                 attached_by = EXCLUDED.attached_by",
        )
        .bind(tenant)
        .bind(asset)
        .bind(contract.contract_id)
        .bind(contract.version)
        .bind(contract.dataset)
        .bind(contract.document)
        .bind(contract.by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if attached != 1 {
            return Ok(None);
        }
        delete_contract_sla(&mut tx, tenant, asset).await?;
        if let Some(sla) = sla {
            insert_sla_in(&mut tx, self.tenant_id(), sla).await?;
        }
        let row: Option<StoredContract> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE c.tenant_id = $1 AND c.asset_id = $2"
        )))
        .bind(tenant)
        .bind(asset)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The contract attached to `asset`, if any.
    pub async fn attached_contract(&self, asset: Uuid) -> StoreResult<Option<StoredContract>> {
        let mut tx = self.begin().await?;
        let row: Option<StoredContract> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE c.tenant_id = $1 AND c.asset_id = $2"
        )))
        .bind(self.tenant_id().as_str())
        .bind(asset)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Detaches the contract of `asset` and removes the SLA made from it; `false` when it had none.
    pub async fn detach_contract(&self, asset: Uuid) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        delete_contract_sla(&mut tx, self.tenant_id().as_str(), asset).await?;
        let removed = sqlx::query("DELETE FROM asset_contracts WHERE tenant_id = $1 AND asset_id = $2")
            .bind(self.tenant_id().as_str())
            .bind(asset)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed == 1)
    }

    /// The latest result of each check of `asset` tagged `tag` observed at or after `since`, by
    /// check name.
    pub async fn latest_tagged_results(
        &self,
        asset: Uuid,
        tag: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<ContractCheckRow>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(
            "SELECT DISTINCT ON (check_name) check_name, template, severity, status, failing_rows,
                    total_rows, message, observed_at
             FROM check_results
             WHERE tenant_id = $1 AND asset_id = $2 AND tags @> ARRAY[$3::text] AND observed_at >= $4
             ORDER BY check_name, observed_at DESC",
        )
        .bind(self.tenant_id().as_str())
        .bind(asset)
        .bind(tag)
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The contracts attached to the assets `agent` collects, by source and asset.
    pub async fn contracts_for_agent(&self, agent: &AgentId) -> StoreResult<Vec<StoredContract>> {
        let mut tx = self.begin().await?;
        let rows: Vec<StoredContract> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CONTRACT_SELECT} WHERE c.tenant_id = $1 AND a.agent_id = $2
             ORDER BY a.source_name, a.schema_name, a.name"
        )))
        .bind(self.tenant_id().as_str())
        .bind(agent.as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }
}
