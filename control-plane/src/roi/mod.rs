//! ROI from data downtime: per incident, time to detect (`opened_at − began_at`, measured from
//! when the problem began in the series, not from the alert) and time to resolve
//! (`resolved_at − opened_at`); data downtime = Σ (detect + resolve) per asset and tenant over a
//! period; hours and money saved under the tenant's cost assumptions, and VISION.md's
//! `ROI = (gains − investment) / investment × 100 %`.
//!
//! Owns: the pure computation (this file). Every figure carries the ids of the incidents it was
//! computed from; with no incidents there is no report ([`compute`] returns `None`), never an
//! invented figure. Must not: do I/O.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What the computation needs of one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentTimes {
    pub id: Uuid,
    pub asset_id: Option<Uuid>,
    /// The asset's tier, for the downtime cost (`None`: the `default` tier).
    pub tier: Option<String>,
    pub began_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub caught_before_downstream: Option<bool>,
    pub fix_applied: bool,
}

/// The tenant's cost assumptions (`roi_settings`).
#[derive(Debug, Clone, PartialEq)]
pub struct CostSettings {
    pub engineer_hourly_rate: f64,
    /// Cost of an hour of downtime per tier; `default` for assets without (or with an unknown) tier.
    pub downtime_hourly_cost: HashMap<String, f64>,
    pub platform_cost_per_month: f64,
    /// How long a problem went unnoticed without CWIC, in hours (the counterfactual).
    pub baseline_detection_hours: f64,
}

/// A figure with the incidents it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub value: f64,
    pub incident_ids: Vec<Uuid>,
}

impl Figure {
    fn new() -> Self {
        Self {
            value: 0.0,
            incident_ids: Vec::new(),
        }
    }

    fn add(&mut self, value: f64, id: Uuid) {
        self.value += value;
        self.incident_ids.push(id);
    }
}

/// Downtime of one asset (or of the incidents without an asset: `asset_id` `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct AssetDowntime {
    pub asset_id: Option<Uuid>,
    pub detect_hours: Figure,
    pub resolve_hours: Figure,
    pub downtime_hours: Figure,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub incidents: Figure,
    /// Still open at `as_of`: their resolve time runs until `as_of`.
    pub unresolved: Figure,
    pub detect_hours: Figure,
    pub resolve_hours: Figure,
    pub downtime_hours: Figure,
    pub per_asset: Vec<AssetDowntime>,
    pub caught_before_downstream: Figure,
    pub fixes_applied: Figure,
    /// Σ max(0, baseline − detect) hours of downtime avoided.
    pub hours_saved: Figure,
    /// Present with cost settings only.
    pub money: Option<Money>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Money {
    /// Hours saved × the incident's tier downtime cost + hours saved × engineer rate.
    pub gains: Figure,
    /// Platform cost over the period (per month × period days / 30).
    pub investment: f64,
    /// `(gains − investment) / investment × 100`; `None` when the investment is 0.
    pub roi_percent: Option<f64>,
}

fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_seconds().max(0)) as f64 / 3600.0
}

/// The report over `incidents` (those opened in the period), `None` when there are none.
pub fn compute(
    incidents: &[IncidentTimes],
    as_of: DateTime<Utc>,
    period_days: f64,
    settings: Option<&CostSettings>,
) -> Option<Report> {
    if incidents.is_empty() {
        return None;
    }
    let mut report = Report {
        incidents: Figure::new(),
        unresolved: Figure::new(),
        detect_hours: Figure::new(),
        resolve_hours: Figure::new(),
        downtime_hours: Figure::new(),
        per_asset: Vec::new(),
        caught_before_downstream: Figure::new(),
        fixes_applied: Figure::new(),
        hours_saved: Figure::new(),
        money: None,
    };
    let mut gains = Figure::new();
    let mut per_asset: BTreeMap<Option<Uuid>, AssetDowntime> = BTreeMap::new();
    for incident in incidents {
        let id = incident.id;
        let detect = hours(incident.began_at, incident.opened_at);
        let resolve = hours(incident.opened_at, incident.resolved_at.unwrap_or(as_of));
        report.incidents.add(1.0, id);
        if incident.resolved_at.is_none() {
            report.unresolved.add(1.0, id);
        }
        report.detect_hours.add(detect, id);
        report.resolve_hours.add(resolve, id);
        report.downtime_hours.add(detect + resolve, id);
        let asset = per_asset
            .entry(incident.asset_id)
            .or_insert_with(|| AssetDowntime {
                asset_id: incident.asset_id,
                detect_hours: Figure::new(),
                resolve_hours: Figure::new(),
                downtime_hours: Figure::new(),
            });
        asset.detect_hours.add(detect, id);
        asset.resolve_hours.add(resolve, id);
        asset.downtime_hours.add(detect + resolve, id);
        if incident.caught_before_downstream == Some(true) {
            report.caught_before_downstream.add(1.0, id);
        }
        if incident.fix_applied {
            report.fixes_applied.add(1.0, id);
        }
        if let Some(settings) = settings {
            let saved = (settings.baseline_detection_hours - detect).max(0.0);
            report.hours_saved.add(saved, id);
            let tier_cost = incident
                .tier
                .as_ref()
                .and_then(|tier| settings.downtime_hourly_cost.get(tier))
                .or_else(|| settings.downtime_hourly_cost.get("default"))
                .copied()
                .unwrap_or(0.0);
            gains.add(saved * (tier_cost + settings.engineer_hourly_rate), id);
        }
    }
    report.per_asset = per_asset.into_values().collect();
    report.money = settings.map(|settings| {
        let investment = settings.platform_cost_per_month * period_days / 30.0;
        let roi_percent = (investment > 0.0).then(|| (gains.value - investment) / investment * 100.0);
        Money {
            gains,
            investment,
            roi_percent,
        }
    });
    Some(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is a failed test
    use super::*;
    use chrono::Duration;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minute)
    }

    fn incident(n: u128, asset: u128, began: i64, opened: i64, resolved: Option<i64>) -> IncidentTimes {
        IncidentTimes {
            id: Uuid::from_u128(n),
            asset_id: Some(Uuid::from_u128(asset)),
            tier: None,
            began_at: at(began),
            opened_at: at(opened),
            resolved_at: resolved.map(at),
            caught_before_downstream: Some(n % 2 == 1),
            fix_applied: false,
        }
    }

    #[test]
    fn no_incidents_no_report() {
        assert_eq!(compute(&[], at(0), 30.0, None), None);
    }

    #[test]
    fn downtime_is_detect_plus_resolve_per_asset_and_tenant() {
        let incidents = [
            incident(1, 10, 0, 30, Some(150)),    // 0.5 h + 2 h
            incident(2, 10, 200, 260, Some(290)), // 1 h + 0.5 h
            incident(3, 20, 300, 306, None),      // 0.1 h + until as_of (minute 366): 1 h
        ];
        let report = compute(&incidents, at(366), 30.0, None).unwrap();
        assert!((report.downtime_hours.value - 5.1).abs() < 1e-9);
        assert!((report.detect_hours.value - 1.6).abs() < 1e-9);
        assert_eq!(report.unresolved.incident_ids, vec![Uuid::from_u128(3)]);
        assert_eq!(report.per_asset.len(), 2);
        let a = &report.per_asset[0];
        assert!((a.downtime_hours.value - 4.0).abs() < 1e-9);
        assert_eq!(a.downtime_hours.incident_ids.len(), 2);
        assert_eq!(report.caught_before_downstream.value, 2.0);
        assert_eq!(report.money, None);
    }

    #[test]
    fn savings_and_roi_follow_the_formula() {
        let settings = CostSettings {
            engineer_hourly_rate: 100.0,
            downtime_hourly_cost: HashMap::from([("default".to_owned(), 400.0)]),
            platform_cost_per_month: 1000.0,
            baseline_detection_hours: 4.0,
        };
        // Detected after 1 h: 3 h saved at 500/h = 1500; investment 1000 → ROI 50 %.
        let report = compute(
            &[incident(1, 10, 0, 60, Some(120))],
            at(200),
            30.0,
            Some(&settings),
        )
        .unwrap();
        let money = report.money.unwrap();
        assert!((money.gains.value - 1500.0).abs() < 1e-9);
        assert_eq!(money.investment, 1000.0);
        assert!((money.roi_percent.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(money.gains.incident_ids, vec![Uuid::from_u128(1)]);
    }
}

pub mod service;
