//! Webhooks: the workspace's notifications delivered as JSON to configured URLs, signed with the
//! shared secret (`X-Keyward-Signature`, as verification responses are), retried with exponential
//! backoff. Deliveries are queued with the notification, in its transaction; the delivery job claims
//! each one for a lease first, so several instances never send the same delivery at once.

use super::Caller;
pub use crate::db::webhooks::{DeliveryRow, Webhook};
use crate::db::{audit, webhooks};
use crate::domain::Invalid;
use crate::error::{Error, Result};
use crate::services::outbound;
use crate::services::shared_secret::SIGNATURE_HEADER;
use crate::state::AppState;

/// Attempts before a delivery is given up on.
pub const MAX_ATTEMPTS: i64 = 8;
/// The first retry waits this long; each later one twice as long.
pub const FIRST_RETRY_SECS: i64 = 30;
/// How long a claimed delivery is reserved for the instance sending it.
const LEASE_SECS: i64 = 60;

/// What a receiver understands, and what Settings calls it.
pub const FORMATS: &[(&str, &str)] =
    &[("keyward", "keyward JSON (signed)"), ("slack", "Slack-compatible"), ("teams", "Microsoft Teams")];

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    pub url: String,
    /// One of `FORMATS`; empty: keyward JSON.
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub description: String,
}

/// An `http` or `https` URL with a host.
pub fn parse_url(text: &str) -> std::result::Result<String, Invalid> {
    let text = text.trim();
    let bad = || Invalid::new("url", "Give an http:// or https:// URL, such as https://hooks.example.com/keyward.");
    let url = reqwest::Url::parse(text).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) || text.len() > 2_000 {
        return Err(bad());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Invalid::new("url", "Leave credentials out of the URL: deliveries are signed instead."));
    }
    Ok(url.to_string())
}

pub fn add(state: &AppState, caller: &Caller, form: &WebhookForm) -> Result<()> {
    caller.must_administer()?;
    let url = parse_url(&form.url)?;
    let parsed = reqwest::Url::parse(&url).map_err(|_| Invalid::new("url", "Give an http:// or https:// URL."))?;
    if !outbound::literal_allowed(&parsed, state.config.webhooks_allow_private) {
        return Err(
            Invalid::new("url", "Give a public address: loopback, private and link-local ones are refused.").into()
        );
    }
    let format = match form.format.trim() {
        "" => "keyward",
        chosen => FORMATS
            .iter()
            .map(|(code, _)| *code)
            .find(|code| *code == chosen)
            .ok_or_else(|| Invalid::new("format", "Choose keyward JSON, Slack-compatible or Microsoft Teams."))?,
    };
    let description = form.description.trim().chars().take(200).collect::<String>();
    let (ws, now) = (caller.workspace_id, state.now());
    let after = serde_json::json!({ "url": url, "format": format });
    let event = caller.event("settings.webhook_added").change(None, Some(after));
    state.db.write_counters(|c| {
        webhooks::insert(c, ws, (&url, format), &description, now)?;
        audit::record(c, now, &event)?;
        Ok::<_, Error>(())
    })
}

fn with_webhook(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: &'static str,
    f: impl FnOnce(&mut crate::db::DbConn, &webhooks::Webhook) -> std::result::Result<(), diesel::result::Error>,
) -> Result<()> {
    caller.must_administer()?;
    let (ws, now) = (caller.workspace_id, state.now());
    state.db.write_counters(|c| {
        let hook = webhooks::find(c, ws, id)?.ok_or(Error::NotFound)?;
        f(c, &hook)?;
        let event = caller.event(action).change(None, Some(serde_json::json!({ "url": hook.url })));
        audit::record(c, now, &event)?;
        Ok(())
    })
}

pub fn set_enabled(state: &AppState, caller: &Caller, id: i64, enabled: bool) -> Result<()> {
    let action = if enabled { "settings.webhook_enabled" } else { "settings.webhook_disabled" };
    with_webhook(state, caller, id, action, |c, hook| webhooks::set_enabled(c, hook.id, enabled).map(drop))
}

pub fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    with_webhook(state, caller, id, "settings.webhook_deleted", |c, hook| webhooks::delete(c, hook.id).map(drop))
}

/// Queues a `test` event for one webhook.
pub fn send_test(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let now = state.now();
    let payload = serde_json::json!({
        "event": "test",
        "workspace_id": caller.workspace_id,
        "title": "A test delivery from keyward",
        "created_at": crate::clock::format_rfc3339(now),
    })
    .to_string();
    with_webhook(state, caller, id, "settings.webhook_tested", |c, hook| {
        webhooks::enqueue_to(c, hook.id, "test", &payload, now)
    })
}

/// When the `attempts`-th failed attempt is retried, or `None` to give up.
pub fn retry_at(attempts: i64, now: i64) -> Option<i64> {
    (attempts < MAX_ATTEMPTS).then(|| now + FIRST_RETRY_SECS * (1_i64 << (attempts - 1).clamp(0, 20)))
}

/// Sends every delivery that is due; returns (delivered, failed attempts).
pub async fn deliver_due(state: &AppState) -> Result<(usize, usize)> {
    let now = state.now();
    let due = state.run(move |s| s.db.read(|c| webhooks::due(c, now, 50))).await?;
    let (mut delivered, mut failed) = (0, 0);
    for delivery in due {
        let id = delivery.id;
        let claimed = state
            .run(move |s| s.db.write_counters(|c| webhooks::claim(c, id, now, now + LEASE_SECS).map_err(Error::from)))
            .await?;
        if !claimed {
            continue;
        }
        let attempts = delivery.attempts + 1;
        let outcome = send(state, &delivery).await;
        if outcome.is_ok() {
            delivered += 1
        } else {
            failed += 1
        }
        let now = state.now();
        state
            .run(move |s| {
                s.db.write_counters(|c| {
                    match &outcome {
                        Ok(()) => webhooks::delivered(c, id, attempts, now),
                        Err(error) => webhooks::attempt_failed(c, id, attempts, error, retry_at(attempts, now)),
                    }
                    .map_err(Error::from)
                })
            })
            .await?;
    }
    Ok((delivered, failed))
}

async fn send(state: &AppState, delivery: &webhooks::Due) -> std::result::Result<(), String> {
    let url = reqwest::Url::parse(&delivery.url).map_err(|_| "the URL cannot be read".to_owned())?;
    if !outbound::literal_allowed(&url, state.config.webhooks_allow_private) {
        return Err(outbound::REFUSED.to_owned());
    }
    let body = shaped(&delivery.format, &delivery.payload, &state.config.public_url).into_bytes();
    let signature = (delivery.format == "keyward")
        .then(|| state.signing.sign(Some(delivery.workspace_id), &body, state.now()))
        .flatten();
    let mut request = outbound::shared(state)
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Keyward-Event", &delivery.event)
        .header("X-Keyward-Delivery", delivery.id.to_string());
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    match request.body(body).send().await {
        Err(e) if outbound::was_refused(&e) => Err(outbound::REFUSED.to_owned()),
        Ok(response) if response.status().is_redirection() => {
            Err(format!("the receiver answered {} (redirects are not followed)", response.status()))
        }
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("the receiver answered {}", response.status())),
        Err(e) if e.is_timeout() => Err("the receiver did not answer within 10 seconds".to_owned()),
        Err(e) if e.is_connect() => Err("could not connect to the receiver".to_owned()),
        Err(_) => Err("the request failed".to_owned()),
    }
}

/// The body a receiver of `format` takes for a queued keyward payload: the payload itself, a Slack
/// message (`{"text"}`, with the link in Slack's `<url|label>` form), or a Teams message card. Titles and
/// bodies carry names people typed (a key's, a role's): they are escaped, so a name like
/// `<https://evil.example|Open>` or `[Open](https://evil.example)` shows as text, never as a link.
pub fn shaped(format: &str, payload: &str, public_url: &str) -> String {
    if format == "keyward" {
        return payload.to_owned();
    }
    let value: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    let escape = |text: &str| -> String {
        if format == "slack" {
            // Slack's three control characters (api.slack.com: "Escaping text").
            text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
        } else {
            // Teams cards read Markdown: every character that could open a link, emphasis or HTML.
            text.chars().fold(String::with_capacity(text.len()), |mut out, c| {
                if "\\`*_{}[]()#+-.!<>|".contains(c) {
                    out.push('\\');
                }
                out.push(c);
                out
            })
        }
    };
    let field = |name: &str| escape(value.get(name).and_then(serde_json::Value::as_str).unwrap_or_default());
    let (title, body) = (field("title"), field("body"));
    let link = value.get("link").and_then(serde_json::Value::as_str).map(|l| format!("{public_url}{l}"));
    let who = value
        .get("account")
        .and_then(serde_json::Value::as_str)
        .map(|a| format!(" (for {})", escape(a)))
        .unwrap_or_default();
    if format == "slack" {
        let mut text = format!("*{title}*{who}");
        if !body.is_empty() {
            text.push('\n');
            text.push_str(&body);
        }
        if let Some(link) = &link {
            text.push_str(&format!("\n<{link}|Open in keyward>"));
        }
        return serde_json::json!({ "text": text }).to_string();
    }
    let actions: Vec<serde_json::Value> = link
        .iter()
        .map(|l| {
            serde_json::json!({
                "@type": "OpenUri", "name": "Open in keyward", "targets": [{ "os": "default", "uri": l }]
            })
        })
        .collect();
    serde_json::json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title,
        "title": format!("{title}{who}"),
        "text": body,
        "potentialAction": actions,
    })
    .to_string()
}

/// The caller's workspace's webhooks and their most recent deliveries.
pub fn list(state: &AppState, caller: &Caller) -> Result<(Vec<Webhook>, Vec<DeliveryRow>)> {
    let ws = caller.workspace_id;
    state.db.read(|c| Ok::<_, diesel::result::Error>((webhooks::list(c, ws)?, webhooks::recent(c, ws, 20)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert_eq!(parse_url(" https://hooks.example.com/k ").ok().as_deref(), Some("https://hooks.example.com/k"));
        assert!(parse_url("ftp://example.com").is_err());
        assert!(parse_url("hooks.example.com").is_err());
        assert!(parse_url("https://user:pw@example.com/").is_err());
    }

    #[test]
    fn chat_receivers_get_a_message_with_the_link() {
        let payload = r#"{"event":"key_expiring","account":"ann@example.com","title":"Key “ci” expires in 3 days","body":"Extend it.","link":"/keys/7/edit"}"#;
        let slack: serde_json::Value =
            serde_json::from_str(&shaped("slack", payload, "https://k.example")).expect("json");
        assert_eq!(
            slack["text"],
            "*Key “ci” expires in 3 days* (for ann@example.com)\nExtend it.\n<https://k.example/keys/7/edit|Open in keyward>"
        );
        let teams: serde_json::Value =
            serde_json::from_str(&shaped("teams", payload, "https://k.example")).expect("json");
        assert_eq!(teams["@type"], "MessageCard");
        assert_eq!(teams["potentialAction"][0]["targets"][0]["uri"], "https://k.example/keys/7/edit");
        assert_eq!(shaped("keyward", payload, "https://k.example"), payload);
    }

    #[test]
    fn names_people_typed_never_become_links_in_a_channel() {
        let payload = r#"{"title":"Key “<https://evil.example|Open in keyward>” expires","body":"[Open](https://evil.example) & more","link":"/keys/7"}"#;
        let slack: serde_json::Value =
            serde_json::from_str(&shaped("slack", payload, "https://k.example")).expect("json");
        let text = slack["text"].as_str().expect("text");
        assert!(
            text.contains("“&lt;https://evil.example|Open in keyward&gt;”") && text.contains("&amp; more"),
            "{text}"
        );
        assert_eq!(text.matches('<').count(), 1, "only keyward's own link: {text}");
        let teams: serde_json::Value =
            serde_json::from_str(&shaped("teams", payload, "https://k.example")).expect("json");
        assert_eq!(teams["text"], "\\[Open\\]\\(https://evil\\.example\\) & more");
        assert_eq!(teams["potentialAction"][0]["targets"][0]["uri"], "https://k.example/keys/7");
    }

    #[test]
    fn retries_back_off_and_stop() {
        assert_eq!(retry_at(1, 0), Some(30));
        assert_eq!(retry_at(2, 0), Some(60));
        assert_eq!(retry_at(7, 0), Some(30 * 64));
        assert_eq!(retry_at(MAX_ATTEMPTS, 0), None);
    }
}
