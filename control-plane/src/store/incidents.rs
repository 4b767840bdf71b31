//! Incidents, their alerts, timelines and notifications. The engine's batch
//! ([`Store::apply_signals`], owner pool: it works for every tenant) and the delivery job's reads
//! and writes live here; the API's reads and a person's changes go through [`TenantStore`].

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::handles::TenantStore;
use super::{Store, StoreResult};
use crate::events::{Event, EventData, IncidentChanged};
use crate::incidents::engine::{Applied, OpenIncident, RuleKey, plan};
use crate::incidents::routing::decide;
use crate::incidents::{Severity, Signal};

/// The delivery job's kind.
pub const DELIVER_NOTIFICATION: &str = "deliver_notification";
/// The job that puts the RCA engine's causes of an anomaly on its incident's timeline.
pub const EXPLAIN_INCIDENT: &str = "explain_incident";
/// Attempts before a notification is dead: back-off 2 s doubling to 10 min, about 35 min in all.
pub const DELIVERY_ATTEMPTS: i32 = 10;

/// The nil uuid stands for "no asset" where SQL compares keys with `=` (hash joins).
const NO_ASSET: Uuid = Uuid::nil();

struct KeyArrays {
    tenants: Vec<String>,
    assets: Vec<Uuid>,
    rules: Vec<String>,
}

fn key_arrays<'a>(keys: impl Iterator<Item = &'a RuleKey>) -> KeyArrays {
    let mut arrays = KeyArrays {
        tenants: Vec::new(),
        assets: Vec::new(),
        rules: Vec::new(),
    };
    for key in keys {
        arrays.tenants.push(key.tenant.clone());
        arrays.assets.push(key.asset.unwrap_or(NO_ASSET));
        arrays.rules.push(key.rule.clone());
    }
    arrays
}

fn event(tenant: &str, data: EventData) -> Event {
    Event::at(tenant, Utc::now(), data)
}

impl Store {
    /// Applies new signals in one transaction: locks their rules, drops what was applied before,
    /// plans (see `incidents::engine`), and writes alerts, incidents, their timeline rows and
    /// events, and the notifications the routes call for with their delivery jobs.
    pub async fn apply_signals(&self, signals: Vec<Signal>) -> StoreResult<Applied> {
        let mut tx = self.pool.begin().await?;
        let keys: BTreeSet<RuleKey> = signals.iter().map(RuleKey::of).collect();
        let locks: Vec<String> = keys.iter().map(RuleKey::lock_text).collect();
        sqlx::query(
            "SELECT count(pg_advisory_xact_lock(h))
             FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM UNNEST($1::text[]) AS k ORDER BY h) s",
        )
        .bind(&locks)
        .execute(&mut *tx)
        .await?;

        // Signals stored before (an event delivered again) change nothing.
        let stored: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT a.event_id, a.rule_key FROM alerts a
             JOIN UNNEST($1::text[], $2::uuid[], $3::text[]) AS x (t, e, r)
               ON a.tenant_id = x.t AND a.event_id = x.e AND a.rule_key = x.r",
        )
        .bind(signals.iter().map(|s| s.tenant.clone()).collect::<Vec<_>>())
        .bind(signals.iter().map(|s| s.event_id).collect::<Vec<_>>())
        .bind(signals.iter().map(|s| s.rule_key.clone()).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        let stored: HashSet<(Uuid, String)> = stored.into_iter().collect();
        let signals: Vec<Signal> = signals
            .into_iter()
            .filter(|s| !stored.contains(&(s.event_id, s.rule_key.clone())))
            .collect();

        let arrays = key_arrays(keys.iter());
        #[derive(sqlx::FromRow)]
        struct OpenRow {
            id: Uuid,
            tenant_id: String,
            asset_id: Option<Uuid>,
            rule_key: String,
            status: String,
            severity: String,
            last_alert_at: Option<DateTime<Utc>>,
            details: sqlx::types::Json<serde_json::Value>,
        }
        let open: Vec<OpenRow> = sqlx::query_as(
            "SELECT i.id, i.tenant_id, i.asset_id, i.rule_key, i.status, i.severity, i.last_alert_at, i.details
             FROM incidents i
             JOIN UNNEST($1::text[], $2::uuid[], $3::text[]) AS k (t, a, r)
               ON i.tenant_id = k.t AND coalesce(i.asset_id, $4) = k.a AND i.rule_key = k.r
             WHERE i.status IN ('open', 'acknowledged', 'snoozed') AND i.rule_key <> ''",
        )
        .bind(&arrays.tenants)
        .bind(&arrays.assets)
        .bind(&arrays.rules)
        .bind(NO_ASSET)
        .fetch_all(&mut *tx)
        .await?;
        let open: Vec<OpenIncident> = open
            .into_iter()
            .map(|row| OpenIncident {
                id: row.id,
                key: RuleKey {
                    tenant: row.tenant_id,
                    asset: row.asset_id,
                    rule: row.rule_key,
                },
                status: row.status,
                severity: Severity::parse(&row.severity).unwrap_or(Severity::Medium),
                last_alert_at: row.last_alert_at,
                details: row.details.0,
            })
            .collect();
        let recovered: Vec<(String, Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT k.t, k.a, k.r, max(i.recovered_at)
             FROM incidents i
             JOIN UNNEST($1::text[], $2::uuid[], $3::text[]) AS k (t, a, r)
               ON i.tenant_id = k.t AND coalesce(i.asset_id, $4) = k.a AND i.rule_key = k.r
             WHERE i.recovered_at IS NOT NULL AND i.resolved_at > now() - interval '8 days'
             GROUP BY k.t, k.a, k.r",
        )
        .bind(&arrays.tenants)
        .bind(&arrays.assets)
        .bind(&arrays.rules)
        .bind(NO_ASSET)
        .fetch_all(&mut *tx)
        .await?;
        let last_recovery: BTreeMap<RuleKey, DateTime<Utc>> = recovered
            .into_iter()
            .map(|(tenant, asset, rule, at)| {
                (
                    RuleKey {
                        tenant,
                        asset: (asset != NO_ASSET).then_some(asset),
                        rule,
                    },
                    at,
                )
            })
            .collect();

        // A recovery matters only on a rule with an incident open or opening: a passing check on
        // a healthy table is not stored again and again.
        let open_keys: HashSet<&RuleKey> = open.iter().map(|o| &o.key).collect();
        let firing_keys: HashSet<RuleKey> = signals.iter().filter(|s| s.firing).map(RuleKey::of).collect();
        let signals: Vec<Signal> = signals
            .into_iter()
            .filter(|s| {
                let key = RuleKey::of(s);
                s.firing || open_keys.contains(&key) || firing_keys.contains(&key)
            })
            .collect();
        if signals.is_empty() {
            tx.commit().await?;
            return Ok(Applied::default());
        }

        let plan = plan(signals, open, &last_recovery);

        // New incidents; those on a table of a schema whose group is active go under its parent at
        // once (an update per incident afterwards would double the writes of a burst).
        let opened = &plan.opened;
        let opened_assets: Vec<Uuid> = opened
            .iter()
            .filter_map(|i| i.key.asset)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let schema_parents: std::collections::HashMap<Uuid, (Uuid, String)> = if opened_assets.is_empty() {
            std::collections::HashMap::new()
        } else {
            sqlx::query_as::<_, (Uuid, Uuid, String)>(
                "SELECT a.id, p.id, p.tenant_id FROM assets a
                 JOIN incidents p ON p.tenant_id = a.tenant_id AND p.asset_id IS NULL
                      AND p.rule_key = 'schema:' || a.source_name || '/' || a.schema_name
                      AND p.status IN ('open', 'acknowledged', 'snoozed')
                 WHERE a.id = ANY($1)",
            )
            .bind(&opened_assets)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(asset, parent, tenant)| (asset, (parent, tenant)))
            .collect()
        };
        let parent_of = |incident: &crate::incidents::engine::NewIncident| {
            incident
                .key
                .asset
                .and_then(|asset| schema_parents.get(&asset))
                .filter(|(_, tenant)| *tenant == incident.key.tenant)
                .map(|(parent, _)| *parent)
        };
        sqlx::query(
            "INSERT INTO incidents (id, tenant_id, asset_id, source_kind, source_id, severity, status, title,
                                    began_at, opened_at, rule_key, alert_count, last_alert_at, details, parent_id)
             SELECT id, t, a, k, s, sev, 'open', title, least(began, now()), now(), r, n, last, d, p
             FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[],
                         $8::timestamptz[], $9::text[], $10::int[], $11::timestamptz[], $12::jsonb[], $13::uuid[])
                  AS x (id, t, a, k, s, sev, title, began, r, n, last, d, p)",
        )
        .bind(opened.iter().map(|i| i.id).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.key.tenant.clone()).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.key.asset).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.kind).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.source_id).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.severity.as_str()).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.title.clone()).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.began_at).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.key.rule.clone()).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.alert_count).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.last_alert_at).collect::<Vec<_>>())
        .bind(opened.iter().map(|i| i.details.clone()).collect::<Vec<_>>())
        .bind(opened.iter().map(parent_of).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        let mut grown: BTreeMap<Uuid, (String, i32)> = BTreeMap::new();
        for incident in opened.iter() {
            if let Some(parent) = parent_of(incident) {
                grown
                    .entry(parent)
                    .or_insert_with(|| (incident.key.tenant.clone(), 0))
                    .1 += 1;
            }
        }
        if !grown.is_empty() {
            let counts: Vec<(Uuid, i32)> = sqlx::query_as(
                "UPDATE incidents p SET alert_count = p.alert_count + x.n, updated_at = now()
                 FROM UNNEST($1::uuid[], $2::int[]) AS x (id, n) WHERE p.id = x.id
                 RETURNING p.id, p.alert_count",
            )
            .bind(grown.keys().copied().collect::<Vec<_>>())
            .bind(grown.values().map(|v| v.1).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await?;
            let rows: Vec<(String, Uuid, &'static str, String)> = counts
                .iter()
                .filter_map(|(parent, total)| {
                    grown.get(parent).map(|(tenant, added)| {
                        (
                            tenant.clone(),
                            *parent,
                            "grouped",
                            format!("{added} more incidents on tables of this schema grouped under it ({total} in all)"),
                        )
                    })
                })
                .collect();
            insert_timeline(&mut tx, &rows).await?;
        }

        // Alerts joining incidents open before.
        let joined = &plan.joined;
        sqlx::query(
            "UPDATE incidents i SET alert_count = i.alert_count + x.n,
                    last_alert_at = greatest(i.last_alert_at, x.last), severity = x.sev, updated_at = now()
             FROM UNNEST($1::uuid[], $2::int[], $3::timestamptz[], $4::text[]) AS x (id, n, last, sev)
             WHERE i.id = x.id",
        )
        .bind(joined.iter().map(|j| j.id).collect::<Vec<_>>())
        .bind(joined.iter().map(|j| j.added).collect::<Vec<_>>())
        .bind(joined.iter().map(|j| j.last_alert_at).collect::<Vec<_>>())
        .bind(joined.iter().map(|j| j.severity.as_str()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;

        // Resolutions.
        let resolved = &plan.resolved;
        sqlx::query(
            "UPDATE incidents i SET status = 'resolved', resolved_at = now(), recovered_at = x.rec,
                    resolution = x.note, snoozed_until = NULL, updated_at = now()
             FROM UNNEST($1::uuid[], $2::timestamptz[], $3::text[]) AS x (id, rec, note)
             WHERE i.id = x.id",
        )
        .bind(resolved.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(resolved.iter().map(|r| r.recovered_at).collect::<Vec<_>>())
        .bind(resolved.iter().map(|r| r.note.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;

        // The alerts themselves.
        let alerts = &plan.alerts;
        sqlx::query(
            "INSERT INTO alerts (id, tenant_id, event_id, rule_key, kind, firing, severity, asset_id, incident_id,
                                 title, observed_at, event_at, details)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::bool[],
                                  $7::text[], $8::uuid[], $9::uuid[], $10::text[], $11::timestamptz[],
                                  $12::timestamptz[], $13::jsonb[])
             ON CONFLICT (tenant_id, event_id, rule_key) DO NOTHING",
        )
        .bind(alerts.iter().map(|a| a.id).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.tenant.clone()).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.event_id).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.rule_key.clone()).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.kind).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.firing).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.severity.map(Severity::as_str)).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.asset_id).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.incident_id).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.title.clone()).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.observed_at).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.event_at).collect::<Vec<_>>())
        .bind(alerts.iter().map(|a| a.signal.details.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;

        // Timeline rows and events for every change.
        let mut timeline: Vec<(String, Uuid, &'static str, String)> = Vec::new();
        let mut events = Vec::new();
        let changed = |id: Uuid, status: &str, severity: Severity, asset: Option<Uuid>| IncidentChanged {
            incident_id: id,
            status: status.to_owned(),
            severity: severity.as_str().to_owned(),
            asset_id: asset,
        };
        for incident in opened {
            timeline.push((
                incident.key.tenant.clone(),
                incident.id,
                "opened",
                format!("opened by an alert: {}", incident.title),
            ));
            events.push(event(
                &incident.key.tenant,
                EventData::IncidentOpened(changed(
                    incident.id,
                    "open",
                    incident.severity,
                    incident.key.asset,
                )),
            ));
        }
        for join in joined {
            if join.raised {
                timeline.push((
                    join.tenant.clone(),
                    join.id,
                    "severity_raised",
                    format!("severity raised to {} by a new alert", join.severity),
                ));
            }
            events.push(event(
                &join.tenant,
                EventData::IncidentUpdated(changed(join.id, &join.status, join.severity, join.asset)),
            ));
        }
        for resolution in resolved {
            timeline.push((
                resolution.tenant.clone(),
                resolution.id,
                "resolved",
                resolution.note.clone(),
            ));
            events.push(event(
                &resolution.tenant,
                EventData::IncidentResolved(changed(
                    resolution.id,
                    "resolved",
                    resolution.severity,
                    resolution.asset,
                )),
            ));
        }
        insert_timeline(&mut tx, &timeline).await?;
        // Incidents downstream of one broken table go under one parent naming it; a parent ends
        // with its last child.
        let touched_tenants: Vec<String> = opened
            .iter()
            .map(|i| i.key.tenant.clone())
            .chain(joined.iter().map(|j| j.tenant.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let touched: Vec<Uuid> = opened
            .iter()
            .map(|i| i.id)
            .chain(joined.iter().map(|j| j.id))
            .collect();
        if !touched.is_empty() {
            let grouped = group_under_roots(&mut tx, &touched_tenants, &touched).await?;
            for (tenant, parent, severity, asset) in grouped.resolved {
                let severity = Severity::parse(&severity).unwrap_or(Severity::Medium);
                events.push(event(
                    &tenant,
                    EventData::IncidentResolved(changed(parent, "resolved", severity, asset)),
                ));
            }
            let mut parents = grouped.opened;
            parents.extend(group_by_schema(&mut tx, &touched).await?);
            for (tenant, parent, severity, asset) in parents {
                events.push(event(
                    &tenant,
                    EventData::IncidentOpened(changed(parent, "open", severity, asset)),
                ));
            }
        }
        let ended: Vec<Uuid> = resolved.iter().map(|r| r.id).collect();
        for (tenant, parent, severity, asset) in resolve_finished_parents(&mut tx, &ended).await? {
            let severity = Severity::parse(&severity).unwrap_or(Severity::Medium);
            events.push(event(
                &tenant,
                EventData::IncidentResolved(changed(parent, "resolved", severity, asset)),
            ));
        }
        super::outbox::append(&mut tx, &events).await?;

        // Notifications: the routes of what opened (or rose into a routed severity), and a
        // "resolved" to every channel told of the opening.
        let tenants: Vec<String> = opened
            .iter()
            .map(|i| i.key.tenant.clone())
            .chain(joined.iter().filter(|j| j.raised).map(|j| j.tenant.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let policies = super::routing::load_policies(&mut tx, &tenants).await?;
        let targets: Vec<(Uuid, &str, Severity, DateTime<Utc>)> = opened
            .iter()
            .map(|i| (i.id, i.key.tenant.as_str(), i.severity, i.event_at))
            .chain(
                joined
                    .iter()
                    .filter(|j| j.raised)
                    .map(|j| (j.id, j.tenant.as_str(), j.severity, j.event_at)),
            )
            .collect();
        // Attributes are read only for tenants whose policy can ask for them (the default route
        // needs the severity alone).
        let asking: Vec<Uuid> = targets
            .iter()
            .filter(|(_, tenant, _, _)| {
                policies
                    .get(*tenant)
                    .is_some_and(|p| !p.rules.is_empty() || !p.ownerships.is_empty())
            })
            .map(|t| t.0)
            .collect();
        let attributes = if asking.is_empty() {
            std::collections::HashMap::new()
        } else {
            super::routing::incident_attributes(&mut tx, &asking).await?
        };
        let empty = crate::incidents::routing::Policy::default();
        // (id, tenant, incident, channel, why, event time, rule)
        type Queued = (Uuid, String, Uuid, Uuid, String, DateTime<Utc>, Option<Uuid>);
        let mut notify: Vec<Queued> = Vec::new();
        let mut suppressible: Vec<(usize, (Uuid, Uuid, i32))> = Vec::new();
        let mut routed: Vec<(
            Uuid,
            Option<serde_json::Value>,
            Vec<crate::incidents::routing::EscalationStep>,
        )> = Vec::new();
        let mut unrouted: Vec<(String, Uuid, &'static str, String)> = Vec::new();
        for (incident, tenant, severity, event_at) in &targets {
            let policy = policies.get(*tenant).unwrap_or(&empty);
            let seen =
                attributes
                    .get(incident)
                    .cloned()
                    .unwrap_or_else(|| crate::incidents::rules::Attributes {
                        severity: Some(*severity),
                        ..Default::default()
                    });
            let decision = decide(&seen, policy);
            if !policy.rules.is_empty() && decision.routes.is_empty() {
                unrouted.push((
                    (*tenant).to_owned(),
                    *incident,
                    "not_routed",
                    format!("no routing rule matched this {severity} incident: no channel was told"),
                ));
            }
            routed.push((
                *incident,
                decision.owner.as_ref().and_then(|o| serde_json::to_value(o).ok()),
                decision.escalation.clone(),
            ));
            for route in decision.routes {
                if let Some(rule) = route.rule_id
                    && route.suppress_minutes > 0
                {
                    suppressible.push((
                        notify.len(),
                        (
                            *incident,
                            rule,
                            i32::try_from(route.suppress_minutes).unwrap_or(i32::MAX),
                        ),
                    ));
                }
                notify.push((
                    Uuid::now_v7(),
                    (*tenant).to_owned(),
                    *incident,
                    route.channel_id,
                    route.reason,
                    *event_at,
                    route.rule_id,
                ));
            }
        }
        super::routing::record_routing(&mut tx, &routed).await?;
        // A rule that notified of this asset and rule within its suppression interval stays silent.
        let checks: Vec<(Uuid, Uuid, i32)> = suppressible.iter().map(|s| s.1).collect();
        let mut dropped: BTreeSet<usize> = BTreeSet::new();
        for (k, minutes_ago) in super::routing::suppressed_routes(&mut tx, &checks).await? {
            let Some((at, (incident, _, interval))) =
                usize::try_from(k).ok().and_then(|k| suppressible.get(k))
            else {
                continue;
            };
            dropped.insert(*at);
            unrouted.push((
                notify[*at].1.clone(),
                *incident,
                "suppressed",
                format!(
                    "not sent to a channel: {} and notified of this asset and rule {minutes_ago:.0} min ago (suppression interval {interval} min)",
                    notify[*at].4
                ),
            ));
        }
        let notify: Vec<_> = notify
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !dropped.contains(i))
            .map(|(_, n)| n)
            .collect();
        insert_timeline(&mut tx, &unrouted).await?;
        let mut queued: Vec<(Uuid, String)> = sqlx::query_as(
            "INSERT INTO notifications (id, tenant_id, incident_id, channel_id, event, routed_by, event_at, rule_id)
             SELECT id, t, i, c, 'opened', why, at, r
             FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[], $7::uuid[])
                  AS x (id, t, i, c, why, at, r)
             ON CONFLICT (incident_id, channel_id, event, tier) DO NOTHING
             RETURNING id, tenant_id",
        )
        .bind(notify.iter().map(|n| n.0).collect::<Vec<_>>())
        .bind(notify.iter().map(|n| n.1.clone()).collect::<Vec<_>>())
        .bind(notify.iter().map(|n| n.2).collect::<Vec<_>>())
        .bind(notify.iter().map(|n| n.3).collect::<Vec<_>>())
        .bind(notify.iter().map(|n| n.4.clone()).collect::<Vec<_>>())
        .bind(notify.iter().map(|n| n.5).collect::<Vec<_>>())
        .bind(notify.iter().map(|n| n.6).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        enqueue_deliveries(&mut tx, &queued).await?;
        // An anomaly's incident gets the RCA engine's causes on its timeline, by a job (the
        // analysis reads lineage and other series: not in this transaction).
        let explain: Vec<(String, Uuid, Uuid)> = opened
            .iter()
            .filter(|i| i.kind == crate::incidents::kinds::ANOMALY)
            .filter_map(|i| i.source_id.map(|anomaly| (i.key.tenant.clone(), i.id, anomaly)))
            .collect();
        if !explain.is_empty() {
            sqlx::query(
                "INSERT INTO jobs (id, tenant_id, kind, payload, pending_key, max_attempts)
                 SELECT gen_random_uuid(), t, $4, jsonb_build_object('incident', i, 'anomaly', a), i::text, 3
                 FROM UNNEST($1::text[], $2::uuid[], $3::uuid[]) AS x (t, i, a)
                 ON CONFLICT DO NOTHING",
            )
            .bind(explain.iter().map(|e| e.0.clone()).collect::<Vec<_>>())
            .bind(explain.iter().map(|e| e.1).collect::<Vec<_>>())
            .bind(explain.iter().map(|e| e.2).collect::<Vec<_>>())
            .bind(EXPLAIN_INCIDENT)
            .execute(&mut *tx)
            .await?;
        }
        let resolutions: Vec<(Uuid, DateTime<Utc>)> = resolved.iter().map(|r| (r.id, r.event_at)).collect();
        let told = tell_channels_told_of_opening(&mut tx, &resolutions, "resolved").await?;
        queued.extend(told);
        tx.commit().await?;
        Ok(Applied {
            alerts: alerts.len(),
            opened: opened.len(),
            joined: joined.len(),
            resolved: resolved.len(),
            notifications: queued.len(),
        })
    }
}

/// Writes timeline rows `(tenant, incident, kind, message)` by CWIC.
pub(crate) async fn insert_timeline(
    connection: &mut sqlx::PgConnection,
    rows: &[(String, Uuid, &'static str, String)],
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO incident_timeline (id, tenant_id, incident_id, kind, message)
         SELECT gen_random_uuid(), t, i, k, m FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[])
                AS x (t, i, k, m)",
    )
    .bind(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>())
    .execute(connection)
    .await?;
    Ok(())
}

/// Queues `event` (`acknowledged` or `resolved`) of each `(incident, when)` to every channel that
/// was told of the incident's opening, with its delivery job; returns what it queued.
async fn tell_channels_told_of_opening(
    connection: &mut sqlx::PgConnection,
    incidents: &[(Uuid, DateTime<Utc>)],
    event: &str,
) -> StoreResult<Vec<(Uuid, String)>> {
    if incidents.is_empty() {
        return Ok(Vec::new());
    }
    let queued: Vec<(Uuid, String)> = sqlx::query_as(
        "INSERT INTO notifications (id, tenant_id, incident_id, channel_id, event, routed_by, event_at)
         SELECT DISTINCT ON (n.incident_id, n.channel_id) gen_random_uuid(), n.tenant_id, n.incident_id,
                n.channel_id, $3, 'the channel was told this incident opened', x.at
         FROM notifications n
         JOIN UNNEST($1::uuid[], $2::timestamptz[]) AS x (id, at) ON n.incident_id = x.id
         WHERE n.event IN ('opened', 'escalated')
         ON CONFLICT (incident_id, channel_id, event, tier) DO NOTHING
         RETURNING id, tenant_id",
    )
    .bind(incidents.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind(incidents.iter().map(|(_, at)| *at).collect::<Vec<_>>())
    .bind(event)
    .fetch_all(&mut *connection)
    .await?;
    enqueue_deliveries(connection, &queued).await?;
    Ok(queued)
}

/// A delivery job per `(notification, tenant)`, in the caller's transaction.
pub(crate) async fn enqueue_deliveries(
    connection: &mut sqlx::PgConnection,
    notifications: &[(Uuid, String)],
) -> StoreResult<()> {
    if notifications.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, kind, payload, pending_key, max_attempts)
         SELECT gen_random_uuid(), t, $3, jsonb_build_object('notification', n), n::text, $4
         FROM UNNEST($1::uuid[], $2::text[]) AS x (n, t)
         ON CONFLICT DO NOTHING",
    )
    .bind(notifications.iter().map(|n| n.0).collect::<Vec<_>>())
    .bind(notifications.iter().map(|n| n.1.clone()).collect::<Vec<_>>())
    .bind(DELIVER_NOTIFICATION)
    .bind(DELIVERY_ATTEMPTS)
    .execute(connection)
    .await?;
    Ok(())
}

/// A notification with what its message says: the channel (and its secret, to sign), the
/// incident, its asset and scores.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub notification_id: Uuid,
    pub tenant_id: String,
    /// `opened` or `resolved`.
    pub event: String,
    pub state: String,
    pub routed_by: String,
    /// The escalation tier (0: the opening's routes).
    pub tier: i16,
    pub channel_id: Uuid,
    pub channel_kind: String,
    pub channel_name: String,
    pub settings: sqlx::types::Json<serde_json::Value>,
    pub secret: Option<String>,
    pub incident_id: Uuid,
    pub status: String,
    pub severity: String,
    pub title: String,
    pub source_kind: String,
    pub rule_key: String,
    pub alert_count: i32,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub details: sqlx::types::Json<serde_json::Value>,
    pub asset_id: Option<Uuid>,
    /// `schema.table`.
    pub asset: Option<String>,
    /// The state of the channel's "opened" of the same incident (for a "resolved").
    pub opened_state: Option<String>,
    /// What the "opened" got back to refer to (Slack's `ts`, to thread under).
    pub opened_ref: Option<String>,
    pub current_score: Option<f64>,
    /// The last score computed before the incident began.
    pub previous_score: Option<f64>,
    /// The quality dimensions its alerts touch.
    pub dimensions: Vec<String>,
}

impl DeliveryRow {
    /// What caused it, in a sentence, from the incident's evidence.
    pub fn root_cause(&self) -> Option<String> {
        let evidence = self.evidence();
        // The RCA engine's likeliest cause, once its job ran (messages after the opening).
        match self.details.0["root_causes"][0]["summary"].as_str() {
            Some(cause) => Some(match evidence {
                Some(evidence) => format!("{evidence}; likeliest cause: {cause}"),
                None => cause.to_owned(),
            }),
            None => evidence,
        }
    }

    fn evidence(&self) -> Option<String> {
        let details = &self.details.0;
        let asset = self.asset.as_deref().unwrap_or("the asset");
        match self.source_kind.as_str() {
            crate::incidents::kinds::CHECK_FAILED => {
                let check = details["check"].as_str()?;
                let dimension = details["dimension"].as_str().unwrap_or("quality");
                Some(
                    match (details["failing_rows"].as_i64(), details["total_rows"].as_i64()) {
                        (Some(failing), Some(total)) => {
                            format!("{failing} of {total} rows of {asset} fail {check} ({dimension})")
                        }
                        _ => format!("{asset} fails {check} ({dimension})"),
                    },
                )
            }
            crate::incidents::kinds::ANOMALY => {
                let metric = details["metric"].as_str()?;
                let column = details["column"].as_str().unwrap_or_default();
                let series = if column.is_empty() {
                    metric.to_owned()
                } else {
                    format!("{metric} of {column}")
                };
                Some(
                    match (
                        details["expected_low"].as_f64(),
                        details["expected_high"].as_f64(),
                    ) {
                        (Some(low), Some(high)) => format!(
                            "{series} on {asset} was {} where {low:.4} to {high:.4} was expected",
                            details["value"]
                        ),
                        _ => format!("{series} on {asset} left its usual range"),
                    },
                )
            }
            crate::incidents::kinds::SCHEMA_CHANGE => Some(self.title.clone()),
            _ => None,
        }
    }
}

/// A notification's outcome as [`Store::record_deliveries`] writes it: sent or failed, and
/// whether that was its last attempt.
pub type DeliveryRecord = (crate::channels::notify::Delivered, bool);

impl Store {
    /// The notifications `ids` with everything their messages say.
    pub async fn notifications_for_delivery(&self, ids: &[Uuid]) -> StoreResult<Vec<DeliveryRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "SELECT n.id AS notification_id, n.tenant_id, n.event, n.state, n.routed_by,
                    c.id AS channel_id, c.kind AS channel_kind, c.name AS channel_name, c.settings, c.secret,
                    i.id AS incident_id, i.status, i.severity, i.title, i.source_kind, i.rule_key,
                    i.alert_count, i.opened_at, i.resolved_at, i.resolution, i.details, i.asset_id,
                    a.schema_name || '.' || a.name AS asset,
                    (SELECT o.state FROM notifications o
                     WHERE o.incident_id = n.incident_id AND o.channel_id = n.channel_id
                       AND o.event IN ('opened', 'escalated') AND o.id <> n.id
                     ORDER BY o.state = 'queued' DESC LIMIT 1) AS opened_state, n.tier,
                    (SELECT o.external_ref FROM notifications o
                     WHERE o.incident_id = n.incident_id AND o.channel_id = n.channel_id
                       AND o.event = 'opened' AND o.tier = 0) AS opened_ref,
                    (SELECT s.score FROM asset_scores s
                     WHERE s.tenant_id = i.tenant_id AND s.asset_id = i.asset_id
                     ORDER BY s.computed_at DESC LIMIT 1) AS current_score,
                    (SELECT s.score FROM asset_scores s
                     WHERE s.tenant_id = i.tenant_id AND s.asset_id = i.asset_id AND s.computed_at < i.began_at
                     ORDER BY s.computed_at DESC LIMIT 1) AS previous_score,
                    ARRAY(SELECT DISTINCT al.details->>'dimension' FROM alerts al
                          WHERE al.incident_id = i.id AND al.details ? 'dimension'
                          ORDER BY 1) AS dimensions
             FROM notifications n
             JOIN channels c ON c.id = n.channel_id
             JOIN incidents i ON i.id = n.incident_id
             LEFT JOIN assets a ON a.id = i.asset_id
             WHERE n.id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records what deliveries came to, with a timeline row for each sent or dead one.
    pub async fn record_deliveries(&self, records: &[DeliveryRecord]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let updated: Vec<(String, Uuid, String, String, String)> = sqlx::query_as(
            "UPDATE notifications n
             SET state = CASE WHEN x.sent THEN 'sent' WHEN x.last THEN 'dead' ELSE 'queued' END,
                 attempts = n.attempts + 1, last_status = x.status, last_error = x.error,
                 sent_at = CASE WHEN x.sent THEN now() END, external_ref = coalesce(x.reference, n.external_ref)
             FROM UNNEST($1::uuid[], $2::bool[], $3::bool[], $4::int[], $5::text[], $6::text[])
                  AS x (id, sent, last, status, error, reference)
             WHERE n.id = x.id AND n.state <> 'sent'
             RETURNING n.tenant_id, n.incident_id, n.state, n.event,
                       (SELECT name FROM channels c WHERE c.id = n.channel_id)",
        )
        .bind(records.iter().map(|(d, _)| d.notification_id).collect::<Vec<_>>())
        .bind(records.iter().map(|(d, _)| d.sent).collect::<Vec<_>>())
        .bind(records.iter().map(|(_, last)| *last).collect::<Vec<_>>())
        .bind(records.iter().map(|(d, _)| d.status.map(i32::from)).collect::<Vec<_>>())
        .bind(records.iter().map(|(d, _)| d.error.clone()).collect::<Vec<_>>())
        .bind(records.iter().map(|(d, _)| d.reference.clone()).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        let timeline: Vec<(String, Uuid, &'static str, String)> = updated
            .into_iter()
            .filter_map(|(tenant, incident, state, event, channel)| match state.as_str() {
                "sent" => Some((tenant, incident, "notified", format!("{event} message sent to {channel}"))),
                "dead" => Some((
                    tenant,
                    incident,
                    "notification_failed",
                    format!("{event} message to {channel} failed on every attempt; re-send it from the dead letters"),
                )),
                _ => None,
            })
            .collect();
        insert_timeline(&mut tx, &timeline).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Which incidents a list shows.
#[derive(Debug, Clone)]
pub struct IncidentFilter {
    pub statuses: Option<Vec<String>>,
    pub severity: Option<String>,
    pub asset: Option<Uuid>,
    pub limit: i64,
}

/// A person's change to an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Acknowledge,
    Resolve,
    Snooze(DateTime<Utc>),
    /// `expected` or `no_action_needed`.
    Close(String),
}

const INCIDENT_COLUMNS: &str = "i.id, i.status, i.severity, a.schema_name || '.' || a.name AS asset, i.asset_id,
    i.title, i.source_kind AS kind, i.rule_key AS rule, i.alert_count AS alerts, i.began_at, i.opened_at,
    i.last_alert_at, i.acknowledged_at, i.snoozed_until, i.resolved_at, i.close_reason, i.resolution, i.parent_id
    FROM incidents i LEFT JOIN assets a ON a.id = i.asset_id";

const NOTIFICATION_COLUMNS: &str = "n.id, n.incident_id, n.channel_id, c.name AS channel, n.event, n.state,
    n.attempts, n.last_status, n.last_error, n.routed_by, n.created_at, n.sent_at
    FROM notifications n JOIN channels c ON c.id = n.channel_id";

use crate::incidents::service::{Incident, Notification, TimelineEntry};

impl TenantStore {
    pub async fn list_incidents(&self, filter: &IncidentFilter) -> StoreResult<Vec<Incident>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INCIDENT_COLUMNS}
             WHERE i.tenant_id = $1 AND ($2::text[] IS NULL OR i.status = ANY($2))
               AND ($3::text IS NULL OR i.severity = $3) AND ($4::uuid IS NULL OR i.asset_id = $4)
             ORDER BY i.opened_at DESC, i.id DESC LIMIT $5"
        )))
        .bind(self.tenant_id().as_str())
        .bind(&filter.statuses)
        .bind(&filter.severity)
        .bind(filter.asset)
        .bind(filter.limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn get_incident(&self, id: Uuid) -> StoreResult<Option<Incident>> {
        let mut tx = self.begin().await?;
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INCIDENT_COLUMNS} WHERE i.tenant_id = $1 AND i.id = $2"
        )))
        .bind(self.tenant_id().as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The incident's evidence (`details`), `{}` when it has none.
    pub async fn incident_details(&self, id: Uuid) -> StoreResult<serde_json::Value> {
        let mut tx = self.begin().await?;
        let details: Option<sqlx::types::Json<serde_json::Value>> =
            sqlx::query_scalar("SELECT details FROM incidents WHERE tenant_id = $1 AND id = $2")
                .bind(self.tenant_id().as_str())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(details.map(|d| d.0).unwrap_or_else(|| serde_json::json!({})))
    }

    /// The anomaly (or SLA) an incident is about.
    pub async fn incident_source(&self, id: Uuid) -> StoreResult<Option<Uuid>> {
        let mut tx = self.begin().await?;
        let source: Option<Option<Uuid>> =
            sqlx::query_scalar("SELECT source_id FROM incidents WHERE tenant_id = $1 AND id = $2")
                .bind(self.tenant_id().as_str())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(source.flatten())
    }

    /// Its alerts, recoveries and changes, oldest first (at most 2,000 lines).
    pub async fn incident_timeline(&self, id: Uuid) -> StoreResult<Vec<TimelineEntry>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(
            "SELECT at, kind, actor, message FROM (
                 SELECT observed_at AS at, CASE WHEN firing THEN 'alert' ELSE 'recovery' END AS kind,
                        'cwic' AS actor, title AS message, id
                 FROM alerts WHERE tenant_id = $1 AND incident_id = $2
                 UNION ALL
                 SELECT at, kind, actor, message, id FROM incident_timeline WHERE tenant_id = $1 AND incident_id = $2
             ) t ORDER BY at, id LIMIT 2000",
        )
        .bind(self.tenant_id().as_str())
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Notifications of one incident, or of the tenant in one state, newest first.
    pub async fn incident_notifications(
        &self,
        incident: Option<Uuid>,
        state: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<Notification>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTIFICATION_COLUMNS}
             WHERE n.tenant_id = $1 AND ($2::uuid IS NULL OR n.incident_id = $2) AND ($3::text IS NULL OR n.state = $3)
             ORDER BY n.created_at DESC, n.id LIMIT $4"
        )))
        .bind(self.tenant_id().as_str())
        .bind(incident)
        .bind(state)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn notification(&self, id: Uuid) -> StoreResult<Option<Notification>> {
        let mut tx = self.begin().await?;
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTIFICATION_COLUMNS} WHERE n.tenant_id = $1 AND n.id = $2"
        )))
        .bind(self.tenant_id().as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Applies a person's change, with its timeline row and event (and, when it ends the
    /// incident, a "resolved" to every channel told of its opening), in one transaction. False
    /// when the incident was already in a state the change does not apply to.
    pub async fn change_incident(
        &self,
        id: Uuid,
        change: Change,
        by: &str,
        message: &str,
    ) -> StoreResult<bool> {
        let tenant = self.tenant_id().as_str();
        let mut tx = self.begin().await?;
        const RETURNING: &str = "RETURNING severity, asset_id";
        let (sql, status, kind, arg): (String, &str, &'static str, Option<String>) = match &change {
            Change::Acknowledge => (
                format!(
                    "UPDATE incidents SET status = 'acknowledged', acknowledged_at = coalesce(acknowledged_at, now()),
                            snoozed_until = NULL, updated_at = now()
                     WHERE tenant_id = $1 AND id = $2 AND status IN ('open', 'snoozed') {RETURNING}"
                ),
                "acknowledged",
                "acknowledged",
                None,
            ),
            Change::Resolve => (
                format!(
                    "UPDATE incidents SET status = 'resolved', resolved_at = now(), recovered_at = now(),
                            resolution = $3, snoozed_until = NULL, updated_at = now()
                     WHERE tenant_id = $1 AND id = $2 AND status IN ('open', 'acknowledged', 'snoozed') {RETURNING}"
                ),
                "resolved",
                "resolved",
                Some(message.to_owned()),
            ),
            Change::Snooze(until) => (
                format!(
                    "UPDATE incidents SET status = 'snoozed', snoozed_until = $3::timestamptz, updated_at = now()
                     WHERE tenant_id = $1 AND id = $2 AND status IN ('open', 'acknowledged', 'snoozed') {RETURNING}"
                ),
                "snoozed",
                "snoozed",
                Some(until.to_rfc3339()),
            ),
            Change::Close(reason) => (
                format!(
                    "UPDATE incidents SET status = 'closed', close_reason = $3, resolved_at = now(), recovered_at = now(),
                            resolution = $4, snoozed_until = NULL, updated_at = now()
                     WHERE tenant_id = $1 AND id = $2 AND status IN ('open', 'acknowledged', 'snoozed') {RETURNING}"
                ),
                "closed",
                "closed",
                Some(reason.clone()),
            ),
        };
        let mut query = sqlx::query_as::<_, (String, Option<Uuid>)>(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(id);
        if let Some(arg) = arg {
            query = query.bind(arg);
        }
        if matches!(change, Change::Close(_)) {
            query = query.bind(message);
        }
        let Some((severity, asset)) = query.fetch_optional(&mut *tx).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO incident_timeline (id, tenant_id, incident_id, kind, actor, message)
             VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)",
        )
        .bind(tenant)
        .bind(id)
        .bind(kind)
        .bind(by)
        .bind(message)
        .execute(&mut *tx)
        .await?;
        let changed = IncidentChanged {
            incident_id: id,
            status: status.to_owned(),
            severity,
            asset_id: asset,
        };
        let ends = matches!(change, Change::Resolve | Change::Close(_));
        if change == Change::Acknowledge {
            // Channels told of the opening hear of it (PagerDuty and Opsgenie stop paging).
            tell_channels_told_of_opening(&mut tx, &[(id, Utc::now())], "acknowledged").await?;
        }
        let data = if ends {
            EventData::IncidentResolved(changed)
        } else {
            EventData::IncidentUpdated(changed)
        };
        super::outbox::append(&mut tx, &[event(tenant, data)]).await?;
        if ends {
            tell_channels_told_of_opening(&mut tx, &[(id, Utc::now())], "resolved").await?;
            let parents = resolve_finished_parents(&mut tx, &[id]).await?;
            let events: Vec<Event> = parents
                .into_iter()
                .map(|(tenant, parent, severity, asset)| {
                    event(
                        &tenant,
                        EventData::IncidentResolved(IncidentChanged {
                            incident_id: parent,
                            status: "resolved".into(),
                            severity,
                            asset_id: asset,
                        }),
                    )
                })
                .collect();
            super::outbox::append(&mut tx, &events).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn add_comment(&self, id: Uuid, by: &str, text: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO incident_timeline (id, tenant_id, incident_id, kind, actor, message)
             VALUES (gen_random_uuid(), $1, $2, 'comment', $3, $4)",
        )
        .bind(self.tenant_id().as_str())
        .bind(id)
        .bind(by)
        .bind(text)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts the RCA engine's `explanation` and top `causes` (kind, summary, score) on an incident:
    /// a `root_cause` timeline row, and `root_causes` in its details.
    pub async fn note_root_causes(
        &self,
        incident: Uuid,
        explanation: &str,
        causes: &serde_json::Value,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE incidents SET details = details || jsonb_build_object('root_causes', $3::jsonb), updated_at = now()
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(self.tenant_id().as_str())
        .bind(incident)
        .bind(causes)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO incident_timeline (id, tenant_id, incident_id, kind, message, details)
             SELECT gen_random_uuid(), $1, $2, 'root_cause', $3, jsonb_build_object('causes', $4::jsonb)
             WHERE EXISTS (SELECT 1 FROM incidents WHERE tenant_id = $1 AND id = $2)
               AND NOT EXISTS (SELECT 1 FROM incident_timeline WHERE incident_id = $2 AND kind = 'root_cause')",
        )
        .bind(self.tenant_id().as_str())
        .bind(incident)
        .bind(explanation)
        .bind(causes)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes a fix's step (`fix_proposed`, `fix_applied`, `fix_undone`) on the active incidents of
    /// the check it is about (`check` on `dataset`, `schema.table` or `table`; any dataset when
    /// `None`), or for an undo on the incidents its application was written on (`undo`: the fix's
    /// id). Returns the incidents written on.
    #[allow(clippy::too_many_arguments)]
    pub async fn note_fix(
        &self,
        kind: &str,
        check: Option<&str>,
        dataset: Option<&str>,
        undo: Option<&str>,
        by: &str,
        message: &str,
        details: &serde_json::Value,
    ) -> StoreResult<Vec<Uuid>> {
        let mut tx = self.begin().await?;
        let incidents: Vec<Uuid> = if let Some(fix) = undo {
            sqlx::query_scalar(
                "SELECT DISTINCT incident_id FROM incident_timeline
                 WHERE tenant_id = $1 AND kind = 'fix_applied' AND details->>'id' = $2",
            )
            .bind(self.tenant_id().as_str())
            .bind(fix)
            .fetch_all(&mut *tx)
            .await?
        } else {
            sqlx::query_scalar(
                "SELECT i.id FROM incidents i LEFT JOIN assets a ON a.id = i.asset_id
                 WHERE i.tenant_id = $1 AND i.rule_key = 'check:' || $2
                   AND i.status IN ('open', 'acknowledged', 'snoozed')
                   AND ($3::text IS NULL OR a.schema_name || '.' || a.name = $3 OR a.name = $3)",
            )
            .bind(self.tenant_id().as_str())
            .bind(check.unwrap_or_default())
            .bind(dataset)
            .fetch_all(&mut *tx)
            .await?
        };
        sqlx::query(
            "INSERT INTO incident_timeline (id, tenant_id, incident_id, kind, actor, message, details)
             SELECT gen_random_uuid(), $1, x, $3, $4, $5, $6 FROM UNNEST($2::uuid[]) AS x",
        )
        .bind(self.tenant_id().as_str())
        .bind(&incidents)
        .bind(kind)
        .bind(by)
        .bind(message)
        .bind(details)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(incidents)
    }

    /// Queues a dead notification again with a new delivery job; `None` when it is not dead.
    pub async fn resend_notification(&self, id: Uuid, by: &str) -> StoreResult<Option<Notification>> {
        let tenant = self.tenant_id().as_str();
        let mut tx = self.begin().await?;
        let incident: Option<Uuid> = sqlx::query_scalar(
            "UPDATE notifications SET state = 'queued', last_error = NULL
             WHERE tenant_id = $1 AND id = $2 AND state = 'dead' RETURNING incident_id",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(incident) = incident else {
            tx.rollback().await?;
            return Ok(None);
        };
        enqueue_deliveries(&mut tx, &[(id, tenant.to_owned())]).await?;
        sqlx::query(
            "INSERT INTO incident_timeline (id, tenant_id, incident_id, kind, actor, message)
             VALUES (gen_random_uuid(), $1, $2, 'resent', $3, $4)",
        )
        .bind(tenant)
        .bind(incident)
        .bind(by)
        .bind(format!("a dead notification was queued again by {by}"))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.notification(id).await
    }
}

impl Store {
    /// Snoozed incidents whose time came are open again (the periodic upkeep job); how many.
    pub async fn wake_snoozed_incidents(&self) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let woken: Vec<(String, Uuid, String, Option<Uuid>, String)> = sqlx::query_as(
            "UPDATE incidents SET status = CASE WHEN acknowledged_at IS NULL THEN 'open' ELSE 'acknowledged' END,
                    snoozed_until = NULL, updated_at = now()
             WHERE status = 'snoozed' AND snoozed_until <= now()
             RETURNING tenant_id, id, severity, asset_id, status",
        )
        .fetch_all(&mut *tx)
        .await?;
        let timeline: Vec<(String, Uuid, &'static str, String)> = woken
            .iter()
            .map(|(tenant, id, _, _, _)| (tenant.clone(), *id, "snooze_ended", "the snooze ended".to_owned()))
            .collect();
        insert_timeline(&mut tx, &timeline).await?;
        let events: Vec<Event> = woken
            .iter()
            .map(|(tenant, id, severity, asset, status)| {
                event(
                    tenant,
                    EventData::IncidentUpdated(IncidentChanged {
                        incident_id: *id,
                        status: status.clone(),
                        severity: severity.clone(),
                        asset_id: *asset,
                    }),
                )
            })
            .collect();
        super::outbox::append(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(woken.len() as u64)
    }
}

/// Incidents on assets opened within this long of each other group under a parent when they
/// share an upstream table.
pub const GROUP_WINDOW_HOURS: i32 = 6;
/// How far up the lineage a shared cause is looked for.
const LINEAGE_DEPTH: i32 = 10;

/// What grouping did: parents opened `(tenant, id, severity, asset)`, and schema groups it
/// emptied and resolved `(tenant, id, severity, asset)`.
#[derive(Debug, Default)]
pub(crate) struct Grouped {
    pub opened: Vec<(String, Uuid, Severity, Option<Uuid>)>,
    pub resolved: Vec<(String, Uuid, String, Option<Uuid>)>,
}

/// One dataset upstream of (or equal to) an asset, at `depth` edges.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Upstream {
    asset_id: Uuid,
    node: Uuid,
    depth: i32,
    /// `schema.table` of the upstream dataset.
    name: String,
    /// The asset that dataset is, when CWIC observes it.
    node_asset: Option<Uuid>,
}

/// Groups the incidents the batch opened or added alerts to (`touched`: lineage may arrive after
/// the first alert) with the tenant's other active incidents of the last
/// [`GROUP_WINDOW_HOURS`] whose assets share an upstream dataset (through lineage; an asset
/// upstream of another counts as shared): each group goes under one parent incident (rule
/// `root:<dataset node>`) that names the shared cause; returns the parents opened. The parent is
/// for people (one place to look); it sends no notification of its own.
pub(crate) async fn group_under_roots(
    connection: &mut sqlx::PgConnection,
    tenants: &[String],
    touched: &[Uuid],
) -> StoreResult<Grouped> {
    let mut grouped = Grouped::default();
    #[derive(sqlx::FromRow)]
    struct Active {
        id: Uuid,
        tenant_id: String,
        asset_id: Uuid,
        severity: String,
        new: bool,
    }
    // Nothing to share without lineage: most batches end here, before reading other incidents.
    let connected: bool = sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM incidents i
             JOIN assets a ON a.id = i.asset_id
             JOIN lineage_nodes n ON n.tenant_id = a.tenant_id AND n.kind = 'dataset'
                                 AND n.namespace = a.source_name AND n.name = a.schema_name || '.' || a.name
             JOIN lineage_nodes c ON c.id = n.id OR c.dataset_id = n.id
             WHERE i.id = ANY($1)
               AND (EXISTS (SELECT 1 FROM lineage_edges e WHERE e.tenant_id = c.tenant_id
                                AND e.target_id = c.id AND e.valid_to IS NULL)
                    OR EXISTS (SELECT 1 FROM lineage_edges e WHERE e.tenant_id = c.tenant_id
                                   AND e.source_id = c.id AND e.valid_to IS NULL)))",
    )
    .bind(touched)
    .fetch_one(&mut *connection)
    .await?;
    if !connected {
        return Ok(grouped);
    }
    let active: Vec<Active> = sqlx::query_as(
        "SELECT id, tenant_id, asset_id, severity,
                (id = ANY($3) AND (parent_id IS NULL OR parent_id IN (SELECT p.id FROM incidents p
                                   WHERE p.tenant_id = incidents.tenant_id AND p.rule_key LIKE 'schema:%'))) AS new
         FROM incidents
         WHERE tenant_id = ANY($1) AND status IN ('open', 'acknowledged', 'snoozed') AND source_kind <> 'upstream'
           AND asset_id IS NOT NULL AND opened_at > now() - make_interval(hours => $2)",
    )
    .bind(tenants)
    .bind(GROUP_WINDOW_HOURS)
    .bind(touched)
    .fetch_all(&mut *connection)
    .await?;
    if active.len() < 2 || !active.iter().any(|a| a.new) {
        return Ok(grouped);
    }
    let assets: Vec<Uuid> = active
        .iter()
        .map(|a| a.asset_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let upstream: Vec<Upstream> = sqlx::query_as(
        "WITH RECURSIVE start AS (
             SELECT a.id AS asset_id, n.id AS node
             FROM assets a
             JOIN lineage_nodes n ON n.tenant_id = a.tenant_id AND n.kind = 'dataset'
                                 AND n.namespace = a.source_name AND n.name = a.schema_name || '.' || a.name
             WHERE a.id = ANY($1)
         ), up (asset_id, node, depth) AS (
             SELECT asset_id, node, 0 FROM start
             UNION
             SELECT up.asset_id, coalesce(src.dataset_id, src.id), up.depth + 1
             FROM up
             JOIN lineage_nodes tgt ON tgt.id = up.node OR tgt.dataset_id = up.node
             JOIN lineage_edges e ON e.target_id = tgt.id AND e.valid_to IS NULL
             JOIN lineage_nodes src ON src.id = e.source_id
             WHERE up.depth < $2
         )
         SELECT up.asset_id, up.node, min(up.depth) AS depth, n.name,
                (SELECT a.id FROM assets a WHERE a.tenant_id = n.tenant_id AND a.source_name = n.namespace
                   AND a.schema_name || '.' || a.name = n.name LIMIT 1) AS node_asset
         FROM up JOIN lineage_nodes n ON n.id = up.node
         GROUP BY up.asset_id, up.node, n.name, n.tenant_id, n.namespace",
    )
    .bind(&assets)
    .bind(LINEAGE_DEPTH)
    .fetch_all(&mut *connection)
    .await?;
    let mut by_asset: BTreeMap<Uuid, Vec<&Upstream>> = BTreeMap::new();
    for row in &upstream {
        by_asset.entry(row.asset_id).or_default().push(row);
    }
    // For each new incident, the nearest dataset it shares with each other active incident.
    // (tenant, shared dataset) → (its name, its asset, the incidents sharing it)
    type Groups = BTreeMap<(String, Uuid), (String, Option<Uuid>, BTreeSet<Uuid>)>;
    let mut groups = Groups::new();
    for new in active.iter().filter(|a| a.new) {
        let Some(mine) = by_asset.get(&new.asset_id) else {
            continue;
        };
        for other in active
            .iter()
            .filter(|o| o.asset_id != new.asset_id && o.tenant_id == new.tenant_id)
        {
            let Some(theirs) = by_asset.get(&other.asset_id) else {
                continue;
            };
            let shared = mine
                .iter()
                .filter_map(|m| {
                    theirs
                        .iter()
                        .find(|t| t.node == m.node)
                        .map(|t| (m.depth + t.depth, *m))
                })
                .min_by_key(|(distance, m)| (*distance, m.name.clone()));
            if let Some((_, root)) = shared {
                let group = groups
                    .entry((new.tenant_id.clone(), root.node))
                    .or_insert_with(|| (root.name.clone(), root.node_asset, BTreeSet::new()));
                group.2.insert(new.id);
                group.2.insert(other.id);
            }
        }
    }

    for ((tenant, node), (name, node_asset, members)) in groups {
        let rule = format!("root:{node}");
        let severity = members
            .iter()
            .filter_map(|id| active.iter().find(|a| a.id == *id))
            .filter_map(|a| Severity::parse(&a.severity))
            .max()
            .unwrap_or(Severity::Medium);
        let existing: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM incidents WHERE tenant_id = $1 AND rule_key = $2
               AND status IN ('open', 'acknowledged', 'snoozed')",
        )
        .bind(&tenant)
        .bind(&rule)
        .fetch_optional(&mut *connection)
        .await?;
        let parent = match existing {
            Some(parent) => parent,
            None => {
                let parent = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO incidents (id, tenant_id, asset_id, source_kind, severity, status, title, began_at,
                                            opened_at, rule_key, details)
                     SELECT $1, $2, $3, 'upstream', $4, 'open', $5, min(began_at), now(), $6,
                            jsonb_build_object('root', $7::text, 'root_node', $8::uuid)
                     FROM incidents WHERE id = ANY($9)",
                )
                .bind(parent)
                .bind(&tenant)
                .bind(node_asset)
                .bind(severity.as_str())
                .bind(format!("shared upstream cause: {name}"))
                .bind(&rule)
                .bind(&name)
                .bind(node)
                .bind(members.iter().copied().collect::<Vec<_>>())
                .execute(&mut *connection)
                .await?;
                grouped
                    .opened
                    .push((tenant.clone(), parent, severity, node_asset));
                parent
            }
        };
        // A shared upstream table explains incidents better than a shared schema: they leave a
        // schema group for it.
        let moved: Vec<(String, Option<Uuid>)> = sqlx::query_as(
            "UPDATE incidents i SET parent_id = $1, updated_at = now()
             FROM assets a
             WHERE i.id = ANY($2) AND a.id = i.asset_id
               AND (i.parent_id IS NULL OR EXISTS (SELECT 1 FROM incidents p WHERE p.id = i.parent_id
                                                   AND p.rule_key LIKE 'schema:%'))
             RETURNING a.schema_name || '.' || a.name,
                       (SELECT o.parent_id FROM incidents o WHERE o.id = i.id)",
        )
        .bind(parent)
        .bind(members.iter().copied().collect::<Vec<_>>())
        .fetch_all(&mut *connection)
        .await?;
        let left: Vec<Uuid> = moved.iter().filter_map(|(_, from)| *from).collect();
        if !left.is_empty() {
            let emptied = resolve_empty_parents(
                connection,
                &left,
                &format!("resolved: its incidents went under the shared upstream cause {name}"),
            )
            .await?;
            grouped.resolved.extend(emptied);
        }
        let joined: Vec<String> = moved.into_iter().map(|(name, _)| name).collect();
        let count: i32 = sqlx::query_scalar(
            "UPDATE incidents p SET alert_count = (SELECT count(*) FROM incidents c WHERE c.parent_id = p.id),
                    updated_at = now()
             WHERE p.id = $1 RETURNING alert_count",
        )
        .bind(parent)
        .fetch_one(&mut *connection)
        .await?;
        if !joined.is_empty() {
            insert_timeline(
                connection,
                &[(
                    tenant.clone(),
                    parent,
                    "grouped",
                    format!(
                        "{} read {name}: grouped under this incident ({count} in all)",
                        joined.join(", ")
                    ),
                )],
            )
            .await?;
        }
    }
    Ok(grouped)
}

/// Incidents on different tables of one schema opened within this long of each other, with no
/// shared upstream table to explain them, group under a parent naming the schema (a load that
/// broke a whole schema at once).
pub const SCHEMA_GROUP_WINDOW_MINUTES: i32 = 60;

/// Groups the incidents the batch touched that no lineage root took with the other active,
/// ungrouped incidents of their schema (same source and schema, another table) opened within
/// [`SCHEMA_GROUP_WINDOW_MINUTES`]: one parent per schema (rule `schema:<source>/<schema>`),
/// joined by later ones while it is active. Returns the parents opened.
pub(crate) async fn group_by_schema(
    connection: &mut sqlx::PgConnection,
    touched: &[Uuid],
) -> StoreResult<Vec<(String, Uuid, Severity, Option<Uuid>)>> {
    #[derive(sqlx::FromRow)]
    struct Peer {
        id: Uuid,
        tenant_id: String,
        source_name: String,
        schema_name: String,
        table_name: String,
        severity: String,
    }
    let peers: Vec<Peer> = sqlx::query_as(
        "WITH mine AS (
             SELECT DISTINCT i.tenant_id, a.source_name, a.schema_name
             FROM incidents i JOIN assets a ON a.id = i.asset_id
             WHERE i.id = ANY($1) AND i.parent_id IS NULL AND i.source_kind <> 'upstream'
               AND i.status IN ('open', 'acknowledged', 'snoozed')
         )
         SELECT i.id, i.tenant_id, m.source_name, m.schema_name, a.name AS table_name, i.severity
         FROM mine m
         JOIN assets a ON a.tenant_id = m.tenant_id AND a.source_name = m.source_name AND a.schema_name = m.schema_name
         JOIN incidents i ON i.tenant_id = a.tenant_id AND i.asset_id = a.id
         WHERE i.parent_id IS NULL AND i.source_kind <> 'upstream' AND i.status IN ('open', 'acknowledged', 'snoozed')
           AND i.opened_at > now() - make_interval(mins => $2)
         ORDER BY a.name, i.id",
    )
    .bind(touched)
    .bind(SCHEMA_GROUP_WINDOW_MINUTES)
    .fetch_all(&mut *connection)
    .await?;
    type Group<'a> = BTreeMap<(String, String, String), Vec<&'a Peer>>;
    let mut groups: Group = BTreeMap::new();
    for peer in &peers {
        groups
            .entry((
                peer.tenant_id.clone(),
                peer.source_name.clone(),
                peer.schema_name.clone(),
            ))
            .or_default()
            .push(peer);
    }
    let mut opened = Vec::new();
    for ((tenant, source, schema), members) in groups {
        let rule = format!("schema:{source}/{schema}");
        let existing: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM incidents WHERE tenant_id = $1 AND rule_key = $2
               AND status IN ('open', 'acknowledged', 'snoozed')",
        )
        .bind(&tenant)
        .bind(&rule)
        .fetch_optional(&mut *connection)
        .await?;
        let tables: BTreeSet<&str> = members.iter().map(|m| m.table_name.as_str()).collect();
        if existing.is_none() && tables.len() < 2 {
            continue;
        }
        let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
        let parent = match existing {
            Some(parent) => parent,
            None => {
                let severity = members
                    .iter()
                    .filter_map(|m| Severity::parse(&m.severity))
                    .max()
                    .unwrap_or(Severity::Medium);
                let parent = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO incidents (id, tenant_id, asset_id, source_kind, severity, status, title, began_at,
                                            opened_at, rule_key, details)
                     SELECT $1, $2, NULL, 'upstream', $3, 'open', $4, min(began_at), now(), $5,
                            jsonb_build_object('schema', $6::text, 'source', $7::text)
                     FROM incidents WHERE id = ANY($8)",
                )
                .bind(parent)
                .bind(&tenant)
                .bind(severity.as_str())
                .bind(format!(
                    "shared schema: {schema} in {source} ({} tables failing within {SCHEMA_GROUP_WINDOW_MINUTES} min)",
                    tables.len()
                ))
                .bind(&rule)
                .bind(&schema)
                .bind(&source)
                .bind(&ids)
                .execute(&mut *connection)
                .await?;
                opened.push((tenant.clone(), parent, severity, None));
                parent
            }
        };
        let joined: Vec<String> = sqlx::query_scalar(
            "UPDATE incidents i SET parent_id = $1, updated_at = now()
             FROM assets a
             WHERE i.id = ANY($2) AND i.parent_id IS NULL AND a.id = i.asset_id
             RETURNING a.schema_name || '.' || a.name",
        )
        .bind(parent)
        .bind(&ids)
        .fetch_all(&mut *connection)
        .await?;
        let count: i32 = sqlx::query_scalar(
            "UPDATE incidents p SET alert_count = (SELECT count(*) FROM incidents c WHERE c.parent_id = p.id),
                    updated_at = now()
             WHERE p.id = $1 RETURNING alert_count",
        )
        .bind(parent)
        .fetch_one(&mut *connection)
        .await?;
        if !joined.is_empty() {
            let joined: BTreeSet<String> = joined.into_iter().collect();
            insert_timeline(
                connection,
                &[(
                    tenant.clone(),
                    parent,
                    "grouped",
                    format!(
                        "{} failing in the same schema at once, with no shared upstream table known: grouped under this incident ({count} in all)",
                        joined.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                )],
            )
            .await?;
        }
    }
    Ok(opened)
}

/// Resolves the parents of `children` once none of their incidents is active any more.
pub(crate) async fn resolve_finished_parents(
    connection: &mut sqlx::PgConnection,
    children: &[Uuid],
) -> StoreResult<Vec<(String, Uuid, String, Option<Uuid>)>> {
    if children.is_empty() {
        return Ok(Vec::new());
    }
    let parents: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT parent_id FROM incidents WHERE id = ANY($1) AND parent_id IS NOT NULL",
    )
    .bind(children)
    .fetch_all(&mut *connection)
    .await?;
    resolve_empty_parents(connection, &parents, "resolved: every incident under it ended").await
}

/// Resolves those of `parents` that are active and have no active incident under them any more,
/// with `resolution` on each and its timeline; returns them `(tenant, id, severity, asset)`.
async fn resolve_empty_parents(
    connection: &mut sqlx::PgConnection,
    parents: &[Uuid],
    resolution: &str,
) -> StoreResult<Vec<(String, Uuid, String, Option<Uuid>)>> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let done: Vec<(String, Uuid, String, Option<Uuid>)> = sqlx::query_as(
        "UPDATE incidents p SET status = 'resolved', resolved_at = now(), updated_at = now(), resolution = $2
         WHERE p.id = ANY($1) AND p.status IN ('open', 'acknowledged', 'snoozed')
           AND NOT EXISTS (SELECT 1 FROM incidents c WHERE c.parent_id = p.id
                           AND c.status IN ('open', 'acknowledged', 'snoozed'))
         RETURNING p.tenant_id, p.id, p.severity, p.asset_id",
    )
    .bind(parents)
    .bind(resolution)
    .fetch_all(&mut *connection)
    .await?;
    let timeline: Vec<(String, Uuid, &'static str, String)> = done
        .iter()
        .map(|(tenant, id, _, _)| (tenant.clone(), *id, "resolved", resolution.to_owned()))
        .collect();
    insert_timeline(connection, &timeline).await?;
    Ok(done)
}

impl TenantStore {
    /// The alerts observed in `[from, to)`, for a backtest.
    pub async fn backtest_alerts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<crate::incidents::backtest::StoredAlert>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(
            "SELECT al.id, al.asset_id, al.rule_key, al.kind, al.firing, al.severity, al.observed_at, al.incident_id,
                    CASE WHEN al.kind = 'score_drop' AND al.firing
                         THEN (al.details->>'previous')::float8 - (al.details->>'score')::float8 END AS drop_points,
                    coalesce(al.details->>'dimension', CASE WHEN al.kind = 'score_drop' THEN 'score' END) AS dimension,
                    a.schema_name || '.' || a.name AS asset, a.schema_name AS schema, a.source_name AS source
             FROM alerts al LEFT JOIN assets a ON a.id = al.asset_id
             WHERE al.tenant_id = $1 AND al.observed_at >= $2 AND al.observed_at < $3
             ORDER BY al.observed_at, al.id LIMIT 1000000",
        )
        .bind(self.tenant_id().as_str())
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The incidents opened from alerts in `[from, to)` (not the parents that group them).
    pub async fn past_incidents(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<crate::incidents::backtest::PastIncident>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(
            "SELECT i.id, i.title, i.severity, a.schema_name || '.' || a.name AS asset, i.opened_at
             FROM incidents i LEFT JOIN assets a ON a.id = i.asset_id
             WHERE i.tenant_id = $1 AND i.rule_key <> '' AND i.source_kind <> 'upstream'
               AND i.began_at >= $2 AND i.began_at < $3
             ORDER BY i.began_at, i.id",
        )
        .bind(self.tenant_id().as_str())
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }
}
