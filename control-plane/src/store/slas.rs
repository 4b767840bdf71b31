//! What SLAs read and write of a tenant: the SLA rows, the evidence of their objectives (the
//! freshness lag points the agent ships as `freshness_lag`, in seconds; scores; incidents;
//! collections) and their evaluations with the events they cause.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use super::handles::TenantStore;
use crate::events::Event;

/// One stored SLA.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaRow {
    pub id: Uuid,
    pub name: String,
    pub asset_id: Option<Uuid>,
    pub tag: Option<String>,
    pub target: f64,
    pub window_minutes: i32,
    pub freshness_bound_minutes: Option<i32>,
    pub min_score: Option<f64>,
    pub max_open_critical: Option<i32>,
    pub min_availability: Option<f64>,
    pub ack_within_minutes: Option<i32>,
    pub resolve_within_minutes: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub contract_id: Option<String>,
}

macro_rules! columns {
    () => {
        "id, name, asset_id, tag, target, window_minutes, freshness_bound_minutes, min_score,
         max_open_critical, min_availability, ack_within_minutes, resolve_within_minutes, created_at, created_by,
         contract_id"
    };
}

/// An incident as the SLA objectives read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaIncident {
    pub severity: String,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When it was resolved (or closed); null while open.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The latest evaluation of one objective of an SLA.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LastEvaluation {
    pub objective: String,
    pub evaluated_at: DateTime<Utc>,
    pub met_now: Option<bool>,
    pub breached: bool,
}

/// An objective's evaluation is kept when its state changed, or at least this often.
pub const EVALUATION_KEPT_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// One evaluation of one objective, to keep.
#[derive(Debug, Clone)]
pub struct NewEvaluation {
    pub objective: &'static str,
    pub window_minutes: i32,
    pub evaluated_minutes: i32,
    pub met_minutes: i32,
    pub budget_minutes: f64,
    pub spent_minutes: f64,
    pub remaining_minutes: f64,
    pub burn_rate: f64,
    pub exhausts_at: Option<DateTime<Utc>>,
    pub breached: bool,
    pub met_now: Option<bool>,
}

/// A new SLA, validated by the service.
#[derive(Debug, Clone)]
pub struct NewSla {
    pub name: String,
    pub asset_id: Option<Uuid>,
    pub tag: Option<String>,
    pub target: f64,
    pub window_minutes: i32,
    pub freshness_bound_minutes: Option<i32>,
    pub min_score: Option<f64>,
    pub max_open_critical: Option<i32>,
    pub min_availability: Option<f64>,
    pub ack_within_minutes: Option<i32>,
    pub resolve_within_minutes: Option<i32>,
    pub created_by: String,
    /// The attached contract whose service levels the SLA states (`None`: made by a person).
    pub contract_id: Option<String>,
}

/// Inserts `sla` in the caller's scoped transaction.
pub(super) async fn insert_sla_in(
    tx: &mut sqlx::PgConnection,
    tenant: &cwic_shared::TenantId,
    sla: &NewSla,
) -> StoreResult<SlaRow> {
    Ok(sqlx::query_as(concat!(
        "INSERT INTO slas (id, tenant_id, name, asset_id, tag, target, window_minutes,
                           freshness_bound_minutes, min_score, max_open_critical, min_availability,
                           ack_within_minutes, resolve_within_minutes, created_by, contract_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING ",
        columns!()
    ))
    .bind(Uuid::new_v4())
    .bind(tenant.as_str())
    .bind(&sla.name)
    .bind(sla.asset_id)
    .bind(&sla.tag)
    .bind(sla.target)
    .bind(sla.window_minutes)
    .bind(sla.freshness_bound_minutes)
    .bind(sla.min_score)
    .bind(sla.max_open_critical)
    .bind(sla.min_availability)
    .bind(sla.ack_within_minutes)
    .bind(sla.resolve_within_minutes)
    .bind(&sla.created_by)
    .bind(&sla.contract_id)
    .fetch_one(tx)
    .await?)
}

impl TenantStore {
    /// Whether the asset exists in this tenant.
    pub async fn sla_asset_exists(&self, asset_id: Uuid) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let found: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM assets WHERE tenant_id = $1 AND id = $2")
            .bind(self.tenant_id().as_str())
            .bind(asset_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(found.is_some())
    }

    pub async fn insert_sla(&self, sla: &NewSla) -> StoreResult<SlaRow> {
        let mut tx = self.begin().await?;
        let row = insert_sla_in(&mut tx, self.tenant_id(), sla).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The tenant's SLAs, oldest first.
    pub async fn list_slas(&self) -> StoreResult<Vec<SlaRow>> {
        let mut tx = self.begin().await?;
        let rows: Vec<SlaRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM slas WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(self.tenant_id().as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn get_sla(&self, id: Uuid) -> StoreResult<Option<SlaRow>> {
        let mut tx = self.begin().await?;
        let row: Option<SlaRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM slas WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(self.tenant_id().as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The times the asset's data was last updated, as seen by each `freshness_lag` point observed
    /// in `[since, until)` and the last one before `since` (`observed_at − lag`).
    pub async fn freshness_updates(
        &self,
        asset_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        let mut tx = self.begin().await?;
        let rows: Vec<(DateTime<Utc>,)> = sqlx::query_as(
            "SELECT observed_at - make_interval(secs => value) FROM (
                 (SELECT observed_at, value FROM metric_points
                  WHERE tenant_id = $1 AND asset_id = $2 AND metric = 'freshness_lag'
                    AND column_name = '' AND observed_at < $3
                  ORDER BY observed_at DESC LIMIT 1)
                 UNION ALL
                 (SELECT observed_at, value FROM metric_points
                  WHERE tenant_id = $1 AND asset_id = $2 AND metric = 'freshness_lag'
                    AND column_name = '' AND observed_at >= $3 AND observed_at < $4)
             ) p",
        )
        .bind(self.tenant_id().as_str())
        .bind(asset_id)
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|(at,)| at).collect())
    }

    /// The asset's measured scores computed in `[since, until)` and the last one before `since`
    /// (scores that measured nothing are not evidence).
    pub async fn score_observations(
        &self,
        asset_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, f64)>> {
        let mut tx = self.begin().await?;
        let rows: Vec<(DateTime<Utc>, f64)> = sqlx::query_as(
            "(SELECT computed_at, score FROM asset_scores
              WHERE tenant_id = $1 AND asset_id = $2 AND score IS NOT NULL AND computed_at < $3
              ORDER BY computed_at DESC LIMIT 1)
             UNION ALL
             (SELECT computed_at, score FROM asset_scores
              WHERE tenant_id = $1 AND asset_id = $2 AND score IS NOT NULL
                AND computed_at >= $3 AND computed_at < $4)",
        )
        .bind(self.tenant_id().as_str())
        .bind(asset_id)
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The assets an SLA covers: its asset, or every asset whose latest check results carry its
    /// tag (as the tag scores group them).
    pub async fn sla_assets(&self, sla: &SlaRow) -> StoreResult<Vec<Uuid>> {
        if let Some(asset) = sla.asset_id {
            return Ok(vec![asset]);
        }
        let mut tx = self.begin().await?;
        let assets: Vec<Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT asset_id FROM check_results WHERE tenant_id = $1 AND $2 = ANY (tags)
             ORDER BY asset_id",
        )
        .bind(self.tenant_id().as_str())
        .bind(&sla.tag)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(assets)
    }

    /// The assets' incidents that were open at some time in `[since, until)`.
    pub async fn sla_incidents(
        &self,
        assets: &[Uuid],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<SlaIncident>> {
        let mut tx = self.begin().await?;
        let rows: Vec<SlaIncident> = sqlx::query_as(
            "SELECT severity, opened_at, acknowledged_at, resolved_at FROM incidents
             WHERE tenant_id = $1 AND asset_id = ANY ($2) AND opened_at < $4
               AND (resolved_at IS NULL OR resolved_at >= $3)
             ORDER BY opened_at",
        )
        .bind(self.tenant_id().as_str())
        .bind(assets)
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The asset's collections in `[since, until)`: `(collected_at, succeeded)`.
    pub async fn collections(
        &self,
        asset_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, bool)>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(
            "SELECT collected_at, succeeded FROM asset_collections
             WHERE tenant_id = $1 AND asset_id = $2 AND collected_at >= $3 AND collected_at < $4
             ORDER BY collected_at",
        )
        .bind(self.tenant_id().as_str())
        .bind(asset_id)
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Keeps an SLA's evaluation at `at` with the events it caused, in one transaction: each
    /// objective's row when its state (met now, budget spent) changed since its latest kept row,
    /// or that row is older than [`EVALUATION_KEPT_EVERY`] (a sparse history, not a row a
    /// minute). `events_for` gets the latest kept rows, read under a lock on the SLA so that two
    /// replicas' evaluators take turns. Returns the number of events.
    pub async fn record_sla_evaluations(
        &self,
        sla_id: Uuid,
        at: DateTime<Utc>,
        evaluations: &[NewEvaluation],
        events_for: impl FnOnce(&[LastEvaluation]) -> Vec<Event>,
    ) -> StoreResult<usize> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 15))")
            .bind(sla_id.to_string())
            .execute(&mut *tx)
            .await?;
        let previous: Vec<LastEvaluation> = sqlx::query_as(
            "SELECT DISTINCT ON (objective) objective, evaluated_at, met_now, breached FROM sla_evaluations
             WHERE tenant_id = $1 AND sla_id = $2 ORDER BY objective, evaluated_at DESC",
        )
        .bind(self.tenant_id().as_str())
        .bind(sla_id)
        .fetch_all(&mut *tx)
        .await?;
        let events = events_for(&previous);
        let evaluations: Vec<&NewEvaluation> = evaluations
            .iter()
            .filter(|e| {
                previous
                    .iter()
                    .find(|p| p.objective == e.objective)
                    .is_none_or(|p| {
                        p.met_now != e.met_now
                            || p.breached != e.breached
                            || at - p.evaluated_at >= EVALUATION_KEPT_EVERY
                    })
            })
            .collect();
        sqlx::query(
            "INSERT INTO sla_evaluations (tenant_id, sla_id, objective, evaluated_at, window_minutes,
                 evaluated_minutes, met_minutes, budget_minutes, spent_minutes, burn_rate, exhausts_at,
                 breached, met_now, remaining_minutes)
             SELECT $1, $2, o, $3, w, e, m, b, s, r, x, br, mn, rem
             FROM UNNEST($4::text[], $5::int4[], $6::int4[], $7::int4[], $8::float8[], $9::float8[],
                         $10::float8[], $11::timestamptz[], $12::bool[], $13::bool[], $14::float8[])
                  AS u (o, w, e, m, b, s, r, x, br, mn, rem)
             ON CONFLICT DO NOTHING",
        )
        .bind(self.tenant_id().as_str())
        .bind(sla_id)
        .bind(at)
        .bind(evaluations.iter().map(|e| e.objective).collect::<Vec<_>>())
        .bind(evaluations.iter().map(|e| e.window_minutes).collect::<Vec<_>>())
        .bind(
            evaluations
                .iter()
                .map(|e| e.evaluated_minutes)
                .collect::<Vec<_>>(),
        )
        .bind(evaluations.iter().map(|e| e.met_minutes).collect::<Vec<_>>())
        .bind(evaluations.iter().map(|e| e.budget_minutes).collect::<Vec<_>>())
        .bind(evaluations.iter().map(|e| e.spent_minutes).collect::<Vec<_>>())
        .bind(evaluations.iter().map(|e| e.burn_rate).collect::<Vec<_>>())
        .bind(evaluations.iter().map(|e| e.exhausts_at).collect::<Vec<_>>())
        .bind(evaluations.iter().map(|e| e.breached).collect::<Vec<_>>())
        .bind(evaluations.iter().map(|e| e.met_now).collect::<Vec<_>>())
        .bind(
            evaluations
                .iter()
                .map(|e| e.remaining_minutes)
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
        super::outbox::append(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(events.len())
    }
}

impl super::Store {
    /// The tenants that have at least one SLA (the evaluator's work list).
    pub async fn tenants_with_slas(&self) -> StoreResult<Vec<cwic_shared::TenantId>> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT DISTINCT tenant_id FROM slas ORDER BY tenant_id")
            .fetch_all(&self.pool)
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| cwic_shared::TenantId::parse(id).ok())
            .collect())
    }
}
