//! Webhooks: notifications delivered to a local receiver, signed with the shared secret, retried with
//! backoff after a failure, and visible in Settings.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{KeyInit as _, Mac as _};
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp};
use crate::keys::create_key;
use crate::on_both_backends;

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(String, String, String)>>>,
    answer: Arc<AtomicU16>,
}

async fn receive(req: HttpRequest, body: web::Bytes, receiver: web::Data<Receiver>) -> HttpResponse {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let entry = (header("x-keyward-event"), header("x-keyward-signature"), String::from_utf8_lossy(&body).into_owned());
    receiver.received.lock().expect("lock").push(entry);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(receiver.answer.load(Ordering::SeqCst)).expect("status"))
        .finish()
}

/// A local HTTP server that records what it receives and answers with `answer`; returns its URL.
fn spawn_receiver(receiver: &Receiver) -> String {
    receiver.answer.store(200, Ordering::SeqCst);
    let data = web::Data::new(receiver.clone());
    let server = HttpServer::new(move || App::new().app_data(data.clone()).route("/hook", web::post().to(receive)))
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind");
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}/hook")
}

fn signed_by(header: &str, body: &str, secret: &str) -> bool {
    let t = header.split(',').find_map(|p| p.strip_prefix("t=")).unwrap_or("");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    header.split(',').any(|p| p.strip_prefix("v1=") == Some(expected.as_str()))
}

async fn deliver(app: &TestApp) -> (usize, usize) {
    keyward::services::webhooks::deliver_due(&app.state).await.expect("deliver")
}

/// Receivers on loopback are private addresses: these servers let webhooks reach them.
fn allow_private(config: &mut keyward::config::Config) {
    config.webhooks_allow_private = true;
}

on_both_backends! {
    with allow_private;
    async fn notifications_reach_webhooks_signed_and_retried(app) {
        let receiver = Receiver::default();
        let url = spawn_receiver(&receiver);
        let admin = app.admin().await;
        admin.get("/settings").await;
        let bad = admin.post("/settings/webhooks", &[("url", "ftp://example.com/x")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("Give an http:// or https:// URL"));
        let added = admin.post("/settings/webhooks", &[("url", &url), ("description", "Ops channel")]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER);
        let settings = admin.get("/settings/webhooks").await.body;
        assert!(settings.contains(&url) && settings.contains("Ops channel"));
        let hook = settings.split("id=\"webhook-").nth(1).and_then(|s| s.split('"').next()).expect("webhook id").to_owned();

        // A test delivery, signed with the shared secret.
        admin.post(&format!("/settings/webhooks/{hook}/test"), &[]).await;
        assert_eq!(deliver(&app).await, (1, 0));
        let secret_page = admin.htmx_post("/settings/shared-secret/reveal", &[("password", PASSWORD)]).await.body;
        let start = secret_page.find("value=\"kwss_").expect("secret") + "value=\"".len();
        let secret = secret_page[start..].split('"').next().expect("secret").to_owned();
        {
            let got = receiver.received.lock().expect("lock");
            let (event, signature, body) = &got[0];
            assert_eq!(event, "test");
            assert!(signed_by(signature, body, &secret), "{signature}");
            assert!(!signed_by(signature, &body.replace("test", "tset"), &secret));
        }

        // The receiver fails: the delivery waits 30 s, then succeeds.
        receiver.answer.store(500, Ordering::SeqCst);
        admin.get("/settings").await;
        admin.post("/settings/policies", &[("reminder_days", "3"), ("rotation_days", "90"), ("recent_use_days", "3"), ("stale_days", "30")]).await;
        create_key(&admin, &[("name", "Short lived"), ("expiry", "30")]).await;
        app.clock.advance(28 * 86_400);
        keyward::services::reminders::run(&app.state).expect("reminders");
        assert_eq!(deliver(&app).await, (0, 1));
        assert_eq!(deliver(&app).await, (0, 0), "not before the backoff");
        admin.sign_in("admin@example.com", PASSWORD).await;
        let pending = admin.get("/settings/webhooks").await.body;
        assert!(pending.contains("data-status=\"pending\"") && pending.contains("the receiver answered 500"), "{pending}");
        receiver.answer.store(204, Ordering::SeqCst);
        app.clock.advance(31);
        assert_eq!(deliver(&app).await, (1, 0));
        {
            let got = receiver.received.lock().expect("lock");
            let (event, _, body) = got.last().expect("delivery");
            assert_eq!(event, "key_expiring");
            let json: serde_json::Value = serde_json::from_str(body).expect("json");
            assert_eq!(json["account"], "admin@example.com");
            assert!(json["title"].as_str().is_some_and(|t| t.contains("Short lived")));
            assert_eq!(got.len(), 3, "the test, the failed attempt and the retry");
        }
        let settings = admin.get("/settings/webhooks").await.body;
        assert!(!settings.contains("data-status=\"pending\""));

        // Turned off, a webhook gets nothing; deleted, it is gone.
        admin.post(&format!("/settings/webhooks/{hook}/enabled"), &[("enabled", "0")]).await;
        app.clock.advance(2 * 86_400);
        keyward::services::reminders::run(&app.state).expect("reminders");
        assert_eq!(deliver(&app).await, (0, 0));
        admin.sign_in("admin@example.com", PASSWORD).await;
        admin.get("/settings").await;
        let deleted = admin.post(&format!("/settings/webhooks/{hook}/delete"), &[]).await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        assert!(!admin.get("/settings/webhooks").await.body.contains(&url));
        assert!(admin.get("/audit?action=settings.").await.body.contains("settings.webhook_deleted"));
    }
}

/// The first hook of the workspace, by its settings row.
async fn first_hook(admin: &crate::helpers::Browser) -> String {
    let settings = admin.get("/settings/webhooks").await.body;
    settings.split("id=\"webhook-").nth(1).and_then(|s| s.split('"').next()).expect("webhook id").to_owned()
}

on_both_backends! {
    /// By default a webhook reaches only public addresses: whether the URL names loopback in any spelling,
    /// or a name that resolves there. The refusal reads the same whatever listens behind the address.
    async fn webhooks_never_reach_loopback_or_private_addresses_by_default(app) {
        let receiver = Receiver::default();
        let url = spawn_receiver(&receiver);
        let port = url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/hook").to_owned();
        let admin = app.admin().await;
        admin.get("/settings").await;
        for literal in [
            url.clone(),
            format!("http://2130706433:{port}/hook"),
            format!("http://0x7f.1:{port}/hook"),
            format!("http://[::1]:{port}/hook"),
            format!("http://[::ffff:127.0.0.1]:{port}/hook"),
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "http://10.0.0.1/hook".to_owned(),
        ] {
            let refused = admin.post("/settings/webhooks", &[("url", &literal)]).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{literal}");
            assert!(refused.body.contains("Give a public address"), "{literal}: {}", refused.body);
        }
        // A name is checked on the addresses each connection uses.
        let named = format!("http://localhost:{port}/hook");
        assert_eq!(admin.post("/settings/webhooks", &[("url", &named)]).await.status, StatusCode::SEE_OTHER);
        let hook = first_hook(&admin).await;
        admin.post(&format!("/settings/webhooks/{hook}/test"), &[]).await;
        assert_eq!(deliver(&app).await, (0, 1));
        assert!(receiver.received.lock().expect("lock").is_empty(), "nothing reached the loopback receiver");
        let settings = admin.get("/settings/webhooks").await.body;
        assert!(settings.contains(keyward::services::outbound::REFUSED), "{settings}");
        // A closed port behind a private name reads the same: nothing maps the internal network.
        admin.post(&format!("/settings/webhooks/{hook}/delete"), &[]).await;
        admin.get("/settings").await;
        admin.post("/settings/webhooks", &[("url", "http://localhost:1/closed")]).await;
        let closed = first_hook(&admin).await;
        admin.post(&format!("/settings/webhooks/{closed}/test"), &[]).await;
        app.clock.advance(3600);
        assert_eq!(deliver(&app).await, (0, 1));
        let settings = admin.get("/settings/webhooks").await.body;
        assert!(!settings.contains("could not connect"), "{settings}");
    }
}

on_both_backends! {
    with allow_private;
    /// With private receivers allowed, a delivery still never follows a redirect (with its body and
    /// signature) somewhere else.
    async fn deliveries_do_not_follow_redirects(app) {
        let target = Receiver::default();
        let target_url = spawn_receiver(&target);
        let data = web::Data::new(target_url.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).route("/hook", web::post().to(|to: web::Data<String>| async move {
                HttpResponse::TemporaryRedirect().insert_header(("location", to.get_ref().clone())).finish()
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind");
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        let admin = app.admin().await;
        admin.get("/settings").await;
        let added = admin.post("/settings/webhooks", &[("url", &format!("http://127.0.0.1:{port}/hook"))]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        let hook = first_hook(&admin).await;
        admin.post(&format!("/settings/webhooks/{hook}/test"), &[]).await;
        assert_eq!(deliver(&app).await, (0, 1));
        assert!(target.received.lock().expect("lock").is_empty(), "the redirect was not followed");
        assert!(admin.get("/settings/webhooks").await.body.contains("redirects are not followed"));
    }
}

on_both_backends! {
    with allow_private;
    async fn chat_channels_get_a_message_with_the_link_in_their_own_format(app) {
        let receiver = Receiver::default();
        let url = spawn_receiver(&receiver);
        let admin = app.admin().await;
        admin.get("/settings/webhooks").await;
        let odd = admin.post("/settings/webhooks", &[("url", &url), ("format", "irc")]).await;
        assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(odd.body.contains("Choose keyward JSON, Slack-compatible or Microsoft Teams."), "{}", odd.body);
        let slack = format!("{url}?slack");
        let teams = format!("{url}?teams");
        for (target, format) in [(&slack, "slack"), (&teams, "teams")] {
            let added = admin.post("/settings/webhooks", &[("url", target), ("format", format)]).await;
            assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        }
        let settings = admin.get("/settings/webhooks").await.body;
        assert!(settings.contains("Slack-compatible") && settings.contains("Microsoft Teams"), "{settings}");

        let bob = app.user(&admin, "bob@example.com", "member").await;
        drop(bob);
        let (id, _) = create_key(&admin, &[("name", "Handed over")]).await;
        let bob = app.account_id("bob@example.com").to_string();
        admin.post("/keys/reassign", &[("ids", &id), ("owner", &bob)]).await;
        assert_eq!(deliver(&app).await, (2, 0));
        let got = receiver.received.lock().expect("lock").clone();
        let link = format!("{}/keys/{id}", app.base);
        let text = got.iter().find_map(|(_, _, body)| {
            let json: serde_json::Value = serde_json::from_str(body).ok()?;
            json["text"].as_str().filter(|_| json.get("@type").is_none()).map(str::to_owned)
        });
        assert_eq!(
            text.as_deref(),
            Some(format!("*The key “Handed over” was reassigned to you* (for bob@example.com)\n<{link}|Open in keyward>").as_str())
        );
        let card = got
            .iter()
            .filter_map(|(_, _, body)| serde_json::from_str::<serde_json::Value>(body).ok())
            .find(|json| json["@type"] == "MessageCard")
            .expect("a Teams card");
        assert_eq!(card["potentialAction"][0]["targets"][0]["uri"], link.as_str());
        assert!(got.iter().all(|(_, signature, _)| signature.is_empty()), "chat messages are not signed");
    }
}
