//! The routing policy capability: routing rules, ownership, digests, and "why did this incident
//! go there". Every write is checked here (an expression's mistakes named at their column, channels
//! that exist in the tenant, tiers in range) so the engine only ever routes by valid rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::routing::{EscalationStep, OwnerMatch, RuleVerdict, SCOPES, Tier, decide};
use super::rules::parse;
use crate::error::{ServiceError, ServiceResult};
use crate::store::TenantStore;
use crate::store::routing::{DigestRow, OwnershipRow, RuleInput, RuleRow};

/// The longest suppression interval: a week.
pub const MAX_SUPPRESS_MINUTES: u32 = 10_080;
/// At most this many escalation tiers per rule.
pub const MAX_TIERS: usize = 5;

/// `POST /api/v1/routing-rules`, `PUT /api/v1/routing-rules/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRuleInput {
    /// Unique in the tenant, 1 to 200 characters, e.g. `page finance on-call`.
    pub name: String,
    /// When it holds, e.g. `severity >= high and (tag = finance or source = warehouse)`. Fields:
    /// severity (ordered), kind, dimension, tag, source, schema, asset, owner; operators `=`, `!=`,
    /// `in (…)`, `like` (`*` wildcard), `<`/`<=`/`>`/`>=` for severity; `and`, `or`, `not`,
    /// parentheses. Empty or `true`: every incident.
    #[serde(default)]
    pub expression: String,
    /// The channels it sends to.
    #[serde(default)]
    pub channel_ids: Vec<Uuid>,
    /// Also send to the channels of the incident's owner (asset > tag > source > tenant).
    #[serde(default)]
    pub to_owners: bool,
    /// After it notified of an asset and rule, it stays silent on them this many minutes (0 to
    /// 10,080; default 0): a check that flaps pages once.
    #[serde(default)]
    pub suppress_minutes: u32,
    /// Who hears of an incident nobody acknowledged in time, e.g.
    /// `[{"after_minutes": 15, "channel_ids": ["…"]}]` (at most 5 tiers, 1 to 10,080 minutes).
    #[serde(default)]
    pub escalation: Vec<Tier>,
    /// Rules are evaluated in ascending position, then by name; default 0.
    #[serde(default)]
    pub position: i32,
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingRule {
    pub id: Uuid,
    pub name: String,
    pub expression: String,
    pub channel_ids: Vec<Uuid>,
    pub to_owners: bool,
    pub suppress_minutes: i32,
    pub escalation: Vec<Tier>,
    pub position: i32,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingRuleList {
    pub items: Vec<RoutingRule>,
}

impl From<RuleRow> for RoutingRule {
    fn from(row: RuleRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            expression: row.expression,
            channel_ids: row.channel_ids,
            to_owners: row.to_owners,
            suppress_minutes: row.suppress_minutes,
            escalation: row.escalation.0,
            position: row.position,
            enabled: row.enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
            updated_by: row.updated_by,
        }
    }
}

/// `PUT /api/v1/ownership`: the owners, subscribers and channels of an asset, tag, source or the
/// tenant (replacing what that entry had).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnershipInput {
    /// `asset`, `tag`, `source` or `tenant` (precedence in that order).
    pub scope: String,
    /// The asset's qualified name (`schema.table`), the tag, the source's name; empty or absent for
    /// `tenant`.
    #[serde(default)]
    pub target: String,
    /// The people who own it (names, emails or team handles), e.g. `["team-payments"]`.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Who else follows it.
    #[serde(default)]
    pub subscribers: Vec<String>,
    /// Where its owners want incidents (rules with `to_owners`, and the default route).
    #[serde(default)]
    pub channel_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnershipEntry {
    pub id: Uuid,
    pub scope: String,
    pub target: String,
    pub owners: Vec<String>,
    pub subscribers: Vec<String>,
    pub channel_ids: Vec<Uuid>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnershipList {
    /// Most specific first: assets, tags, sources, the tenant.
    pub items: Vec<OwnershipEntry>,
}

impl From<OwnershipRow> for OwnershipEntry {
    fn from(row: OwnershipRow) -> Self {
        Self {
            id: row.id,
            scope: row.scope,
            target: row.target,
            owners: row.owners,
            subscribers: row.subscribers,
            channel_ids: row.channel_ids,
            updated_at: row.updated_at,
            updated_by: row.updated_by,
        }
    }
}

/// One channel an incident goes to under the current policy, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutedChannel {
    pub channel_id: Uuid,
    pub channel: String,
    pub reason: String,
    /// The rule that routes it (none: the default route).
    pub rule_id: Option<Uuid>,
}

/// `GET /api/v1/incidents/{id}/routing`: where the incident goes under the current policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingExplanation {
    pub incident_id: Uuid,
    /// The winning ownership entry and why (asset > tag > source > tenant); null when none matches.
    pub owner: Option<OwnerMatch>,
    /// Every enabled rule in order, and whether it held (empty: no rule, the default route).
    pub rules: Vec<RuleVerdict>,
    pub routes: Vec<RoutedChannel>,
    pub escalation: Vec<EscalationStep>,
    /// One sentence: which part of the policy decided.
    pub summary: String,
}

/// `POST /api/v1/digests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestInput {
    /// A webhook, Slack, Teams or email channel (an email channel to one person is their digest).
    pub channel_id: Uuid,
    /// `daily` or `weekly`.
    pub cadence: String,
    /// The local hour it goes out at, 0 to 23; default 8.
    #[serde(default = "eight")]
    pub hour: i16,
    /// For weekly digests: 1 Monday … 7 Sunday; default 1.
    #[serde(default = "monday")]
    pub weekday: i16,
    /// An IANA time zone; default `UTC`.
    #[serde(default = "utc")]
    pub timezone: String,
    /// The least severe incidents it lists; default `low` (all).
    #[serde(default = "low")]
    pub min_severity: String,
}

fn eight() -> i16 {
    8
}
fn monday() -> i16 {
    1
}
fn utc() -> String {
    "UTC".into()
}
fn low() -> String {
    "low".into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Digest {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub cadence: String,
    pub hour: i16,
    pub weekday: i16,
    pub timezone: String,
    pub min_severity: String,
    /// The end of the last period sent (at creation: then, so the first digest covers what follows).
    pub last_period_end: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DigestList {
    pub items: Vec<Digest>,
}

impl From<DigestRow> for Digest {
    fn from(row: DigestRow) -> Self {
        Self {
            id: row.id,
            channel_id: row.channel_id,
            cadence: row.cadence,
            hour: row.hour,
            weekday: row.weekday,
            timezone: row.timezone,
            min_severity: row.min_severity,
            last_period_end: row.last_period_end,
            created_at: row.created_at,
            created_by: row.created_by,
        }
    }
}

async fn check_channels(store: &TenantStore, field: &str, ids: &[Uuid]) -> ServiceResult<()> {
    let unknown = store.unknown_channels(ids).await?;
    if let Some(first) = unknown.first() {
        return Err(ServiceError::bad_field(
            field,
            format!("{field}: {first} is no channel of this tenant (GET /api/v1/channels lists them)"),
        ));
    }
    Ok(())
}

async fn checked_rule(store: &TenantStore, input: &RoutingRuleInput) -> ServiceResult<()> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ServiceError::bad_field("name", "name: 1 to 200 characters"));
    }
    if input.expression.chars().count() > 2000 {
        return Err(ServiceError::bad_field(
            "expression",
            "expression: at most 2000 characters",
        ));
    }
    parse(&input.expression)
        .map_err(|error| ServiceError::bad_field("expression", format!("expression {error}")))?;
    if input.suppress_minutes > MAX_SUPPRESS_MINUTES {
        return Err(ServiceError::bad_field(
            "suppress_minutes",
            format!(
                "suppress_minutes: 0 to {MAX_SUPPRESS_MINUTES} (a week), got {}",
                input.suppress_minutes
            ),
        ));
    }
    if input.escalation.len() > MAX_TIERS {
        return Err(ServiceError::bad_field(
            "escalation",
            format!("escalation: at most {MAX_TIERS} tiers"),
        ));
    }
    for (i, tier) in input.escalation.iter().enumerate() {
        if tier.after_minutes == 0 || tier.after_minutes > MAX_SUPPRESS_MINUTES {
            return Err(ServiceError::bad_field(
                &format!("escalation[{i}].after_minutes"),
                format!(
                    "escalation[{i}].after_minutes: 1 to {MAX_SUPPRESS_MINUTES}, got {}",
                    tier.after_minutes
                ),
            ));
        }
        if tier.channel_ids.is_empty() {
            return Err(ServiceError::bad_field(
                &format!("escalation[{i}].channel_ids"),
                format!("escalation[{i}].channel_ids: name at least one channel to escalate to"),
            ));
        }
        check_channels(store, &format!("escalation[{i}].channel_ids"), &tier.channel_ids).await?;
    }
    if input.channel_ids.is_empty() && !input.to_owners {
        return Err(ServiceError::bad_field(
            "channel_ids",
            "channel_ids: a rule needs at least one channel, or to_owners: true",
        ));
    }
    check_channels(store, "channel_ids", &input.channel_ids).await
}

pub async fn list_rules(store: &TenantStore) -> ServiceResult<RoutingRuleList> {
    Ok(RoutingRuleList {
        items: store
            .list_routing_rules()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    })
}

/// Creates (`id` None) or replaces a rule: 400 naming the field (an expression's mistake at its
/// column), 404 when the rule to replace does not exist, 409 when the name is taken.
pub async fn write_rule(
    store: &TenantStore,
    id: Option<Uuid>,
    input: RoutingRuleInput,
    by: &str,
) -> ServiceResult<RoutingRule> {
    checked_rule(store, &input).await?;
    let row = store
        .write_routing_rule(
            id,
            &RuleInput {
                name: input.name.trim(),
                position: input.position,
                expression: input.expression.trim(),
                channel_ids: &input.channel_ids,
                to_owners: input.to_owners,
                suppress_minutes: i32::try_from(input.suppress_minutes).unwrap_or(0),
                escalation: &input.escalation,
                enabled: input.enabled,
                by,
            },
        )
        .await?;
    row.map(Into::into)
        .ok_or_else(|| ServiceError::not_found("routing rule"))
}

pub async fn delete_rule(store: &TenantStore, id: Uuid) -> ServiceResult<()> {
    if store.delete_routing_rule(id).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("routing rule"))
    }
}

pub async fn list_ownership(store: &TenantStore) -> ServiceResult<OwnershipList> {
    Ok(OwnershipList {
        items: store
            .list_ownerships()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    })
}

fn people(field: &str, list: &[String]) -> ServiceResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, person) in list.iter().enumerate() {
        let person = person.trim();
        if person.is_empty() || person.chars().count() > 200 {
            return Err(ServiceError::bad_field(
                &format!("{field}[{i}]"),
                format!("{field}[{i}]: 1 to 200 characters"),
            ));
        }
        if !out.iter().any(|p| p == person) {
            out.push(person.to_owned());
        }
    }
    if out.len() > 100 {
        return Err(ServiceError::bad_field(field, format!("{field}: at most 100")));
    }
    Ok(out)
}

/// Sets an ownership entry: 400 naming the field when the scope, target or a channel is wrong.
pub async fn put_ownership(
    store: &TenantStore,
    input: OwnershipInput,
    by: &str,
) -> ServiceResult<OwnershipEntry> {
    if !SCOPES.contains(&input.scope.as_str()) {
        return Err(ServiceError::bad_field(
            "scope",
            format!("scope: one of {} (got {:?})", SCOPES.join(", "), input.scope),
        ));
    }
    let target = input.target.trim();
    if input.scope == "tenant" && !target.is_empty() {
        return Err(ServiceError::bad_field(
            "target",
            "target: the tenant scope takes no target",
        ));
    }
    if input.scope != "tenant" && (target.is_empty() || target.chars().count() > 500) {
        return Err(ServiceError::bad_field(
            "target",
            format!(
                "target: the {} it is about, 1 to 500 characters{}",
                input.scope,
                if input.scope == "asset" {
                    " (schema.table)"
                } else {
                    ""
                }
            ),
        ));
    }
    if input.scope == "asset" && !target.contains('.') {
        return Err(ServiceError::bad_field(
            "target",
            format!("target: an asset is named schema.table, got {target:?}"),
        ));
    }
    let owners = people("owners", &input.owners)?;
    let subscribers = people("subscribers", &input.subscribers)?;
    check_channels(store, "channel_ids", &input.channel_ids).await?;
    Ok(store
        .put_ownership(
            &input.scope,
            target,
            &owners,
            &subscribers,
            &input.channel_ids,
            by,
        )
        .await?
        .into())
}

pub async fn delete_ownership(store: &TenantStore, id: Uuid) -> ServiceResult<()> {
    if store.delete_ownership(id).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("ownership entry"))
    }
}

/// Where an incident goes under the tenant's current policy, and why.
pub async fn explain(store: &TenantStore, incident: Uuid) -> ServiceResult<RoutingExplanation> {
    let (policy, attributes) = store
        .routing_of(incident)
        .await?
        .ok_or_else(|| ServiceError::not_found("incident"))?;
    let decision = decide(&attributes, &policy);
    let name = |id: Uuid| {
        policy
            .channels
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let summary = if policy.rules.is_empty() {
        match &decision.owner {
            Some(owner) if !owner.channel_ids.is_empty() && !decision.routes.is_empty() => {
                format!(
                    "no routing rule: the default route sends critical and high incidents to the owner's channels; {}",
                    owner.why
                )
            }
            _ if decision.routes.is_empty() => {
                "no routing rule: the default route sends only critical and high incidents, to every channel"
                    .to_owned()
            }
            _ => "no routing rule: the default route sends critical and high incidents to every channel"
                .to_owned(),
        }
    } else {
        let matched: Vec<&str> = decision
            .rules
            .iter()
            .filter(|r| r.matched)
            .map(|r| r.name.as_str())
            .collect();
        if matched.is_empty() {
            "no routing rule matched: no channel is told".to_owned()
        } else {
            format!("matched by {}", matched.join(", "))
        }
    };
    Ok(RoutingExplanation {
        incident_id: incident,
        owner: decision.owner,
        rules: decision.rules,
        routes: decision
            .routes
            .into_iter()
            .map(|r| RoutedChannel {
                channel: name(r.channel_id),
                channel_id: r.channel_id,
                reason: r.reason,
                rule_id: r.rule_id,
            })
            .collect(),
        escalation: decision.escalation,
        summary,
    })
}

pub async fn list_digests(store: &TenantStore) -> ServiceResult<DigestList> {
    Ok(DigestList {
        items: store.list_digests().await?.into_iter().map(Into::into).collect(),
    })
}

/// Creates a digest: 400 naming the field (cadence, hour, weekday, time zone, severity, a channel
/// that cannot take a summary).
pub async fn create_digest(store: &TenantStore, input: DigestInput, by: &str) -> ServiceResult<Digest> {
    if !matches!(input.cadence.as_str(), "daily" | "weekly") {
        return Err(ServiceError::bad_field(
            "cadence",
            format!("cadence: daily or weekly (got {:?})", input.cadence),
        ));
    }
    if !(0..=23).contains(&input.hour) {
        return Err(ServiceError::bad_field(
            "hour",
            format!("hour: 0 to 23, got {}", input.hour),
        ));
    }
    if !(1..=7).contains(&input.weekday) {
        return Err(ServiceError::bad_field(
            "weekday",
            format!("weekday: 1 (Monday) to 7 (Sunday), got {}", input.weekday),
        ));
    }
    if jiff::tz::TimeZone::get(&input.timezone).is_err() {
        return Err(ServiceError::bad_field(
            "timezone",
            format!(
                "timezone: {:?} is no known IANA time zone (such as Europe/Berlin)",
                input.timezone
            ),
        ));
    }
    if super::Severity::parse(&input.min_severity).is_none() {
        return Err(ServiceError::bad_field(
            "min_severity",
            format!(
                "min_severity: critical, high, medium or low (got {:?})",
                input.min_severity
            ),
        ));
    }
    let channel = store
        .list_channels()
        .await?
        .into_iter()
        .find(|c| c.id == input.channel_id)
        .ok_or_else(|| {
            ServiceError::bad_field(
                "channel_id",
                format!("channel_id: {} is no channel of this tenant", input.channel_id),
            )
        })?;
    if !crate::channels::digest::DIGEST_KINDS.contains(&channel.kind.as_str()) {
        return Err(ServiceError::bad_field(
            "channel_id",
            format!(
                "channel_id: a digest goes to a {} channel, not {} (a pager is no place for a summary)",
                crate::channels::digest::DIGEST_KINDS.join(", "),
                channel.kind
            ),
        ));
    }
    Ok(store
        .insert_digest(
            input.channel_id,
            &input.cadence,
            input.hour,
            input.weekday,
            &input.timezone,
            &input.min_severity,
            by,
        )
        .await?
        .into())
}

pub async fn delete_digest(store: &TenantStore, id: Uuid) -> ServiceResult<()> {
    if store.delete_digest(id).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("digest"))
    }
}
