//! SLAs as the API serves them: [`create`] and [`list`] through the tenant handle, and
//! [`compliance`], which reads each objective's evidence and runs the pure per-minute series and
//! [`super::budget`] over the window; and their continuous evaluation, the periodic
//! `evaluate_slas` job ([`evaluate_all`]), which keeps each objective's state in
//! `sla_evaluations` and emits `sla.breached` when an objective stops being met and
//! `sla.budget_exhausted` when its budget runs out (once per transition, in the transaction that
//! records it).
//!
//! Objectives and their evidence: the freshness bound (the agent's `freshness_lag` points), the
//! minimum quality score (`asset_scores`, carried forward), the maximum of open critical
//! incidents, availability (the share of collections that succeeded over the trailing 24 h,
//! `asset_collections`), and the times to acknowledge and to resolve an incident. An SLA is on
//! one asset or on a tag (every asset whose check results carry it): a minute is met when every
//! asset with evidence met it.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Objective, Window};
use crate::error::{ServiceError, ServiceResult};
use crate::events::{Event, EventData, SlaBreached};
use crate::store::slas::{NewEvaluation, NewSla, SlaRow};
use crate::store::{Store, TenantStore};

/// `POST /api/v1/slas`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSla {
    pub name: String,
    /// The asset the SLA is about (this or `tag`).
    pub asset_id: Option<Uuid>,
    /// Or a tag: the SLA covers every asset whose check results carry it.
    pub tag: Option<String>,
    /// Share of minutes each objective must be met in, strictly between 0 and 1 (default 0.99).
    pub target: Option<f64>,
    /// Rolling window such as `30d`, `12h`, `90m` (default `30d`).
    pub window: Option<String>,
    /// The data must have been updated at most this many minutes ago.
    pub freshness_bound_minutes: Option<i32>,
    /// The asset's quality score must be at least this (0 to 100).
    pub min_score: Option<f64>,
    /// At most this many critical incidents open at once on the covered assets.
    pub max_open_critical: Option<i32>,
    /// At least this share (0 to 1) of collections must succeed over the trailing 24 hours.
    pub min_availability: Option<f64>,
    /// Every incident acknowledged within this many minutes of opening.
    pub ack_within_minutes: Option<i32>,
    /// Every incident resolved within this many minutes of opening.
    pub resolve_within_minutes: Option<i32>,
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
    pub max_open_critical: Option<i32>,
    pub min_availability: Option<f64>,
    pub ack_within_minutes: Option<i32>,
    pub resolve_within_minutes: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// The contract attached to the asset whose service levels this SLA states; it changes with
    /// the contract (`PUT /api/v1/assets/{id}/contract`). `None`: made with `POST /api/v1/slas`.
    pub contract_id: Option<String>,
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
            max_open_critical: row.max_open_critical,
            min_availability: row.min_availability,
            ack_within_minutes: row.ack_within_minutes,
            resolve_within_minutes: row.resolve_within_minutes,
            created_at: row.created_at,
            created_by: row.created_by,
            contract_id: row.contract_id,
        }
    }
}

/// One objective's error budget over the window.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectiveCompliance {
    /// `freshness`, `score`, `open_critical`, `availability`, `acknowledge` or `resolve`.
    #[serde(serialize_with = "objective_name")]
    #[schema(value_type = String)]
    pub objective: Objective,
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
    /// Whether the objective is met in the window's last minute (null: no evidence then).
    pub met_now: Option<bool>,
    /// `score` and `freshness` only: when the remaining budget runs out if the assets' series
    /// (`quality_score`, `freshness_lag`) follow their forecasts over the next 7 days; `null`
    /// when the forecasts stay within the objective (or cannot be made yet: too little history).
    pub forecast_exhausts_at: Option<DateTime<Utc>>,
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
    if [
        input.freshness_bound_minutes.is_some(),
        input.min_score.is_some(),
        input.max_open_critical.is_some(),
        input.min_availability.is_some(),
        input.ack_within_minutes.is_some(),
        input.resolve_within_minutes.is_some(),
    ]
    .iter()
    .all(|set| !set)
    {
        return Err(ServiceError::bad_field(
            "freshness_bound_minutes",
            "at least one objective is required: freshness_bound_minutes, min_score, max_open_critical, \
             min_availability, ack_within_minutes or resolve_within_minutes",
        ));
    }
    if input
        .min_score
        .is_some_and(|score| !(0.0..=100.0).contains(&score))
    {
        return Err(ServiceError::bad_field("min_score", "min_score: 0 to 100"));
    }
    if input
        .min_availability
        .is_some_and(|share| !(0.0..=1.0).contains(&share))
    {
        return Err(ServiceError::bad_field(
            "min_availability",
            "min_availability: a share from 0 to 1, such as 0.95",
        ));
    }
    if input.max_open_critical.is_some_and(|max| max < 0) {
        return Err(ServiceError::bad_field(
            "max_open_critical",
            "max_open_critical: 0 or more",
        ));
    }
    for (field, minutes) in [
        ("freshness_bound_minutes", input.freshness_bound_minutes),
        ("ack_within_minutes", input.ack_within_minutes),
        ("resolve_within_minutes", input.resolve_within_minutes),
    ] {
        if minutes.is_some_and(|m| m <= 0) {
            return Err(ServiceError::bad_field(
                field,
                format!("{field}: a positive number of minutes"),
            ));
        }
    }
    let tag = input.tag.map(|tag| tag.trim().to_owned());
    match (input.asset_id, &tag) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ServiceError::bad_field(
                "asset_id",
                "asset_id or tag: an SLA covers one asset or the assets with one tag",
            ));
        }
        (Some(asset), None) => {
            if !store.sla_asset_exists(asset).await? {
                return Err(ServiceError::bad_field("asset_id", "asset_id: no such asset"));
            }
        }
        (None, Some(tag)) => {
            if tag.is_empty() || tag.len() > 200 {
                return Err(ServiceError::bad_field("tag", "tag: 1 to 200 characters"));
            }
        }
    }
    let row = store
        .insert_sla(&NewSla {
            name,
            asset_id: input.asset_id,
            tag,
            target,
            window_minutes,
            freshness_bound_minutes: input.freshness_bound_minutes,
            min_score: input.min_score,
            max_open_critical: input.max_open_critical,
            min_availability: input.min_availability,
            ack_within_minutes: input.ack_within_minutes,
            resolve_within_minutes: input.resolve_within_minutes,
            created_by: created_by.to_owned(),
            contract_id: None,
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
    let assets = store.sla_assets(&sla).await?;
    let mut objectives = evaluate(store, &sla, &assets, window).await?;
    for objective in &mut objectives {
        objective.forecast_exhausts_at = project(store, &sla, &assets, objective, window).await?;
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

/// When a `score` or `freshness` objective's remaining budget runs out if its assets' series
/// follow their forecasts from the end of `window` (the other objectives have no series to
/// forecast). Made for the compliance report only, not on every evaluation.
async fn project(
    store: &TenantStore,
    sla: &SlaRow,
    assets: &[Uuid],
    objective: &ObjectiveCompliance,
    window: Window,
) -> ServiceResult<Option<DateTime<Utc>>> {
    let (metric, met): (&str, Box<dyn Fn(f64) -> bool + Send + Sync>) = match objective.objective {
        Objective::Score => match sla.min_score {
            Some(min) => (crate::scoring::SCORE_METRIC, Box::new(move |score| score >= min)),
            None => return Ok(None),
        },
        Objective::Freshness => match sla.freshness_bound_minutes {
            Some(bound) => (
                cwic_shared::MetricKind::FreshnessLag.as_str(),
                Box::new(move |lag_secs| lag_secs <= f64::from(bound) * 60.0),
            ),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    if objective.breached {
        return Ok(None);
    }
    let ahead = Window {
        start: window.end,
        end: window.end + super::PROJECTION_HORIZON,
    };
    let mut series = Vec::new();
    for asset in assets {
        let Some(history) = store
            .metric_series(*asset, metric, "", PROJECTION_HISTORY_POINTS)
            .await?
        else {
            continue;
        };
        let history: Vec<(i64, f64)> = history
            .iter()
            .map(|(at, value)| (at.timestamp(), *value))
            .collect();
        let Some(forecast) = crate::monitoring::forecast::forecast_metric(
            metric,
            &history,
            crate::monitoring::service::MAX_HORIZON,
        ) else {
            continue;
        };
        let observations: Vec<(DateTime<Utc>, bool)> = forecast
            .points
            .iter()
            .filter_map(|point| DateTime::from_timestamp(point.ts, 0).map(|at| (at, met(point.value))))
            .collect();
        // The forecast says nothing past its last point: its minutes end there (`all_met` takes
        // the minutes a series does not reach as not evaluated).
        let Some(last) = observations.last() else {
            continue;
        };
        let covered = Window {
            start: ahead.start,
            end: (last.0 + Duration::minutes(1)).min(ahead.end).max(ahead.start),
        };
        series.push(super::step_minutes(covered, &observations));
    }
    if series.is_empty() {
        return Ok(None);
    }
    let future = super::all_met(&series, ahead.minutes());
    Ok(super::projected_exhaustion(
        objective.remaining_minutes,
        ahead,
        &future,
    ))
}

/// Points of an asset's history its forecast for a projection is made from, at most.
const PROJECTION_HISTORY_POINTS: i64 = 5_000;

/// Each objective of `sla` over `window`, from its evidence.
async fn evaluate(
    store: &TenantStore,
    sla: &SlaRow,
    assets: &[Uuid],
    window: Window,
) -> ServiceResult<Vec<ObjectiveCompliance>> {
    let minutes = window.minutes();
    let mut objectives = Vec::new();
    if let Some(bound) = sla.freshness_bound_minutes {
        let mut series = Vec::with_capacity(assets.len());
        for asset in assets {
            let updates = store.freshness_updates(*asset, window.start, window.end).await?;
            series.push(super::freshness_minutes(
                window,
                &updates,
                Duration::minutes(i64::from(bound)),
            ));
        }
        objectives.push(objective(
            Objective::Freshness,
            window,
            sla.target,
            &super::all_met(&series, minutes),
        ));
    }
    if let Some(min_score) = sla.min_score {
        let mut series = Vec::with_capacity(assets.len());
        for asset in assets {
            let observations: Vec<_> = store
                .score_observations(*asset, window.start, window.end)
                .await?
                .into_iter()
                .map(|(at, score)| (at, score >= min_score))
                .collect();
            series.push(super::step_minutes(window, &observations));
        }
        objectives.push(objective(
            Objective::Score,
            window,
            sla.target,
            &super::all_met(&series, minutes),
        ));
    }
    if let Some(min_share) = sla.min_availability {
        let mut series = Vec::with_capacity(assets.len());
        for asset in assets {
            let collections = store
                .collections(*asset, window.start - super::AVAILABILITY_LOOKBACK, window.end)
                .await?;
            series.push(super::share_minutes(
                window,
                &collections,
                super::AVAILABILITY_LOOKBACK,
                min_share,
            ));
        }
        objectives.push(objective(
            Objective::Availability,
            window,
            sla.target,
            &super::all_met(&series, minutes),
        ));
    }
    if sla.max_open_critical.is_some()
        || sla.ack_within_minutes.is_some()
        || sla.resolve_within_minutes.is_some()
    {
        let incidents = store.sla_incidents(assets, window.start, window.end).await?;
        if let Some(max) = sla.max_open_critical {
            let open: Vec<_> = incidents
                .iter()
                .filter(|incident| incident.severity == "critical")
                .map(|incident| (incident.opened_at, incident.resolved_at))
                .collect();
            let series = super::open_count_minutes(window, &open, i64::from(max));
            objectives.push(objective(Objective::OpenCritical, window, sla.target, &series));
        }
        for (kind, within, done) in [
            (Objective::Acknowledge, sla.ack_within_minutes, true),
            (Objective::Resolve, sla.resolve_within_minutes, false),
        ] {
            let Some(within) = within else { continue };
            let deadlines: Vec<super::Deadline> = incidents
                .iter()
                .map(|incident| {
                    // Resolving an incident also ends the wait for its acknowledgement.
                    let finished = if done {
                        incident.acknowledged_at.or(incident.resolved_at)
                    } else {
                        incident.resolved_at
                    };
                    (incident.opened_at, finished, Duration::minutes(i64::from(within)))
                })
                .collect();
            let series = super::deadline_minutes(window, &deadlines);
            objectives.push(objective(kind, window, sla.target, &series));
        }
    }
    Ok(objectives)
}

/// The periodic job that evaluates every SLA (`evaluate_slas`, one per slot whatever the number
/// of replicas).
pub const EVALUATE_SLAS: &str = "evaluate_slas";

/// How often SLAs are evaluated.
pub const EVALUATION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Evaluates every tenant's SLAs at `now`: keeps each objective's evaluation and emits
/// `sla.breached` / `sla.budget_exhausted` on the transitions. Returns (SLAs, events).
pub async fn evaluate_all(store: &Store, now: DateTime<Utc>) -> ServiceResult<(usize, usize)> {
    let (mut slas, mut events) = (0, 0);
    for tenant in store.tenants_with_slas().await? {
        let scoped = store.tenant(&tenant);
        for sla in scoped.list_slas().await? {
            let window = Window::ending_at(now, i64::from(sla.window_minutes));
            let assets = scoped.sla_assets(&sla).await?;
            let objectives = evaluate(&scoped, &sla, &assets, window).await?;
            events += record(&scoped, &sla, now, &objectives).await?;
            slas += 1;
        }
    }
    Ok((slas, events))
}

/// Keeps one evaluation and emits the events of its transitions.
async fn record(
    store: &TenantStore,
    sla: &SlaRow,
    at: DateTime<Utc>,
    objectives: &[ObjectiveCompliance],
) -> ServiceResult<usize> {
    let rows: Vec<NewEvaluation> = objectives
        .iter()
        .map(|o| NewEvaluation {
            objective: o.objective.as_str(),
            window_minutes: i32::try_from(o.window_minutes).unwrap_or(i32::MAX),
            evaluated_minutes: i32::try_from(o.evaluated_minutes).unwrap_or(i32::MAX),
            met_minutes: i32::try_from(o.met_minutes).unwrap_or(i32::MAX),
            budget_minutes: o.budget_minutes,
            spent_minutes: o.spent_minutes,
            remaining_minutes: o.remaining_minutes,
            burn_rate: o.burn_rate,
            exhausts_at: o.exhausts_at,
            breached: o.breached,
            met_now: o.met_now,
        })
        .collect();
    let tenant = store.tenant_id().as_str().to_owned();
    let events_for = |previous: &[crate::store::slas::LastEvaluation]| {
        let mut events = Vec::new();
        for o in objectives {
            let before = previous.iter().find(|p| p.objective == o.objective.as_str());
            let left = format!(
                "{} of a {} error budget left",
                hours(o.remaining_minutes.max(0.0)),
                hours(o.budget_minutes)
            );
            let payload = |description: String| SlaBreached {
                sla_id: sla.id,
                asset_id: sla.asset_id,
                tag: sla.tag.clone(),
                objective: o.objective.as_str().to_owned(),
                remaining_minutes: o.remaining_minutes,
                description,
            };
            // Met before (or never evaluated) and missed now: a breach starts.
            if o.met_now == Some(false) && before.is_none_or(|b| b.met_now != Some(false)) {
                events.push(Event::at(
                    &tenant,
                    at,
                    EventData::SlaBreached(payload(format!(
                        "{}: {} not met ({left})",
                        sla.name,
                        o.objective.describe()
                    ))),
                ));
            }
            if o.breached && before.is_none_or(|b| !b.breached) {
                events.push(Event::at(
                    &tenant,
                    at,
                    EventData::SlaBudgetExhausted(payload(format!(
                        "{}: the {} error budget of {} is spent ({:.1} % of minutes met)",
                        sla.name,
                        o.objective.describe(),
                        hours(o.budget_minutes),
                        o.compliance_percent
                    ))),
                ));
            }
        }
        events
    };
    Ok(store
        .record_sla_evaluations(sla.id, at, &rows, events_for)
        .await?)
}

/// `432` minutes → `7.2 h`; under an hour in minutes.
fn hours(minutes: f64) -> String {
    if minutes < 60.0 {
        format!("{minutes:.0} min")
    } else {
        format!("{:.1} h", minutes / 60.0)
    }
}

/// Runs the `evaluate_slas` job.
pub async fn run_evaluation_job(store: &Store) -> Result<(), crate::jobs::JobError> {
    let (slas, events) = evaluate_all(store, Utc::now().trunc_subsecs(6))
        .await
        .map_err(|error| format!("cannot evaluate the SLAs: {error}"))?;
    tracing::debug!(slas, events, "SLAs evaluated");
    Ok(())
}

fn objective(kind: Objective, window: Window, target: f64, minutes: &super::Minutes) -> ObjectiveCompliance {
    let budget = super::budget(window, target, minutes);
    ObjectiveCompliance {
        objective: kind,
        met_now: minutes.last().copied().flatten(),
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
        forecast_exhausts_at: None,
    }
}

fn objective_name<S: serde::Serializer>(objective: &Objective, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(objective.as_str())
}

/// The figures as CSV: a header and one line per objective.
pub fn to_csv(report: &SlaCompliance) -> String {
    let mut out = String::from(
        "sla_id,objective,window_start,window_end,window_minutes,evaluated_minutes,met_minutes,\
         compliance_percent,budget_minutes,spent_minutes,remaining_minutes,burn_rate,exhausts_at,breached,\
         forecast_exhausts_at\n",
    );
    for o in &report.objectives {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            report.sla_id,
            o.objective.as_str(),
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
            o.forecast_exhausts_at
                .map(|at| at.to_rfc3339())
                .unwrap_or_default(),
        ));
    }
    out
}
