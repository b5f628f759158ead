//! Secrets never leak: the main flows run with the server logging at debug level, and no API key,
//! password, session cookie or shared secret appears in the logs, in any URL (redirects, links), or in
//! any page but the one that shows it on purpose: the show-once page after creating or regenerating a
//! key, the reveal dialog, and the shared secret's reveal.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Browser, Page, TestApp, captured_logs};
use crate::key_lifecycle::secret_in;
use crate::keys::create_key;
use crate::on_both_backends;

/// Every page a flow saw, and the secret (if any) it was meant to show.
#[derive(Default)]
struct Seen(Vec<(String, Page, Option<String>)>);

impl Seen {
    fn page(&mut self, what: &str, page: Page) {
        self.0.push((what.to_owned(), page, None));
    }

    fn showing(&mut self, what: &str, page: Page, secret: &str) {
        assert!(page.body.contains(secret), "{what} should show its secret");
        self.0.push((what.to_owned(), page, Some(secret.to_owned())));
    }

    /// No page, header or URL holds any of `secrets` except the one page meant to show it.
    fn assert_clean(&self, secrets: &[(&str, &str)]) {
        for (what, page, allowed) in &self.0 {
            let headers: String =
                page.headers.iter().map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or(""))).collect();
            for (name, secret) in secrets {
                if allowed.as_deref() == Some(*secret) {
                    continue;
                }
                assert!(!page.body.contains(secret), "{what}: the page shows the {name}");
                // The session cookie is set in a header, once, at sign-in: never anywhere else.
                if *name != "session cookie" || !headers.contains("set-cookie") {
                    assert!(!headers.contains(secret), "{what}: a header carries the {name}");
                }
            }
        }
    }
}

fn session_cookie(page: &Page) -> String {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v.to_owned()))
        .filter(|v| v.len() > 16)
        .expect("a session cookie")
}

/// A machine call, with the key (if any) in the given header, as `Bearer` for `authorization`.
async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: Option<(&str, &str)>,
    body: Option<serde_json::Value>,
) -> Page {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", app.base));
    match key {
        Some(("authorization", key)) => request = request.header("authorization", format!("Bearer {key}")),
        Some((header, key)) => request = request.header(header, key),
        None => {}
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("call");
    let (status, headers) = (response.status(), response.headers().clone());
    Page { status, headers, body: response.text().await.unwrap_or_default() }
}

on_both_backends! {
    async fn no_key_password_cookie_or_shared_secret_reaches_a_log_a_url_or_another_page(app) {
        let unique = hex::encode(keyward::crypto::random_bytes::<6>());
        let password = format!("member password {unique}");
        let wrong = format!("wrong guess {unique}");
        let new_password = format!("changed password {unique}");
        let mut seen = Seen::default();

        let admin = app.admin().await;
        admin.get("/users").await;
        let added = admin
            .post("/users", &[("email", "m@example.com"), ("name", "M"), ("role", "member"), ("password", &password), ("confirm", &password)])
            .await;
        seen.page("add user", added);

        let member = Browser::new(&app.base);
        seen.page("sign-in page", member.get("/login").await);
        seen.page("failed sign-in", member.post("/login", &[("email", "m@example.com"), ("password", &wrong)]).await);
        let signed_in = member.post("/login", &[("email", "m@example.com"), ("password", &password)]).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
        let cookie = session_cookie(&signed_in);
        seen.0.push(("sign-in".into(), signed_in, None));

        let (id, key) = create_key(&member, &[("name", "Leak check")]).await;
        for path in ["/", "/keys", &format!("/keys/{id}"), "/keys?q=Leak", "/notifications", "/profile"] {
            seen.page(path, member.get(path).await);
        }
        seen.page("wrong reveal", member.htmx_post(&format!("/keys/{id}/reveal"), &[("password", &wrong)]).await);
        let revealed = member.htmx_post(&format!("/keys/{id}/reveal"), &[("password", &password)]).await;
        seen.showing("reveal", revealed, &key);

        member.get(&format!("/keys/{id}/rotate")).await;
        let rotated = member.post(&format!("/keys/{id}/rotate"), &[("overlap", "3600")]).await;
        let new_key = secret_in(&rotated.body);
        seen.showing("regenerate", rotated, &new_key);
        seen.page("key after rotation", member.get(&format!("/keys/{id}")).await);

        member.get("/test-key").await;
        let tested = member.post("/test-key", &[("key", &new_key), ("method", "GET"), ("path", "/anything")]).await;
        seen.page("test-key", tested);

        seen.page("verify", api(&app, reqwest::Method::POST, "/api/v1/keys/verify", None, Some(json!({ "key": new_key }))).await);
        seen.page("verify the retiring key", api(&app, reqwest::Method::POST, "/api/v1/keys/verify", None, Some(json!({ "key": key }))).await);
        seen.page("forward-auth", api(&app, reqwest::Method::GET, "/api/v1/authorize/x", Some(("authorization", &new_key)), None).await);
        seen.page("forward-auth, X-API-Key", api(&app, reqwest::Method::GET, "/api/v1/authorize", Some(("x-api-key", &key)), None).await);

        let (_, admin_key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
        for path in ["/api/v1/keys", &format!("/api/v1/keys/{id}"), "/api/v1/audit", "/api/v1/accounts"] {
            seen.page(path, api(&app, reqwest::Method::GET, path, Some(("authorization", &admin_key)), None).await);
        }
        seen.page("audit", admin.get("/audit").await);
        seen.page("audit CSV", admin.get("/audit.csv").await);
        seen.page("credential report", admin.get("/keys/report.csv").await);
        seen.page("admin's key list", admin.get("/keys").await);

        admin.get("/settings").await;
        let shown = admin.htmx_post("/settings/shared-secret/reveal", &[("password", crate::helpers::PASSWORD)]).await;
        let start = shown.body.find("value=\"kwss_").expect("shown") + "value=\"".len();
        let shared = shown.body[start..].split('"').next().expect("secret").to_owned();
        seen.showing("shared secret reveal", shown, &shared);
        seen.page("settings", admin.get("/settings/shared-secret").await);
        seen.page("shared secret API", api(&app, reqwest::Method::GET, "/api/v1/shared-secret", Some(("authorization", &admin_key)), None).await);

        member.get("/profile").await;
        let changed = member
            .post("/profile/password", &[("current_password", &password), ("new_password", &new_password), ("confirm", &new_password)])
            .await;
        assert!(changed.status.is_success() || changed.status.is_redirection(), "{}", changed.body);
        seen.page("password change", changed);
        assert_eq!(Browser::new(&app.base).sign_in("m@example.com", &new_password).await.status, StatusCode::SEE_OTHER);
        seen.page("signed out", member.post("/logout", &[]).await);

        let secrets = [
            ("key", key.as_str()),
            ("regenerated key", new_key.as_str()),
            ("ADMIN key", admin_key.as_str()),
            ("password", password.as_str()),
            ("wrong password", wrong.as_str()),
            ("new password", new_password.as_str()),
            ("session cookie", cookie.as_str()),
            ("shared secret", shared.as_str()),
        ];
        seen.assert_clean(&secrets);
        let logs = captured_logs();
        assert!(logs.contains("key revealed"), "the logs were captured at debug level");
        for (name, secret) in secrets {
            assert!(!logs.contains(secret), "the logs hold the {name}");
        }
        // A key's body (after its prefix) is never logged either, not even in part.
        let body = &new_key[new_key.find('_').expect("prefix") + 1..];
        assert!(!logs.contains(&body[..16]), "the logs hold part of a key");
    }
}
