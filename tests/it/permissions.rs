//! The permission catalogue, and what it does to verification through effective access.

use keyward::domain::access::Want;
use keyward::services::verify::{UseContext, verify};
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp};
use crate::keys::create_key;
use crate::on_both_backends;

fn check(app: &TestApp, key: &str, want: Want) -> (String, Vec<String>, String) {
    let context = UseContext { want: Some(want), ..UseContext::default() };
    let v = verify(&app.state, key, &context).expect("verify");
    (v.code.as_str().to_owned(), v.missing, v.reason.unwrap_or_default())
}

pub fn permission_id(body: &str, name: &str) -> String {
    let at = body.find(&format!("<code>{name}</code>")).expect("permission");
    body[..at].rsplit("value=\"").next().and_then(|s| s.split('"').next()).expect("id").to_owned()
}

on_both_backends! {
    async fn administrators_maintain_the_catalogue_and_bad_rules_are_refused(app) {
        let admin = app.admin().await;
        let empty = admin.get("/permissions").await;
        assert!(empty.body.contains("No permissions yet"));
        let cases = [
            ("Device.Lock", "Lock Device", "POST /integration/device/*/lock", "looks like area.action"),
            ("device.lock", "", "POST /integration/device/*/lock", "Give the permission a label"),
            ("device.lock", "Lock Device", "POST /integration/**/lock", "** may only end a pattern"),
            ("device.lock", "Lock Device", "/integration/device/lock", "write a rule as METHOD /path"),
            ("device.lock", "Lock Device", "FETCH /x", "is not an HTTP method"),
        ];
        for (name, label, rules, message) in cases {
            let page = admin.post("/permissions", &[("name", name), ("label", label), ("rules", rules), ("risk", "normal"), ("writes", "1")]).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{name} {rules}");
            assert!(page.body.contains(message), "expected {message:?}");
        }
        let added = admin.post("/permissions", &[("name", "device.lock"), ("label", "Lock Device"), ("risk", "normal"), ("writes", "1"),
                                                 ("rules", "post /integration/device/*/lock\nPOST /integration/device/sendmsg")]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER);
        let again = admin.post("/permissions", &[("name", "device.lock"), ("label", "Again"), ("rules", "")]).await;
        assert!(again.body.contains("already exists"));
        admin.post("/permissions", &[("name", "device.wipe"), ("label", "Wipe Device"), ("risk", "high"), ("writes", "1"), ("rules", "POST /integration/device/*/wipe")]).await;
        let page = admin.get("/permissions").await.body;
        assert!(page.contains("POST /integration/device/*/lock") && page.contains("high risk"));

        let id = page.split("href=\"/permissions/").nth(1).and_then(|s| s.split('"').next()).expect("edit link").to_owned();
        let edit = admin.get(&format!("/permissions/{id}")).await;
        assert!(edit.body.contains("POST /integration/device/sendmsg"));
        let saved = admin.post(&format!("/permissions/{id}"), &[("name", "device.lock"), ("label", "Lock a device"), ("risk", "normal"), ("writes", "1"), ("rules", "POST /integration/device/*/lock")]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        let page = admin.get("/permissions").await.body;
        assert!(page.contains("Lock a device") && !page.contains("sendmsg"));
        assert_eq!(admin.post(&format!("/permissions/{id}/delete"), &[]).await.status, StatusCode::SEE_OTHER);
        assert!(!admin.get("/permissions").await.body.contains("Lock a device"));
        let activity = admin.get("/").await.body;
        assert!(activity.contains("permission.created") && activity.contains("permission.deleted"));

        let auditor = app.user(&admin, "aud@example.com", "auditor").await;
        let member = app.user(&admin, "mem@example.com", "member").await;
        let seen = auditor.get("/permissions").await;
        assert!(seen.status == StatusCode::OK && seen.body.contains("device.wipe") && !seen.body.contains("Add permission"));
        assert_eq!(auditor.post("/permissions", &[("name", "x.y"), ("label", "X")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(member.get("/permissions").await.status, StatusCode::FORBIDDEN);
    }
}

on_both_backends! {
    async fn verification_refuses_what_a_key_or_its_owner_lacks(app) {
        let admin = app.admin().await;
        admin.get("/permissions").await;
        admin.post("/permissions", &[("name", "device.lock"), ("label", "Lock Device"), ("writes", "1"), ("rules", "POST /integration/device/*/lock")]).await;
        admin.post("/permissions", &[("name", "device.wipe"), ("label", "Wipe Device"), ("risk", "high"), ("writes", "1"), ("rules", "POST /integration/device/*/wipe")]).await;
        let form = admin.get("/keys/new").await.body;
        assert!(form.contains("Add all") && form.contains("high risk"));
        let lock = permission_id(&form, "device.lock");
        let (id, key) = create_key(&admin, &[("name", "Locker"), ("permissions", &lock)]).await;

        // The owner (a fresh administrator) holds no grants yet, so nothing is usable.
        let (code, missing, reason) = check(&app, &key, Want::Permission("device.lock".into()));
        assert_eq!((code.as_str(), missing), ("FORBIDDEN", vec!["device.lock".to_owned()]));
        assert!(reason.contains("owner no longer holds device.lock"), "{reason}");
        let page = admin.get(&format!("/keys/{id}")).await.body;
        assert!(page.contains("can use no permission") && page.contains("because its owner does not hold <code>device.lock</code>"));

        let (code, missing, _) = check(&app, &key, Want::Permission("device.wipe".into()));
        assert_eq!((code.as_str(), missing), ("FORBIDDEN", vec!["device.wipe".to_owned()]));
        let (code, _, reason) = check(&app, &key, Want::Request { method: "GET".into(), path: "/elsewhere".into() });
        assert_eq!(code, "FORBIDDEN");
        assert!(reason.contains("no permission's URI rules cover GET /elsewhere"));
        let (code, missing, _) = check(&app, &key, Want::Permission("no.such".into()));
        assert_eq!((code.as_str(), missing), ("FORBIDDEN", vec!["no.such".to_owned()]));
        let plain = verify(&app.state, &key, &UseContext::default()).expect("verify");
        assert!(plain.valid(), "without a permission asked for, a live key is valid");

        // Only Administrators grant high-risk permissions.
        let member = app.user(&admin, "mem@example.com", "member").await;
        let form = member.get("/keys/new").await.body;
        let wipe = permission_id(&form, "device.wipe");
        let types = crate::keys::form_ids(&member).await.0;
        let integration = types.iter().find(|(n, _)| n.starts_with("Integration")).map(|(_, id)| id.clone()).expect("type");
        let refused = member.post("/keys", &[("name", "Risky"), ("key_type", &integration), ("expiry", "30"), ("permissions", &wipe)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("Only Administrators grant high-risk permissions such as Wipe Device."));
        let bogus = member.post("/keys", &[("name", "Bogus"), ("key_type", &integration), ("expiry", "30"), ("permissions", "999999")]).await;
        assert!(bogus.body.contains("One of the chosen permissions does not exist."));
    }
}

on_both_backends! {
    async fn a_persons_grants_bound_their_keys_and_take_effect_at_once(app) {
        let admin = app.admin().await;
        admin.get("/permissions").await;
        admin.post("/permissions", &[("name", "device.lock"), ("label", "Lock Device"), ("writes", "1"), ("rules", "POST /integration/device/*/lock")]).await;
        admin.post("/permissions", &[("name", "device.location"), ("label", "View Location"), ("rules", "GET /integration/device/*/location")]).await;
        let form = admin.get("/keys/new").await.body;
        let lock = permission_id(&form, "device.lock");
        let (_, key) = create_key(&admin, &[("name", "Locker"), ("permissions", &lock), ("role_name", "READONLY")]).await;
        let lock_request = || Want::Request { method: "POST".into(), path: "/integration/device/7/lock".into() };
        assert_eq!(check(&app, &key, lock_request()).0, "FORBIDDEN", "the owner holds nothing yet");

        let me = app.account_id("admin@example.com");
        let page = admin.get(&format!("/users/{me}")).await;
        assert!(page.body.contains("hx-trigger=\"change\""));
        let granted = admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &lock)]).await;
        assert_eq!(granted.status, StatusCode::OK);
        assert!(granted.body.contains("Saved.") && granted.body.contains("checked"));
        assert_eq!(check(&app, &key, lock_request()).0, "VALID");
        assert_eq!(check(&app, &key, Want::Permission("device.lock".into())).0, "VALID");
        let (code, missing, _) = check(&app, &key, Want::Request { method: "GET".into(), path: "/integration/device/7/location".into() });
        assert_eq!((code.as_str(), missing), ("FORBIDDEN", vec!["device.location".to_owned()]), "READONLY on the key, but the owner lacks it");

        // Give the owner the READONLY role: the key's READONLY now reaches the read-only permission.
        let readonly_role = page.body.split("name=\"roles\" value=\"").nth(2).and_then(|s| s.split('"').next()).expect("READONLY role").to_owned();
        admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &lock), ("roles", &readonly_role)]).await;
        assert_eq!(check(&app, &key, Want::Permission("device.location".into())).0, "VALID");

        // Unchecking narrows the key on the very next check.
        admin.htmx_post(&format!("/users/{me}/grants"), &[("roles", &readonly_role)]).await;
        assert_eq!(check(&app, &key, lock_request()).0, "FORBIDDEN");
        assert!(admin.get("/").await.body.contains("account.grants_changed"));

        let auditor = app.user(&admin, "aud@example.com", "auditor").await;
        let member = app.user(&admin, "mem@example.com", "member").await;
        let seen = auditor.get(&format!("/users/{me}")).await.body;
        assert!(seen.contains("disabled") && !seen.contains("hx-post"));
        for b in [&auditor, &member] {
            b.get("/keys").await;
            assert_eq!(b.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &lock)]).await.status, StatusCode::FORBIDDEN);
        }
        assert_eq!(member.get(&format!("/users/{me}")).await.status, StatusCode::FORBIDDEN);
        assert_eq!(check(&app, &key, lock_request()).0, "FORBIDDEN", "refused changes change nothing");
        assert_eq!(admin.get("/users/999999").await.status, StatusCode::NOT_FOUND);
    }
}

on_both_backends! {
    async fn the_user_list_summarises_grants_and_filters_and_add_all_grants_exactly_the_listed_people(app) {
        let admin = app.admin().await;
        admin.get("/permissions").await;
        admin.post("/permissions", &[("name", "device.lock"), ("label", "Lock Device"), ("writes", "1"), ("rules", "POST /d/*/lock")]).await;
        admin.post("/permissions", &[("name", "device.wipe"), ("label", "Wipe Device"), ("risk", "high"), ("writes", "1"), ("rules", "POST /d/*/wipe")]).await;
        admin.post("/permissions", &[("name", "device.view"), ("label", "View"), ("rules", "GET /d/*")]).await;
        let page = admin.get("/users").await.body;
        let wipe = permission_id(&page, "device.wipe");

        // The add form grants permissions at once.
        let added = admin.post("/users", &[("email", "ops1@example.com"), ("name", "Ops One"), ("role", "member"),
                                          ("password", PASSWORD), ("confirm", PASSWORD), ("permissions", &wipe)]).await;
        assert!(added.body.contains("Added ops1@example.com."), "{}", added.body);
        app.user(&admin, "ops2@example.com", "member").await;
        app.user(&admin, "auditor@example.com", "auditor").await;
        let ops2 = app.account_id("ops2@example.com");
        admin.post(&format!("/users/{ops2}/disable"), &[]).await;

        let listed = admin.get("/users").await.body;
        let row = |email: &str| {
            let at = listed.find(email).unwrap_or_else(|| panic!("{email} listed"));
            listed[at..].split("</tr>").next().unwrap_or_default().to_owned()
        };
        assert!(row("ops1@example.com").contains("1 permission") && row("ops1@example.com").contains("1 high-risk"));
        assert!(row("ops2@example.com").contains("None"));

        let searched = admin.get_htmx("/users?q=OPS").await.body;
        assert!(searched.contains("ops1@example.com") && searched.contains("ops2@example.com") && !searched.contains("auditor@example.com"));
        assert!(searched.contains("2 people"));
        let by_role = admin.get("/users?role=auditor").await.body;
        assert!(by_role.contains("auditor@example.com") && !by_role.contains("ops1@example.com"));
        let disabled = admin.get("/users?status=disabled").await.body;
        assert!(disabled.contains("ops2@example.com") && !disabled.contains("ops1@example.com"));
        assert!(admin.get("/users?q=nobody").await.body.contains("Nobody matches"));

        // Add all, for the people matching "ops" only: 2 × 3, one already held.
        let confirm = admin.get("/users/grant-all?q=ops").await.body;
        assert!(confirm.contains("<strong>3 permissions</strong>") && confirm.contains("1 of them high-risk"), "{confirm}");
        assert!(confirm.contains("<strong>2 people</strong>") && confirm.contains("<strong>5</strong> of these grants are new"));
        assert!(app.notices("ops1@example.com").is_empty());
        let stale = admin.post("/users/grant-all", &[("q", "ops"), ("users", "3"), ("permissions", "3")]).await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "numbers that no longer hold grant nothing");
        let auditor = app.browser();
        auditor.sign_in("auditor@example.com", PASSWORD).await;
        auditor.get("/users").await;
        assert_eq!(auditor.post("/users/grant-all", &[("q", "ops"), ("users", "2"), ("permissions", "3")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(auditor.get("/users/grant-all").await.status, StatusCode::FORBIDDEN);

        admin.get("/users").await;
        let done = admin.post("/users/grant-all", &[("q", "ops"), ("users", "2"), ("permissions", "3")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        assert!(admin.get(done.location()).await.body.contains("Granted 5 new permissions."));
        let listed = admin.get("/users").await.body;
        let at = listed.find("ops2@example.com").expect("row");
        assert!(listed[at..].split("</tr>").next().unwrap_or_default().contains("3 permissions"));
        let at = listed.find("auditor@example.com").expect("row");
        assert!(listed[at..].split("</tr>").next().unwrap_or_default().contains("None"), "people outside the filter got nothing");
        let activity = admin.get("/").await.body;
        assert!(activity.contains("account.grant_all"));
    }
}
