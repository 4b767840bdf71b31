//! Where an incident's notifications go, and why (pure).
//!
//! Until routing rules exist for a tenant, the default holds: critical and high incidents go to
//! every channel of the tenant (with one channel: to it), medium and low ones to none (they are on
//! the incidents page and in digests). Every route carries its reason, shown in the API beside the
//! notification ("why did this go to #data-eng").

use uuid::Uuid;

use super::Severity;

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
}

/// The lowest severity the default route notifies.
pub const DEFAULT_MIN_SEVERITY: Severity = Severity::High;

/// The channels an incident of `severity` notifies, among the tenant's `channels`.
pub fn route(severity: Severity, channels: &[ChannelRef]) -> Vec<Route> {
    if severity < DEFAULT_MIN_SEVERITY {
        return Vec::new();
    }
    let reason = if channels.len() == 1 {
        format!("default route: no routing rule, so {severity} incidents go to the tenant's only channel")
    } else {
        format!("default route: no routing rule, so {severity} incidents go to every channel of the tenant")
    };
    channels
        .iter()
        .map(|channel| Route {
            channel_id: channel.id,
            reason: reason.clone(),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_sends_critical_and_high_to_every_channel() {
        let one = [ChannelRef {
            id: Uuid::now_v7(),
            name: "#data-eng".into(),
        }];
        assert_eq!(route(Severity::Critical, &one).len(), 1);
        assert!(route(Severity::High, &one)[0].reason.contains("only channel"));
        assert!(route(Severity::Medium, &one).is_empty());
        assert!(route(Severity::Low, &one).is_empty());
        let two = [
            one[0].clone(),
            ChannelRef {
                id: Uuid::now_v7(),
                name: "pager".into(),
            },
        ];
        let routes = route(Severity::High, &two);
        assert_eq!(routes.len(), 2);
        assert!(routes[1].reason.contains("every channel"));
        assert!(route(Severity::Critical, &[]).is_empty());
    }
}
