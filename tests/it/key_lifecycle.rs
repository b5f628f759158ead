//! The life of a key after creation: edit, regenerate with and without overlap, (de)activate,
//! reassign, delete — each checked against what verification then decides.

use keyward::services::verify::{UseContext, verify};
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp};
use crate::keys::create_key;
use crate::on_both_backends;

fn code(app: &TestApp, key: &str) -> &'static str {
    verify(&app.state, key, &UseContext::default()).expect("verify").code.as_str()
}

/// Verifies as a service would (recording a use) and writes the gathered usage.
fn use_key(app: &TestApp, key: &str) {
    let context = UseContext {
        ip: Some("192.0.2.7".into()),
        path: Some("/integration/device/lock".into()),
        ..UseContext::default()
    };
    assert!(verify(&app.state, key, &context).expect("verify").valid());
    app.state.usage.flush(&app.state.db).expect("flush");
}

pub fn secret_in(body: &str) -> String {
    let before = body.split("data-secret").next().expect("secret field");
    before.rsplit("value=\"").next().and_then(|s| s.split('"').next()).expect("secret").to_owned()
}

on_both_backends! {
    async fn editing_a_key_keeps_its_secret(app) {
        let admin = app.admin().await;
        let (id, secret) = create_key(&admin, &[("name", "Sync"), ("role_name", "READONLY")]).await;
        assert_eq!(code(&app, &secret), "VALID");
        let page = admin.get(&format!("/keys/{id}/edit")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("checked> READONLY"), "the edit form shows the current role");
        let saved = admin.post(&format!("/keys/{id}/edit"), &[("description", "now inactive"), ("status", "inactive"), ("expiry", "keep")]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        assert_eq!(code(&app, &secret), "INACTIVE", "the very next verification sees the change");
        let shown = admin.get(&format!("/keys/{id}")).await.body;
        assert!(shown.contains("now inactive") && shown.contains("Inactive") && !shown.contains("READONLY"));
        admin.post(&format!("/keys/{id}/edit"), &[("description", "back"), ("status", "active"), ("expiry", "keep")]).await;
        assert_eq!(code(&app, &secret), "VALID", "same secret after edits");
        let bad = admin.post(&format!("/keys/{id}/edit"), &[("status", "active"), ("expiry", "date"), ("expires_on", "2001-01-01")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("in the past"));
        admin.post(&format!("/keys/{id}/edit"), &[("status", "active"), ("expiry", "30")]).await;
        app.clock.advance(31 * 86_400);
        assert_eq!(code(&app, &secret), "EXPIRED");

        // Create/delete-only types offer no edit and refuse it.
        admin.sign_in("admin@example.com", PASSWORD).await;
        let (app_key, _) = create_key(&admin, &[("name", "Gateway"), ("type_name", "Application"), ("identifier", "70B3D5")]).await;
        let page = admin.get(&format!("/keys/{app_key}")).await;
        assert!(!page.body.contains("/edit\"") && !page.body.contains("/rotate\""));
        let refused = admin.post(&format!("/keys/{app_key}/edit"), &[("status", "inactive"), ("expiry", "keep")]).await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert!(refused.body.contains("Application keys can only be created or deleted."));
    }
}

on_both_backends! {
    async fn regenerating_replaces_the_secret_with_an_optional_overlap(app) {
        let admin = app.admin().await;
        let (id, first) = create_key(&admin, &[("name", "Rotating")]).await;
        admin.get(&format!("/keys/{id}/rotate")).await;
        let page = admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "0")]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("The old secret no longer works."));
        let second = secret_in(&page.body);
        assert_ne!(first, second);
        assert_eq!(code(&app, &first), "NOT_FOUND");
        assert_eq!(code(&app, &second), "VALID");

        let page = admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "3600")]).await;
        let third = secret_in(&page.body);
        assert!(page.body.contains("keeps working until"));
        assert_eq!((code(&app, &second), code(&app, &third)), ("VALID", "VALID"), "both work during the overlap");
        use_key(&app, &second);
        let shown = admin.get(&format!("/keys/{id}")).await.body;
        assert!(shown.contains(&format!("…{}", &second[second.len() - 4..])) && shown.contains(&format!("…{}", &third[third.len() - 4..])));
        assert!(shown.contains("End overlap now"));
        app.clock.advance(3_600);
        assert_eq!(code(&app, &second), "NOT_FOUND", "the overlap ends on time");
        assert_eq!(code(&app, &third), "VALID");

        admin.sign_in("admin@example.com", PASSWORD).await;
        admin.get(&format!("/keys/{id}/rotate")).await;
        let page = admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "custom"), ("custom_hours", "48")]).await;
        let fourth = secret_in(&page.body);
        assert_eq!(code(&app, &third), "VALID");
        let ended = admin.post(&format!("/keys/{id}/end-overlap"), &[]).await;
        assert_eq!(ended.status, StatusCode::SEE_OTHER);
        assert_eq!((code(&app, &third), code(&app, &fourth)), ("NOT_FOUND", "VALID"), "ended early");
        let bad = admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "custom"), ("custom_hours", "0")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(code(&app, &fourth), "VALID", "a refused rotation changes nothing");
    }
}

on_both_backends! {
    async fn keys_are_deactivated_and_activated_singly_and_in_bulk(app) {
        let admin = app.admin().await;
        let (a, key_a) = create_key(&admin, &[("name", "A")]).await;
        let (b, key_b) = create_key(&admin, &[("name", "B")]).await;
        admin.get(&format!("/keys/{a}")).await;
        assert_eq!(admin.post(&format!("/keys/{a}/status"), &[("status", "inactive")]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(code(&app, &key_a), "INACTIVE");
        admin.get("/keys").await;
        let bulk = admin.post("/keys/bulk", &[("action", "deactivate"), ("ids", &a), ("ids", &b)]).await;
        assert_eq!(bulk.location(), "/keys?deactivated=1", "only B changed");
        assert!(admin.get(bulk.location()).await.body.contains("Deactivated 1 key."));
        assert_eq!(code(&app, &key_b), "INACTIVE");
        admin.post("/keys/bulk", &[("action", "activate"), ("ids", &a), ("ids", &b)]).await;
        assert_eq!((code(&app, &key_a), code(&app, &key_b)), ("VALID", "VALID"));
        let none = admin.post("/keys/bulk", &[("action", "activate")]).await;
        assert_eq!((none.status, none.location()), (StatusCode::SEE_OTHER, "/keys?missing=keys"), "back to the list, told why");
    }
}

on_both_backends! {
    async fn reassigning_moves_a_key_and_its_former_owner_loses_it(app) {
        let admin = app.admin().await;
        let alice = app.user(&admin, "alice@example.com", "member").await;
        app.user(&admin, "bob@example.com", "member").await;
        let (id, secret) = create_key(&alice, &[("name", "Alice tool")]).await;
        assert_eq!(alice.get(&format!("/keys/{id}/reassign")).await.status, StatusCode::FORBIDDEN, "members cannot reassign");

        let page = admin.get(&format!("/keys/{id}/reassign")).await;
        let bob = page.body.split("<option value=\"").find(|o| o.contains("bob@example.com")).and_then(|o| o.split('"').next()).expect("bob").to_owned();
        let moved = admin.post("/keys/reassign", &[("ids", &id), ("owner", &bob), ("comment", "Alice moved teams")]).await;
        assert_eq!(moved.status, StatusCode::SEE_OTHER);
        assert_eq!(code(&app, &secret), "VALID", "the key keeps working");

        assert_eq!(alice.get(&format!("/keys/{id}")).await.status, StatusCode::FORBIDDEN);
        alice.get("/keys").await;
        assert_eq!(alice.post(&format!("/keys/{id}/status"), &[("status", "inactive")]).await.status, StatusCode::FORBIDDEN);
        assert!(!alice.get("/keys").await.body.contains("Alice tool"));
        let bob_browser = app.browser();
        bob_browser.sign_in("bob@example.com", PASSWORD).await;
        assert!(bob_browser.get("/keys").await.body.contains("Alice tool"));
        assert_eq!(bob_browser.get(&format!("/keys/{id}")).await.status, StatusCode::OK);
        let bob_id: i64 = bob.parse().expect("id");
        let notices = app.state.db.read(|c| keyward::db::notifications::unread_titles(c, bob_id)).expect("notices");
        assert_eq!(notices, vec!["The key \u{201c}Alice tool\u{201d} was reassigned to you".to_owned()]);

        let no_owner = admin.post("/keys/reassign", &[("ids", &id), ("owner", "")]).await;
        assert_eq!(no_owner.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_owner.body.contains("Choose the new owner."));

        // Auditors change nothing, so keys are neither offered to nor handed to them.
        app.user(&admin, "audrey@example.com", "auditor").await;
        let auditor = app.account_id("audrey@example.com").to_string();
        assert!(!admin.get(&format!("/keys/{id}/reassign")).await.body.contains("audrey@example.com"));
        let refused = admin.post("/keys/reassign", &[("ids", &id), ("owner", &auditor)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("Keys cannot be handed to an Auditor"));
    }
}

on_both_backends! {
    async fn deleting_asks_for_the_typed_name_and_warns_of_recent_use_on_the_first_screen(app) {
        let admin = app.admin().await;
        let (id, secret) = create_key(&admin, &[("name", "Old integration")]).await;
        let page = admin.get(&format!("/keys/{id}/delete")).await;
        assert!(page.body.contains("Never used") && page.body.contains("Type <strong>Old integration</strong>"));
        let wrong = admin.post("/keys/delete", &[("ids", &id), ("confirm", "old integration")]).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains("Type \u{201c}Old integration\u{201d} to confirm."));
        assert_eq!(code(&app, &secret), "VALID", "nothing deleted");

        use_key(&app, &secret);
        use_key(&app, &secret);
        let page = admin.get(&format!("/keys/{id}/delete")).await;
        assert!(page.body.contains("192.0.2.7") && page.body.contains("/integration/device/lock"), "the dialog shows the last use");
        // The consequences are on the first screen, with the safe choice beside Delete.
        assert!(page.body.contains("used 3 times in the last 3 days"), "{}", page.body);
        assert!(page.body.contains("Deactivate instead") && page.body.contains("name=\"recent_ok\""));
        let first = admin.post("/keys/delete", &[("ids", &id), ("confirm", "Old integration")]).await;
        assert_eq!(first.status, StatusCode::CONFLICT);
        assert!(first.body.contains("Tick the box to delete keys that were used recently"));
        assert!(first.body.contains("value=\"Old integration\""), "what was typed is kept");
        assert_eq!(code(&app, &secret), "VALID");
        // "Deactivate instead" posts the same form to the bulk action: the key stops working, and can come back.
        let deactivated = admin.post("/keys/bulk", &[("ids", &id), ("confirm", ""), ("action", "deactivate")]).await;
        assert_eq!(deactivated.status, StatusCode::SEE_OTHER);
        assert_eq!(code(&app, &secret), "INACTIVE");
        let second = admin.post("/keys/delete", &[("ids", &id), ("confirm", "Old integration"), ("recent_ok", "1")]).await;
        assert_eq!(second.status, StatusCode::SEE_OTHER);
        assert_eq!(code(&app, &secret), "NOT_FOUND", "deleted keys stop working at once");
        assert_eq!(admin.get(&format!("/keys/{id}")).await.status, StatusCode::NOT_FOUND);

        // An identifying field is what must be typed when the type has one; bulk asks for the count.
        let (gw, gw_secret) = create_key(&admin, &[("name", "Gateway"), ("type_name", "Customer"), ("identifier", "CUST-42")]).await;
        let page = admin.get(&format!("/keys/{gw}/delete")).await;
        assert!(page.body.contains("Type <strong>CUST-42</strong>"));
        let (x, x_secret) = create_key(&admin, &[("name", "X")]).await;
        admin.get("/keys").await;
        let confirm = admin.post("/keys/bulk", &[("action", "delete"), ("ids", &gw), ("ids", &x)]).await;
        assert!(confirm.body.contains("Delete 2 keys") && confirm.body.contains("Type <strong>2</strong>"));
        assert_eq!(admin.post("/keys/delete", &[("ids", &gw), ("ids", &x), ("confirm", "3")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        let done = admin.post("/keys/delete", &[("ids", &gw), ("ids", &x), ("confirm", "2")]).await;
        assert_eq!(done.location(), "/keys?deleted=2");
        assert_eq!((code(&app, &gw_secret), code(&app, &x_secret)), ("NOT_FOUND", "NOT_FOUND"));
        let activity = admin.get("/").await.body;
        assert!(activity.contains("key.deleted"));
    }
}

on_both_backends! {
    async fn auditors_and_other_members_cannot_change_keys(app) {
        let admin = app.admin().await;
        let (id, secret) = create_key(&admin, &[("name", "Protected")]).await;
        let auditor = app.user(&admin, "audrey@example.com", "auditor").await;
        let member = app.user(&admin, "mo@example.com", "member").await;
        for b in [&auditor, &member] {
            b.get("/keys").await;
            for (path, fields) in [
                (format!("/keys/{id}/status"), vec![("status", "inactive")]),
                (format!("/keys/{id}/edit"), vec![("status", "inactive"), ("expiry", "keep")]),
                (format!("/keys/{id}/rotate"), vec![("overlap", "0")]),
                (format!("/keys/{id}/end-overlap"), vec![]),
                ("/keys/delete".to_owned(), vec![("ids", id.as_str()), ("confirm", "Protected")]),
                ("/keys/reassign".to_owned(), vec![("ids", id.as_str()), ("owner", "1")]),
                ("/keys/bulk".to_owned(), vec![("ids", id.as_str()), ("action", "deactivate")]),
            ] {
                let page = b.post(&path, &fields).await;
                assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
            }
            assert_eq!(b.get(&format!("/keys/{id}/edit")).await.status, StatusCode::FORBIDDEN);
        }
        assert_eq!(code(&app, &secret), "VALID");
        let no_token = admin.post_raw(&format!("/keys/{id}/status"), &[("status", "inactive")], &[]).await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN);
        assert_eq!(code(&app, &secret), "VALID");
    }
}

on_both_backends! {
    async fn the_key_page_shows_usage_and_history(app) {
        let admin = app.admin().await;
        let (id, secret) = create_key(&admin, &[("name", "Busy")]).await;
        let fresh = admin.get(&format!("/keys/{id}")).await.body;
        assert!(fresh.contains("Never used.") && fresh.contains("0 in all"));
        for _ in 0..3 {
            use_key(&app, &secret);
        }
        app.clock.advance(86_400);
        use_key(&app, &secret);
        admin.sign_in("admin@example.com", PASSWORD).await;
        admin.get(&format!("/keys/{id}/rotate")).await;
        admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "3600")]).await;
        let page = admin.get(&format!("/keys/{id}")).await.body;
        assert!(page.contains("4 uses in all") && page.contains("(4 in all)"), "counts add up across flushes");
        assert!(page.contains("<code>192.0.2.7</code>") && page.contains("<code>/integration/device/lock</code>"));
        assert_eq!(page.matches("<rect ").count(), 30, "one bar a day");
        assert!(page.contains(": 3</title>") && page.contains(": 1</title>"));
        assert!(page.contains("key.created") && page.contains("key.rotated"), "the key's own history");
        let list = admin.get("/keys?sort=last_used&dir=desc").await.body;
        assert!(!list.contains(">Never<"), "the table shows the last use");
    }
}

on_both_backends! {
    async fn members_generate_and_regenerate_their_personal_key(app) {
        let admin = app.admin().await;
        let member = app.user(&admin, "pat@example.com", "member").await;
        let profile = member.get("/profile").await;
        assert!(profile.body.contains("Generate API key") && profile.body.contains("You own no keys."));
        let past = member.post("/profile/key", &[("expiry", "date"), ("expires_on", "2001-02-03")]).await;
        assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(past.body.contains("in the past"));
        let created = member.post("/profile/key", &[("expiry", "never")]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let key = secret_in(&created.body);
        assert!(key.starts_with("kwp_"), "personal keys use the Personal type's prefix");
        assert_eq!(code(&app, &key), "VALID");
        let profile = member.get("/profile").await.body;
        assert!(profile.contains("Personal key of pat@example.com") && profile.contains("expires never") && profile.contains("Regenerate"));
        let again = member.post("/profile/key", &[("expiry", "never")]).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(again.body.contains("already has a Personal key"));

        let id = profile.split("href=\"/keys/").nth(1).and_then(|s| s.split('"').next()).expect("key link").to_owned();
        member.get(&format!("/keys/{id}/rotate")).await;
        let rotated = member.post(&format!("/keys/{id}/rotate"), &[("overlap", "0")]).await;
        let new_key = secret_in(&rotated.body);
        assert_eq!((code(&app, &key), code(&app, &new_key)), ("NOT_FOUND", "VALID"));
        let auditor = app.user(&admin, "aud@example.com", "auditor").await;
        assert!(auditor.get("/profile").await.body.contains("Your role has no personal key."));
    }
}

on_both_backends! {
    async fn every_key_action_needs_the_csrf_token(app) {
        let admin = app.admin().await;
        let (id, secret) = create_key(&admin, &[("name", "Guarded")]).await;
        let routes = [
            "/keys".to_owned(),
            format!("/keys/{id}/edit"),
            format!("/keys/{id}/status"),
            format!("/keys/{id}/rotate"),
            format!("/keys/{id}/end-overlap"),
            format!("/keys/{id}/reveal"),
            "/keys/bulk".to_owned(),
            "/keys/delete".to_owned(),
            "/keys/reassign".to_owned(),
            "/profile/key".to_owned(),
            "/settings/key-types".to_owned(),
        ];
        for route in &routes {
            let fields = [("ids", id.as_str()), ("status", "inactive"), ("action", "deactivate"), ("confirm", "Guarded"),
                          ("overlap", "0"), ("expiry", "never"), ("name", "Forged"), ("key_type", "1"), ("password", PASSWORD)];
            assert_eq!(admin.post_raw(route, &fields, &[]).await.status, StatusCode::FORBIDDEN, "{route} without a token");
            let forged = admin.post_raw(route, &fields, &[("X-CSRF-Token", "forged"), ("HX-Request", "true")]).await;
            assert_eq!(forged.status, StatusCode::FORBIDDEN, "{route} with a forged token");
        }
        assert_eq!(code(&app, &secret), "VALID", "nothing changed");
        let list = admin.get("/keys").await.body;
        assert!(list.contains("Guarded") && !list.contains("Forged"));
    }
}

on_both_backends! {
    async fn the_key_page_keeps_the_twenty_most_recent_uses(app) {
        let admin = app.admin().await;
        let (id, secret) = create_key(&admin, &[("name", "Busy")]).await;
        let key_id: i64 = id.parse().expect("id");
        for n in 0..25 {
            app.clock.advance(60);
            let context = UseContext { ip: Some(format!("192.0.2.{n}")), path: Some(format!("/use/{n}")), ..UseContext::default() };
            assert!(verify(&app.state, &secret, &context).expect("verify").valid());
            app.state.usage.flush(&app.state.db).expect("flush");
        }
        let recent = app.state.db.read(|c| keyward::db::usage::recent_uses(c, key_id)).expect("recent uses");
        let paths: Vec<String> = recent.iter().filter_map(|u| u.path.clone()).collect();
        let expected: Vec<String> = (5..25).rev().map(|n| format!("/use/{n}")).collect();
        assert_eq!(paths, expected, "the newest twenty, newest first");
        let last = app.state.db.read(|c| keyward::db::usage::last_used(c, key_id)).expect("last use").expect("used");
        assert_eq!((last.count, last.path.as_deref()), (25, Some("/use/24")));
        admin.sign_in("admin@example.com", PASSWORD).await;
        let page = admin.get(&format!("/keys/{id}")).await.body;
        assert!(page.contains("/use/24") && page.contains("/use/5") && !page.contains("/use/4<"), "{page}");

        // Within a minute of the last sample a use counts and is the last use, but takes no sample.
        let newest = |app: &TestApp| {
            let recent = app.state.db.read(|c| keyward::db::usage::recent_uses(c, key_id)).expect("recent uses");
            (recent.len(), recent[0].path.clone())
        };
        for (advance, path) in [(30, "/soon"), (29, "/sooner")] {
            app.clock.advance(advance);
            let context = UseContext { path: Some(path.into()), ..UseContext::default() };
            assert!(verify(&app.state, &secret, &context).expect("verify").valid());
            app.state.usage.flush(&app.state.db).expect("flush");
            assert_eq!(newest(&app), (20, Some("/use/24".to_owned())), "no sample {advance} s after one");
        }
        let last = app.state.db.read(|c| keyward::db::usage::last_used(c, key_id)).expect("last use").expect("used");
        assert_eq!((last.count, last.path.as_deref()), (27, Some("/sooner")));
        app.clock.advance(1);
        assert!(verify(&app.state, &secret, &UseContext { path: Some("/later".into()), ..UseContext::default() })
            .expect("verify")
            .valid());
        app.state.usage.flush(&app.state.db).expect("flush");
        assert_eq!(newest(&app), (20, Some("/later".to_owned())), "a sample a minute after the last");
    }
}

on_both_backends! {
    async fn an_administrator_generates_and_regenerates_a_persons_personal_key(app) {
        let admin = app.admin().await;
        app.user(&admin, "alice@example.com", "member").await;
        app.user(&admin, "audrey@example.com", "auditor").await;
        let alice = app.account_id("alice@example.com");
        let page = admin.get(&format!("/users/{alice}")).await;
        assert!(page.body.contains(&format!("action=\"/users/{alice}/personal-key\"")), "offered while she has none");
        let auditor = app.account_id("audrey@example.com");
        assert!(!admin.get(&format!("/users/{auditor}")).await.body.contains("/personal-key\""), "Auditors hold no keys");

        let created = admin.post(&format!("/users/{alice}/personal-key"), &[]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let first = secret_in(&created.body);
        assert!(first.starts_with("kwp_") && code(&app, &first) == "VALID");
        let again = admin.post(&format!("/users/{alice}/personal-key"), &[]).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "one personal key per person");

        // Her page now leads to it and to "Generate new API key", which replaces it with the overlap choice.
        let page = admin.get(&format!("/users/{alice}")).await;
        let id = page.body.split("id=\"personal-key\"><a href=\"/keys/").nth(1).and_then(|s| s.split('"').next()).expect("link");
        assert!(page.body.contains(&format!("href=\"/keys/{id}/rotate\">Generate new API key")));
        admin.get(&format!("/keys/{id}/rotate")).await;
        let rotated = admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "0")]).await;
        let second = secret_in(&rotated.body);
        assert_eq!((code(&app, &first), code(&app, &second)), ("NOT_FOUND", "VALID"), "the old one is invalid at once");
        let alice_browser = app.browser();
        alice_browser.sign_in("alice@example.com", PASSWORD).await;
        assert!(alice_browser.get("/profile").await.body.contains("Personal key of alice@example.com"));
    }
}
