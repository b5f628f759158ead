//! Allowed domains: adding the matching accounts, self sign-up, and password links for people who
//! have no password yet.

use keyward::domain::email::Email;
use keyward::domain::role::ConsoleRole;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp};
use crate::on_both_backends;

/// An account that exists only in another workspace.
fn outsider(app: &TestApp, email: &str) {
    account(app, email, true);
}

/// An account that belongs to no workspace (its last one removed it).
fn unaffiliated(app: &TestApp, email: &str) {
    account(app, email, false);
}

fn account(app: &TestApp, email: &str, elsewhere: bool) {
    let email = Email::parse(email).expect("email");
    app.state
        .db
        .write(|c| {
            let new = keyward::db::accounts::NewAccount {
                email: &email,
                display_name: "Someone Else",
                password_hash: None,
                is_super_admin: false,
                now: 0,
            };
            let id = keyward::db::accounts::create(c, &new)?;
            if elsewhere {
                let ws = keyward::db::workspaces::create(c, &format!("Elsewhere {email}"), 0)?;
                keyward::db::workspaces::add_member(c, ws, id, ConsoleRole::Member, 0)?;
            }
            Ok::<_, keyward::error::Error>(())
        })
        .expect("outsider");
}

on_both_backends! {
    async fn allowed_domains_add_matching_accounts_and_open_sign_up(app) {
        let admin = app.admin().await;
        assert!(!app.browser().get("/login").await.body.contains("/signup"), "sign-up starts closed");
        assert_eq!(app.browser().get("/signup").await.status, StatusCode::NOT_FOUND);

        admin.get("/settings").await;
        let bad = admin.post("/settings/domains", &[("domains", "corp.example, not a domain")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("\u{201c}not\u{201d} is not a domain"));
        let empty = admin.post("/settings/domains", &[("domains", ""), ("self_signup", "1")]).await;
        assert!(empty.body.contains("List at least one domain"));
        let saved = admin.post("/settings/domains", &[("domains", "@Corp.example\nlab.example")]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        assert!(admin.get("/settings/domains").await.body.contains("corp.example\nlab.example"));

        unaffiliated(&app, "ann@corp.example");
        unaffiliated(&app, "eve@other.example");
        // Another workspace's person of an allowed domain is neither listed nor counted nor enrolled.
        outsider(&app, "carl@corp.example");
        let confirm = admin.get("/settings/domains/matching").await.body;
        assert!(confirm.contains("<strong>1 account</strong>") && confirm.contains("ann@corp.example") && !confirm.contains("eve@"));
        assert!(!confirm.contains("carl@"), "{confirm}");
        assert_eq!(admin.post("/settings/domains/matching", &[("expected", "2")]).await.status, StatusCode::CONFLICT);
        let added = admin.post("/settings/domains/matching", &[("expected", "1")]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER);
        let users = admin.get(added.location()).await.body;
        assert!(users.contains("Added 1 account of the allowed domains as Members.") && users.contains("ann@corp.example"));
        assert!(!users.contains("eve@other.example") && !users.contains("carl@corp.example"));

        admin.get("/settings").await;
        admin.post("/settings/domains", &[("domains", "corp.example"), ("self_signup", "1")]).await;
        // Sign-up needs email to prove addresses (`email::sign_up_needs_the_emailed_link…`): closed here.
        let visitor = app.browser();
        assert!(!visitor.get("/login").await.body.contains("Create an account"));
        assert_eq!(visitor.get("/signup").await.status, StatusCode::NOT_FOUND);
        let activity = admin.get("/").await.body;
        assert!(activity.contains("settings.allowed_domains_changed"));

        let member = app.user(&admin, "m@example.com", "member").await;
        member.get("/").await;
        assert_eq!(member.post("/settings/domains", &[("domains", "x.example")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(member.get("/settings/domains/matching").await.status, StatusCode::FORBIDDEN);
    }
}

on_both_backends! {
    async fn a_password_link_lets_a_person_without_a_password_choose_one_once(app) {
        let admin = app.admin().await;
        unaffiliated(&app, "ann@corp.example");
        admin.get("/settings").await;
        admin.post("/settings/domains", &[("domains", "corp.example")]).await;
        admin.post("/settings/domains/matching", &[("expected", "1")]).await;
        let id = app.account_id("ann@corp.example");
        let page = admin.get(&format!("/users/{id}")).await.body;
        assert!(page.contains("no password yet") && page.contains("Create password link"));

        let first = admin.post(&format!("/users/{id}/password-link"), &[]).await;
        assert_eq!(first.status, StatusCode::OK);
        let link = |body: &str| body.split("value=\"").find(|s| s.contains("/password?token=")).and_then(|s| s.split('"').next()).expect("link").to_owned();
        let old = link(&first.body);
        admin.get(&format!("/users/{id}")).await;
        let second = link(&admin.post(&format!("/users/{id}/password-link"), &[]).await.body);
        assert_ne!(old, second);
        let path = |url: &str| url[url.find("/password").expect("path")..].to_owned();

        let ann = app.browser();
        assert_eq!(ann.get(&path(&old)).await.status, StatusCode::GONE, "a newer link retires the old one");
        let open = ann.get(&path(&second)).await;
        assert_eq!(open.status, StatusCode::OK);
        assert!(open.body.contains("ann@corp.example"));
        let token = second.split("token=").nth(1).expect("token");
        let mismatch = ann.post("/password", &[("token", token), ("password", PASSWORD), ("confirm", "something else entirely")]).await;
        assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
        let set = ann.post("/password", &[("token", token), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
        assert_eq!(set.status, StatusCode::SEE_OTHER);
        assert!(ann.get(set.location()).await.body.contains("Your password is set"));
        assert_eq!(ann.post("/login", &[("email", "ann@corp.example"), ("password", PASSWORD)]).await.status, StatusCode::SEE_OTHER);
        let again = app.browser();
        assert_eq!(again.get(&path(&second)).await.status, StatusCode::GONE, "a link works once");
        again.get("/login").await;
        assert_eq!(again.post("/password", &[("token", token), ("password", PASSWORD), ("confirm", PASSWORD)]).await.status, StatusCode::CONFLICT);

        let auditor = app.user(&admin, "aud@example.com", "auditor").await;
        auditor.get("/").await;
        assert_eq!(auditor.post(&format!("/users/{id}/password-link"), &[]).await.status, StatusCode::FORBIDDEN);
        let me = app.account_id("admin@example.com");
        admin.get("/").await;
        assert_eq!(admin.post(&format!("/users/{me}/password-link"), &[]).await.status, StatusCode::CONFLICT);
        let activity = admin.get("/").await.body;
        assert!(activity.contains("account.password_link_created") && activity.contains("account.password_set_by_link"));
    }
}
