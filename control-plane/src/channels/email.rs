//! The email channel: one message per notification, HTML and plain text (multipart/alternative),
//! sent over SMTP with `lettre` — STARTTLS by default (`smtp_tls`: `starttls`, `tls` for implicit
//! TLS on 465, or `none` for a relay on a trusted network), authenticated when the channel has a
//! username, within the same 10 s as other channels.

use std::str::FromStr;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

/// The ways to reach an SMTP server.
pub const TLS_MODES: &[&str] = &["starttls", "tls", "none"];

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The message's lines, label and value, as both parts show them.
fn facts(message: &Value) -> Vec<(&'static str, String)> {
    if text(&message["type"]) == "digest" {
        let count = |key: &str| message["counts"][key].as_u64().unwrap_or(0).to_string();
        return vec![
            ("Opened", count("opened")),
            ("Resolved", count("resolved")),
            ("Still open", count("still_open")),
        ];
    }
    let score = match (
        message["previous_score"].as_f64(),
        message["current_score"].as_f64(),
    ) {
        (Some(before), Some(now)) => format!("{before:.1} → {now:.1}"),
        (None, Some(now)) => format!("{now:.1}"),
        _ => "not scored".to_owned(),
    };
    let dimensions: Vec<&str> = message["dimensions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut facts = vec![
        ("Severity", text(&message["severity"]).to_owned()),
        ("Asset", message["asset"].as_str().unwrap_or("—").to_owned()),
        ("Score", score),
        (
            "Dimensions",
            if dimensions.is_empty() {
                "—".to_owned()
            } else {
                dimensions.join(", ")
            },
        ),
    ];
    if let Some(cause) = message["root_cause"].as_str() {
        facts.push(("Root cause", cause.to_owned()));
    }
    facts.push((
        "Recommended action",
        text(&message["recommended_action"]).to_owned(),
    ));
    facts
}

/// The plain-text part.
pub fn plain(message: &Value) -> String {
    let mut out = format!("{}\n\n", text(&message["title"]));
    if let Some(body) = message["text"].as_str() {
        out.push_str(&format!("{body}\n\n"));
    }
    for (label, value) in facts(message) {
        out.push_str(&format!("{label}: {value}\n"));
    }
    for (label, key) in [("View", "view"), ("Acknowledge", "acknowledge")] {
        if let Some(link) = message["links"][key].as_str() {
            out.push_str(&format!("\n{label}: {link}"));
        }
    }
    out.push('\n');
    out
}

/// The HTML part.
pub fn html(message: &Value) -> String {
    let mut rows = String::new();
    for (label, value) in facts(message) {
        rows.push_str(&format!(
            "<tr><th align=\"left\" style=\"padding:4px 12px 4px 0\">{}</th><td style=\"padding:4px 0\">{}</td></tr>",
            escape(label),
            escape(&value)
        ));
    }
    let mut links = String::new();
    for (label, key) in [("View incident", "view"), ("Acknowledge", "acknowledge")] {
        if let Some(link) = message["links"][key].as_str() {
            links.push_str(&format!(
                "<a href=\"{}\" style=\"margin-right:16px\">{}</a>",
                escape(link),
                escape(label)
            ));
        }
    }
    let intro = message["text"]
        .as_str()
        .map(|body| format!("<p>{}</p>", escape(body).replace('\n', "<br>")))
        .unwrap_or_default();
    format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><h2>{}</h2>{intro}<table>{rows}</table><p>{links}</p></body></html>",
        escape(text(&message["title"]))
    )
}

/// Checks an address the way sending will read it.
pub fn check_address(address: &str) -> Result<(), String> {
    Mailbox::from_str(address)
        .map(|_| ())
        .map_err(|error| format!("{address:?} is no email address: {error}"))
}

/// Composes the email for `message` from the channel's `settings`.
pub fn compose(settings: &Value, message: &Value) -> Result<Message, String> {
    let from = settings["from"]
        .as_str()
        .ok_or("the email channel has no from address")?;
    let mut builder = Message::builder()
        .from(Mailbox::from_str(from).map_err(|error| format!("from {from:?}: {error}"))?)
        .subject(text(&message["title"]));
    let to = settings["to"]
        .as_array()
        .filter(|to| !to.is_empty())
        .ok_or("the email channel has no recipients")?;
    for address in to.iter().filter_map(Value::as_str) {
        builder = builder.to(Mailbox::from_str(address).map_err(|error| format!("to {address:?}: {error}"))?);
    }
    if let Some(id) = message["id"].as_str() {
        builder = builder.message_id(Some(format!("<{id}@cwic>")));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(plain(message), html(message)))
        .map_err(|error| format!("cannot compose the email: {error}"))
}

/// What sending came to: the server's reply code, or why not.
pub struct Sent {
    pub code: Option<u16>,
    pub error: Option<String>,
}

/// Sends `email` through the channel's SMTP server (`password` from its stored secret).
pub async fn send(settings: &Value, password: Option<&str>, email: Message) -> Sent {
    let host = text(&settings["smtp_host"]);
    let port = settings["smtp_port"].as_u64().and_then(|p| u16::try_from(p).ok());
    let builder = match settings["smtp_tls"].as_str().unwrap_or("starttls") {
        "none" => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)),
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
    };
    let mut builder = match builder {
        Ok(builder) => builder.timeout(Some(super::deliver::TIMEOUT)),
        Err(error) => {
            return Sent {
                code: None,
                error: Some(format!("cannot reach the SMTP server {host}: {error}")),
            };
        }
    };
    if let Some(port) = port {
        builder = builder.port(port);
    }
    if let Some(user) = settings["username"].as_str() {
        builder = builder.credentials(Credentials::new(
            user.to_owned(),
            password.unwrap_or_default().to_owned(),
        ));
    }
    let transport = builder.build();
    match tokio::time::timeout(
        super::deliver::TIMEOUT + Duration::from_secs(1),
        transport.send(email),
    )
    .await
    {
        Ok(Ok(response)) => Sent {
            code: Some(u16::from(response.code())),
            error: None,
        },
        Ok(Err(error)) => Sent {
            code: error.status().map(u16::from),
            error: Some(format!("the SMTP server {host} refused the message: {error}")),
        },
        Err(_) => Sent {
            code: None,
            error: Some(format!(
                "no answer from the SMTP server {host} within {} s",
                super::deliver::TIMEOUT.as_secs()
            )),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_parts_carry_the_facts_and_html_is_escaped() {
        let message = json!({
            "id": "n-1", "title": "[HIGH] public.orders: check <x> failed", "severity": "high",
            "asset": "public.orders", "dimensions": ["validity"], "root_cause": "3 of 100 rows fail <x>",
            "recommended_action": "fix it", "links": {"view": "https://cwic.example/incidents/1"},
        });
        let text = plain(&message);
        assert!(text.starts_with("[HIGH] public.orders: check <x> failed\n"));
        assert!(text.contains("Root cause: 3 of 100 rows fail <x>\n"));
        assert!(text.contains("View: https://cwic.example/incidents/1"));
        let page = html(&message);
        assert!(page.contains("check &lt;x&gt; failed"));
        assert!(!page.contains("<x>"));
        let settings = json!({"from": "cwic@example.com", "to": ["data@example.com"]});
        let email = String::from_utf8(compose(&settings, &message).unwrap().formatted()).unwrap();
        assert!(email.contains("multipart/alternative"));
        assert!(email.contains("Message-ID: <n-1@cwic>"));
        assert!(compose(&json!({"from": "cwic@example.com"}), &message).is_err());
    }
}
