//! Where an incident's notifications go, and why (pure).
//!
//! **Ownership**: owners (people), subscribers and channels per asset, tag, source or the tenant.
//! An incident's owner is the most specific entry that matches it: asset > tag > source > tenant
//! (among several tags, the first by name).
//!
//! **Rules**, in their order: each enabled rule whose expression ([`super::rules`]) holds sends the
//! incident to its channels, and with `to_owners` to its owner's channels. A rule may stay silent
//! for a while after it notified of an asset and rule (suppression, applied by the store, which
//! knows when it last did) and may carry escalation tiers: channels told when nobody
//! acknowledged the incident in time.
//!
//! **Default**, while a tenant has no rule: critical and high incidents go to their owner's
//! channels when the owner has some, else to every channel of the tenant (with one channel: to
//! it); medium and low ones to none (they are on the incidents page and in digests). Every route
//! carries its reason, shown beside the notification ("why did this go to #data-eng").

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Severity;
use super::rules::{Attributes, Expr};

/// A channel a route may pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRef {
    pub id: Uuid,
    pub name: String,
}

/// One channel an incident's notification goes to, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub channel_id: Uuid,
    pub reason: String,
    /// The rule that routed it (`None`: the default route).
    pub rule_id: Option<Uuid>,
    /// The rule's suppression interval (0: none).
    pub suppress_minutes: u32,
}

/// The lowest severity the default route notifies.
pub const DEFAULT_MIN_SEVERITY: Severity = Severity::High;

/// What an ownership entry covers, most specific first.
pub const SCOPES: [&str; 4] = ["asset", "tag", "source", "tenant"];

/// Owners, subscribers and channels of an asset, tag, source or the tenant (`target` empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    pub id: Uuid,
    pub scope: String,
    pub target: String,
    pub owners: Vec<String>,
    pub subscribers: Vec<String>,
    pub channel_ids: Vec<Uuid>,
}

/// One escalation step: when an incident is still unacknowledged `after_minutes` after it opened,
/// these channels hear of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tier {
    pub after_minutes: u32,
    pub channel_ids: Vec<Uuid>,
}

/// An escalation step as routed for an incident (stored on it when it opens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EscalationStep {
    /// 1 for the first step after the opening message.
    pub tier: u16,
    pub after_minutes: u32,
    pub channel_ids: Vec<Uuid>,
    /// The rule it comes from.
    pub rule: String,
}

/// A routing rule, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: Uuid,
    pub name: String,
    pub expression: String,
    pub parsed: Expr,
    pub channel_ids: Vec<Uuid>,
    pub to_owners: bool,
    pub suppress_minutes: u32,
    pub escalation: Vec<Tier>,
}

/// A tenant's routing policy: its channels, enabled rules in order, ownership.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub channels: Vec<ChannelRef>,
    pub rules: Vec<Rule>,
    pub ownerships: Vec<Ownership>,
}

/// Who owns an incident, and why that entry won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OwnerMatch {
    /// `asset`, `tag`, `source` or `tenant`.
    pub scope: String,
    pub target: String,
    pub owners: Vec<String>,
    pub subscribers: Vec<String>,
    pub channel_ids: Vec<Uuid>,
    /// E.g. "owned through tag finance (asset > tag > source > tenant)".
    pub why: String,
}

/// Whether one rule held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RuleVerdict {
    pub id: Uuid,
    pub name: String,
    pub expression: String,
    pub matched: bool,
}

/// Where an incident goes, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    pub owner: Option<OwnerMatch>,
    pub routes: Vec<Route>,
    pub escalation: Vec<EscalationStep>,
    pub rules: Vec<RuleVerdict>,
}

/// The most specific ownership entry of an incident: asset > tag > source > tenant.
pub fn owner_of(attributes: &Attributes, ownerships: &[Ownership]) -> Option<OwnerMatch> {
    let mut tags: Vec<&String> = attributes.tags.iter().collect();
    tags.sort();
    let found = ownerships
        .iter()
        .find(|o| o.scope == "asset" && Some(&o.target) == attributes.asset.as_ref())
        .or_else(|| {
            tags.iter()
                .find_map(|tag| ownerships.iter().find(|o| o.scope == "tag" && &o.target == *tag))
        })
        .or_else(|| {
            ownerships
                .iter()
                .find(|o| o.scope == "source" && Some(&o.target) == attributes.source.as_ref())
        })
        .or_else(|| ownerships.iter().find(|o| o.scope == "tenant"))?;
    let through = if found.scope == "tenant" {
        "the tenant's default owner".to_owned()
    } else {
        format!("{} {}", found.scope, found.target)
    };
    Some(OwnerMatch {
        scope: found.scope.clone(),
        target: found.target.clone(),
        owners: found.owners.clone(),
        subscribers: found.subscribers.clone(),
        channel_ids: found.channel_ids.clone(),
        why: format!("owned through {through} (asset > tag > source > tenant)"),
    })
}

/// Where an incident with `attributes` goes under `policy`. The owner's people join
/// `attributes.owners` before the rules see them.
pub fn decide(attributes: &Attributes, policy: &Policy) -> Decision {
    let owner = owner_of(attributes, &policy.ownerships);
    let mut attributes = attributes.clone();
    if let Some(owner) = &owner {
        for person in &owner.owners {
            if !attributes.owners.contains(person) {
                attributes.owners.push(person.clone());
            }
        }
    }
    let name_of = |id: &Uuid| {
        policy
            .channels
            .iter()
            .find(|c| c.id == *id)
            .map(|c| c.name.as_str())
    };
    let mut decision = Decision {
        owner: owner.clone(),
        ..Decision::default()
    };
    let add = |routes: &mut Vec<Route>, channel_id: Uuid, reason: String, rule: Option<&Rule>| {
        if name_of(&channel_id).is_some() && !routes.iter().any(|r| r.channel_id == channel_id) {
            routes.push(Route {
                channel_id,
                reason,
                rule_id: rule.map(|r| r.id),
                suppress_minutes: rule.map(|r| r.suppress_minutes).unwrap_or(0),
            });
        }
    };
    let severity = attributes.severity.unwrap_or(Severity::Low);
    if policy.rules.is_empty() {
        if severity < DEFAULT_MIN_SEVERITY {
            return decision;
        }
        if let Some(owner) = owner.as_ref().filter(|o| !o.channel_ids.is_empty()) {
            for channel in &owner.channel_ids {
                let reason = format!(
                    "default route: no routing rule, so {severity} incidents go to the owner's channels; {}",
                    owner.why
                );
                add(&mut decision.routes, *channel, reason, None);
            }
            return decision;
        }
        let reason = if policy.channels.len() == 1 {
            format!("default route: no routing rule, so {severity} incidents go to the tenant's only channel")
        } else {
            format!(
                "default route: no routing rule, so {severity} incidents go to every channel of the tenant"
            )
        };
        for channel in &policy.channels {
            add(&mut decision.routes, channel.id, reason.clone(), None);
        }
        return decision;
    }
    let mut tier = 0u16;
    for rule in &policy.rules {
        let matched = rule.parsed.eval(&attributes);
        decision.rules.push(RuleVerdict {
            id: rule.id,
            name: rule.name.clone(),
            expression: rule.expression.clone(),
            matched,
        });
        if !matched {
            continue;
        }
        let held = if rule.expression.trim().is_empty() {
            "matches every incident".to_owned()
        } else {
            format!("matched `{}`", rule.expression.trim())
        };
        for channel in &rule.channel_ids {
            add(
                &mut decision.routes,
                *channel,
                format!("rule \"{}\" {held}", rule.name),
                Some(rule),
            );
        }
        if rule.to_owners
            && let Some(owner) = &owner
        {
            for channel in &owner.channel_ids {
                let reason = format!(
                    "rule \"{}\" {held} and sends to the owner's channels; {}",
                    rule.name, owner.why
                );
                add(&mut decision.routes, *channel, reason, Some(rule));
            }
        }
        for step in &rule.escalation {
            let channel_ids: Vec<Uuid> = step
                .channel_ids
                .iter()
                .filter(|c| name_of(c).is_some())
                .copied()
                .collect();
            if channel_ids.is_empty() {
                continue;
            }
            tier += 1;
            decision.escalation.push(EscalationStep {
                tier,
                after_minutes: step.after_minutes,
                channel_ids,
                rule: rule.name.clone(),
            });
        }
    }
    decision.escalation.sort_by_key(|s| s.after_minutes);
    for (i, step) in decision.escalation.iter_mut().enumerate() {
        step.tier = u16::try_from(i + 1).unwrap_or(u16::MAX);
    }
    decision
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::incidents::rules::parse;

    fn channel(name: &str) -> ChannelRef {
        ChannelRef {
            id: Uuid::now_v7(),
            name: name.into(),
        }
    }

    fn attributes(severity: Severity) -> Attributes {
        Attributes {
            severity: Some(severity),
            kind: "check_failed".into(),
            tags: vec!["finance".into()],
            source: Some("warehouse".into()),
            schema: Some("public".into()),
            asset: Some("public.orders".into()),
            ..Attributes::default()
        }
    }

    fn ownership(scope: &str, target: &str, owners: &[&str], channels: &[Uuid]) -> Ownership {
        Ownership {
            id: Uuid::now_v7(),
            scope: scope.into(),
            target: target.into(),
            owners: owners.iter().map(|o| (*o).to_owned()).collect(),
            subscribers: Vec::new(),
            channel_ids: channels.to_vec(),
        }
    }

    fn rule(name: &str, expression: &str, channels: &[Uuid]) -> Rule {
        Rule {
            id: Uuid::now_v7(),
            name: name.into(),
            expression: expression.into(),
            parsed: parse(expression).unwrap(),
            channel_ids: channels.to_vec(),
            to_owners: false,
            suppress_minutes: 0,
            escalation: Vec::new(),
        }
    }

    #[test]
    fn the_default_route_sends_critical_and_high_to_every_channel() {
        let one = Policy {
            channels: vec![channel("#data-eng")],
            ..Policy::default()
        };
        assert_eq!(decide(&attributes(Severity::Critical), &one).routes.len(), 1);
        assert!(
            decide(&attributes(Severity::High), &one).routes[0]
                .reason
                .contains("only channel")
        );
        assert!(decide(&attributes(Severity::Medium), &one).routes.is_empty());
        assert!(decide(&attributes(Severity::Low), &one).routes.is_empty());
        let two = Policy {
            channels: vec![channel("#data-eng"), channel("pager")],
            ..Policy::default()
        };
        let routes = decide(&attributes(Severity::High), &two).routes;
        assert_eq!(routes.len(), 2);
        assert!(routes[1].reason.contains("every channel"));
        assert!(
            decide(&attributes(Severity::Critical), &Policy::default())
                .routes
                .is_empty()
        );
    }

    #[test]
    fn ownership_follows_asset_then_tag_then_source_then_tenant() {
        let (a, b, c, d) = (
            channel("asset"),
            channel("tag"),
            channel("source"),
            channel("tenant"),
        );
        let all = vec![
            ownership("tenant", "", &["ops"], &[d.id]),
            ownership("source", "warehouse", &["dw-team"], &[c.id]),
            ownership("tag", "finance", &["fin-team"], &[b.id]),
            ownership("asset", "public.orders", &["orders-team"], &[a.id]),
        ];
        let incident = attributes(Severity::High);
        let owner = |ownerships: &[Ownership]| owner_of(&incident, ownerships).unwrap();
        assert_eq!(owner(&all).owners, ["orders-team"]);
        assert!(owner(&all).why.contains("asset public.orders"));
        assert_eq!(owner(&all[..3]).owners, ["fin-team"]);
        assert!(
            owner(&all[..3]).why.contains("tag finance"),
            "{}",
            owner(&all[..3]).why
        );
        assert_eq!(owner(&all[..2]).owners, ["dw-team"]);
        assert_eq!(owner(&all[..1]).owners, ["ops"]);
        assert!(owner_of(&incident, &[]).is_none());
        // Without rules, the owner's channels take critical and high incidents.
        let policy = Policy {
            channels: vec![a.clone(), b.clone(), c.clone(), d.clone()],
            ownerships: all[..3].to_vec(),
            ..Policy::default()
        };
        let routes = decide(&incident, &policy).routes;
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].channel_id, b.id);
        assert!(
            routes[0].reason.contains("owner's channels"),
            "{}",
            routes[0].reason
        );
        assert!(routes[0].reason.contains("tag finance"), "{}", routes[0].reason);
    }

    #[test]
    fn rules_route_what_they_match_and_escalate_in_order() {
        let (slack, pager, manager) = (channel("#data-eng"), channel("pager"), channel("manager"));
        let mut paging = rule("page finance", "severity >= high and tag = finance", &[pager.id]);
        paging.escalation = vec![
            Tier {
                after_minutes: 60,
                channel_ids: vec![manager.id],
            },
            Tier {
                after_minutes: 15,
                channel_ids: vec![slack.id],
            },
        ];
        let mut owners = rule("owners hear of everything", "", &[]);
        owners.to_owners = true;
        let policy = Policy {
            channels: vec![slack.clone(), pager.clone(), manager.clone()],
            rules: vec![paging, owners, rule("marketing", "tag = marketing", &[slack.id])],
            ownerships: vec![ownership("tag", "finance", &["fin-team"], &[slack.id])],
        };
        let decision = decide(&attributes(Severity::High), &policy);
        let routed: Vec<Uuid> = decision.routes.iter().map(|r| r.channel_id).collect();
        assert_eq!(routed, [pager.id, slack.id]);
        assert!(
            decision.routes[0]
                .reason
                .contains("rule \"page finance\" matched `severity >= high and tag = finance`")
        );
        assert!(decision.routes[1].reason.contains("owner's channels"));
        assert_eq!(
            decision.rules.iter().map(|r| r.matched).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert_eq!(decision.escalation.len(), 2);
        assert_eq!(
            (decision.escalation[0].tier, decision.escalation[0].after_minutes),
            (1, 15)
        );
        assert_eq!(decision.escalation[1].channel_ids, [manager.id]);
        // A medium incident: only the catch-all owners' rule holds; no escalation.
        let medium = decide(&attributes(Severity::Medium), &policy);
        assert_eq!(medium.routes.len(), 1);
        assert!(medium.escalation.is_empty());
        // The owner's people are an attribute the rules see.
        let by_owner = Policy {
            rules: vec![rule("fin", "owner = fin-team", &[manager.id])],
            ..policy.clone()
        };
        assert_eq!(decide(&attributes(Severity::Low), &by_owner).routes.len(), 1);
        // With rules, what none matches goes nowhere (no default route).
        let none = Policy {
            rules: vec![rule("marketing", "tag = marketing", &[slack.id])],
            ..policy
        };
        assert!(decide(&attributes(Severity::Critical), &none).routes.is_empty());
    }
}
