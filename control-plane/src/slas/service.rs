//! SLAs as the API serves them: [`create`] and [`list`] through the tenant handle, and
//! [`compliance`], which reads each objective's evidence and runs the pure per-minute series and
//! [`super::budget`] over the window.
//!
//! Evaluated today: the freshness bound (from the agent's `freshness_lag` points) and the minimum
//! quality score (from `asset_scores`, carried forward). The other objectives of the table (open
//! criticals, availability, acknowledge, resolve) are not yet accepted on create.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Objective, Window};
use crate::error::{ServiceError, ServiceResult};
use crate::store::TenantStore;
use crate::store::slas::{NewSla, SlaRow};

/// `POST /api/v1/slas`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSla {
    pub name: String,
    /// The asset the SLA is about.
    pub asset_id: Uuid,
    /// Share of minutes each objective must be met in, strictly between 0 and 1 (default 0.99).
    pub target: Option<f64>,
    /// Rolling window such as `30d`, `12h`, `90m` (default `30d`).
    pub window: Option<String>,
    /// The data must have been updated at most this many minutes ago.
    pub freshness_bound_minutes: Option<i32>,
    /// The asset's quality score must be at least this (0 to 100).
    pub min_score: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sla {
    pub id: Uuid,
    pub name: String,
    pub asset_id: Option<Uuid>,
    pub tag: Option<String>,
    pub target: f64,
    pub window_minutes: i32,
    pub freshness_bound_minutes: Option<i32>,
    pub min_score: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl From<SlaRow> for Sla {
    fn from(row: SlaRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            asset_id: row.asset_id,
            tag: row.tag,
            target: row.target,
            window_minutes: row.window_minutes,
            freshness_bound_minutes: row.freshness_bound_minutes,
            min_score: row.min_score,
            created_at: row.created_at,
            created_by: row.created_by,
        }
    }
}

/// One objective's error budget over the window.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectiveCompliance {
    /// `freshness` or `score`.
    pub objective: String,
    pub window_minutes: i64,
    /// Minutes with evidence (before the first evidence nothing is evaluated nor spent).
    pub evaluated_minutes: i64,
    pub met_minutes: i64,
    /// `met / evaluated × 100` (100 when nothing was evaluated).
    pub compliance_percent: f64,
    /// `(1 − target) × window_minutes`.
    pub budget_minutes: f64,
    pub spent_minutes: f64,
    pub remaining_minutes: f64,
    /// Last hour's spend relative to the sustainable rate `1 − target`.
    pub burn_rate: f64,
    /// When the remaining budget runs out at the last hour's spend; `null` when nothing is being
    /// spent or it is already exhausted.
    pub exhausts_at: Option<DateTime<Utc>>,
    /// The budget is spent.
    pub breached: bool,
}

/// `GET /api/v1/slas/{id}/compliance`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaCompliance {
    pub sla_id: Uuid,
    pub target: f64,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub objectives: Vec<ObjectiveCompliance>,
    /// Some objective's budget is spent.
    pub breached: bool,
}

pub async fn create(store: &TenantStore, input: CreateSla, created_by: &str) -> ServiceResult<Sla> {
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.len() > 200 {
        return Err(ServiceError::bad_field("name", "name: 1 to 200 characters"));
    }
    let target = input.target.unwrap_or(0.99);
    if !(target > 0.0 && target < 1.0) {
        return Err(ServiceError::bad_field(
            "target",
            "target: strictly between 0 and 1",
        ));
    }
    let window_text = input.window.unwrap_or_else(|| "30d".to_owned());
    let window_minutes = super::parse_window(&window_text)
        .and_then(|m| i32::try_from(m).ok())
        .ok_or_else(|| {
            ServiceError::bad_field(
                "window",
                format!("window: such as 30d, 12h or 90m (at most 366d), got {window_text:?}"),
            )
        })?;
    if input.freshness_bound_minutes.is_none() && input.min_score.is_none() {
        return Err(ServiceError::bad_field(
            "freshness_bound_minutes",
            "freshness_bound_minutes or min_score: at least one objective is required",
        ));
    }
    if input
        .min_score
        .is_some_and(|score| !(0.0..=100.0).contains(&score))
    {
        return Err(ServiceError::bad_field("min_score", "min_score: 0 to 100"));
    }
    if input.freshness_bound_minutes.is_some_and(|bound| bound <= 0) {
        return Err(ServiceError::bad_field(
            "freshness_bound_minutes",
            "freshness_bound_minutes: a positive number of minutes",
        ));
    }
    if !store.sla_asset_exists(input.asset_id).await? {
        return Err(ServiceError::bad_field("asset_id", "asset_id: no such asset"));
    }
    let row = store
        .insert_sla(&NewSla {
            name,
            asset_id: input.asset_id,
            target,
            window_minutes,
            freshness_bound_minutes: input.freshness_bound_minutes,
            min_score: input.min_score,
            created_by: created_by.to_owned(),
        })
        .await?;
    Ok(row.into())
}

pub async fn list(store: &TenantStore) -> ServiceResult<Vec<Sla>> {
    Ok(store.list_slas().await?.into_iter().map(Sla::from).collect())
}

/// Compliance of one SLA over the `window_minutes` minutes ending at `now` (the SLA's own window
/// when `None`).
pub async fn compliance(
    store: &TenantStore,
    id: Uuid,
    window_minutes: Option<i64>,
    now: DateTime<Utc>,
) -> ServiceResult<SlaCompliance> {
    let sla = store
        .get_sla(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("SLA"))?;
    let window = Window::ending_at(now, window_minutes.unwrap_or(i64::from(sla.window_minutes)));
    let mut objectives = Vec::new();
    if let (Some(asset_id), Some(bound)) = (sla.asset_id, sla.freshness_bound_minutes) {
        let updates = store
            .freshness_updates(asset_id, window.start, window.end)
            .await?;
        let minutes = super::freshness_minutes(window, &updates, Duration::minutes(i64::from(bound)));
        objectives.push(objective(
            Objective::Freshness,
            super::budget(window, sla.target, &minutes),
        ));
    }
    if let (Some(asset_id), Some(min_score)) = (sla.asset_id, sla.min_score) {
        let observations: Vec<_> = store
            .score_observations(asset_id, window.start, window.end)
            .await?
            .into_iter()
            .map(|(at, score)| (at, score >= min_score))
            .collect();
        let minutes = super::step_minutes(window, &observations);
        objectives.push(objective(
            Objective::Score,
            super::budget(window, sla.target, &minutes),
        ));
    }
    Ok(SlaCompliance {
        sla_id: sla.id,
        target: sla.target,
        window_start: window.start,
        window_end: window.end,
        breached: objectives.iter().any(|o| o.breached),
        objectives,
    })
}

fn objective(objective: Objective, budget: super::Budget) -> ObjectiveCompliance {
    ObjectiveCompliance {
        objective: objective.as_str().to_owned(),
        window_minutes: budget.window_minutes,
        evaluated_minutes: budget.evaluated_minutes,
        met_minutes: budget.met_minutes,
        compliance_percent: budget.compliance * 100.0,
        budget_minutes: budget.budget_minutes,
        spent_minutes: budget.spent_minutes,
        remaining_minutes: budget.remaining_minutes,
        burn_rate: budget.burn_rate,
        exhausts_at: budget.exhausts_at,
        breached: budget.exhausted,
    }
}

/// The figures as CSV: a header and one line per objective.
pub fn to_csv(report: &SlaCompliance) -> String {
    let mut out = String::from(
        "sla_id,objective,window_start,window_end,window_minutes,evaluated_minutes,met_minutes,\
         compliance_percent,budget_minutes,spent_minutes,remaining_minutes,burn_rate,exhausts_at,breached\n",
    );
    for o in &report.objectives {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            report.sla_id,
            o.objective,
            report.window_start.to_rfc3339(),
            report.window_end.to_rfc3339(),
            o.window_minutes,
            o.evaluated_minutes,
            o.met_minutes,
            o.compliance_percent,
            o.budget_minutes,
            o.spent_minutes,
            o.remaining_minutes,
            o.burn_rate,
            o.exhausts_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
            o.breached,
        ));
    }
    out
}
