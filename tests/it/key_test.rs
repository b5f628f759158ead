//! The test-key page explains the verifier's decision check by check, records nothing, and checks
//! the catalogue.

use reqwest::StatusCode;

use crate::keys::create_key;
use crate::on_both_backends;
use crate::permissions::permission_id;

/// The row of a check in the result table: (result, detail).
fn check<'a>(body: &'a str, name: &str) -> (&'a str, &'a str) {
    let escaped = name.replace('\'', "&#39;");
    let row = body.split(&format!("<th scope=\"row\">{escaped}</th>")).nth(1).expect(name);
    let mut cells = row.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap_or(""));
    (cells.next().unwrap_or(""), cells.next().unwrap_or(""))
}

on_both_backends! {
    async fn the_test_page_names_the_failing_check(app) {
        let admin = app.admin().await;
        admin.get("/permissions").await;
        admin.post("/permissions", &[("name", "device.lock"), ("label", "Lock"), ("writes", "1"), ("rules", "POST /d/*/lock")]).await;
        let page = admin.get("/keys/new").await.body;
        let lock = permission_id(&page, "device.lock");
        // The key holds device.lock; its owner (the admin) does not yet.
        let (id, key) = create_key(&admin, &[("name", "Locker"), ("permissions", &lock), ("ip_allow", "10.0.0.0/8")]).await;

        let shown = admin.get(&format!("/test-key?key_id={id}")).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.body.contains(&format!("value=\"{id}\"")) && shown.body.contains("Catalogue check"));
        assert!(shown.body.contains("All 1 URI rules parse"), "{}", shown.body);

        let malformed = admin.htmx_post("/test-key", &[("key", "kwi_nonsense")]).await.body;
        assert!(malformed.contains("data-code=\"MALFORMED\"") && check(&malformed, "Format").0.contains("failed"));

        let outside = admin.htmx_post("/test-key", &[("key", &key), ("method", "POST"), ("path", "/d/7/lock"), ("ip", "192.0.2.1")]).await.body;
        assert!(outside.contains("data-code=\"IP_NOT_ALLOWED\""), "{outside}");
        assert!(check(&outside, "Known key").0.contains("passed") && check(&outside, "IP allow-list").0.contains("failed"));
        assert!(outside.contains("Refused at <strong>IP allow-list</strong>"));

        let owner_lacks = admin.htmx_post("/test-key", &[("key_id", &id), ("method", "POST"), ("path", "/d/7/lock?x=1"), ("ip", "10.1.2.3")]).await.body;
        assert!(owner_lacks.contains("data-code=\"FORBIDDEN\"") && owner_lacks.contains("Locker"), "{owner_lacks}");
        assert!(check(&owner_lacks, "Permission or URI rule").0.contains("passed"));
        assert!(check(&owner_lacks, "Owner's grants").0.contains("failed"));
        assert!(check(&owner_lacks, "Rate limit").1.contains("not reached"));

        let me = app.account_id("admin@example.com");
        admin.get(&format!("/users/{me}")).await;
        admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &lock)]).await;
        admin.get("/test-key").await;
        let allowed = admin.htmx_post("/test-key", &[("key", &key), ("permission", "device.lock"), ("ip", "10.9.9.9")]).await.body;
        assert!(allowed.contains("data-code=\"VALID\"") && !allowed.contains("Refused at"), "{allowed}");
        let uncovered = admin.htmx_post("/test-key", &[("key", &key), ("method", "GET"), ("path", "/elsewhere"), ("ip", "10.9.9.9")]).await.body;
        assert!(check(&uncovered, "Permission or URI rule").1.contains("/elsewhere"), "{uncovered}");

        let half = admin.htmx_post("/test-key", &[("key", &key), ("method", "GET")]).await;
        assert_eq!(half.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(half.body.contains("Give both a method and a path"));
        let full = admin.post("/test-key", &[("key", &key), ("method", "GET"), ("path", "/d/1")]).await;
        assert!(!full.body.contains(&key), "a pasted key is never echoed back");

        app.state.usage.flush(&app.state.db).expect("flush");
        let numeric: i64 = id.parse().expect("id");
        let used = app.state.db.read(|c| keyward::db::usage::last_used(c, numeric)).expect("usage");
        assert!(used.is_none(), "testing is not a use");
        assert!(admin.get("/audit?action=key.tested").await.body.contains("Locker"));
    }
}

on_both_backends! {
    async fn members_test_only_keys_they_can_see(app) {
        let admin = app.admin().await;
        let (admins_key, _) = create_key(&admin, &[("name", "Admin's")]).await;
        let member = app.user(&admin, "mo@example.com", "member").await;
        member.get("/test-key").await;
        let refused = member.post("/test-key", &[("key_id", &admins_key)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let (_, mine) = create_key(&member, &[("name", "Mine")]).await;
        member.get("/test-key").await;
        let ok = member.htmx_post("/test-key", &[("key", &mine)]).await.body;
        assert!(ok.contains("data-code=\"VALID\"") && ok.contains("Mine"));
    }
}

on_both_backends! {
    async fn the_test_page_explains_every_refusal_code(app) {
        let admin = app.admin().await;
        let test = |fields: Vec<(&'static str, String)>| {
            let admin = &admin;
            async move {
                admin.get("/test-key").await;
                let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                admin.htmx_post("/test-key", &pairs).await.body
            }
        };
        let stranger = keyward::domain::key::generate("kwi", |b| b.fill(9));
        let unknown = test(vec![("key", stranger.expose().to_owned())]).await;
        assert!(unknown.contains("data-code=\"NOT_FOUND\"") && unknown.contains("Refused at <strong>Known key</strong>"), "{unknown}");

        let (off_id, off) = create_key(&admin, &[("name", "Switched off")]).await;
        admin.get(&format!("/keys/{off_id}/edit")).await;
        admin.post(&format!("/keys/{off_id}/edit"), &[("status", "inactive"), ("expiry", "keep")]).await;
        let inactive = test(vec![("key", off)]).await;
        assert!(inactive.contains("data-code=\"INACTIVE\"") && inactive.contains("the key is inactive"), "{inactive}");

        let (_, limited) = create_key(&admin, &[("name", "Limited"), ("rate_limit", "1"), ("rate_window", "hour")]).await;
        let used = reqwest::Client::new()
            .post(format!("{}/api/v1/keys/verify", app.base))
            .json(&serde_json::json!({ "key": limited }))
            .send()
            .await
            .expect("verify");
        assert_eq!(used.status(), StatusCode::OK);
        let limit = test(vec![("key", limited.clone())]).await;
        assert!(limit.contains("data-code=\"RATE_LIMITED\"") && limit.contains("Refused at <strong>Rate limit</strong>"), "{limit}");
        let again = test(vec![("key", limited)]).await;
        assert!(again.contains("data-code=\"RATE_LIMITED\""), "testing does not use up the window, nor free it");

        let (_, short) = create_key(&admin, &[("name", "Short"), ("expiry", "30")]).await;
        app.clock.advance(31 * 86_400);
        admin.sign_in("admin@example.com", crate::helpers::PASSWORD).await;
        let expired = test(vec![("key", short)]).await;
        assert!(expired.contains("data-code=\"EXPIRED\"") && expired.contains("Refused at <strong>Expiry</strong>"), "{expired}");
    }
}
