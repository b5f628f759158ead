//! What each console role may see and do.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends! {
    async fn members_and_auditors_are_refused_administration(app) {
        let admin = app.admin().await;
        let member = app.user(&admin, "member@example.com", "member").await;
        let auditor = app.user(&admin, "auditor@example.com", "auditor").await;

        let home = member.get("/").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(!home.body.contains("href=\"/users\""), "no link to a page the role cannot use");
        assert_eq!(member.get("/users").await.status, StatusCode::FORBIDDEN);

        let listing = auditor.get("/users").await;
        assert_eq!(listing.status, StatusCode::OK, "auditors read the user list");
        assert!(listing.body.contains("member@example.com"));
        assert!(!listing.body.contains("Add user"), "but get no form to change it");

        let id = admin.get("/users").await.body
            .split("action=\"/users/").filter_map(|s| s.split_once("/disable")).map(|(id, _)| id.to_owned()).next()
            .expect("a disable button");
        for b in [&member, &auditor] {
            b.get("/").await;
            let add = b.post("/users", &[("email", "x@example.com"), ("name", "X"), ("role", "admin"),
                                         ("password", PASSWORD), ("confirm", PASSWORD)]).await;
            assert_eq!(add.status, StatusCode::FORBIDDEN);
            assert_eq!(b.post(&format!("/users/{id}/disable"), &[]).await.status, StatusCode::FORBIDDEN);
            let htmx = b.htmx_post(&format!("/users/{id}/disable"), &[]).await;
            assert_eq!(htmx.status, StatusCode::FORBIDDEN);
            assert_eq!(htmx.header("hx-retarget"), "#toasts", "htmx callers get a toast");
            assert!(htmx.body.contains("Your role does not allow this."));
        }
        let users = admin.get("/users").await;
        assert!(!users.body.contains("x@example.com"), "nothing was created");
        assert!(!users.body.contains("state-off"), "nothing was disabled");
    }
}

on_both_backends! {
    async fn adding_a_user_validates_every_field(app) {
        let admin = app.admin().await;
        admin.get("/users").await;
        let cases: [(&str, &str, &str, &str, &str); 5] = [
            ("not-an-email", "Name", "member", PASSWORD, "Enter an email address"),
            ("admin@example.com", "Name", "member", PASSWORD, "admin@example.com is already a member of this workspace."),
            ("new@example.com", " ", "member", PASSWORD, "Enter a name."),
            ("new@example.com", "Name", "root", PASSWORD, "Choose Administrator, Auditor or Member."),
            ("new@example.com", "Name", "member", "short", "at least 12 characters"),
        ];
        for (email, name, role, password, message) in cases {
            let page = admin.htmx_post("/users", &[("email", email), ("name", name), ("role", role),
                                                  ("password", password), ("confirm", password)]).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{email} {name} {role}");
            assert!(page.body.contains(message), "expected {message:?} in {}", page.body);
            assert!(page.body.contains("aria-invalid=\"true\""));
        }
        assert!(!admin.get("/users").await.body.contains("new@example.com"));
        let ok = admin.htmx_post("/users", &[("email", "New@Example.com"), ("name", "New Person"), ("role", "auditor"),
                                             ("password", PASSWORD), ("confirm", PASSWORD)]).await;
        assert_eq!(ok.status, StatusCode::OK);
        assert!(ok.body.contains("Added New@Example.com") || ok.body.contains("Added new@example.com"));
        assert!(ok.body.contains("new@example.com"));
    }
}

on_both_backends! {
    async fn administrators_cannot_disable_themselves(app) {
        let admin = app.admin().await;
        let users = admin.get("/users").await;
        assert!(!users.body.contains("/disable\""), "no disable button on one's own row");
        // Guessing the route does not help either.
        let me = keyward::domain::email::Email::parse("admin@example.com").expect("email");
        let own_id = app.state.db.read(|c| keyward::db::accounts::find_by_email(c, &me)).expect("query").expect("admin").id;
        let refused = admin.post(&format!("/users/{own_id}/disable"), &[]).await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert_eq!(admin.get("/").await.status, StatusCode::OK);
    }
}

on_both_backends! {
    async fn deleting_a_user_ends_their_sessions_and_hands_their_keys_to_the_administrator(app) {
        let admin = app.admin().await;
        let member = app.user(&admin, "leaver@example.com", "member").await;
        let (_, first) = crate::keys::create_key(&member, &[("name", "Leaver one")]).await;
        crate::keys::create_key(&member, &[("name", "Leaver two")]).await;
        let users = admin.get("/users").await.body;
        let at = users.find("leaver@example.com").expect("row");
        let id = users[..at].rsplit("<a href=\"/users/").next().and_then(|s| s.split('"').next()).expect("id").to_owned();

        let confirm = admin.get(&format!("/users/{id}/delete")).await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm.body.contains("2 (2 Integration), 2 active") && confirm.body.contains("Leaver one"), "{}", confirm.body);
        assert!(confirm.body.contains("value=\"hand_over\" checked"), "the workspace's default: hand over");
        let auditor = app.user(&admin, "aud@example.com", "auditor").await;
        auditor.get("/users").await;
        assert_eq!(auditor.post(&format!("/users/{id}/delete"), &[]).await.status, StatusCode::FORBIDDEN);

        let done = admin.post(&format!("/users/{id}/delete"), &[]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        assert_eq!(member.get("/").await.status, StatusCode::SEE_OTHER, "their session ended at once");
        assert_eq!(app.browser().sign_in("leaver@example.com", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
        let keys = admin.get("/keys?q=leaver").await.body;
        assert!(keys.contains("Leaver one") && keys.contains("Leaver two"));
        assert!(keys.contains("admin@example.com") && !keys.contains("leaver@example.com"), "now owned by the administrator");
        let me = keyward::domain::email::Email::parse("admin@example.com").expect("email");
        let admin_id = app.state.db.read(|c| keyward::db::accounts::find_by_email(c, &me)).expect("q").expect("admin").id;
        let notices = app.state.db.read(|c| keyward::db::notifications::unread_titles(c, admin_id)).expect("notices");
        assert_eq!(notices, vec!["2 keys of leaver@example.com are now yours".to_owned()]);
        let verdict = keyward::services::verify::verify(&app.state, &first, &Default::default()).expect("verify");
        assert_eq!(verdict.key.map(|k| k.profile.owner.clone()), Some("admin@example.com".to_owned()), "the key carries its new owner's access");
        assert!(admin.get("/").await.body.contains("account.deleted"));

        admin.get("/users").await;
        let mine = app.account_id("admin@example.com");
        assert_eq!(admin.post(&format!("/users/{mine}/delete"), &[]).await.status, StatusCode::CONFLICT, "no deleting yourself");
    }
}

on_both_backends! {
    async fn deleting_a_person_can_revoke_their_keys_and_hand_them_to_a_chosen_administrator(app) {
        let admin = app.admin().await;
        app.user(&admin, "deputy@example.com", "admin").await;
        app.user(&admin, "aud@example.com", "auditor").await;
        let member = app.user(&admin, "leaver@example.com", "member").await;
        let (_, first) = crate::keys::create_key(&member, &[("name", "Leaver one")]).await;
        let (_, second) = crate::keys::create_key(&member, &[("name", "Leaver two")]).await;
        let (id, deputy, auditor) =
            (app.account_id("leaver@example.com"), app.account_id("deputy@example.com"), app.account_id("aud@example.com"));

        // The workspace's default becomes "deactivate"; the Delete page starts from it.
        admin.get("/settings/policies").await;
        let policy = [("reminder_days", "7"), ("rotation_days", "90"), ("recent_use_days", "3"), ("stale_days", "30"), ("departed_keys", "deactivate")];
        assert_eq!(admin.post("/settings/policies", &policy).await.status, StatusCode::SEE_OTHER);
        let confirm = admin.get(&format!("/users/{id}/delete")).await.body;
        assert!(confirm.contains("value=\"deactivate\" checked"));
        assert!(confirm.contains("deputy@example.com") && !confirm.contains("(aud@example.com)"), "only administrators receive keys");

        // An Auditor is refused as recipient: nothing is deleted.
        let refused = admin.post(&format!("/users/{id}/delete"), &[("keys", "deactivate"), ("to", &auditor.to_string())]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("Choose an active administrator of this workspace"));
        assert_eq!(code(&app, &first), "VALID");

        let done = admin.post(&format!("/users/{id}/delete"), &[("keys", "deactivate"), ("to", &deputy.to_string())]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        assert_eq!((code(&app, &first), code(&app, &second)), ("INACTIVE", "INACTIVE"), "revoked at once");
        let keys = admin.get("/keys?q=leaver").await.body;
        assert!(keys.contains("deputy@example.com") && !keys.contains("leaver@example.com"), "held by the chosen administrator");
        let notices = app.state.db.read(|c| keyward::db::notifications::unread_titles(c, deputy)).expect("notices");
        assert_eq!(notices, vec!["2 keys of leaver@example.com are now yours".to_owned()]);
    }
}

fn code(app: &TestApp, key: &str) -> &'static str {
    keyward::services::verify::verify(&app.state, key, &Default::default()).expect("verify").code.as_str()
}

on_both_backends! {
    async fn administrators_change_console_roles_which_apply_at_once(app) {
        let admin = app.admin().await;
        let person = app.user(&admin, "pat@example.com", "member").await;
        assert_eq!(person.get("/users").await.status, StatusCode::FORBIDDEN);
        let users = admin.get("/users").await.body;
        let at = users.find("pat@example.com").expect("row");
        let id = users[..at].rsplit("<a href=\"/users/").next().and_then(|s| s.split('"').next()).expect("id").to_owned();
        admin.get(&format!("/users/{id}")).await;
        let changed = admin.post(&format!("/users/{id}/role"), &[("role", "auditor")]).await;
        assert_eq!(changed.status, StatusCode::SEE_OTHER);
        assert_eq!(person.get("/users").await.status, StatusCode::OK, "the new role applies on the next request");
        assert!(admin.get(&format!("/users/{id}")).await.body.contains("value=\"auditor\" selected"));
        let bad = admin.post(&format!("/users/{id}/role"), &[("role", "root")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(person.post(&format!("/users/{id}/role"), &[("role", "admin")]).await.status, StatusCode::FORBIDDEN, "no promoting oneself");
        let mine = app.account_id("admin@example.com");
        assert_eq!(admin.post(&format!("/users/{mine}/role"), &[("role", "member")]).await.status, StatusCode::CONFLICT);
        assert!(admin.get("/").await.body.contains("account.role_changed"));
    }
}
