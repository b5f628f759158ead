//! Workspace isolation of accounts. Accounts are shared by every workspace, so a workspace's Administrator
//! must not reach one that another workspace relies on: not by enrolling it (import, allowed domains, Add
//! user, the API: those invite), and not by changing it once it is a member (password link, disable,
//! unlock, delete, two-factor reset, rename). The probe that found the hole: the Administrator of a
//! second workspace imported a first-workspace person, made a password link for them and signed in as
//! them. Every attempt here is refused, and every original password still signs in afterwards.

use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp};
use crate::import::hidden;
use crate::keys::create_key;
use crate::on_both_backends;
use crate::workspaces::{create_workspace, switch};

struct Two {
    /// The super-administrator, Administrator of Acme (the first workspace) and of Globex, which they made.
    root: Browser,
    /// Globex's own Administrator, of Globex only: the attacker.
    bob: Browser,
    /// A member of Acme only.
    alice: i64,
    /// A member of both workspaces.
    both: i64,
    /// The super-administrator.
    root_id: i64,
}

async fn two_workspaces(app: &TestApp) -> Two {
    let root = app.admin().await;
    app.user(&root, "alice@example.com", "admin").await;
    app.user(&root, "both@example.com", "member").await;
    let globex = create_workspace(&root, "Globex").await;
    let added =
        root.post(&format!("/workspaces/{globex}/members"), &[("email", "both@example.com"), ("role", "member")]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    switch(&root, globex).await;
    let bob = app.user(&root, "bob@example.com", "admin").await;
    bob.get("/").await;
    let alice = app.account_id("alice@example.com");
    app.state
        .db
        .write(|c| keyward::db::accounts::set_display_name(c, alice, "Alice Acme").map_err(keyward::error::Error::from))
        .expect("rename");
    Two { root, bob, alice, both: app.account_id("both@example.com"), root_id: app.account_id("admin@example.com") }
}

fn csv(rows: &[&str]) -> Vec<u8> {
    let mut file = String::from("email,name,role,permissions\n");
    for row in rows {
        file.push_str(row);
        file.push('\n');
    }
    file.into_bytes()
}

/// Every original password still signs in: nothing about the accounts changed.
async fn everyone_signs_in_as_before(app: &TestApp) {
    for email in ["alice@example.com", "both@example.com", "admin@example.com"] {
        let page = app.browser().sign_in(email, PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{email} signs in with the original password: {}", page.body);
    }
}

on_both_backends! {
    async fn another_workspaces_administrator_cannot_enrol_or_take_over_anyone_elses_account(app) {
        let t = two_workspaces(&app).await;
        let bob = &t.bob;

        // Import: a first-workspace person is only invited; their name is not shown, and a name in the
        // file is not applied to them.
        bob.get("/users/import").await;
        let preview = bob.upload("/users/import", "p.csv", csv(&[
            "alice@example.com,Renamed By Bob,admin,",
            "admin@example.com,Renamed Root,,",
            "both@example.com,Renamed Both,member,",
        ])).await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        let body = &preview.body;
        assert!(body.contains("<strong>1</strong> to invite · <strong>0</strong> to update"), "{body}");
        assert!(body.contains("<strong class=\"error\">2</strong> with errors"), "{body}");
        assert!(!body.contains("Alice Acme") && !body.contains("Ada Admin") && !body.contains("Acme"), "{body}");
        assert!(body.contains("their name can be changed only by a super-administrator"), "{body}");
        bob.get("/users/import").await;
        let applied = bob.post("/users/import/apply", &[
            ("token", hidden(body, "token")), ("creates", "0"), ("invites", "1"), ("updates", "0"),
        ]).await;
        assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
        let users = bob.get(applied.location()).await.body;
        assert!(users.contains("Imported: 0 people created, 1 invited, 0 updated."), "{users}");
        assert!(users.contains("Invitations pending") && users.contains("alice@example.com"), "{users}");
        let members = users.split("Invitations pending").next().unwrap_or_default();
        assert!(!members.contains("alice@example.com"), "invited, not a member: {users}");

        // Allowed domains list and enrol nobody of another workspace.
        bob.get("/settings").await;
        assert_eq!(bob.post("/settings/domains", &[("domains", "example.com")]).await.status, StatusCode::SEE_OTHER);
        let matching = bob.get("/settings/domains/matching").await.body;
        assert!(!matching.contains("alice@") && !matching.contains("admin@example.com"), "{matching}");
        bob.get("/settings/domains/matching").await;
        assert_eq!(bob.post("/settings/domains/matching", &[("expected", "1")]).await.status, StatusCode::CONFLICT);

        // Add user with an existing email invites too, and says nothing of the person.
        bob.get("/users").await;
        let added = bob.post("/users", &[("email", "alice@example.com"), ("name", "X"), ("role", "admin")]).await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        assert!(added.body.contains("they are invited and join when they accept"), "{}", added.body);
        assert!(!added.body.contains("Alice Acme"));

        // None of this made Alice a member: everything about her account is not found.
        for path in ["password-link", "disable", "unlock", "delete", "two-factor/reset"] {
            bob.get("/users").await;
            let page = bob.post(&format!("/users/{}/{path}", t.alice), &[]).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
        }

        // The Users list offers Bob no account actions on them.
        let list = bob.get("/users").await.body;
        for id in [t.both, t.root_id] {
            assert!(!list.contains(&format!("/users/{id}/disable")), "{list}");
        }
        assert_eq!(list.matches("Managed elsewhere").count(), 2, "{list}");

        // A member of both workspaces, and the super-administrator (an Administrator of Globex): Bob manages
        // their membership here, never their account.
        for (who, id) in [("both", t.both), ("super-administrator", t.root_id)] {
            let page = bob.get(&format!("/users/{id}")).await.body;
            assert!(!page.contains("Create password") && !page.contains("Delete user"), "{who}: {page}");
            assert!(page.contains("Remove from this workspace"), "{who}");
            for path in ["password-link", "disable", "unlock", "delete", "two-factor/reset"] {
                bob.get("/users").await;
                let refused = bob.post(&format!("/users/{id}/{path}"), &[]).await;
                assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who} {path}: {}", refused.body);
                assert!(refused.body.contains("only a super-administrator"), "{who} {path}: {}", refused.body);
            }
        }

        // The same through the management API, with Bob's ADMIN key.
        let (_, key) = create_key(bob, &[("name", "Bob automation"), ("role_name", "ADMIN")]).await;
        let api = reqwest::Client::new();
        let call = |method: reqwest::Method, path: String, body: serde_json::Value| {
            api.request(method, format!("{}{path}", app.base)).bearer_auth(&key).json(&body).send()
        };
        for id in [t.both, t.root_id] {
            let disable = call(reqwest::Method::PATCH, format!("/api/v1/accounts/{id}"), serde_json::json!({ "disabled": true })).await.expect("patch");
            assert_eq!(disable.status(), StatusCode::FORBIDDEN);
            let delete = call(reqwest::Method::DELETE, format!("/api/v1/accounts/{id}"), serde_json::json!({})).await.expect("delete");
            assert_eq!(delete.status(), StatusCode::FORBIDDEN);
        }
        let alice = call(reqwest::Method::PATCH, format!("/api/v1/accounts/{}", t.alice), serde_json::json!({ "disabled": true })).await.expect("patch");
        assert_eq!(alice.status(), StatusCode::NOT_FOUND);
        let invite = call(reqwest::Method::POST, "/api/v1/accounts".into(), serde_json::json!({
            "email": "alice@example.com", "name": "X", "role": "admin", "password": "whatever-long-enough",
        })).await.expect("create");
        assert_eq!(invite.status(), StatusCode::ACCEPTED);
        let text = invite.text().await.expect("body");
        assert!(text.contains("invitation_pending") && !text.contains("Alice Acme"), "{text}");

        everyone_signs_in_as_before(&app).await;
        let names = app.state.db.read(|c| keyward::db::accounts::find(c, t.both)).expect("query").expect("both");
        assert_eq!(names.display_name, "Test Person", "nobody renamed them");

        // Bob may remove the shared member from Globex: a membership, which is his.
        bob.get(&format!("/users/{}", t.both)).await;
        let removed = bob.post(&format!("/users/{}/remove", t.both), &[]).await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
        assert!(!bob.get("/users").await.body.contains("both@example.com"));
    }
}

on_both_backends! {
    async fn an_invited_person_joins_only_by_accepting_and_stays_out_of_reach(app) {
        let t = two_workspaces(&app).await;
        t.bob.get("/users").await;
        let invited = t.bob.post("/users", &[("email", "alice@example.com"), ("name", "X"), ("role", "auditor")]).await;
        assert!(invited.body.contains("they are invited"), "{}", invited.body);

        let alice = app.browser();
        alice.sign_in("alice@example.com", PASSWORD).await;
        let bell = alice.get("/notifications/bell").await.body;
        assert!(bell.contains("data-unread=\"1\""), "the invitation counts on the bell: {bell}");
        let page = alice.get("/notifications").await.body;
        assert!(page.contains("You are invited to join Globex as Auditor."), "{page}");
        let id: i64 = page.split("/invitations/").nth(1).and_then(|s| s.split('/').next()).and_then(|s| s.parse().ok()).expect("id");

        // Nobody answers someone else's invitation.
        t.root.get("/").await;
        assert_eq!(t.root.post(&format!("/invitations/{id}/accept"), &[]).await.status, StatusCode::NOT_FOUND);

        alice.get("/notifications").await;
        let accepted = alice.post(&format!("/invitations/{id}/accept"), &[]).await;
        assert_eq!(accepted.status, StatusCode::SEE_OTHER);
        assert_eq!(alice.get("/users").await.status, StatusCode::OK, "an Auditor in Globex now");
        let users = t.bob.get("/users").await.body;
        assert!(users.contains("alice@example.com") && !users.contains("Invitations pending"), "{users}");

        // A member of both now: her account is still beyond Bob's reach.
        t.bob.get("/users").await;
        assert_eq!(t.bob.post(&format!("/users/{}/password-link", t.alice), &[]).await.status, StatusCode::FORBIDDEN);
        everyone_signs_in_as_before(&app).await;

        // Declining and cancelling leave no membership behind.
        t.bob.get("/users").await;
        let added = t.bob.post("/users", &[("email", "admin@example.com"), ("name", "X"), ("role", "member")]).await;
        assert!(added.body.contains("already a member"), "the super-administrator administers Globex: {}", added.body);
        let root_page = t.root.get("/notifications").await.body;
        assert!(!root_page.contains("You are invited"));
    }
}
