//! Routing policy (ownership, routing rules), escalation and digests: the API's reads and writes
//! through [`TenantStore`], and the engine's and upkeep's work on the owner pool.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::handles::TenantStore;
use super::incidents::{enqueue_deliveries, insert_timeline};
use super::{Store, StoreResult};
use crate::incidents::Severity;
use crate::incidents::routing::{ChannelRef, EscalationStep, Ownership, Policy, Rule, Tier};
use crate::incidents::rules::{Attributes, parse};

/// A routing rule as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleRow {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub expression: String,
    pub channel_ids: Vec<Uuid>,
    pub to_owners: bool,
    pub suppress_minutes: i32,
    pub escalation: sqlx::types::Json<Vec<Tier>>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// An ownership entry as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnershipRow {
    pub id: Uuid,
    pub scope: String,
    pub target: String,
    pub owners: Vec<String>,
    pub subscribers: Vec<String>,
    pub channel_ids: Vec<Uuid>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// A digest as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DigestRow {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub cadence: String,
    pub hour: i16,
    pub weekday: i16,
    pub timezone: String,
    pub min_severity: String,
    pub last_period_end: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

const RULE_COLUMNS: &str =
    "id, name, position, expression, channel_ids, to_owners, suppress_minutes, escalation,
    enabled, created_at, updated_at, updated_by";
const OWNERSHIP_COLUMNS: &str = "id, scope, target, owners, subscribers, channel_ids, updated_at, updated_by";
const DIGEST_COLUMNS: &str =
    "id, channel_id, cadence, hour, weekday, timezone, min_severity, last_period_end, created_at, created_by";

impl RuleRow {
    /// The rule for routing; `None` when its stored expression no longer parses (it was checked
    /// when written, so only a grammar change could do that).
    pub fn to_rule(&self) -> Option<Rule> {
        Some(Rule {
            id: self.id,
            name: self.name.clone(),
            expression: self.expression.clone(),
            parsed: parse(&self.expression).ok()?,
            channel_ids: self.channel_ids.clone(),
            to_owners: self.to_owners,
            suppress_minutes: u32::try_from(self.suppress_minutes).unwrap_or(0),
            escalation: self.escalation.0.clone(),
        })
    }
}

impl From<OwnershipRow> for Ownership {
    fn from(row: OwnershipRow) -> Self {
        Ownership {
            id: row.id,
            scope: row.scope,
            target: row.target,
            owners: row.owners,
            subscribers: row.subscribers,
            channel_ids: row.channel_ids,
        }
    }
}

/// A rule to write.
pub struct RuleInput<'a> {
    pub name: &'a str,
    pub position: i32,
    pub expression: &'a str,
    pub channel_ids: &'a [Uuid],
    pub to_owners: bool,
    pub suppress_minutes: i32,
    pub escalation: &'a [Tier],
    pub enabled: bool,
    pub by: &'a str,
}

/// The policy tables a row may be deleted from by id.
#[derive(Clone, Copy)]
enum PolicyTable {
    Rules,
    Ownerships,
    Digests,
}

impl TenantStore {
    /// Deletes the tenant's row `id` of `table`; whether there was one.
    async fn delete_policy_row(&self, table: PolicyTable, id: Uuid) -> StoreResult<bool> {
        let sql = match table {
            PolicyTable::Rules => "DELETE FROM routing_rules WHERE tenant_id = $1 AND id = $2",
            PolicyTable::Ownerships => "DELETE FROM ownerships WHERE tenant_id = $1 AND id = $2",
            PolicyTable::Digests => "DELETE FROM digests WHERE tenant_id = $1 AND id = $2",
        };
        let mut tx = self.begin().await?;
        let done = sqlx::query(sql)
            .bind(self.tenant_id().as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(done > 0)
    }

    pub async fn list_routing_rules(&self) -> StoreResult<Vec<RuleRow>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM routing_rules WHERE tenant_id = $1 ORDER BY position, name"
        )))
        .bind(self.tenant_id().as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Inserts (`id` None) or replaces a rule; `None` when the rule to replace does not exist.
    pub async fn write_routing_rule(
        &self,
        id: Option<Uuid>,
        rule: &RuleInput<'_>,
    ) -> StoreResult<Option<RuleRow>> {
        let mut tx = self.begin().await?;
        let sql = if id.is_some() {
            format!(
                "UPDATE routing_rules SET name = $3, position = $4, expression = $5, channel_ids = $6, to_owners = $7,
                        suppress_minutes = $8, escalation = $9, enabled = $10, updated_by = $11, updated_at = now()
                 WHERE tenant_id = $1 AND id = $2 RETURNING {RULE_COLUMNS}"
            )
        } else {
            format!(
                "INSERT INTO routing_rules (tenant_id, id, name, position, expression, channel_ids, to_owners,
                        suppress_minutes, escalation, enabled, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {RULE_COLUMNS}"
            )
        };
        let row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(self.tenant_id().as_str())
            .bind(id.unwrap_or_else(Uuid::now_v7))
            .bind(rule.name)
            .bind(rule.position)
            .bind(rule.expression)
            .bind(rule.channel_ids)
            .bind(rule.to_owners)
            .bind(rule.suppress_minutes)
            .bind(sqlx::types::Json(rule.escalation))
            .bind(rule.enabled)
            .bind(rule.by)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn delete_routing_rule(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_policy_row(PolicyTable::Rules, id).await
    }

    pub async fn list_ownerships(&self) -> StoreResult<Vec<OwnershipRow>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {OWNERSHIP_COLUMNS} FROM ownerships WHERE tenant_id = $1
             ORDER BY array_position(ARRAY['asset', 'tag', 'source', 'tenant'], scope), target"
        )))
        .bind(self.tenant_id().as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Sets the owners, subscribers and channels of `(scope, target)`, replacing what it had.
    pub async fn put_ownership(
        &self,
        scope: &str,
        target: &str,
        owners: &[String],
        subscribers: &[String],
        channel_ids: &[Uuid],
        by: &str,
    ) -> StoreResult<OwnershipRow> {
        let mut tx = self.begin().await?;
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO ownerships (id, tenant_id, scope, target, owners, subscribers, channel_ids, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (tenant_id, scope, target) DO UPDATE
                SET owners = EXCLUDED.owners, subscribers = EXCLUDED.subscribers,
                    channel_ids = EXCLUDED.channel_ids, updated_by = EXCLUDED.updated_by, updated_at = now()
             RETURNING {OWNERSHIP_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(self.tenant_id().as_str())
        .bind(scope)
        .bind(target)
        .bind(owners)
        .bind(subscribers)
        .bind(channel_ids)
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn delete_ownership(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_policy_row(PolicyTable::Ownerships, id).await
    }

    /// The ids among `ids` that are not channels of the tenant.
    pub async fn unknown_channels(&self, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        let mut tx = self.begin().await?;
        let unknown: Vec<Uuid> = sqlx::query_scalar(
            "SELECT x FROM UNNEST($2::uuid[]) AS x
             WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.tenant_id = $1 AND c.id = x)",
        )
        .bind(self.tenant_id().as_str())
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(unknown)
    }

    /// The tenant's routing policy and an incident's attributes, to explain where it goes.
    pub async fn routing_of(&self, incident: Uuid) -> StoreResult<Option<(Policy, Attributes)>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id().as_str().to_owned();
        let mut policies = load_policies(&mut tx, std::slice::from_ref(&tenant)).await?;
        let mut attributes = incident_attributes(&mut tx, &[incident]).await?;
        tx.commit().await?;
        Ok(attributes
            .remove(&incident)
            .map(|a| (policies.remove(&tenant).unwrap_or_default(), a)))
    }

    pub async fn list_digests(&self) -> StoreResult<Vec<DigestRow>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {DIGEST_COLUMNS} FROM digests WHERE tenant_id = $1 ORDER BY created_at"
        )))
        .bind(self.tenant_id().as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_digest(
        &self,
        channel: Uuid,
        cadence: &str,
        hour: i16,
        weekday: i16,
        timezone: &str,
        min_severity: &str,
        by: &str,
    ) -> StoreResult<DigestRow> {
        let mut tx = self.begin().await?;
        // The first period starts now: a new digest does not report what came before it.
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO digests (id, tenant_id, channel_id, cadence, hour, weekday, timezone, min_severity,
                                  last_period_end, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9) RETURNING {DIGEST_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(self.tenant_id().as_str())
        .bind(channel)
        .bind(cadence)
        .bind(hour)
        .bind(weekday)
        .bind(timezone)
        .bind(min_severity)
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn delete_digest(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_policy_row(PolicyTable::Digests, id).await
    }

    /// What a digest of `[from, to)` reports: incidents opened or resolved in it, and those still
    /// open, at `min_severity` or above, most severe first.
    pub async fn digest_incidents(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        min_severity: Severity,
    ) -> StoreResult<Vec<DigestIncident>> {
        let mut tx = self.begin().await?;
        let severities: Vec<&str> = ["critical", "high", "medium", "low"]
            .into_iter()
            .filter(|s| Severity::parse(s).is_some_and(|s| s >= min_severity))
            .collect();
        let rows = sqlx::query_as(
            "SELECT i.id, i.title, i.severity, i.status, i.opened_at, i.resolved_at, i.alert_count,
                    CASE WHEN a.id IS NULL THEN NULL ELSE a.schema_name || '.' || a.name END AS asset
             FROM incidents i LEFT JOIN assets a ON a.id = i.asset_id
             WHERE i.tenant_id = $1 AND i.severity = ANY($4) AND i.parent_id IS NULL
               AND ((i.opened_at >= $2 AND i.opened_at < $3) OR (i.resolved_at >= $2 AND i.resolved_at < $3)
                    OR (i.status IN ('open', 'acknowledged', 'snoozed') AND i.opened_at < $3))
             ORDER BY array_position(ARRAY['critical', 'high', 'medium', 'low'], i.severity), i.opened_at DESC
             LIMIT 200",
        )
        .bind(self.tenant_id().as_str())
        .bind(from)
        .bind(to)
        .bind(&severities)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }
}

/// One incident in a digest.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DigestIncident {
    pub id: Uuid,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub alert_count: i32,
    pub asset: Option<String>,
}

/// The routing policy of each of `tenants`: channels, enabled rules in order, ownership.
pub(crate) async fn load_policies(
    connection: &mut sqlx::PgConnection,
    tenants: &[String],
) -> StoreResult<BTreeMap<String, Policy>> {
    let mut policies: BTreeMap<String, Policy> = BTreeMap::new();
    if tenants.is_empty() {
        return Ok(policies);
    }
    let channels: Vec<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, tenant_id, name FROM channels WHERE tenant_id = ANY($1) ORDER BY name")
            .bind(tenants)
            .fetch_all(&mut *connection)
            .await?;
    for (id, tenant, name) in channels {
        policies
            .entry(tenant)
            .or_default()
            .channels
            .push(ChannelRef { id, name });
    }
    let rules: Vec<(String, RuleRow)> = sqlx::query_as::<_, RuleWithTenant>(sqlx::AssertSqlSafe(format!(
        "SELECT tenant_id, {RULE_COLUMNS} FROM routing_rules WHERE tenant_id = ANY($1) AND enabled
         ORDER BY tenant_id, position, name"
    )))
    .bind(tenants)
    .fetch_all(&mut *connection)
    .await?
    .into_iter()
    .map(|r| (r.tenant_id, r.rule))
    .collect();
    for (tenant, row) in rules {
        if let Some(rule) = row.to_rule() {
            policies.entry(tenant).or_default().rules.push(rule);
        }
    }
    let ownerships: Vec<(String, OwnershipRow)> =
        sqlx::query_as::<_, OwnershipWithTenant>(sqlx::AssertSqlSafe(format!(
            "SELECT tenant_id, {OWNERSHIP_COLUMNS} FROM ownerships WHERE tenant_id = ANY($1)"
        )))
        .bind(tenants)
        .fetch_all(&mut *connection)
        .await?
        .into_iter()
        .map(|r| (r.tenant_id, r.ownership))
        .collect();
    for (tenant, row) in ownerships {
        policies.entry(tenant).or_default().ownerships.push(row.into());
    }
    Ok(policies)
}

#[derive(sqlx::FromRow)]
struct RuleWithTenant {
    tenant_id: String,
    #[sqlx(flatten)]
    rule: RuleRow,
}

#[derive(sqlx::FromRow)]
struct OwnershipWithTenant {
    tenant_id: String,
    #[sqlx(flatten)]
    ownership: OwnershipRow,
}

/// How far back the check results that lend an asset its tags and owners are read.
const TAG_HORIZON_DAYS: i32 = 7;

/// What rules see of each incident: severity, kind, dimension, its asset's source, schema,
/// qualified name, and the tags and owners of the checks that ran on it lately.
pub(crate) async fn incident_attributes(
    connection: &mut sqlx::PgConnection,
    incidents: &[Uuid],
) -> StoreResult<HashMap<Uuid, Attributes>> {
    type Row = (
        Uuid,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Vec<String>,
        Vec<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT i.id, i.severity, i.source_kind,
                coalesce(i.details->>'dimension', CASE WHEN i.source_kind = 'score_drop' THEN 'score' END),
                a.source_name, a.schema_name, a.schema_name || '.' || a.name,
                coalesce(c.tags, '{}'), coalesce(c.owners, '{}')
         FROM incidents i
         LEFT JOIN assets a ON a.id = i.asset_id
         LEFT JOIN LATERAL (
             SELECT array_agg(DISTINCT t.tag) FILTER (WHERE t.tag IS NOT NULL) AS tags,
                    array_agg(DISTINCT r.owner) FILTER (WHERE r.owner <> '') AS owners
             FROM check_results r LEFT JOIN LATERAL unnest(r.tags) AS t (tag) ON true
             WHERE r.tenant_id = i.tenant_id AND r.asset_id = i.asset_id
               AND r.observed_at > now() - make_interval(days => $2)
         ) c ON i.asset_id IS NOT NULL
         WHERE i.id = ANY($1)",
    )
    .bind(incidents)
    .bind(TAG_HORIZON_DAYS)
    .fetch_all(&mut *connection)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, severity, kind, dimension, source, schema, asset, tags, owners)| {
                (
                    id,
                    Attributes {
                        severity: Severity::parse(&severity),
                        kind,
                        dimensions: dimension.into_iter().collect(),
                        tags,
                        source,
                        schema,
                        asset,
                        owners,
                    },
                )
            },
        )
        .collect())
}

/// Which of `routes` `(incident, rule, minutes)` are suppressed: the same rule notified of
/// another incident on the same asset and rule within its interval. Returns their indexes and
/// how long ago it notified.
pub(crate) async fn suppressed_routes(
    connection: &mut sqlx::PgConnection,
    routes: &[(Uuid, Uuid, i32)],
) -> StoreResult<Vec<(i32, f64)>> {
    if routes.is_empty() {
        return Ok(Vec::new());
    }
    let indexes: Vec<i32> = (0..routes.len())
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    let found: Vec<(i32, f64)> = sqlx::query_as(
        "SELECT x.k, extract(epoch FROM now() - max(n.created_at))::float8 / 60
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int[], $4::int[]) AS x (incident, rule, minutes, k)
         JOIN incidents me ON me.id = x.incident
         JOIN incidents other ON other.tenant_id = me.tenant_id AND other.rule_key = me.rule_key
              AND other.asset_id IS NOT DISTINCT FROM me.asset_id AND other.id <> me.id
         JOIN notifications n ON n.incident_id = other.id AND n.rule_id = x.rule AND n.event = 'opened'
              AND n.tier = 0 AND n.created_at > now() - make_interval(mins => x.minutes)
         GROUP BY x.k",
    )
    .bind(routes.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(routes.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind(routes.iter().map(|r| r.2).collect::<Vec<_>>())
    .bind(&indexes)
    .fetch_all(&mut *connection)
    .await?;
    Ok(found)
}

/// Stores each incident's owner (in its details) and escalation steps as routed.
pub(crate) async fn record_routing(
    connection: &mut sqlx::PgConnection,
    routed: &[(Uuid, Option<serde_json::Value>, Vec<EscalationStep>)],
) -> StoreResult<()> {
    let rows: Vec<&(Uuid, Option<serde_json::Value>, Vec<EscalationStep>)> = routed
        .iter()
        .filter(|(_, owner, steps)| owner.is_some() || !steps.is_empty())
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE incidents i
         SET details = CASE WHEN x.owner IS NULL THEN i.details ELSE i.details || jsonb_build_object('owner', x.owner) END,
             escalation = CASE WHEN x.steps = '[]'::jsonb THEN i.escalation ELSE x.steps END
         FROM UNNEST($1::uuid[], $2::jsonb[], $3::jsonb[]) AS x (id, owner, steps)
         WHERE i.id = x.id",
    )
    .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| serde_json::to_value(&r.2).unwrap_or_default())
            .collect::<Vec<_>>(),
    )
    .execute(connection)
    .await?;
    Ok(())
}

impl Store {
    /// Re-notifies the next tiers of open incidents nobody acknowledged in time: one `escalated`
    /// notification per incident, channel and tier (the unique key makes two replicas' upkeep
    /// queue it once). Returns how many it queued.
    pub async fn escalate_unacknowledged(&self) -> StoreResult<usize> {
        let mut tx = self.pool.begin().await?;
        let due: Vec<(Uuid, String, Uuid, i16, i64, String)> = sqlx::query_as(
            "SELECT i.id, i.tenant_id, c.id, (s->>'tier')::smallint, (s->>'after_minutes')::bigint, s->>'rule'
             FROM incidents i
             CROSS JOIN LATERAL jsonb_array_elements(i.escalation) AS s
             CROSS JOIN LATERAL jsonb_array_elements_text(s->'channel_ids') AS ch (id)
             JOIN channels c ON c.id = ch.id::uuid AND c.tenant_id = i.tenant_id
             WHERE i.status = 'open' AND i.escalation <> '[]'
               AND i.opened_at + make_interval(mins => (s->>'after_minutes')::int) <= now()
               AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.incident_id = i.id AND n.channel_id = c.id
                               AND n.event = 'escalated' AND n.tier = (s->>'tier')::smallint)",
        )
        .fetch_all(&mut *tx)
        .await?;
        if due.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let queued: Vec<(Uuid, String)> = sqlx::query_as(
            "INSERT INTO notifications (id, tenant_id, incident_id, channel_id, event, tier, routed_by, event_at)
             SELECT gen_random_uuid(), t, i, c, 'escalated', tier, why, now()
             FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::smallint[], $5::text[]) AS x (i, t, c, tier, why)
             ON CONFLICT (incident_id, channel_id, event, tier) DO NOTHING
             RETURNING id, tenant_id",
        )
        .bind(due.iter().map(|d| d.0).collect::<Vec<_>>())
        .bind(due.iter().map(|d| d.1.clone()).collect::<Vec<_>>())
        .bind(due.iter().map(|d| d.2).collect::<Vec<_>>())
        .bind(due.iter().map(|d| d.3).collect::<Vec<_>>())
        .bind(
            due.iter()
                .map(|d| {
                    format!(
                        "escalation tier {} of rule \"{}\": not acknowledged within {} min",
                        d.3, d.5, d.4
                    )
                })
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut steps: BTreeMap<(Uuid, i16), (String, i64)> = BTreeMap::new();
        for (incident, tenant, _, tier, after, _) in &due {
            steps.insert((*incident, *tier), (tenant.clone(), *after));
        }
        let timeline: Vec<(String, Uuid, &'static str, String)> = steps
            .into_iter()
            .map(|((incident, tier), (tenant, after))| {
                (
                    tenant,
                    incident,
                    "escalated",
                    format!("escalated to tier {tier}: nobody acknowledged it within {after} min"),
                )
            })
            .collect();
        insert_timeline(&mut tx, &timeline).await?;
        enqueue_deliveries(&mut tx, &queued).await?;
        tx.commit().await?;
        Ok(queued.len())
    }

    /// Claims every digest whose period ended (by its cadence, hour and time zone) and queues its
    /// delivery job; one UPDATE claims it, so two replicas queue a period once.
    pub async fn queue_due_digests(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let mut tx = self.pool.begin().await?;
        type Due = (Uuid, String, String, i16, i16, String, Option<DateTime<Utc>>);
        let digests: Vec<Due> = sqlx::query_as(
            "SELECT id, tenant_id, cadence, hour, weekday, timezone, last_period_end FROM digests
             WHERE last_period_end IS NULL OR last_period_end < $1",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut queued = 0;
        for (id, tenant, cadence, hour, weekday, timezone, last) in digests {
            let Some(end) = crate::channels::digest::period_end(&cadence, hour, weekday, &timezone, now)
            else {
                continue;
            };
            if last.is_some_and(|last| last >= end) {
                continue;
            }
            let start = last.unwrap_or(end - crate::channels::digest::period_length(&cadence));
            let claimed = sqlx::query(
                "UPDATE digests SET last_period_end = $2 WHERE id = $1
                 AND (last_period_end IS NULL OR last_period_end < $2)",
            )
            .bind(id)
            .bind(end)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO jobs (id, tenant_id, kind, payload, pending_key, max_attempts)
                 VALUES (gen_random_uuid(), $1, $2, jsonb_build_object('digest', $3::uuid, 'from', $4::timestamptz, 'to', $5::timestamptz),
                         $3::text || '@' || $5::timestamptz::text, $6)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&tenant)
            .bind(crate::channels::digest::DELIVER_DIGEST)
            .bind(id)
            .bind(start)
            .bind(end)
            .bind(super::incidents::DELIVERY_ATTEMPTS)
            .execute(&mut *tx)
            .await?;
            queued += 1;
        }
        tx.commit().await?;
        Ok(queued)
    }
}
