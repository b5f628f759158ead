//! The shared secret: shown and replaced only after the password is re-entered, and every
//! verification response signed with it (and, during an overlap, with the previous one too).

use hmac::{KeyInit as _, Mac as _};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, PASSWORD, TestApp};
use crate::keys::create_key;
use crate::on_both_backends;

/// The secret in a page that shows one.
fn shown_secret(body: &str) -> Option<String> {
    let start = body.find("value=\"kwss_")? + "value=\"".len();
    body[start..].split('"').next().map(str::to_owned)
}

/// A verification: `{body, raw}` (the parsed body and the exact text received) and the signature header.
async fn signed_verify(app: &TestApp, key: &str) -> (Value, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/verify", app.base))
        .json(&json!({ "key": key }))
        .send()
        .await
        .expect("verify");
    let header = response.headers().get("x-keyward-signature").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let bytes = response.bytes().await.expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    (json!({ "body": body, "raw": String::from_utf8_lossy(&bytes) }), header)
}

/// True when one of the header's `v1` values is HMAC-SHA256(secret, "t.body") — what an
/// integration does, written from the README's description.
fn signed_by(header: &str, raw_body: &str, secret: &str) -> bool {
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => candidates.push(v.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{raw_body}").as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    candidates.contains(&expected)
}

async fn reveal(admin: &Browser, password: &str) -> (StatusCode, Option<String>, String) {
    admin.get("/settings").await;
    let page = admin.htmx_post("/settings/shared-secret/reveal", &[("password", password)]).await;
    (page.status, shown_secret(&page.body), page.body)
}

on_both_backends! {
    async fn verify_responses_are_signed_with_the_shared_secret_shown_after_reauthentication(app) {
        let admin = app.admin().await;
        let (_, key) = create_key(&admin, &[("name", "Signed")]).await;

        let settings = admin.get("/settings/shared-secret").await.body;
        assert!(settings.contains("Shared secret") && settings.contains("Current secret</dt><dd>made "));
        assert!(shown_secret(&settings).is_none(), "never shown without the password");

        let (status, secret, body) = reveal(&admin, "not my password").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(secret.is_none() && body.contains("not your current password"), "{body}");
        let (status, secret, _) = reveal(&admin, PASSWORD).await;
        assert_eq!(status, StatusCode::OK);
        let secret = secret.expect("the secret after the password");
        assert!(secret.starts_with("kwss_") && secret.len() > 40);

        let (valid, header) = signed_verify(&app, &key).await;
        assert_eq!(valid["body"]["code"], json!("VALID"));
        assert!(header.starts_with(&format!("t={},v1=", app.clock.now())), "{header}");
        assert!(signed_by(&header, valid["raw"].as_str().unwrap_or(""), &secret));
        assert!(!signed_by(&header, "{\"valid\":true}", &secret), "the signature covers the body");
        let stranger = keyward::domain::key::generate("kwa", |b| b.fill(7));
        let (unknown, header) = signed_verify(&app, stranger.expose()).await;
        assert_eq!(unknown["body"]["code"], json!("NOT_FOUND"));
        assert!(signed_by(&header, unknown["raw"].as_str().unwrap_or(""), &secret), "refusals are signed too");

        // Regenerate with a one-hour overlap: both sign until it ends; then only the new one.
        admin.get("/settings").await;
        let page = admin
            .htmx_post("/settings/shared-secret/regenerate", &[("password", PASSWORD), ("overlap_secs", "3600")])
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("shown this once") && page.body.contains("Previous secret</dt><dd>still signs until"));
        let new = shown_secret(&page.body).expect("the new secret, once");
        assert_ne!(new, secret);
        let (valid, header) = signed_verify(&app, &key).await;
        let raw = valid["raw"].as_str().unwrap_or("").to_owned();
        assert!(signed_by(&header, &raw, &new) && signed_by(&header, &raw, &secret), "{header}");
        assert_eq!(header.matches("v1=").count(), 2);
        app.clock.advance(3_601);
        let admin = app.browser();
        admin.sign_in("admin@example.com", PASSWORD).await;
        let (valid, header) = signed_verify(&app, &key).await;
        let raw = valid["raw"].as_str().unwrap_or("").to_owned();
        assert!(signed_by(&header, &raw, &new) && !signed_by(&header, &raw, &secret), "{header}");

        // Without overlap the previous one stops at once; ending an overlap early does the same.
        admin.get("/settings").await;
        let page = admin
            .htmx_post("/settings/shared-secret/regenerate", &[("password", PASSWORD), ("overlap_secs", "86400")])
            .await;
        let newest = shown_secret(&page.body).expect("newest");
        admin.get("/settings").await;
        let ended = admin.post("/settings/shared-secret/end-overlap", &[]).await;
        assert_eq!(ended.status, StatusCode::SEE_OTHER);
        let (valid, header) = signed_verify(&app, &key).await;
        let raw = valid["raw"].as_str().unwrap_or("").to_owned();
        assert!(signed_by(&header, &raw, &newest) && !signed_by(&header, &raw, &new), "{header}");
        assert!(!admin.get("/settings/shared-secret").await.body.contains("Previous secret"));

        let audit = admin.get("/").await.body;
        assert!(audit.contains("shared_secret.revealed") && audit.contains("shared_secret.regenerated"), "{audit}");
        let logs = crate::helpers::captured_logs();
        for s in [&secret, &new, &newest] {
            assert!(!logs.contains(s.as_str()), "a shared secret reached the log");
        }
    }
}

on_both_backends! {
    async fn only_administrators_see_the_shared_secret_and_the_api_asks_for_the_password(app) {
        let admin = app.admin().await;
        let auditor = app.user(&admin, "audrey@example.com", "auditor").await;
        let settings = auditor.get("/settings").await.body;
        assert!(settings.contains("Key policies") && !settings.contains("Shared secret"), "{settings}");
        assert_eq!(auditor.get("/settings/shared-secret").await.status, StatusCode::FORBIDDEN);
        auditor.get("/settings").await;
        let page = auditor.post("/settings/shared-secret/reveal", &[("password", PASSWORD)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);

        let (_, admin_key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
        let (_, readonly_key) = create_key(&admin, &[("name", "Reporting"), ("role_name", "READONLY")]).await;
        let client = reqwest::Client::new();
        let call = |path: &str, key: &str, body: Option<Value>| {
            let mut request = match body {
                Some(b) => client.post(format!("{}{path}", app.base)).json(&b),
                None => client.get(format!("{}{path}", app.base)),
            };
            request = request.header("authorization", format!("Bearer {key}"));
            request.send()
        };
        let response = call("/api/v1/shared-secret", &admin_key, None).await.expect("show");
        assert_eq!(response.status(), StatusCode::OK);
        let info: Value = response.json().await.expect("json");
        assert!(info["created_at"].as_i64().is_some() && info.get("secret").is_none(), "{info}");
        let refused = call("/api/v1/shared-secret", &readonly_key, None).await.expect("show");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);

        let wrong = call("/api/v1/shared-secret/reveal", &admin_key, Some(json!({ "password": "nope" }))).await.expect("reveal");
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let right = call("/api/v1/shared-secret/reveal", &admin_key, Some(json!({ "password": PASSWORD }))).await.expect("reveal");
        assert_eq!(right.status(), StatusCode::OK);
        assert_eq!(right.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
        let shown: Value = right.json().await.expect("json");
        let (_, console) = reveal(&admin, PASSWORD).await.1.map(|s| ((), s)).expect("console secret");
        assert_eq!(shown["secret"].as_str(), Some(console.as_str()));

        let body = json!({ "password": PASSWORD, "overlap_secs": 999_999_999 });
        let too_long = call("/api/v1/shared-secret/regenerate", &admin_key, Some(body)).await.expect("regenerate");
        assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = json!({ "password": PASSWORD, "overlap_secs": 60 });
        let regenerated = call("/api/v1/shared-secret/regenerate", &admin_key, Some(body)).await.expect("regenerate");
        assert_eq!(regenerated.status(), StatusCode::OK);
        let new: Value = regenerated.json().await.expect("json");
        assert_ne!(new["secret"], shown["secret"]);
        let info: Value = call("/api/v1/shared-secret", &admin_key, None).await.expect("show").json().await.expect("json");
        assert_eq!(info["previous"][0]["retires_at"].as_i64(), Some(app.clock.now() + 60), "{info}");
    }
}

on_both_backends! {
    async fn before_setup_a_verification_is_answered_unsigned(app) {
        let stranger = keyward::domain::key::generate("kwa", |b| b.fill(3));
        let (unknown, header) = signed_verify(&app, stranger.expose()).await;
        assert_eq!(unknown["body"]["code"], json!("NOT_FOUND"));
        assert!(header.is_empty(), "no workspace, so no secret to sign with: {header}");
        let stored: i64 = app
            .state
            .db
            .read(|c| {
                use diesel::prelude::*;
                keyward::db::schema::shared_secrets::table.count().get_result::<i64>(c)
            })
            .expect("count");
        assert_eq!(stored, 0, "nothing was written for it");
    }
}
