//! The management API's keys, authenticated with keyward keys: ADMIN reads and writes, READONLY reads.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::keys::{create_key, form_ids};
use crate::on_both_backends;

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", app.base));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

on_both_backends! {
    async fn admin_keys_manage_keys_and_readonly_keys_only_read(app) {
        let admin = app.admin().await;
        let (_, admin_key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
        let (_, readonly_key) = create_key(&admin, &[("name", "Reporting"), ("role_name", "READONLY")]).await;
        let (_, plain_key) = create_key(&admin, &[("name", "Plain")]).await;
        let types = form_ids(&admin).await.0;
        let integration: i64 = types.iter().find(|(n, _)| n.starts_with("Integration")).and_then(|(_, id)| id.parse().ok()).expect("type");

        let (status, body) = call(&app, reqwest::Method::GET, "/api/v1/keys", None, None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
        assert_eq!(call(&app, reqwest::Method::GET, "/api/v1/keys", Some("kwi_bogus"), None).await.0, StatusCode::UNAUTHORIZED);
        let (status, body) = call(&app, reqwest::Method::GET, "/api/v1/keys", Some(&plain_key), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

        let (status, listed) = call(&app, reqwest::Method::GET, "/api/v1/keys?sort=name", Some(&readonly_key), None).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let names: Vec<&str> = listed["keys"].as_array().expect("keys").iter().filter_map(|k| k["name"].as_str()).collect();
        assert_eq!(names, vec!["Automation", "Plain", "Reporting"]);
        assert!(listed["keys"][0]["hint"].as_str().is_some_and(|h| h.contains('…')) && listed["next"].is_null());
        assert!(!listed.to_string().contains(&admin_key), "a list never shows a key");
        let create = json!({ "name": "Made by API", "key_type": integration, "expires": "30" });
        let (status, body) = call(&app, reqwest::Method::POST, "/api/v1/keys", Some(&readonly_key), Some(create.clone())).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));

        let (status, created) = call(&app, reqwest::Method::POST, "/api/v1/keys", Some(&admin_key), Some(create.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let secret = created["key"].as_str().expect("secret once").to_owned();
        let id = created["id"].as_i64().expect("id");
        let verdict = keyward::services::verify::verify(&app.state, &secret, &Default::default()).expect("verify");
        assert!(verdict.valid());
        let (status, again) = call(&app, reqwest::Method::POST, "/api/v1/keys", Some(&admin_key), Some(create)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{again}");
        assert!(again["error"]["message"].as_str().is_some_and(|m| m.contains("already exists")));
        let (status, _) = call(&app, reqwest::Method::POST, "/api/v1/keys", Some(&admin_key), Some(json!({ "name": 5 }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let (status, one) = call(&app, reqwest::Method::GET, &format!("/api/v1/keys/{id}"), Some(&readonly_key), None).await;
        assert_eq!((status, one["name"].as_str()), (StatusCode::OK, Some("Made by API")));
        assert!(!one.to_string().contains(&secret));
        assert_eq!(call(&app, reqwest::Method::GET, "/api/v1/keys/999999", Some(&admin_key), None).await.0, StatusCode::NOT_FOUND);
        assert_eq!(call(&app, reqwest::Method::DELETE, &format!("/api/v1/keys/{id}"), Some(&readonly_key), None).await.0, StatusCode::FORBIDDEN);
        let (status, _) = call(&app, reqwest::Method::DELETE, &format!("/api/v1/keys/{id}"), Some(&admin_key), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let verdict = keyward::services::verify::verify(&app.state, &secret, &Default::default()).expect("verify");
        assert_eq!(verdict.code.as_str(), "NOT_FOUND", "deleted through the API, gone at once");
        let activity = admin.get("/").await.body;
        assert!(activity.contains("key Automation"), "the audit names the acting key");

        // Unparsable ids and query strings answer in the API's JSON shape, not as text.
        let (status, body) = call(&app, reqwest::Method::GET, "/api/v1/keys/abc", Some(&admin_key), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        let (status, body) = call(&app, reqwest::Method::GET, "/api/v1/audit?before=x", Some(&admin_key), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_query")));
    }
}

on_both_backends! {
    async fn admin_keys_edit_rotate_and_reassign(app) {
        let admin = app.admin().await;
        let (_, admin_key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
        let (id, target) = create_key(&admin, &[("name", "Target")]).await;
        let key = Some(admin_key.as_str());
        let path = format!("/api/v1/keys/{id}");

        let (status, _) = call(&app, reqwest::Method::PATCH, &path, key, Some(json!({ "description": "via API", "status": "inactive", "ip_allow": ["10.0.0.0/8"], "rate_limit": 5, "rate_window": "second" }))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, shown) = call(&app, reqwest::Method::GET, &path, key, None).await;
        assert_eq!((shown["description"].as_str(), shown["status"].as_str()), (Some("via API"), Some("inactive")));
        assert_eq!((shown["ip_allow"].clone(), shown["rate_limit"].as_i64(), shown["rate_window_secs"].as_i64()), (json!(["10.0.0.0/8"]), Some(5), Some(1)));
        let verdict = keyward::services::verify::verify(&app.state, &target, &Default::default()).expect("verify");
        assert_eq!(verdict.code.as_str(), "INACTIVE", "the change applies at once");
        let (status, body) = call(&app, reqwest::Method::PATCH, &path, key, Some(json!({ "ip_allow": ["nonsense"] }))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, _) = call(&app, reqwest::Method::PATCH, &path, key, Some(json!({ "status": "active", "ip_allow": [], "rate_limit": 0 }))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, shown) = call(&app, reqwest::Method::GET, &path, key, None).await;
        assert!(shown["ip_allow"].is_null() && shown["rate_limit"].is_null() && shown["description"] == json!("via API"), "{shown}");

        let (status, rotated) = call(&app, reqwest::Method::POST, &format!("{path}/rotate"), key, Some(json!({ "overlap_secs": 3600 }))).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        let fresh = rotated["key"].as_str().expect("new secret").to_owned();
        let code = |k: &str| keyward::services::verify::verify(&app.state, k, &Default::default()).expect("verify").code.as_str();
        assert_eq!((code(&target), code(&fresh)), ("VALID", "VALID"), "the overlap keeps the old secret");
        assert_eq!(call(&app, reqwest::Method::POST, &format!("{path}/rotate"), key, Some(json!({ "overlap": 1 }))).await.0, StatusCode::BAD_REQUEST);
        let (status, _) = call(&app, reqwest::Method::POST, &format!("{path}/rotate"), key, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(code(&fresh), "NOT_FOUND", "no overlap: the previous secret stops");

        app.user(&admin, "bob@example.com", "member").await;
        let bob = app.account_id("bob@example.com");
        let (status, _) = call(&app, reqwest::Method::POST, &format!("{path}/reassign"), key, Some(json!({ "owner": bob, "comment": "yours now" }))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(app.notices("bob@example.com"), vec!["The key \u{201c}Target\u{201d} was reassigned to you".to_owned()]);
        let (status, _) = call(&app, reqwest::Method::POST, &format!("{path}/reassign"), key, Some(json!({ "owner": 999_999 }))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

on_both_backends! {
    async fn readonly_keys_read_people_roles_permissions_audit_and_their_notifications(app) {
        let admin = app.admin().await;
        admin.get("/permissions").await;
        admin.post("/permissions", &[("name", "device.wipe"), ("label", "Wipe"), ("risk", "high"), ("writes", "1"), ("rules", "POST /d/*/wipe")]).await;
        admin.get("/roles/new").await;
        let wipe = crate::permissions::permission_id(&admin.get("/roles/new").await.body, "device.wipe");
        admin.post("/roles", &[("name", "Wipers"), ("permissions", &wipe)]).await;
        let member = app.user(&admin, "mia@example.com", "member").await;
        let (_, reader) = create_key(&admin, &[("name", "Reader"), ("role_name", "READONLY")]).await;
        let key = Some(reader.as_str());

        let (status, people) = call(&app, reqwest::Method::GET, "/api/v1/accounts?role=member", key, None).await;
        assert_eq!(status, StatusCode::OK, "{people}");
        assert_eq!(people["accounts"].as_array().map(Vec::len), Some(1));
        assert_eq!(people["accounts"][0]["email"], json!("mia@example.com"));
        let mia = people["accounts"][0]["id"].as_i64().expect("id");
        let (status, one) = call(&app, reqwest::Method::GET, &format!("/api/v1/accounts/{mia}"), key, None).await;
        assert_eq!((status, one["role"].as_str(), one["has_password"].as_bool()), (StatusCode::OK, Some("member"), Some(true)));

        let (_, roles) = call(&app, reqwest::Method::GET, "/api/v1/roles", key, None).await;
        let wipers = roles["roles"].as_array().expect("roles").iter().find(|r| r["name"] == json!("Wipers")).cloned().expect("Wipers");
        assert_eq!(wipers["permissions"], json!(["device.wipe"]));
        assert!(roles["roles"].as_array().expect("roles").iter().any(|r| r["name"] == json!("ADMIN") && r["permissions"] == json!("all")));
        let (status, role) = call(&app, reqwest::Method::GET, &format!("/api/v1/roles/{}", wipers["id"]), key, None).await;
        assert_eq!((status, role["name"].as_str()), (StatusCode::OK, Some("Wipers")));
        let (_, catalogue) = call(&app, reqwest::Method::GET, "/api/v1/permissions", key, None).await;
        assert_eq!(catalogue["permissions"][0]["rules"], json!(["POST /d/*/wipe"]));
        assert_eq!(catalogue["permissions"][0]["risk"], json!("high"));
        assert_eq!(call(&app, reqwest::Method::GET, "/api/v1/permissions/999999", key, None).await.0, StatusCode::NOT_FOUND);

        let (status, first) = call(&app, reqwest::Method::GET, "/api/v1/audit?limit=2", key, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(first["events"].as_array().map(Vec::len), Some(2));
        let next = first["next"].as_i64().expect("more pages");
        let (_, second) = call(&app, reqwest::Method::GET, &format!("/api/v1/audit?limit=2&before={next}"), key, None).await;
        assert!(second["events"][0]["id"].as_i64().is_some_and(|id| id < next));
        assert!(first["events"][0]["action"].is_string() && first["events"][0]["at"].as_str().is_some_and(|t| t.ends_with('Z')));

        // A Member's READONLY key reads only what a Member may.
        let (_, own) = create_key(&member, &[("name", "Mia reads"), ("role_name", "READONLY")]).await;
        assert_eq!(call(&app, reqwest::Method::GET, "/api/v1/accounts", Some(&own), None).await.0, StatusCode::FORBIDDEN);
        assert_eq!(call(&app, reqwest::Method::GET, "/api/v1/audit", Some(&own), None).await.0, StatusCode::FORBIDDEN);
        let (_, listed) = call(&app, reqwest::Method::GET, "/api/v1/keys", Some(&own), None).await;
        let names: Vec<&str> = listed["keys"].as_array().expect("keys").iter().filter_map(|k| k["name"].as_str()).collect();
        assert_eq!(names, vec!["Mia reads"], "a Member's key sees only the Member's keys");
        let (status, notes) = call(&app, reqwest::Method::GET, "/api/v1/notifications", Some(&own), None).await;
        assert_eq!((status, notes["notifications"].clone()), (StatusCode::OK, json!([])));
    }
}

on_both_backends! {
    async fn admin_keys_maintain_the_catalogue_and_roles(app) {
        let admin = app.admin().await;
        let (_, admin_key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
        let (_, reader) = create_key(&admin, &[("name", "Reader"), ("role_name", "READONLY")]).await;
        let key = Some(admin_key.as_str());
        let lock = json!({ "name": "device.lock", "label": "Lock", "rules": ["POST /d/*/lock"] });

        assert_eq!(call(&app, reqwest::Method::POST, "/api/v1/permissions", Some(&reader), Some(lock.clone())).await.0, StatusCode::FORBIDDEN);
        let (status, body) = call(&app, reqwest::Method::POST, "/api/v1/permissions", key, Some(json!({ "name": "device.lock", "label": "Lock", "rules": ["POST /d/**/lock"] }))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("**")));
        let (status, made) = call(&app, reqwest::Method::POST, "/api/v1/permissions", key, Some(lock)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let permission = made["id"].as_i64().expect("id");
        let (status, _) = call(&app, reqwest::Method::PATCH, &format!("/api/v1/permissions/{permission}"), key, Some(json!({ "risk": "high" }))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, shown) = call(&app, reqwest::Method::GET, &format!("/api/v1/permissions/{permission}"), key, None).await;
        assert_eq!((shown["risk"].as_str(), shown["rules"].clone(), shown["label"].as_str()), (Some("high"), json!(["POST /d/*/lock"]), Some("Lock")));

        let (status, role) = call(&app, reqwest::Method::POST, "/api/v1/roles", key, Some(json!({ "name": "Lockers", "permissions": [permission] }))).await;
        assert_eq!(status, StatusCode::CREATED, "{role}");
        let role = role["id"].as_i64().expect("id");
        assert_eq!(call(&app, reqwest::Method::POST, "/api/v1/roles", key, Some(json!({ "name": "ADMIN" }))).await.0, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _) = call(&app, reqwest::Method::PATCH, &format!("/api/v1/roles/{role}"), key, Some(json!({ "description": "Field staff" }))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, shown) = call(&app, reqwest::Method::GET, &format!("/api/v1/roles/{role}"), key, None).await;
        assert_eq!((shown["description"].as_str(), shown["permissions"].clone()), (Some("Field staff"), json!(["device.lock"])));
        let (_, roles) = call(&app, reqwest::Method::GET, "/api/v1/roles", key, None).await;
        let admin_role = roles["roles"].as_array().expect("roles").iter().find(|r| r["name"] == json!("ADMIN")).and_then(|r| r["id"].as_i64()).expect("ADMIN");
        assert_eq!(call(&app, reqwest::Method::DELETE, &format!("/api/v1/roles/{admin_role}"), key, None).await.0, StatusCode::CONFLICT);
        let (status, deleted) = call(&app, reqwest::Method::DELETE, &format!("/api/v1/roles/{role}"), key, None).await;
        assert_eq!((status, deleted["owners_notified"].as_i64()), (StatusCode::OK, Some(0)));
        assert_eq!(call(&app, reqwest::Method::DELETE, &format!("/api/v1/permissions/{permission}"), key, None).await.0, StatusCode::NO_CONTENT);
        assert_eq!(call(&app, reqwest::Method::GET, &format!("/api/v1/permissions/{permission}"), key, None).await.0, StatusCode::NOT_FOUND);
        assert!(admin.get("/").await.body.contains("permission.deleted"));
    }
}

on_both_backends! {
    async fn admin_keys_manage_people(app) {
        let admin = app.admin().await;
        let (_, admin_key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
        let key = Some(admin_key.as_str());
        let person = json!({ "email": "new@example.com", "name": "New Person", "role": "member", "password": crate::helpers::PASSWORD });
        let (status, made) = call(&app, reqwest::Method::POST, "/api/v1/accounts", key, Some(person.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let id = made["id"].as_i64().expect("id");
        assert_eq!(call(&app, reqwest::Method::POST, "/api/v1/accounts", key, Some(person)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
        let weak = json!({ "email": "weak@example.com", "name": "Weak", "role": "member", "password": "short" });
        assert_eq!(call(&app, reqwest::Method::POST, "/api/v1/accounts", key, Some(weak)).await.0, StatusCode::UNPROCESSABLE_ENTITY);

        let signed_in = app.browser();
        assert_eq!(signed_in.sign_in("new@example.com", crate::helpers::PASSWORD).await.status, StatusCode::SEE_OTHER);
        let (status, _) = call(&app, reqwest::Method::PATCH, &format!("/api/v1/accounts/{id}"), key, Some(json!({ "role": "auditor", "disabled": true }))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(signed_in.get("/").await.status, StatusCode::SEE_OTHER, "disabling ends their session");
        let (_, shown) = call(&app, reqwest::Method::GET, &format!("/api/v1/accounts/{id}"), key, None).await;
        assert_eq!((shown["role"].as_str(), shown["disabled"].as_bool()), (Some("auditor"), Some(true)));
        let (status, _) = call(&app, reqwest::Method::PUT, &format!("/api/v1/accounts/{id}/grants"), key, Some(json!({ "permissions": [999_999] }))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let me = app.account_id("admin@example.com");
        assert_eq!(call(&app, reqwest::Method::PATCH, &format!("/api/v1/accounts/{me}"), key, Some(json!({ "disabled": true }))).await.0, StatusCode::CONFLICT);
        assert_eq!(call(&app, reqwest::Method::DELETE, &format!("/api/v1/accounts/{id}"), key, None).await.0, StatusCode::NO_CONTENT);
        assert_eq!(call(&app, reqwest::Method::GET, &format!("/api/v1/accounts/{id}"), key, None).await.0, StatusCode::NOT_FOUND);
    }
}

on_both_backends! {
    async fn a_key_reads_and_clears_its_owners_notifications(app) {
        let admin = app.admin().await;
        let (_, admin_key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
        let (_, reader) = create_key(&admin, &[("name", "Reader"), ("role_name", "READONLY")]).await;
        let key = Some(admin_key.as_str());
        let leaver = app.user(&admin, "leaver@example.com", "member").await;
        let (_, tool) = create_key(&leaver, &[("name", "Leaver tool")]).await;
        let id = app.account_id("leaver@example.com");
        let bad = call(&app, reqwest::Method::DELETE, &format!("/api/v1/accounts/{id}?keys=shred"), key, None).await;
        assert_eq!(bad.0.as_u16() / 100, 4, "an unknown choice is refused: {}", bad.1);
        assert_eq!(call(&app, reqwest::Method::DELETE, &format!("/api/v1/accounts/{id}?keys=deactivate"), key, None).await.0, StatusCode::NO_CONTENT);
        let verdict = keyward::services::verify::verify(&app.state, &tool, &Default::default()).expect("verify");
        assert_eq!(verdict.code.as_str(), "INACTIVE", "?keys=deactivate revokes them as they move");

        let (_, listed) = call(&app, reqwest::Method::GET, "/api/v1/notifications", key, None).await;
        let notice = listed["notifications"][0].clone();
        assert_eq!((notice["read"].as_bool(), notice["title"].as_str()), (Some(false), Some("1 key of leaver@example.com is now yours")), "{listed}");
        let notice_id = notice["id"].as_i64().expect("id");
        let path = format!("/api/v1/notifications/{notice_id}/read");
        assert_eq!(call(&app, reqwest::Method::POST, &path, Some(&reader), None).await.0, StatusCode::FORBIDDEN, "marking read is a write");
        let (status, done) = call(&app, reqwest::Method::POST, &path, key, None).await;
        assert_eq!((status, done["marked_read"].as_i64()), (StatusCode::OK, Some(1)));
        let (status, again) = call(&app, reqwest::Method::POST, &path, key, None).await;
        assert_eq!((status, again["marked_read"].as_i64()), (StatusCode::OK, Some(0)), "marking a read one again is no error");
        let (_, listed) = call(&app, reqwest::Method::GET, "/api/v1/notifications", key, None).await;
        assert_eq!(listed["notifications"][0]["read"], json!(true));
        let (_, all) = call(&app, reqwest::Method::POST, "/api/v1/notifications/read", key, None).await;
        assert_eq!(all["marked_read"], json!(0));
    }
}
