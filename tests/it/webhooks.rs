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

on_both_backends! {
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
        let settings = admin.get("/settings").await.body;
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
        let pending = admin.get("/settings").await.body;
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
        let settings = admin.get("/settings").await.body;
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
        assert!(!admin.get("/settings").await.body.contains(&url));
        assert!(admin.get("/audit?action=settings.").await.body.contains("settings.webhook_deleted"));
    }
}
