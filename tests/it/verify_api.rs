//! The verification API and forward-auth over HTTP: every code, request checks, immediate effect of
//! changes on the (cached) hot path, IP allow-lists, rate limits, and each proxy's header convention.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp};
use crate::key_lifecycle::secret_in;
use crate::keys::create_key;
use crate::on_both_backends;
use crate::permissions::permission_id;

async fn verify(app: &TestApp, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/verify", app.base))
        .json(&body)
        .send()
        .await
        .expect("verify");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    response.json().await.expect("json")
}

async fn code_of(app: &TestApp, body: Value) -> String {
    verify(app, body).await["code"].as_str().unwrap_or_default().to_owned()
}

/// A catalogue of two permissions, both granted to the administrator; returns (lock id, view id).
pub async fn catalogue(app: &TestApp, admin: &Browser) -> (String, String) {
    admin.get("/permissions").await;
    admin
        .post(
            "/permissions",
            &[("name", "device.lock"), ("label", "Lock"), ("writes", "1"), ("rules", "POST /d/*/lock")],
        )
        .await;
    admin.post("/permissions", &[("name", "device.view"), ("label", "View"), ("rules", "GET /d/*\nGET /d/*/**")]).await;
    let page = admin.get("/keys/new").await.body;
    let (lock, view) = (permission_id(&page, "device.lock"), permission_id(&page, "device.view"));
    let me = app.account_id("admin@example.com");
    admin.get(&format!("/users/{me}")).await;
    admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &lock), ("permissions", &view)]).await;
    (lock, view)
}

on_both_backends! {
    async fn verify_answers_every_code_and_checks_permissions_and_requests(app) {
        let admin = app.admin().await;
        let (lock, _) = catalogue(&app, &admin).await;
        let (id, key) = create_key(&admin, &[("name", "Locker"), ("permissions", &lock), ("expiry", "30")]).await;

        let malformed = verify(&app, json!({ "key": "nope" })).await;
        assert_eq!((malformed["valid"].as_bool(), malformed["code"].as_str()), (Some(false), Some("MALFORMED")));
        let stranger = keyward::domain::key::generate("kwa", |b| b.fill(7));
        assert_eq!(code_of(&app, json!({ "key": stranger.expose() })).await, "NOT_FOUND");

        let valid = verify(&app, json!({ "key": key })).await;
        assert_eq!(valid["valid"], json!(true));
        assert_eq!(valid["code"], json!("VALID"));
        assert_eq!(valid["key_id"].as_i64().map(|k| k.to_string()), Some(id.clone()));
        assert_eq!((valid["name"].as_str(), valid["owner"].as_str()), (Some("Locker"), Some("admin@example.com")));
        assert!(valid["type"].is_string() && valid["roles"] == json!([]) && valid["permissions"] == json!(["device.lock"]));
        assert!(valid["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{valid}");
        assert!(valid.get("missing_permissions").is_none());

        assert_eq!(code_of(&app, json!({ "key": key, "permission": "device.lock" })).await, "VALID");
        let denied = verify(&app, json!({ "key": key, "permission": "device.view" })).await;
        assert_eq!((denied["code"].as_str(), denied["missing_permissions"].clone()), (Some("FORBIDDEN"), json!(["device.view"])));
        assert_eq!(code_of(&app, json!({ "key": key, "method": "post", "path": "/d/7/lock?now=1" })).await, "VALID");
        let request = verify(&app, json!({ "key": key, "method": "GET", "path": "/d/7/battery" })).await;
        assert_eq!((request["code"].as_str(), request["missing_permissions"].clone()), (Some("FORBIDDEN"), json!(["device.view"])));
        let nowhere = verify(&app, json!({ "key": key, "method": "GET", "path": "/elsewhere" })).await;
        assert_eq!((nowhere["code"].as_str(), nowhere["missing_permissions"].clone()), (Some("FORBIDDEN"), json!([])));

        admin.post(&format!("/keys/{id}/edit"), &[("status", "inactive"), ("expiry", "keep"), ("permissions", &lock)]).await;
        assert_eq!(code_of(&app, json!({ "key": key })).await, "INACTIVE");
        admin.post(&format!("/keys/{id}/edit"), &[("status", "active"), ("expiry", "keep"), ("permissions", &lock)]).await;
        assert_eq!(code_of(&app, json!({ "key": key })).await, "VALID");
        app.clock.advance(31 * 86_400);
        assert_eq!(code_of(&app, json!({ "key": key })).await, "EXPIRED", "a cached key still expires on time");

        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/keys/verify", app.base);
        let broken = client.post(&url).header("content-type", "application/json").body("{\"key\": ").send().await.expect("post");
        assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
        let error: Value = broken.json().await.expect("json");
        assert_eq!(error["error"]["code"], json!("malformed_json"));
        assert!(error["error"]["message"].is_string());
        assert_eq!(client.post(&url).json(&json!({ "permission": "x" })).send().await.expect("post").status(), StatusCode::BAD_REQUEST);
        let half = client.post(&url).json(&json!({ "key": key, "method": "GET" })).send().await.expect("post");
        assert_eq!(half.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let unknown = client.get(format!("{}/api/v1/nothing", app.base)).send().await.expect("get");
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(unknown.json::<Value>().await.expect("json")["error"]["code"], json!("not_found"));
    }
}

on_both_backends! {
    async fn every_change_of_access_applies_to_the_very_next_verification(app) {
        let admin = app.admin().await;
        let (lock, view) = catalogue(&app, &admin).await;
        let (id, key) = create_key(&admin, &[("name", "Cached"), ("permissions", &lock)]).await;
        let want = json!({ "key": key, "permission": "device.lock" });
        for _ in 0..3 {
            assert_eq!(code_of(&app, want.clone()).await, "VALID");
        }
        // The owner loses the permission: the key narrows at once.
        let me = app.account_id("admin@example.com");
        admin.get(&format!("/users/{me}")).await;
        admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &view)]).await;
        assert_eq!(code_of(&app, want.clone()).await, "FORBIDDEN");
        admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &lock), ("permissions", &view)]).await;
        assert_eq!(code_of(&app, want.clone()).await, "VALID");

        // A role that gives the permission, then deleted.
        admin.get("/roles/new").await;
        admin.post("/roles", &[("name", "Viewers"), ("permissions", &view)]).await;
        let roles = admin.get("/roles").await.body;
        let role = roles[..roles.find(">Viewers</a>").expect("role")].rsplit("href=\"/roles/").next().and_then(|s| s.split('"').next()).expect("id").to_owned();
        admin.get(&format!("/keys/{id}/edit")).await;
        admin.post(&format!("/keys/{id}/edit"), &[("status", "active"), ("expiry", "keep"), ("permissions", &lock), ("roles", &role)]).await;
        let view_want = json!({ "key": key, "permission": "device.view" });
        assert_eq!(code_of(&app, view_want.clone()).await, "VALID");
        admin.post(&format!("/roles/{role}/delete"), &[]).await;
        assert_eq!(code_of(&app, view_want).await, "FORBIDDEN", "role deletion applies at once");

        admin.get(&format!("/keys/{id}")).await;
        assert_eq!(admin.post(&format!("/keys/{id}/status"), &[("status", "inactive")]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(code_of(&app, want.clone()).await, "INACTIVE");
        admin.post(&format!("/keys/{id}/status"), &[("status", "active")]).await;
        assert_eq!(code_of(&app, want.clone()).await, "VALID");

        admin.get(&format!("/keys/{id}/rotate")).await;
        let rotated = secret_in(&admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "0")]).await.body);
        assert_eq!(code_of(&app, want.clone()).await, "NOT_FOUND", "the old secret stops at once");
        let fresh = json!({ "key": rotated, "permission": "device.lock" });
        assert_eq!(code_of(&app, fresh.clone()).await, "VALID");

        admin.get("/keys").await;
        admin.post("/keys/delete", &[("ids", &id), ("confirm", "Cached"), ("recent_ok", "1")]).await;
        assert_eq!(code_of(&app, fresh).await, "NOT_FOUND", "deleted keys stop at once");

        // A key created after its digest was looked up (and cached as unknown) is found.
        let stranger = keyward::domain::key::generate("kwa", |b| b.fill(9));
        assert_eq!(code_of(&app, json!({ "key": stranger.expose() })).await, "NOT_FOUND");
        let metrics = reqwest::get(format!("{}/metrics", app.base)).await.expect("metrics").text().await.expect("text");
        assert!(metrics.contains("keyward_verifications_total{endpoint=\"verify\",code=\"VALID\"}"));
        let hits = metrics.lines().find(|l| l.starts_with("keyward_verify_cache_total{outcome=\"hit\"}")).and_then(|l| l.rsplit(' ').next()).and_then(|n| n.parse::<u64>().ok());
        assert!(hits.is_some_and(|n| n > 0), "{metrics}");
        assert!(metrics.contains("keyward_verify_duration_seconds_bucket{le=\"+Inf\"}") && metrics.contains("keyward_db_pool_connections{state=\"max\"}"));
    }
}

on_both_backends! {
    async fn keys_alike_share_one_profile_until_what_it_derives_from_changes(app) {
        let admin = app.admin().await;
        let (lock, view) = catalogue(&app, &admin).await;
        let (_, first) = create_key(&admin, &[("name", "Alike one"), ("permissions", &lock)]).await;
        let (_, second) = create_key(&admin, &[("name", "Alike two"), ("permissions", &lock)]).await;
        let (_, other) = create_key(&admin, &[("name", "Unlike"), ("permissions", &view)]).await;
        let profile = |key: &str| {
            let verdict = keyward::services::verify::verify(&app.state, key, &Default::default()).expect("verify");
            verdict.key.expect("found").profile.clone()
        };
        let shared = profile(&first);
        assert!(Arc::ptr_eq(&shared, &profile(&second)), "same owner, type and grants: one profile");
        assert!(!Arc::ptr_eq(&shared, &profile(&other)));
        assert_eq!(shared.permissions, vec!["device.lock"]);

        // Any write starts a new generation, so the key is read again — and finds the same profile.
        let generation = app.state.db.generation();
        create_key(&admin, &[("name", "Elsewhere")]).await;
        assert!(app.state.db.generation() > generation);
        assert!(Arc::ptr_eq(&shared, &profile(&second)), "an unrelated change keeps the profile");

        // The owner loses the permission: a new profile, shared again, that holds nothing.
        let me = app.account_id("admin@example.com");
        admin.get(&format!("/users/{me}")).await;
        admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &view)]).await;
        let narrowed = profile(&first);
        assert!(!Arc::ptr_eq(&shared, &narrowed));
        assert!(narrowed.permissions.is_empty(), "{:?}", narrowed.permissions);
        assert!(Arc::ptr_eq(&narrowed, &profile(&second)));
    }
}

on_both_backends! {
    async fn ip_allow_lists_and_rate_limits_are_enforced(app) {
        let admin = app.admin().await;
        let types = crate::keys::form_ids(&admin).await.0;
        let integration = &types.iter().find(|(name, _)| name.starts_with("Integration")).expect("type").1;
        let bad = admin.post("/keys", &[("name", "Bad list"), ("key_type", integration), ("expiry", "never"), ("ip_allow", "10.0.0.0/33")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("is not an address or CIDR block"), "{}", bad.body.split("class=\"error\"").nth(1).unwrap_or_default());
        let (id, key) = create_key(&admin, &[("name", "Office only"), ("ip_allow", "10.0.0.0/8\n2001:db8::/32")]).await;
        assert!(admin.get(&format!("/keys/{id}")).await.body.contains("10.0.0.0/8, 2001:db8::/32"));
        assert_eq!(code_of(&app, json!({ "key": key, "ip": "10.20.30.40" })).await, "VALID");
        assert_eq!(code_of(&app, json!({ "key": key, "ip": "2001:db8::9" })).await, "VALID");
        assert_eq!(code_of(&app, json!({ "key": key, "ip": "192.168.0.1" })).await, "IP_NOT_ALLOWED");
        assert_eq!(code_of(&app, json!({ "key": key })).await, "IP_NOT_ALLOWED", "the caller's own address, 127.0.0.1");

        let (limited_id, limited) = create_key(&admin, &[("name", "Limited"), ("rate_limit", "2"), ("rate_window", "hour")]).await;
        assert!(admin.get(&format!("/keys/{limited_id}")).await.body.contains("2 requests per hour"));
        assert_eq!(code_of(&app, json!({ "key": limited })).await, "VALID");
        assert_eq!(code_of(&app, json!({ "key": limited })).await, "VALID");
        let third = verify(&app, json!({ "key": limited })).await;
        assert_eq!((third["code"].as_str(), third["valid"].as_bool()), (Some("RATE_LIMITED"), Some(false)));
        app.clock.advance(3_600);
        assert_eq!(code_of(&app, json!({ "key": limited })).await, "VALID", "a new window");
        admin.sign_in("admin@example.com", crate::helpers::PASSWORD).await;
        let edit = admin.get(&format!("/keys/{limited_id}/edit")).await.body;
        assert!(edit.contains("name=\"rate_limit\" inputmode=\"numeric\" value=\"2\""), "{}", &edit[edit.len().saturating_sub(3000)..]);
        let refused = admin.post(&format!("/keys/{limited_id}/edit"), &[("status", "active"), ("expiry", "keep"), ("rate_limit", "-5")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

on_both_backends! {
    async fn forward_auth_speaks_each_proxys_headers(app) {
        let admin = app.admin().await;
        let (lock, _) = catalogue(&app, &admin).await;
        let (id, key) = create_key(&admin, &[("name", "Proxy key"), ("permissions", &lock)]).await;
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/authorize", app.base);
        let bearer = format!("Bearer {key}");

        let nginx = client.get(&url).header("authorization", &bearer).header("x-original-method", "POST").header("x-original-uri", "/d/7/lock?x=1").send().await.expect("nginx");
        assert_eq!(nginx.status(), StatusCode::OK);
        assert_eq!(nginx.headers().get("x-keyward-key-id").and_then(|v| v.to_str().ok()), Some(id.as_str()));
        assert_eq!(nginx.headers().get("x-keyward-owner").and_then(|v| v.to_str().ok()), Some("admin@example.com"));
        let traefik = client.get(&url).header("x-api-key", &key).header("x-forwarded-method", "POST").header("x-forwarded-uri", "/d/8/lock").send().await.expect("traefik");
        assert_eq!(traefik.status(), StatusCode::OK);
        let envoy = client.post(format!("{url}/d/9/lock")).header("authorization", &bearer).send().await.expect("envoy");
        assert_eq!(envoy.status(), StatusCode::OK, "Envoy sends the original method and path itself");

        let forbidden = client.get(&url).header("authorization", &bearer).header("x-forwarded-method", "GET").header("x-forwarded-uri", "/d/9").send().await.expect("forbidden");
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        assert_eq!(forbidden.headers().get("x-keyward-code").and_then(|v| v.to_str().ok()), Some("FORBIDDEN"));
        let missing = client.get(&url).header("x-original-method", "POST").header("x-original-uri", "/d/7/lock").send().await.expect("missing");
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert!(missing.headers().contains_key("www-authenticate"));
        let wrong = client.get(&url).header("authorization", "Bearer kwa_nonsense").send().await.expect("wrong");
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        admin.get(&format!("/keys/{id}")).await;
        admin.post(&format!("/keys/{id}/status"), &[("status", "inactive")]).await;
        let inactive = client.post(format!("{url}/d/9/lock")).header("authorization", &bearer).send().await.expect("inactive");
        assert_eq!(inactive.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(inactive.headers().get("x-keyward-code").and_then(|v| v.to_str().ok()), Some("INACTIVE"));
        assert_eq!(client.get(format!("{url}x")).send().await.expect("odd").status(), StatusCode::NOT_FOUND);
    }
}

on_both_backends! {
    async fn keys_and_passwords_never_reach_the_logs(app) {
        let admin = app.admin().await;
        let (id, key) = create_key(&admin, &[("name", "Secretive")]).await;
        verify(&app, json!({ "key": key })).await;
        let client = reqwest::Client::new();
        client.get(format!("{}/api/v1/authorize", app.base)).header("authorization", format!("Bearer {key}")).send().await.expect("bearer");
        client.get(format!("{}/api/v1/authorize", app.base)).header("x-api-key", &key).send().await.expect("x-api-key");
        client.post(format!("{}/api/v1/keys/verify", app.base)).header("content-type", "application/json").body(format!("{{\"key\": \"{key}\"")).send().await.expect("broken");
        admin.get(&format!("/keys/{id}")).await;
        let revealed = admin.post(&format!("/keys/{id}/reveal"), &[("password", crate::helpers::PASSWORD)]).await;
        assert!(revealed.body.contains(&key), "the reveal shows the key");
        app.browser().sign_in("admin@example.com", "a wrong password entirely").await;
        app.state.usage.flush(&app.state.db).expect("flush");

        let logs = crate::helpers::captured_logs();
        assert!(logs.contains("/api/v1/authorize"), "requests were logged at all");
        let random_part = &key[key.find('_').expect("prefix") + 1..];
        assert!(!logs.contains(random_part), "a key reached the logs");
        assert!(!logs.contains(crate::helpers::PASSWORD) && !logs.contains("a wrong password entirely"), "a password reached the logs");
    }
}

/// Envoy's form, sent byte for byte: an HTTP client would resolve the dots of the URL itself.
async fn envoy_raw(app: &TestApp, path: &str, key: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let request = format!(
        "GET /api/v1/authorize{path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let head = String::from_utf8_lossy(&answer);
    head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

on_both_backends! {
    /// A key holding only `GET /public/**`: a path that a server behind the proxy could read as lying
    /// outside `/public` is refused, in every mode alike; ordinary paths under `/public` still pass.
    async fn forward_auth_judges_the_normalised_path_the_same_way_in_every_mode(app) {
        let admin = app.admin().await;
        admin.get("/permissions").await;
        admin.post("/permissions", &[("name", "public.read"), ("label", "Public"), ("rules", "GET /public/**")]).await;
        let page = admin.get("/keys/new").await.body;
        let public = permission_id(&page, "public.read");
        let me = app.account_id("admin@example.com");
        admin.get(&format!("/users/{me}")).await;
        admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &public)]).await;
        let (_, key) = create_key(&admin, &[("name", "Public reader"), ("permissions", &public)]).await;
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/authorize", app.base);
        let by_header = |name: &'static str, uri: &'static str| {
            client.get(&url).bearer_auth(&key).header(name.replace("uri", "method"), "GET").header(name, uri).send()
        };
        let attacks = [
            "/public/%2e%2e/admin/x", "/public/..;/admin/x", "/public/%2e%2e%2fadmin/x", "/public/..%2fadmin/x",
            "/public/%252e%252e/admin/x", "/public/%00/x", "/x//../public/y", "/public/%5c../admin", "/../public/x",
        ];
        for uri in attacks {
            for header in ["x-original-uri", "x-forwarded-uri"] {
                let answer = by_header(header, uri).await.expect("forward-auth");
                assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{header}: {uri}");
            }
            let envoy = envoy_raw(&app, uri, &key).await;
            assert!(envoy == 403 || envoy == 400, "envoy: {uri} answered {envoy}");
        }
        let backslash = by_header("x-original-uri", "/public\\..\\admin/x").await.expect("backslash");
        assert_eq!(backslash.status(), StatusCode::FORBIDDEN);
        for uri in ["/public/a", "/public/./a/", "/admin/../public/a", "/public/a;v=1", "/public//a"] {
            for header in ["x-original-uri", "x-forwarded-uri"] {
                assert_eq!(by_header(header, uri).await.expect("ok").status(), StatusCode::OK, "{header}: {uri}");
            }
            assert_eq!(envoy_raw(&app, uri, &key).await, 200, "envoy: {uri}");
        }
        // The verify API and its reason say the same.
        let refused = verify(&app, json!({ "key": key, "method": "GET", "path": "/public/%2e%2e/admin" })).await;
        assert_eq!(refused["code"], "FORBIDDEN");
        assert!(refused["reason"].as_str().is_some_and(|r| r.contains("encoded dot")), "{refused}");
    }
}

fn cache_off(config: &mut keyward::config::Config) {
    config.cache_capacity = 0;
}

on_both_backends! {
    with cache_off;
    /// With the cache off every verification reads the database; on PostgreSQL those waiting at the same
    /// moment share a statement (one, or several once a whole batch waits). Each must still get its own key's
    /// answer: the same as when it is asked alone, and unknown keys among them NOT_FOUND.
    async fn uncached_verifications_at_the_same_moment_each_get_their_own_answer(app) {
        app.admin().await;
        let state = app.state.clone();
        let keys = tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            keyward::services::demo::load_with(&state, 60, |k| keys.push(k.expose().to_owned())).expect("demo keys");
            keys
        })
        .await
        .expect("seed");
        assert!(keys.len() > 40, "demo keys: {}", keys.len());
        let mut presented = keys.clone();
        presented.extend((0..20u8).map(|i| keyward::domain::key::generate("kwa", |b| b.fill(i)).expose().to_owned()));

        let mut alone = Vec::new();
        for key in &presented {
            alone.push(verify(&app, json!({ "key": key })).await);
        }
        assert!(alone[..keys.len()].iter().all(|a| a["code"] == json!("VALID")), "{alone:?}");
        assert!(alone[keys.len()..].iter().all(|a| a["code"] == json!("NOT_FOUND")));
        assert!(alone[..keys.len()].iter().map(|a| a["key_id"].as_i64()).collect::<std::collections::HashSet<_>>().len() == keys.len());

        // 400 at once (more than a batch of 128), each key several times, in an order unlike the first.
        let app = Arc::new(app);
        let mut running = tokio::task::JoinSet::new();
        for round in 0..5 {
            for (at, key) in presented.iter().enumerate().rev() {
                let (app, key) = (app.clone(), key.clone());
                running.spawn(async move { (at, round, verify(&app, json!({ "key": key })).await) });
            }
        }
        let mut answered = 0;
        while let Some(done) = running.join_next().await {
            let (at, round, answer) = done.expect("a verification");
            assert_eq!(answer, alone[at], "key {at}, round {round}: asked with others, not as asked alone");
            answered += 1;
        }
        assert_eq!(answered, presented.len() * 5);
    }
}
