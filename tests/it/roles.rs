//! Roles: custom roles with their permissions, the live preview, and deletion that tells key owners.

use keyward::domain::access::Want;
use keyward::services::verify::{UseContext, verify};
use reqwest::StatusCode;

use crate::helpers::{Browser, TestApp};
use crate::keys::create_key;
use crate::on_both_backends;
use crate::permissions::permission_id;

pub(crate) async fn catalogue(admin: &Browser) -> (String, String) {
    admin.get("/permissions").await;
    admin
        .post(
            "/permissions",
            &[
                ("name", "device.lock"),
                ("label", "Lock Device"),
                ("writes", "1"),
                ("rules", "POST /integration/device/*/lock"),
            ],
        )
        .await;
    admin
        .post(
            "/permissions",
            &[
                ("name", "device.view_location"),
                ("label", "View Location"),
                ("rules", "GET /integration/device/*/location"),
            ],
        )
        .await;
    let form = admin.get("/roles/new").await.body;
    (permission_id(&form, "device.lock"), permission_id(&form, "device.view_location"))
}

pub(crate) fn role_id(page: &str, name: &str) -> String {
    let at = page.find(&format!(">{name}</a>")).unwrap_or_else(|| panic!("{name} listed"));
    page[..at].rsplit("href=\"/roles/").next().and_then(|s| s.split('"').next()).expect("id").to_owned()
}

fn code(app: &TestApp, key: &str, permission: &str) -> String {
    let context = UseContext { want: Some(Want::Permission(permission.into())), ..UseContext::default() };
    verify(&app.state, key, &context).expect("verify").code.as_str().to_owned()
}

on_both_backends! {
    async fn administrators_create_and_edit_roles_with_a_preview_of_their_reach(app) {
        let admin = app.admin().await;
        let (lock, view) = catalogue(&admin).await;
        let listed = admin.get("/roles").await.body;
        assert!(listed.contains("ADMIN") && listed.contains("READONLY") && listed.contains("No custom roles yet"));

        for (name, message) in [("", "A role name has 1–60"), ("admin", "is a built-in role"), ("a/b", "A role name has 1–60")] {
            let refused = admin.post("/roles", &[("name", name), ("permissions", &lock)]).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
            assert!(refused.body.contains(message), "{name}: {message}");
            assert!(refused.body.contains("checked"), "the ticked permission survives the error");
        }
        let bogus = admin.post("/roles", &[("name", "Ops"), ("permissions", "999999")]).await;
        assert!(bogus.body.contains("does not exist"));

        let preview = admin.get_htmx(&format!("/roles/preview?permissions={lock}&permissions={view}")).await;
        assert!(preview.body.contains("POST /integration/device/*/lock") && preview.body.contains("GET /integration/device/*/location"));
        assert!(admin.get_htmx("/roles/preview").await.body.contains("No URIs"));

        let created = admin.post("/roles", &[("name", "Device operators"), ("description", "Field staff"), ("permissions", &lock)]).await;
        assert_eq!(created.status, StatusCode::SEE_OTHER);
        let duplicate = admin.post("/roles", &[("name", "device OPERATORS")]).await;
        assert!(duplicate.body.contains("already exists"));
        let listed = admin.get("/roles").await.body;
        let id = role_id(&listed, "Device operators");
        assert!(listed.contains("1 permission") && listed.contains("role-matrix"));

        let edit = admin.get(&format!("/roles/{id}")).await.body;
        assert!(edit.contains("Edit Device operators") && edit.contains("POST /integration/device/*/lock"));
        assert!(!edit.contains("GET /integration/device/*/location"), "the preview shows only what the role holds");
        let saved = admin.post(&format!("/roles/{id}"), &[("name", "Device operators"), ("permissions", &lock), ("permissions", &view)]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        assert!(admin.get("/roles").await.body.contains("2 permissions"));

        let builtin = role_id(&listed, "ADMIN");
        let page = admin.get(&format!("/roles/{builtin}")).await.body;
        assert!(page.contains("cannot be edited") && !page.contains("Save role"));
        assert_eq!(admin.post(&format!("/roles/{builtin}"), &[("name", "ADMIN2")]).await.status, StatusCode::CONFLICT);
        assert_eq!(admin.post(&format!("/roles/{builtin}/delete"), &[]).await.status, StatusCode::CONFLICT);

        let auditor = app.user(&admin, "aud@example.com", "auditor").await;
        assert!(auditor.get("/roles").await.body.contains("Device operators"));
        assert_eq!(auditor.post("/roles", &[("name", "Sneaky")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(auditor.post(&format!("/roles/{id}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
        let member = app.user(&admin, "mem@example.com", "member").await;
        assert_eq!(member.get("/roles").await.status, StatusCode::FORBIDDEN);
        let activity = admin.get("/").await.body;
        assert!(activity.contains("role.created") && activity.contains("role.updated"));
    }
}

on_both_backends! {
    async fn deleting_a_role_takes_it_from_keys_and_people_and_tells_the_owners(app) {
        let admin = app.admin().await;
        let (lock, _) = catalogue(&admin).await;
        admin.post("/roles", &[("name", "Lockers"), ("permissions", &lock)]).await;
        let id = role_id(&admin.get("/roles").await.body, "Lockers");

        // Bob holds the role himself, and his key holds it too.
        let bob = app.user(&admin, "bob@example.com", "member").await;
        let bob_id = app.account_id("bob@example.com");
        admin.get(&format!("/users/{bob_id}")).await;
        assert_eq!(admin.htmx_post(&format!("/users/{bob_id}/grants"), &[("roles", &id)]).await.status, StatusCode::OK);
        let (_, key) = create_key(&bob, &[("name", "Bob locker"), ("roles", &id)]).await;
        assert_eq!(code(&app, &key, "device.lock"), "VALID");

        let confirm = admin.get(&format!("/roles/{id}/delete")).await.body;
        assert!(confirm.contains("1 key") && confirm.contains("Bob locker") && confirm.contains("1 person") && confirm.contains("bob@example.com"));
        assert_eq!(admin.post(&format!("/roles/{id}/delete"), &[]).await.status, StatusCode::SEE_OTHER);

        assert!(!admin.get("/roles").await.body.contains("Lockers"));
        assert_eq!(code(&app, &key, "device.lock"), "FORBIDDEN", "the key lost what the role gave, at once");
        assert_eq!(app.notices("bob@example.com"), vec!["The role \u{201c}Lockers\u{201d} was deleted".to_owned()]);
        assert!(app.notices("admin@example.com").is_empty(), "only owners of affected keys are told");
        assert!(admin.get("/").await.body.contains("role.deleted"));
        assert_eq!(admin.get(&format!("/roles/{id}")).await.status, StatusCode::NOT_FOUND);
    }
}
