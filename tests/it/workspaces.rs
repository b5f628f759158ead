//! Workspaces: super-administrators create, rename, archive and restore them and manage who belongs;
//! members of several switch between them; a deleted or removed person's keys go, workspace by
//! workspace, to the right Administrator; verification and forward-auth can be pinned to one workspace;
//! each workspace's policies govern its own keys only.

use diesel::prelude::*;
use keyward::db::schema;
use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp};
use crate::keys::create_key;
use crate::mail::email_on;
use crate::on_both_backends;

/// Creates a workspace through the console; returns its id.
pub async fn create_workspace(admin: &Browser, name: &str) -> i64 {
    admin.get("/workspaces").await;
    let created = admin.post("/workspaces", &[("name", name)]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    created.location().trim_start_matches("/workspaces/").parse().expect("a workspace id")
}

/// Moves the browser's session to another workspace with the layout's switcher.
pub async fn switch(b: &Browser, workspace: i64) {
    b.get("/").await;
    let page = b.post("/workspace", &[("workspace", &workspace.to_string())]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

fn first_workspace(app: &TestApp) -> i64 {
    app.state
        .db
        .read(|c| schema::workspaces::table.select(schema::workspaces::id).order(schema::workspaces::id).first(c))
        .expect("the first workspace")
}

fn owner_of(app: &TestApp, key_name: &str) -> i64 {
    let name = key_name.to_owned();
    app.state
        .db
        .read(move |c| {
            schema::api_keys::table.filter(schema::api_keys::name.eq(name)).select(schema::api_keys::owner_id).first(c)
        })
        .expect("the key")
}

async fn verify(app: &TestApp, key: &str, pin: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/verify", app.base))
        .json(&serde_json::json!({ "key": key }));
    if let Some(pin) = pin {
        request = request.header("X-Keyward-Workspace", pin);
    }
    let response = request.send().await.expect("verify");
    (response.status(), response.json().await.unwrap_or_default())
}

/// Forward-auth for `GET path`: (status, `X-Keyward-Code`).
async fn authorize(app: &TestApp, route: &str, key: &str, pin: Option<&str>) -> (StatusCode, String) {
    let mut request = reqwest::Client::new()
        .get(format!("{}{route}", app.base))
        .header("authorization", format!("Bearer {key}"))
        .header("X-Original-Method", "GET")
        .header("X-Original-URI", "/door/7");
    if let Some(pin) = pin {
        request = request.header("X-Keyward-Workspace", pin);
    }
    let response = request.send().await.expect("authorize");
    let code = response.headers().get("x-keyward-code").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (response.status(), code)
}

on_both_backends! {
    async fn super_administrators_create_rename_archive_and_restore_workspaces_and_manage_members(app) {
        let admin = app.admin().await;
        let tech = app.user(&admin, "tech@example.com", "member").await;
        let boss = app.user(&admin, "boss@example.com", "admin").await;
        let acme = first_workspace(&app);

        // Only super-administrators see and use workspace management; nobody sees a switcher with one workspace.
        assert_eq!(boss.get("/workspaces").await.status, StatusCode::FORBIDDEN);
        assert!(!boss.get("/").await.body.contains("href=\"/workspaces\""));
        let home = admin.get("/").await.body;
        assert!(home.contains("href=\"/workspaces\"") && !home.contains("workspace-switcher"), "{home}");

        // Names are checked, and unique whatever their case.
        admin.get("/workspaces").await;
        let blank = admin.post("/workspaces", &[("name", "   ")]).await;
        assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(blank.body.contains("Enter a name."), "{}", blank.body);
        let taken = admin.post("/workspaces", &[("name", "acme")]).await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(taken.body.contains("A workspace named acme already exists."), "{}", taken.body);

        // The creator administers the new workspace, and now has the switcher.
        let globex = create_workspace(&admin, "Globex").await;
        let page = admin.get(&format!("/workspaces/{globex}")).await;
        assert!(page.body.contains("admin@example.com") && page.body.contains("<h1>Globex</h1>"), "{}", page.body);
        assert!(admin.get("/").await.body.contains("workspace-switcher"));
        let renamed = admin.post(&format!("/workspaces/{globex}"), &[("name", "Globex Corp")]).await;
        assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.body);
        let clash = admin.post(&format!("/workspaces/{globex}"), &[("name", "ACME")]).await;
        assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(clash.body.contains("A workspace named ACME already exists."), "{}", clash.body);
        assert!(admin.get("/workspaces").await.body.contains("Globex Corp"));

        // Members are added by the email of an existing account, once.
        let members = format!("/workspaces/{globex}/members");
        let unknown = admin.post(&members, &[("email", "nobody@example.com"), ("role", "member")]).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(unknown.body.contains("No account has the email nobody@example.com."), "{}", unknown.body);
        assert_eq!(unknown.body.matches("value=\"nobody@example.com\"").count(), 1, "the form keeps what was typed");
        let added = admin.post(&members, &[("email", "tech@example.com"), ("role", "auditor")]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        let again = admin.post(&members, &[("email", "TECH@example.com"), ("role", "member")]).await;
        assert!(again.body.contains("tech@example.com is already a member of Globex Corp."), "{}", again.body);

        // The new member switches: an Auditor there, a Member at home.
        let home = tech.get("/").await.body;
        assert!(home.contains("workspace-switcher") && home.contains("Globex Corp"), "{home}");
        assert_eq!(tech.get("/users").await.status, StatusCode::FORBIDDEN);
        switch(&tech, globex).await;
        let users = tech.get("/users").await;
        assert_eq!(users.status, StatusCode::OK);
        assert!(users.body.contains("selected>Globex Corp</option>"), "the switcher shows where they are");
        assert!(!users.body.contains("boss@example.com"), "Acme's people are not Globex's");
        // Nobody switches into a workspace they do not belong to, nor to a made-up one.
        boss.get("/").await;
        assert_eq!(boss.post("/workspace", &[("workspace", &globex.to_string())]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(boss.post("/workspace", &[("workspace", "globex")]).await.status, StatusCode::NOT_FOUND);

        // Roles change; the last active Administrator cannot be demoted or removed.
        let tech_id = app.account_id("tech@example.com");
        let me = app.account_id("admin@example.com");
        admin.get(&format!("/workspaces/{globex}")).await;
        let to_member = admin.post(&format!("{members}/{tech_id}/role"), &[("role", "member")]).await;
        assert_eq!(to_member.status, StatusCode::SEE_OTHER);
        assert_eq!(tech.get("/users").await.status, StatusCode::FORBIDDEN, "a Member now, from the next request");
        let demote = admin.post(&format!("{members}/{me}/role"), &[("role", "member")]).await;
        assert_eq!(demote.status, StatusCode::CONFLICT);
        assert!(demote.body.contains("admin@example.com is the only active Administrator of Globex Corp"), "{}", demote.body);
        assert_eq!(admin.post(&format!("{members}/{me}/remove"), &[]).await.status, StatusCode::CONFLICT);
        // Nobody is removed from their last workspace: that is deleting the account.
        let boss_id = app.account_id("boss@example.com");
        let last = admin.post(&format!("/workspaces/{acme}/members/{boss_id}/remove"), &[]).await;
        assert_eq!(last.status, StatusCode::CONFLICT);
        assert!(last.body.contains("boss@example.com belongs to no other workspace; delete the account"), "{}", last.body);

        // Removing a member hands their keys there to an Administrator and ends their session there; Globex's
        // policy for a departed person's keys (revoke them) holds for a removal too.
        switch(&admin, globex).await;
        admin.get("/settings/policies").await;
        let policy = [("reminder_days", "7"), ("rotation_days", "90"), ("recent_use_days", "3"), ("stale_days", "30"), ("departed_keys", "deactivate")];
        assert_eq!(admin.post("/settings/policies", &policy).await.status, StatusCode::SEE_OTHER);
        let tech_owner = tech_id.to_string();
        let (_, gate_secret) = create_key(&admin, &[("name", "Tech's Globex gate"), ("owner", &tech_owner)]).await;
        admin.get(&format!("/workspaces/{globex}")).await;
        let removed = admin.post(&format!("{members}/{tech_id}/remove"), &[]).await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
        assert_eq!(owner_of(&app, "Tech's Globex gate"), me);
        assert_eq!(verify(&app, &gate_secret, None).await.1["code"], "INACTIVE", "revoked as Globex's policy says");
        assert!(app.notices("admin@example.com").contains(&"1 key of tech@example.com is now yours".to_owned()));
        assert_eq!(tech.get("/keys").await.status, StatusCode::SEE_OTHER, "signed out of the workspace they left");
        let back = tech.sign_in("tech@example.com", PASSWORD).await;
        assert_eq!(back.status, StatusCode::SEE_OTHER);
        assert!(!tech.get("/").await.body.contains("workspace-switcher"), "one workspace again: no switcher");

        // Archiving stops the workspace's keys and its sessions; the last active workspace stays.
        let (_, gate) = create_key(&admin, &[("name", "Globex door")]).await;
        assert_eq!(verify(&app, &gate, None).await.1["code"], "VALID");
        admin.get(&format!("/workspaces/{globex}")).await;
        let archived = admin.post(&format!("/workspaces/{globex}/archive"), &[]).await;
        assert_eq!(archived.status, StatusCode::SEE_OTHER, "{}", archived.body);
        assert_eq!(verify(&app, &gate, None).await.1["code"], "NOT_FOUND");
        assert_eq!(admin.get("/").await.status, StatusCode::SEE_OTHER, "the session in Globex ended");
        admin.sign_in("admin@example.com", PASSWORD).await;
        let home = admin.get("/").await.body;
        assert!(!home.contains("workspace-switcher"), "an archived workspace is not offered");
        assert!(admin.get("/workspaces").await.body.contains("Archived"));
        let only = admin.post(&format!("/workspaces/{acme}/archive"), &[]).await;
        assert_eq!(only.status, StatusCode::CONFLICT);
        assert!(only.body.contains("Acme is the only active workspace; it cannot be archived."), "{}", only.body);
        let restored = admin.post(&format!("/workspaces/{globex}/restore"), &[]).await;
        assert_eq!(restored.status, StatusCode::SEE_OTHER);
        assert_eq!(verify(&app, &gate, None).await.1["code"], "VALID");

        // Every change is in the workspace's own audit log.
        switch(&admin, globex).await;
        let audit = admin.get("/audit").await.body;
        for action in ["workspace.created", "workspace.renamed", "membership.added", "account.role_changed",
                       "membership.removed", "key.reassigned", "workspace.archived", "workspace.restored"] {
            assert!(audit.contains(action), "{action} is not in Globex's audit log");
        }
    }
}

on_both_backends! {
    async fn a_deleted_persons_keys_go_to_the_right_administrator_in_each_workspace(app) {
        let admin = app.admin().await;
        let deputy = app.user(&admin, "deputy@example.com", "admin").await;
        let leaver_browser = app.user(&admin, "leaver@example.com", "member").await;
        let leaver = app.account_id("leaver@example.com").to_string();
        // The leaver's personal key acts as its owner: it must not come to act as its next owner.
        leaver_browser.get("/profile").await;
        let personal = leaver_browser.post("/profile/key", &[("expiry", "never")]).await;
        assert_eq!(personal.status, StatusCode::CREATED, "{}", personal.body);
        let personal = crate::key_lifecycle::secret_in(&personal.body);
        assert_eq!(verify(&app, &personal, None).await.1["code"], "VALID");
        let globex = create_workspace(&admin, "Globex").await;
        let added = admin.post(&format!("/workspaces/{globex}/members"), &[("email", "leaver@example.com"), ("role", "member")]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER);

        // Globex gets a second Administrator after its creator, and each workspace a key of the leaver.
        switch(&admin, globex).await;
        app.user(&admin, "globex-admin@example.com", "admin").await;
        create_key(&admin, &[("name", "Leaver at Globex"), ("owner", &leaver)]).await;
        switch(&admin, first_workspace(&app)).await;
        create_key(&admin, &[("name", "Leaver at Acme"), ("owner", &leaver)]).await;

        // Acme's deputy administers Acme only, and the leaver also belongs to Globex: their account is not
        // the deputy's to delete, and nothing changes.
        let id = app.account_id("leaver@example.com");
        deputy.get(&format!("/users/{id}/delete")).await;
        let refused = deputy.post(&format!("/users/{id}/delete"), &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.body.contains("only a super-administrator"), "{}", refused.body);
        assert_eq!(owner_of(&app, "Leaver at Acme"), app.account_id("leaver@example.com"));

        // Once Globex is archived, Acme is the leaver's only active workspace: the deputy deletes them.
        admin.get("/workspaces").await;
        assert_eq!(admin.post(&format!("/workspaces/{globex}/archive"), &[]).await.status, StatusCode::SEE_OTHER);
        deputy.get(&format!("/users/{id}/delete")).await;
        let deleted = deputy.post(&format!("/users/{id}/delete"), &[]).await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
        admin.get("/workspaces").await;
        assert_eq!(admin.post(&format!("/workspaces/{globex}/restore"), &[]).await.status, StatusCode::SEE_OTHER);

        // Acme's key goes to the deputy who deleted; Globex's to its longest-serving Administrator.
        assert_eq!(owner_of(&app, "Leaver at Acme"), app.account_id("deputy@example.com"));
        assert_eq!(owner_of(&app, "Leaver at Globex"), app.account_id("admin@example.com"));
        assert_eq!(app.notices("deputy@example.com"), vec!["2 keys of leaver@example.com are now yours".to_owned()]);
        assert_eq!(app.notices("admin@example.com"), vec!["1 key of leaver@example.com is now yours".to_owned()]);
        assert_eq!(verify(&app, &personal, None).await.1["code"], "INACTIVE", "the personal key was deactivated");
        assert!(app.notices("globex-admin@example.com").is_empty());
        // Each notice is in its own workspace: the deputy reads it in Acme, the super-administrator in Globex.
        let deputy_notices = deputy.get("/notifications").await.body;
        assert!(deputy_notices.contains("their keys were reassigned to you: Leaver at Acme, Personal key of leaver@example.com (deactivated: it acted as its owner)."), "{deputy_notices}");
        switch(&admin, globex).await;
        let notices = admin.get("/notifications").await.body;
        assert!(notices.contains("leaver@example.com was deleted; their keys were reassigned to you: Leaver at Globex."), "{notices}");
    }
}

on_both_backends! {
    async fn pinned_verification_and_forward_auth_refuse_another_workspaces_keys(app) {
        let admin = app.admin().await;
        let acme = first_workspace(&app).to_string();
        let globex = create_workspace(&admin, "Globex").await;
        let me = app.account_id("admin@example.com");
        // Look-alike catalogues and keys in both workspaces.
        let mut keys = Vec::new();
        for (workspace, name) in [(globex, "Globex door"), (first_workspace(&app), "Acme door")] {
            switch(&admin, workspace).await;
            admin.get("/permissions").await;
            admin.post("/permissions", &[("name", "door.open"), ("label", "Open doors"), ("rules", "GET /door/*")]).await;
            let page = admin.get("/permissions").await.body;
            let permission = page.split("id=\"permission-").nth(1).and_then(|s| s.split('"').next()).expect("permission").to_owned();
            let granted = admin.post(&format!("/users/{me}/grants"), &[("permissions", &permission)]).await;
            assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
            let key = create_key(&admin, &[("name", name), ("permissions", &permission)]).await.1;
            assert_eq!(verify(&app, &key, None).await.1["permissions"], serde_json::json!(["door.open"]));
            keys.push(key);
        }
        let (globex_key, acme_key) = (&keys[0], &keys[1]);

        // Settings tells each workspace's Administrators how to pin to it.
        let settings = admin.get("/settings").await.body;
        assert!(settings.contains(&format!("/api/v1/workspaces/{acme}/authorize")), "{settings}");

        // Unpinned, each key answers for itself.
        assert_eq!(authorize(&app, "/api/v1/authorize", globex_key, None).await.0, StatusCode::OK);
        // Pinned by the path or the header, only the workspace's own keys pass; another's is unknown.
        let pinned = format!("/api/v1/workspaces/{acme}/authorize");
        assert_eq!(authorize(&app, &pinned, acme_key, None).await.0, StatusCode::OK);
        assert_eq!(authorize(&app, &pinned, globex_key, None).await, (StatusCode::UNAUTHORIZED, "NOT_FOUND".to_owned()));
        assert_eq!(authorize(&app, "/api/v1/authorize", acme_key, Some(&acme)).await.0, StatusCode::OK);
        assert_eq!(
            authorize(&app, "/api/v1/authorize", globex_key, Some(&acme)).await,
            (StatusCode::UNAUTHORIZED, "NOT_FOUND".to_owned())
        );
        assert_eq!(authorize(&app, "/api/v1/authorize", acme_key, Some("acme")).await.0, StatusCode::BAD_REQUEST);

        // Verification pinned to Acme says nothing of Globex's key.
        let (status, body) = verify(&app, globex_key, Some(&acme)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["code"], "NOT_FOUND");
        assert!(body["name"].is_null() && body["owner"].is_null(), "{body}");
        assert_eq!(verify(&app, acme_key, Some(&acme)).await.1["code"], "VALID");
        assert_eq!(verify(&app, globex_key, None).await.1["name"], "Globex door");
        assert_eq!(verify(&app, globex_key, Some("1e3")).await.0, StatusCode::BAD_REQUEST);
        // Pinned to a workspace that does not exist, nothing is answered unsigned: the pin is refused.
        let (status, body) = verify(&app, globex_key, Some("987654")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_workspace")), "{body}");

        // The console's key test is pinned to the console's workspace: Globex's key is unknown in Acme.
        admin.get("/test-key").await;
        let tested = admin.post("/test-key", &[("key", globex_key.as_str()), ("permission", "door.open")]).await;
        assert!(tested.body.contains("NOT_FOUND"), "{}", tested.body);
        assert!(!tested.body.contains("Globex door"), "{}", tested.body);
    }
}

on_both_backends! {
    async fn each_workspaces_policies_govern_its_own_keys_only(app) {
        let admin = app.admin().await;
        let globex = create_workspace(&admin, "Globex").await;
        admin.get("/settings").await;
        let saved = admin
            .post(
                "/settings/policies",
                &[("reminder_days", "3"), ("rotation_days", "90"), ("recent_use_days", "3"), ("stale_days", "30"),
                  ("max_lifetime_days", "30")],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let (types, _) = crate::keys::form_ids(&admin).await;
        let integration = &types.iter().find(|(name, _)| name.starts_with("Integration")).expect("the Integration type").1;
        let refused =
            admin.post("/keys", &[("name", "Too long for Acme"), ("key_type", integration), ("expiry", "90")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("Keys must expire within 30 days."), "{}", refused.body);
        switch(&admin, globex).await;
        let settings = admin.get("/settings/policies").await.body;
        assert!(settings.contains("id=\"max-lifetime\"") && !settings.contains("value=\"30\" placeholder=\"no maximum\""), "Globex has no maximum: {settings}");
        create_key(&admin, &[("name", "Fine at Globex"), ("expiry", "90")]).await;
    }
}

on_both_backends! {
    with email_on;
    async fn an_archived_workspace_takes_no_sign_ups(app) {
        let admin = app.admin().await;
        let globex = create_workspace(&admin, "Globex").await;
        switch(&admin, globex).await;
        admin.get("/settings").await;
        let saved = admin.post("/settings/domains", &[("domains", "globex.example"), ("self_signup", "1")]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        assert!(app.browser().get("/login").await.body.contains("/signup"), "Globex takes sign-ups");

        admin.get(&format!("/workspaces/{globex}")).await;
        assert_eq!(admin.post(&format!("/workspaces/{globex}/archive"), &[]).await.status, StatusCode::SEE_OTHER);
        assert!(!app.browser().get("/login").await.body.contains("/signup"), "not once archived");
        let visitor = app.browser();
        assert_eq!(visitor.get("/signup").await.status, StatusCode::NOT_FOUND);
        visitor.get("/login").await;
        let refused = visitor
            .post("/signup", &[("email", "hank@globex.example"), ("name", "Hank"), ("password", PASSWORD), ("confirm", PASSWORD)])
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    }
}
