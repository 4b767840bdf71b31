//! What each kind of channel sends (pure): the signed webhook's JSON as it is, a Slack Block Kit
//! message (incoming webhook, or `chat.postMessage` with a bot token, later messages threaded
//! under the first), a Microsoft Teams Adaptive Card, a PagerDuty Events API v2 event (trigger,
//! acknowledge, resolve; `dedup_key` = the incident id) and an Opsgenie alert (created with the
//! incident id as its alias, acknowledged and closed by it).
//!
//! Every renderer starts from the same message: the webhook body of `notify::webhook_body` (title,
//! severity, asset, scores, dimensions, root cause, recommended action, links). A receiver's answer
//! is judged per kind ([`judge`]): Slack's API answers 200 with `"ok": false` on an error, and its
//! first message's `ts` is what later ones thread under.

use serde_json::{Value, json};

/// The kinds a channel can be created with.
pub const KINDS: &[&str] = &["webhook", "slack", "teams", "email", "pagerduty", "opsgenie"];

/// Where PagerDuty, Opsgenie and Slack's API are, unless a channel names another (a proxy, the EU
/// region, a test receiver).
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";
pub const OPSGENIE_URL: &str = "https://api.opsgenie.com";
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// One HTTP request to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub url: String,
    /// Extra headers (besides `Content-Type: application/json`).
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// Sign the body with `X-Cwic-Signature` (the webhook).
    pub sign: bool,
}

/// What a receiver's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub delivered: bool,
    /// What later messages of the incident refer to (Slack's `ts`).
    pub reference: Option<String>,
    /// Why not, when not.
    pub error: Option<String>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn setting(settings: &Value, key: &str) -> Option<String> {
    settings[key]
        .as_str()
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

fn absolute(link: &Value) -> Option<String> {
    link.as_str()
        .filter(|l| l.starts_with("http://") || l.starts_with("https://"))
        .map(str::to_owned)
}

fn score_line(message: &Value) -> String {
    match (
        message["previous_score"].as_f64(),
        message["current_score"].as_f64(),
    ) {
        (Some(before), Some(now)) => format!("{before:.1} → {now:.1}"),
        (None, Some(now)) => format!("{now:.1}"),
        _ => "not scored".to_owned(),
    }
}

fn dimensions(message: &Value) -> String {
    let list: Vec<String> = message["dimensions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect();
    if list.is_empty() {
        "—".to_owned()
    } else {
        list.join(", ")
    }
}

/// What happened, for the kinds that show one line per message.
fn headline(message: &Value) -> String {
    text(&message["title"])
}

/// The request `message` (a webhook body) becomes on a channel of `kind`. `reference` is the first
/// message's reference for threading (Slack's `ts`). An error names the missing setting.
pub fn render(
    kind: &str,
    settings: &Value,
    secret: Option<&str>,
    message: &Value,
    reference: Option<&str>,
) -> Result<Outbound, String> {
    let event = text(&message["type"]);
    match kind {
        "webhook" => Ok(Outbound {
            url: setting(settings, "url").ok_or("the webhook has no url")?,
            headers: Vec::new(),
            body: message.clone(),
            sign: true,
        }),
        "slack" => {
            let mut body = slack_blocks(message);
            if let Some(url) = setting(settings, "url") {
                return Ok(Outbound {
                    url,
                    headers: Vec::new(),
                    body,
                    sign: false,
                });
            }
            let token = secret.ok_or("the Slack channel has neither a webhook url nor a bot token")?;
            let channel = setting(settings, "channel").ok_or("the Slack bot channel names no channel")?;
            body["channel"] = json!(channel);
            if let Some(ts) = reference {
                body["thread_ts"] = json!(ts);
            }
            let api = setting(settings, "api_url").unwrap_or_else(|| SLACK_API_URL.to_owned());
            Ok(Outbound {
                url: format!("{}/chat.postMessage", api.trim_end_matches('/')),
                headers: vec![("Authorization".into(), format!("Bearer {token}"))],
                body,
                sign: false,
            })
        }
        "teams" => Ok(Outbound {
            url: setting(settings, "url").ok_or("the Teams channel has no url")?,
            headers: Vec::new(),
            body: teams_card(message),
            sign: false,
        }),
        "pagerduty" => {
            let routing_key = secret.ok_or("the PagerDuty channel has no routing key")?;
            let action = match event.as_str() {
                "incident.resolved" => "resolve",
                "incident.acknowledged" => "acknowledge",
                _ => "trigger",
            };
            let incident = &message["incident"];
            let mut body = json!({
                "routing_key": routing_key,
                "event_action": action,
                "dedup_key": incident["id"],
            });
            if action == "trigger" {
                let severity = match message["severity"].as_str() {
                    Some("critical") => "critical",
                    Some("high") => "error",
                    Some("medium") => "warning",
                    _ => "info",
                };
                let summary: String = headline(message).chars().take(1024).collect();
                body["payload"] = json!({
                    "summary": summary,
                    "source": message["asset"].as_str().unwrap_or("cwic"),
                    "severity": severity,
                    "component": message["asset"],
                    "group": message["tenant"],
                    "class": incident["kind"],
                    "custom_details": {
                        "root_cause": message["root_cause"],
                        "recommended_action": message["recommended_action"],
                        "score": score_line(message),
                        "dimensions": message["dimensions"],
                        "alerts": incident["alerts"],
                        "rule": incident["rule"],
                    },
                });
                body["client"] = json!("CWIC");
                if let Some(view) = absolute(&message["links"]["view"]) {
                    body["client_url"] = json!(view);
                    body["links"] = json!([{"href": view, "text": "View in CWIC"}]);
                }
            }
            Ok(Outbound {
                url: setting(settings, "api_url").unwrap_or_else(|| PAGERDUTY_URL.to_owned()),
                headers: Vec::new(),
                body,
                sign: false,
            })
        }
        "opsgenie" => {
            let key = secret.ok_or("the Opsgenie channel has no API key")?;
            let api = setting(settings, "api_url").unwrap_or_else(|| OPSGENIE_URL.to_owned());
            let api = api.trim_end_matches('/');
            let alias = text(&message["incident"]["id"]);
            let headers = vec![("Authorization".into(), format!("GenieKey {key}"))];
            let (url, body) = match event.as_str() {
                "incident.resolved" => (
                    format!("{api}/v2/alerts/{alias}/close?identifierType=alias"),
                    json!({"source": "CWIC", "user": "CWIC", "note": message["incident"]["resolution"]}),
                ),
                "incident.acknowledged" => (
                    format!("{api}/v2/alerts/{alias}/acknowledge?identifierType=alias"),
                    json!({"source": "CWIC", "user": "CWIC", "note": "acknowledged in CWIC"}),
                ),
                _ => {
                    let priority = match message["severity"].as_str() {
                        Some("critical") => "P1",
                        Some("high") => "P2",
                        Some("medium") => "P3",
                        _ => "P4",
                    };
                    let short: String = headline(message).chars().take(130).collect();
                    let description = format!(
                        "{}\n\nRoot cause: {}\n\nRecommended action: {}\n\n{}",
                        headline(message),
                        message["root_cause"].as_str().unwrap_or("not known yet"),
                        text(&message["recommended_action"]),
                        text(&message["links"]["view"]),
                    );
                    (
                        format!("{api}/v2/alerts"),
                        json!({
                            "message": short,
                            "alias": alias,
                            "description": description,
                            "priority": priority,
                            "source": "CWIC",
                            "entity": message["asset"],
                            "tags": ["cwic", message["severity"], message["incident"]["kind"]],
                            "details": {
                                "asset": message["asset"],
                                "score": score_line(message),
                                "dimensions": dimensions(message),
                                "rule": message["incident"]["rule"],
                            },
                        }),
                    )
                }
            };
            Ok(Outbound {
                url,
                headers,
                body,
                sign: false,
            })
        }
        other => Err(format!("no channel kind {other:?}")),
    }
}

fn slack_blocks(message: &Value) -> Value {
    let title: String = headline(message).chars().take(150).collect();
    if text(&message["type"]) == "digest" {
        // Slack caps a section's text at 3,000 characters.
        let lines: String = text(&message["text"]).chars().take(2900).collect();
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": true}}),
            json!({"type": "section", "text": {"type": "mrkdwn", "text": lines}}),
        ];
        if let Some(url) = absolute(&message["links"]["view"]) {
            blocks.push(json!({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open incidents"}, "url": url}]}));
        }
        return json!({"text": headline(message), "blocks": blocks});
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": true}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*Severity*\n{}", text(&message["severity"]))},
            {"type": "mrkdwn", "text": format!("*Asset*\n{}", message["asset"].as_str().unwrap_or("—"))},
            {"type": "mrkdwn", "text": format!("*Score*\n{}", score_line(message))},
            {"type": "mrkdwn", "text": format!("*Dimensions*\n{}", dimensions(message))},
        ]}),
    ];
    if let Some(cause) = message["root_cause"].as_str() {
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Root cause*\n{cause}")}}),
        );
    }
    blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
        "text": format!("*Recommended action*\n{}", text(&message["recommended_action"]))}}));
    let buttons: Vec<Value> = [
        ("View incident", &message["links"]["view"]),
        ("Acknowledge", &message["links"]["acknowledge"]),
    ]
    .into_iter()
    .filter_map(|(label, link)| {
        absolute(link)
            .map(|url| json!({"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}))
    })
    .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    json!({"text": headline(message), "blocks": blocks})
}

fn teams_card(message: &Value) -> Value {
    let color = match text(&message["type"]).as_str() {
        "incident.resolved" => "Good",
        _ => match message["severity"].as_str() {
            Some("critical") | Some("high") => "Attention",
            _ => "Warning",
        },
    };
    let digest = text(&message["type"]) == "digest";
    let mut body = vec![
        json!({"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": true,
                               "color": if digest { "Default" } else { color }, "text": headline(message)}),
    ];
    if digest {
        for line in text(&message["text"]).lines().take(50) {
            body.push(json!({"type": "TextBlock", "wrap": true, "spacing": "Small", "text": line}));
        }
    }
    let actions: Vec<Value> = [("View incident", &message["links"]["view"])]
        .into_iter()
        .filter_map(|(label, link)| {
            absolute(link).map(|url| json!({"type": "Action.OpenUrl", "title": label, "url": url}))
        })
        .collect();
    if digest {
        return teams_message(body, actions);
    }
    body.extend([json!({"type": "FactSet", "facts": [
        {"title": "Severity", "value": text(&message["severity"])},
        {"title": "Asset", "value": message["asset"].as_str().unwrap_or("—")},
        {"title": "Score", "value": score_line(message)},
        {"title": "Dimensions", "value": dimensions(message)},
    ]})]);
    if let Some(cause) = message["root_cause"].as_str() {
        body.push(json!({"type": "TextBlock", "wrap": true, "text": format!("**Root cause:** {cause}")}));
    }
    body.push(json!({"type": "TextBlock", "wrap": true,
        "text": format!("**Recommended action:** {}", text(&message["recommended_action"]))}));
    teams_message(body, actions)
}

fn teams_message(body: Vec<Value>, actions: Vec<Value>) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            },
        }],
    })
}

/// Whether a `status` answer with `body` means the message was taken, per kind.
pub fn judge(kind: &str, settings: &Value, status: u16, body: &[u8]) -> Verdict {
    if !(200..300).contains(&status) {
        let detail = String::from_utf8_lossy(&body[..body.len().min(300)])
            .trim()
            .to_owned();
        return Verdict {
            delivered: false,
            reference: None,
            error: Some(if detail.is_empty() {
                format!("the receiver answered {status}")
            } else {
                format!("the receiver answered {status}: {detail}")
            }),
        };
    }
    // Slack's Web API answers 200 and says in the body whether it worked.
    if kind == "slack" && setting(settings, "url").is_none() {
        let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if answer["ok"] != true {
            return Verdict {
                delivered: false,
                reference: None,
                error: Some(format!(
                    "Slack refused the message: {}",
                    answer["error"].as_str().unwrap_or("no `ok` in its answer")
                )),
            };
        }
        return Verdict {
            delivered: true,
            reference: answer["ts"].as_str().map(str::to_owned),
            error: None,
        };
    }
    Verdict {
        delivered: true,
        reference: None,
        error: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(kind: &str) -> Value {
        json!({
            "id": "n-1", "type": kind, "tenant": "acme", "title": "[CRITICAL] public.orders: check x failed",
            "severity": "critical", "asset": "public.orders", "previous_score": 92.0, "current_score": 71.5,
            "dimensions": ["completeness"], "root_cause": "3 of 100 rows fail x", "recommended_action": "fix it",
            "incident": {"id": "inc-1", "kind": "check_failed", "rule": "check:x", "alerts": 1, "resolution": "fixed"},
            "links": {"view": "https://cwic.example/incidents/inc-1", "acknowledge": "https://cwic.example/api/v1/incidents/inc-1/acknowledge"},
        })
    }

    #[test]
    fn pagerduty_triggers_acknowledges_and_resolves_by_the_incident_id() {
        let settings = json!({"api_url": "http://pd.local/v2/enqueue"});
        let trigger = render(
            "pagerduty",
            &settings,
            Some("R0UT1NG"),
            &message("incident.opened"),
            None,
        )
        .unwrap();
        assert_eq!(trigger.url, "http://pd.local/v2/enqueue");
        assert_eq!(trigger.body["event_action"], "trigger");
        assert_eq!(trigger.body["dedup_key"], "inc-1");
        assert_eq!(trigger.body["payload"]["severity"], "critical");
        assert_eq!(trigger.body["payload"]["source"], "public.orders");
        let resolve = render(
            "pagerduty",
            &settings,
            Some("R0UT1NG"),
            &message("incident.resolved"),
            None,
        )
        .unwrap();
        assert_eq!(
            resolve.body,
            json!({"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "inc-1"})
        );
        assert!(render("pagerduty", &settings, None, &message("incident.opened"), None).is_err());
    }

    #[test]
    fn slack_threads_bot_messages_and_judges_its_ok_field() {
        let bot = json!({"channel": "#data-eng", "api_url": "http://slack.local/api"});
        let reply = render(
            "slack",
            &bot,
            Some("xoxb-1"),
            &message("incident.resolved"),
            Some("1.2"),
        )
        .unwrap();
        assert_eq!(reply.url, "http://slack.local/api/chat.postMessage");
        assert_eq!(reply.body["thread_ts"], "1.2");
        assert_eq!(
            reply.headers,
            vec![("Authorization".to_owned(), "Bearer xoxb-1".to_owned())]
        );
        assert_eq!(
            judge("slack", &bot, 200, br#"{"ok":true,"ts":"9.9"}"#)
                .reference
                .as_deref(),
            Some("9.9")
        );
        let refused = judge("slack", &bot, 200, br#"{"ok":false,"error":"channel_not_found"}"#);
        assert!(!refused.delivered && refused.error.unwrap().contains("channel_not_found"));
        let hook = json!({"url": "http://hooks.local/T/B/x"});
        assert!(judge("slack", &hook, 200, b"ok").delivered);
    }
}
