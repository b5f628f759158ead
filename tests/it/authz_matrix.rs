//! The authorization matrix: every registered route (the router's own lists, `CONSOLE_ROUTES` and
//! `MACHINE_ROUTES`) × every kind of caller, with the exact status each gets. A route added to the router
//! without a row here fails the test, and so does a row for a route that no longer exists.
//!
//! Callers, in column order: anonymous; a Member who owns the key, notification and account the `{id}`s
//! name; another Member; an Auditor; the Administrator; a READONLY key, an ADMIN key and an expired ADMIN key
//! (all three the Administrator's); and an Administrator of a second workspace, for whom every `{id}` is another
//! customer's (404) and whose every page and API answer must hold none of the first workspace's names
//! (`FIRST_WORKSPACE`): not in a list, a count, a search, an export. In the console the people use their signed-in browsers (forms carry their
//! CSRF token, anonymous forms the sign-in page's) and the keys are sent as `Authorization: Bearer` with no
//! cookie; on the machine routes the people present a key of their own holding the ADMIN role, which acts
//! with no more than their console role. Forms and JSON bodies are empty, so an allowed change fails
//! validation (400/422) and changes nothing; routes that would delete their target get a fresh one per call.
//!
//! The matrix proves who may call a route; `isolation.rs` proves what a call may reach across workspaces: a
//! second workspace's Administrator, after trying import, domain matching and Add user, against a member of
//! both, the super-administrator and a first-workspace person, on every account-changing route, console and API.

use diesel::prelude::*;
use keyward::db::schema;
use keyward::domain::role::ConsoleRole;
use reqwest::{Method, StatusCode};

use crate::helpers::{Browser, PASSWORD, TestApp};
use crate::keys::create_key;
use crate::on_both_backends;

const CALLERS: [&str; 9] = [
    "anonymous",
    "member",
    "other member",
    "auditor",
    "admin",
    "READONLY key",
    "ADMIN key",
    "expired key",
    "admin of another workspace",
];

/// (method, path as registered, the status each caller gets, in `CALLERS` order: anonymous, member, other
/// member, auditor, admin, READONLY key, ADMIN key, expired key, and an Administrator of another workspace
/// with their own ADMIN key, for whom every id here is another customer's: 404).
///
/// Read across a row: who is not signed in is sent to sign in (303) and a form without a session's token is
/// refused (403) before anything else; then the console role (403), then the row (another Member's key: 403),
/// and only then the form (422). On the API a missing or dead key is 401 and a READONLY key's write 403
/// before anything else; a body that is not the documented JSON is 400 before the role is weighed.
const MATRIX: &[(&str, &str, &str)] = &[
    ("get", "/static/{path:.*}", "200 200 200 200 200 200 200 200 200"),
    ("get", "/favicon.ico", "301 301 301 301 301 301 301 301 301"),
    ("get", "/setup", "404 404 404 404 404 404 404 404 404"),
    ("post", "/setup", "404 404 404 404 404 403 403 403 404"),
    ("get", "/login", "200 303 303 303 303 200 200 200 303"),
    ("post", "/login", "401 401 401 401 401 403 403 403 401"),
    ("get", "/login/oidc", "404 404 404 404 404 404 404 404 404"),
    ("get", "/login/oidc/callback", "404 404 404 404 404 404 404 404 404"),
    ("get", "/login/two-factor", "303 303 303 303 303 303 303 303 303"),
    ("post", "/login/two-factor", "303 303 303 303 303 403 403 403 303"),
    ("get", "/signup", "404 404 404 404 404 404 404 404 404"),
    ("post", "/signup", "404 404 404 404 404 403 403 403 404"),
    ("get", "/login/forgot", "404 404 404 404 404 404 404 404 404"),
    ("post", "/login/forgot", "404 404 404 404 404 403 403 403 404"),
    ("get", "/verify-email", "410 410 410 410 410 410 410 410 410"),
    ("post", "/verify-email", "410 410 410 410 410 403 403 403 410"),
    ("get", "/password", "410 410 410 410 410 410 410 410 410"),
    ("post", "/password", "409 409 409 409 409 403 403 403 409"),
    ("get", "/logout", "303 200 200 200 200 303 303 303 200"),
    ("get", "/", "303 200 200 200 200 303 303 303 200"),
    ("get", "/profile", "303 200 200 200 200 303 303 303 200"),
    ("post", "/profile/password", "303 422 422 422 422 403 403 403 422"),
    ("post", "/profile/key", "303 201 201 403 201 403 403 403 201"),
    ("post", "/profile/email", "303 303 303 303 303 403 403 403 303"),
    ("post", "/profile/sessions/end-others", "303 303 303 303 303 403 403 403 303"),
    ("post", "/profile/sessions/{id}/end", "303 404 404 404 404 403 403 403 404"),
    ("get", "/profile/two-factor", "303 200 200 200 200 303 303 303 200"),
    ("post", "/profile/two-factor", "303 200 200 200 200 403 403 403 200"),
    ("post", "/profile/two-factor/confirm", "303 422 422 422 422 403 403 403 422"),
    ("post", "/profile/two-factor/disable", "303 422 422 422 422 403 403 403 422"),
    ("get", "/keys", "303 200 200 200 200 303 303 303 200"),
    ("post", "/keys", "303 422 422 403 422 403 403 403 422"),
    ("get", "/keys/new", "303 200 200 403 200 303 303 303 200"),
    ("get", "/keys/new/access", "303 200 200 403 200 303 303 303 200"),
    ("get", "/keys/new/reach", "303 200 200 403 200 303 303 303 200"),
    ("get", "/keys/report.csv", "303 200 200 200 200 303 303 303 200"),
    ("post", "/keys/bulk", "303 303 303 403 303 403 403 403 303"),
    ("post", "/keys/delete", "303 422 422 403 422 403 403 403 422"),
    ("post", "/keys/reassign", "303 403 403 403 422 403 403 403 422"),
    ("get", "/keys/{id}", "303 200 403 200 200 303 303 303 404"),
    ("post", "/keys/{id}/reveal", "303 422 403 403 422 403 403 403 404"),
    ("get", "/keys/{id}/edit", "303 200 403 403 200 303 303 303 404"),
    ("post", "/keys/{id}/edit", "303 422 403 403 422 403 403 403 404"),
    ("post", "/keys/{id}/status", "303 422 403 403 422 403 403 403 404"),
    ("get", "/keys/{id}/rotate", "303 200 403 403 200 303 303 303 404"),
    ("post", "/keys/{id}/rotate", "303 200 403 403 200 403 403 403 404"),
    ("post", "/keys/{id}/end-overlap", "303 303 403 403 303 403 403 403 404"),
    ("get", "/keys/{id}/reassign", "303 403 403 403 200 303 303 303 404"),
    ("get", "/keys/{id}/delete", "303 200 403 403 200 303 303 303 404"),
    ("get", "/permissions", "303 403 403 200 200 303 303 303 200"),
    ("post", "/permissions", "303 403 403 403 422 403 403 403 422"),
    ("post", "/permissions/starter", "303 403 403 403 404 403 403 403 404"),
    ("get", "/permissions/{id}", "303 403 403 403 200 303 303 303 404"),
    ("post", "/permissions/{id}", "303 403 403 403 422 403 403 403 422"),
    ("post", "/permissions/{id}/delete", "303 403 403 403 303 403 403 403 404"),
    ("get", "/roles", "303 403 403 200 200 303 303 303 200"),
    ("post", "/roles", "303 403 403 403 422 403 403 403 422"),
    ("get", "/roles/new", "303 403 403 403 200 303 303 303 200"),
    ("get", "/roles/preview", "303 403 403 200 200 303 303 303 200"),
    ("get", "/roles/{id}", "303 403 403 200 200 303 303 303 404"),
    ("post", "/roles/{id}", "303 403 403 403 422 403 403 403 422"),
    ("get", "/roles/{id}/delete", "303 403 403 403 200 303 303 303 404"),
    ("post", "/roles/{id}/delete", "303 403 403 403 303 403 403 403 404"),
    ("get", "/test-key", "303 200 200 200 200 303 303 303 200"),
    ("post", "/test-key", "303 422 422 422 422 403 403 403 422"),
    ("get", "/notifications", "303 200 200 200 200 303 303 303 200"),
    ("get", "/notifications/bell", "303 200 200 200 200 303 303 303 200"),
    ("post", "/notifications/read", "303 303 303 303 303 403 403 403 303"),
    ("post", "/notifications/{id}/read", "303 303 404 404 404 403 403 403 404"),
    ("post", "/invitations/{id}/{answer}", "303 303 404 404 404 403 403 403 404"),
    ("get", "/access", "303 403 403 200 200 303 303 303 200"),
    ("get", "/access.csv", "303 403 403 200 200 303 303 303 200"),
    ("get", "/audit", "303 403 403 200 200 303 303 303 200"),
    ("get", "/audit.csv", "303 403 403 200 200 303 303 303 200"),
    ("post", "/audit/verify", "303 403 403 200 200 403 403 403 200"),
    ("get", "/settings", "303 403 403 200 200 303 303 303 200"),
    ("get", "/settings/key-types", "303 403 403 200 200 303 303 303 200"),
    ("get", "/settings/policies", "303 403 403 200 200 303 303 303 200"),
    ("get", "/settings/domains", "303 403 403 200 200 303 303 303 200"),
    ("get", "/settings/webhooks", "303 403 403 200 200 303 303 303 200"),
    ("get", "/settings/email", "303 403 403 200 200 303 303 303 200"),
    ("post", "/settings/email/test", "303 403 403 403 409 403 403 403 403"),
    ("get", "/settings/shared-secret", "303 403 403 403 200 303 303 303 200"),
    ("get", "/settings/two-factor", "303 403 403 200 200 303 303 303 200"),
    ("post", "/settings/domains", "303 403 403 403 303 403 403 403 303"),
    ("post", "/settings/policies", "303 403 403 403 422 403 403 403 422"),
    ("post", "/settings/webhooks", "303 403 403 403 422 403 403 403 422"),
    ("post", "/settings/webhooks/{id}/{action}", "303 403 403 403 303 403 403 403 404"),
    ("get", "/settings/domains/matching", "303 403 403 403 200 303 303 303 200"),
    ("post", "/settings/domains/matching", "303 403 403 403 409 403 403 403 409"),
    ("post", "/settings/shared-secret/reveal", "303 403 403 403 422 403 403 403 422"),
    ("post", "/settings/shared-secret/regenerate", "303 403 403 403 422 403 403 403 422"),
    ("post", "/settings/shared-secret/end-overlap", "303 403 403 403 303 403 403 403 303"),
    ("post", "/settings/two-factor", "303 403 403 403 303 403 403 403 303"),
    ("post", "/settings/key-types", "303 403 403 403 422 403 403 403 422"),
    ("post", "/settings/key-types/{id}", "303 403 403 403 422 403 403 403 422"),
    ("post", "/settings/key-types/{id}/delete", "303 403 403 403 303 403 403 403 404"),
    ("post", "/settings/key-types/{id}/roles", "303 403 403 403 303 403 403 403 404"),
    ("get", "/users", "303 403 403 200 200 303 303 303 200"),
    ("post", "/users", "303 403 403 403 422 403 403 403 422"),
    ("get", "/users/import", "303 403 403 403 200 303 303 303 200"),
    ("post", "/users/import", "303 403 403 403 422 403 403 403 422"),
    ("post", "/users/import/apply", "303 403 403 403 409 403 403 403 409"),
    ("get", "/users/import/template.csv", "303 403 403 403 200 303 303 303 200"),
    ("get", "/users/grant-all", "303 403 403 403 200 303 303 303 200"),
    ("post", "/users/grant-all", "303 403 403 403 409 403 403 403 409"),
    ("get", "/users/{id}", "303 403 403 200 200 303 303 303 404"),
    ("post", "/users/{id}/grants", "303 403 403 403 200 403 403 403 404"),
    ("post", "/users/{id}/role", "303 403 403 403 422 403 403 403 422"),
    ("post", "/users/{id}/password-link", "303 403 403 403 200 403 403 403 404"),
    ("post", "/users/{id}/invite", "303 403 403 403 409 403 403 403 404"),
    ("post", "/users/{id}/two-factor/reset", "303 403 403 403 303 403 403 403 404"),
    ("get", "/users/{id}/delete", "303 403 403 403 200 303 303 303 404"),
    ("post", "/users/{id}/delete", "303 403 403 403 303 403 403 403 404"),
    ("post", "/users/{id}/remove", "303 403 403 403 409 403 403 403 404"),
    ("post", "/users/{id}/sessions/end", "303 403 403 403 303 403 403 403 404"),
    ("post", "/users/{id}/personal-key", "303 403 403 403 409 403 403 403 404"),
    ("post", "/users/invitations/{id}/cancel", "303 403 403 403 303 403 403 403 404"),
    ("post", "/users/{id}/{action}", "303 403 403 403 303 403 403 403 404"),
    ("post", "/workspace", "303 422 422 422 422 403 403 403 422"),
    ("get", "/workspaces", "303 403 403 403 200 303 303 303 403"),
    ("post", "/workspaces", "303 403 403 403 422 403 403 403 403"),
    ("get", "/workspaces/{id}", "303 403 403 403 200 303 303 303 403"),
    ("post", "/workspaces/{id}", "303 403 403 403 422 403 403 403 403"),
    ("post", "/workspaces/{id}/archive", "303 403 403 403 303 403 403 403 403"),
    ("post", "/workspaces/{id}/restore", "303 403 403 403 303 403 403 403 403"),
    ("post", "/workspaces/{id}/members", "303 403 403 403 422 403 403 403 403"),
    ("post", "/workspaces/{id}/members/{account}/role", "303 403 403 403 422 403 403 403 403"),
    ("post", "/workspaces/{id}/members/{account}/remove", "303 403 403 403 409 403 403 403 403"),
    ("get", "/healthz", "200 200 200 200 200 200 200 200 200"),
    ("get", "/readyz", "200 200 200 200 200 200 200 200 200"),
    ("get", "/metrics", "200 200 200 200 200 200 200 200 200"),
    ("post", "/api/v1/keys/verify", "400 400 400 400 400 400 400 400 400"),
    ("route", "/api/v1/authorize{tail:.*}", "401 403 403 403 403 403 403 401 403"),
    ("route", "/api/v1/workspaces/{workspace}/authorize{tail:.*}", "401 403 403 403 403 403 403 401 401"),
    ("get", "/api/v1/keys", "401 200 200 200 200 200 200 401 200"),
    ("post", "/api/v1/keys", "401 400 400 400 400 403 400 401 400"),
    ("get", "/api/v1/keys/{id}", "401 200 403 200 200 200 200 401 404"),
    ("delete", "/api/v1/keys/{id}", "401 204 403 403 204 403 204 401 404"),
    ("patch", "/api/v1/keys/{id}", "401 204 403 403 204 403 204 401 404"),
    ("post", "/api/v1/keys/{id}/rotate", "401 200 403 403 200 403 200 401 404"),
    ("post", "/api/v1/keys/{id}/reassign", "401 400 400 400 400 403 400 401 400"),
    ("get", "/api/v1/accounts", "401 403 403 200 200 200 200 401 200"),
    ("post", "/api/v1/accounts", "401 400 400 400 400 403 400 401 400"),
    ("get", "/api/v1/accounts/{id}", "401 403 403 200 200 200 200 401 404"),
    ("patch", "/api/v1/accounts/{id}", "401 403 403 403 204 403 204 401 404"),
    ("delete", "/api/v1/accounts/{id}", "401 403 403 403 204 403 204 401 404"),
    ("put", "/api/v1/accounts/{id}/grants", "401 403 403 403 204 403 204 401 404"),
    ("get", "/api/v1/roles", "401 403 403 200 200 200 200 401 200"),
    ("post", "/api/v1/roles", "401 403 403 403 422 403 422 401 422"),
    ("get", "/api/v1/roles/{id}", "401 403 403 200 200 200 200 401 404"),
    ("patch", "/api/v1/roles/{id}", "401 403 403 403 204 403 204 401 404"),
    ("delete", "/api/v1/roles/{id}", "401 403 403 403 200 403 200 401 404"),
    ("get", "/api/v1/permissions", "401 403 403 200 200 200 200 401 200"),
    ("post", "/api/v1/permissions", "401 403 403 403 422 403 422 401 422"),
    ("get", "/api/v1/permissions/{id}", "401 403 403 200 200 200 200 401 404"),
    ("patch", "/api/v1/permissions/{id}", "401 403 403 403 204 403 204 401 404"),
    ("delete", "/api/v1/permissions/{id}", "401 403 403 403 204 403 204 401 404"),
    ("get", "/api/v1/shared-secret", "401 403 403 403 200 403 200 401 200"),
    ("post", "/api/v1/shared-secret/reveal", "401 400 400 400 400 403 400 401 400"),
    ("post", "/api/v1/shared-secret/regenerate", "401 400 400 400 400 403 400 401 400"),
    ("get", "/api/v1/audit", "401 403 403 200 200 200 200 401 200"),
    ("get", "/api/v1/notifications", "401 200 200 200 200 200 200 401 200"),
    ("post", "/api/v1/notifications/read", "401 200 200 200 200 403 200 401 200"),
    ("post", "/api/v1/notifications/{id}/read", "401 200 404 404 404 403 404 401 404"),
    ("get", "/api/openapi.json", "200 200 200 200 200 200 200 200 200"),
    ("post", "/logout", "303 303 303 303 303 403 403 403 303"),
];

/// Names only the first workspace's data has: none may reach the other workspace's admin, on any page.
const FIRST_WORKSPACE: [&str; 10] = [
    "Acme",
    "member@example.com",
    "other@example.com",
    "auditor@example.com",
    "admin@example.com",
    "Lockers",
    "vault.open",
    "Member&#39;s own",
    "Reporting",
    "acme-hooks.example.net",
];

/// Routes that, allowed, delete or end what they name: each call gets a target made for it.
const FRESH_TARGET: &[(&str, &str)] = &[
    ("delete", "/api/v1/keys/{id}"),
    ("delete", "/api/v1/accounts/{id}"),
    ("delete", "/api/v1/roles/{id}"),
    ("delete", "/api/v1/permissions/{id}"),
    ("post", "/roles/{id}/delete"),
    ("post", "/permissions/{id}/delete"),
    ("post", "/settings/key-types/{id}/delete"),
    ("post", "/users/{id}/delete"),
    ("post", "/workspaces/{id}/archive"),
    ("post", "/invitations/{id}/{answer}"),
    ("post", "/users/invitations/{id}/cancel"),
    ("post", "/users/{id}/sessions/end"),
];

struct Fixture {
    anonymous: Browser,
    /// Member, other Member, Auditor, Administrator.
    people: Vec<Browser>,
    /// The ADMIN-role key of each person, in `people` order.
    people_keys: Vec<String>,
    readonly_key: String,
    admin_key: String,
    expired_key: String,
    /// An Administrator of a second workspace, signed in there, and their ADMIN key.
    outsider: Browser,
    outsider_key: String,
    member_id: i64,
    member_key: i64,
    role: i64,
    permission: i64,
    notification: i64,
    webhook: i64,
    key_type: i64,
    /// The first workspace.
    workspace: i64,
}

fn id_of_name(app: &TestApp, table: &'static str, name: &str) -> i64 {
    let name = name.to_owned();
    app.state
        .db
        .read(move |c| match table {
            "roles" => {
                schema::roles::table.filter(schema::roles::name.eq(&name)).select(schema::roles::id).get_result(c)
            }
            "permissions" => schema::permissions::table
                .filter(schema::permissions::name.eq(&name))
                .select(schema::permissions::id)
                .get_result(c),
            "key_types" => schema::key_types::table
                .filter(schema::key_types::name.eq(&name))
                .select(schema::key_types::id)
                .get_result(c),
            "webhooks" => schema::webhooks::table
                .filter(schema::webhooks::url.eq(&name))
                .select(schema::webhooks::id)
                .get_result(c),
            _ => unreachable!("{table}"),
        })
        .unwrap_or_else(|e| panic!("{table} {e}"))
}

/// An Administrator of a second workspace (with its own seeded key types and roles), signed in, and an
/// ADMIN key of theirs.
async fn outsider(app: &TestApp) -> (Browser, String) {
    let now = app.clock.now();
    let other = app
        .state
        .db
        .write(|c| keyward::db::workspaces::create(c, "Other customer", now).map_err(keyward::error::Error::from))
        .expect("a second workspace");
    let origin = keyward::services::accounts::Origin { actor: keyward::domain::audit::Actor::System("test"), ip: None };
    let form = keyward::services::accounts::NewUserForm {
        email: "outsider@example.com".into(),
        name: "Other Admin".into(),
        role: "admin".into(),
        password: keyward::crypto::SecretString::new(PASSWORD.into()),
        confirm: keyward::crypto::SecretString::new(PASSWORD.into()),
        permissions: Vec::new(),
        invite: false,
    };
    keyward::services::accounts::create_user(&app.state, origin, Some(other), form).await.expect("their admin");
    keyward::services::shared_secret::ensure_all(&app.state).expect("their shared secret");
    let outsider = app.browser();
    assert_eq!(outsider.sign_in("outsider@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let (_, key) = create_key(&outsider, &[("name", "Their automation"), ("role_name", "ADMIN")]).await;
    (outsider, key)
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.admin().await;
    let member = app.user(&admin, "member@example.com", "member").await;
    let other = app.user(&admin, "other@example.com", "member").await;
    let auditor = app.user(&admin, "auditor@example.com", "auditor").await;
    let member_id = app.account_id("member@example.com");

    let mut people_keys = Vec::new();
    for email in ["member@example.com", "other@example.com", "auditor@example.com", "admin@example.com"] {
        let owner = app.account_id(email).to_string();
        let (_, key) =
            create_key(&admin, &[("name", &format!("API of {email}")), ("owner", &owner), ("role_name", "ADMIN")])
                .await;
        people_keys.push(key);
    }
    let (_, readonly_key) = create_key(&admin, &[("name", "Reporting"), ("role_name", "READONLY")]).await;
    let (_, admin_key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
    let (expired_id, expired_key) = create_key(&admin, &[("name", "Old automation"), ("role_name", "ADMIN")]).await;
    let expired_id: i64 = expired_id.parse().expect("id");
    let past = app.clock.now() - 60;
    app.state
        .db
        .write(move |c| {
            diesel::update(schema::api_keys::table.find(expired_id))
                .set(schema::api_keys::expires_at.eq(Some(past)))
                .execute(c)?;
            Ok::<_, keyward::error::Error>(())
        })
        .expect("expire the key");
    let member_key = create_key(&member, &[("name", "Member's own")]).await.0.parse().expect("id");

    admin
        .post(
            "/permissions",
            &[("name", "vault.open"), ("label", "Lock"), ("writes", "1"), ("rules", "POST /d/*/lock")],
        )
        .await;
    let permission = id_of_name(app, "permissions", "vault.open");
    admin.post("/roles", &[("name", "Lockers"), ("permissions", &permission.to_string())]).await;
    let role = id_of_name(app, "roles", "Lockers");
    admin
        .post("/settings/webhooks", &[("url", "https://acme-hooks.example.net/matrix"), ("description", "matrix")])
        .await;
    let webhook = id_of_name(app, "webhooks", "https://acme-hooks.example.net/matrix");
    admin.post("/settings/key-types", &[("name", "Gateway"), ("prefix", "kwg")]).await;
    let key_type = id_of_name(app, "key_types", "Gateway");
    let workspace = app
        .state
        .db
        .read(|c| {
            schema::workspaces::table
                .select(schema::workspaces::id)
                .order(schema::workspaces::id)
                .limit(1)
                .get_result(c)
        })
        .expect("workspace");
    let notification = app
        .state
        .db
        .write_counters(move |c| {
            keyward::db::notifications::insert(
                c,
                &keyward::db::notifications::NewNotification {
                    workspace_id: workspace,
                    account_id: member_id,
                    kind: "test",
                    title: "For the matrix",
                    body: "",
                    link: None,
                },
                0,
            )
            .map_err(keyward::error::Error::from)?;
            schema::notifications::table
                .filter(schema::notifications::account_id.eq(member_id))
                .select(schema::notifications::id)
                .order(schema::notifications::id.desc())
                .limit(1)
                .get_result::<i64>(c)
                .map_err(keyward::error::Error::from)
        })
        .expect("notification");

    let (outsider, outsider_key) = outsider(app).await;
    // Each browser holds the CSRF token of its current session, as its pages' forms do.
    for person in [&member, &other, &auditor, &admin, &outsider] {
        person.get("/").await;
    }
    let anonymous = app.browser();
    anonymous.get("/login").await;
    Fixture {
        anonymous,
        people: vec![member, other, auditor, admin],
        people_keys,
        readonly_key,
        admin_key,
        expired_key,
        outsider,
        outsider_key,
        member_id,
        member_key,
        role,
        permission,
        notification,
        webhook,
        key_type,
        workspace,
    }
}

impl Fixture {
    fn admin(&self) -> &Browser {
        &self.people[3]
    }

    /// A new target for a route that deletes what it names.
    async fn fresh(&self, app: &TestApp, path: &str, n: usize) -> i64 {
        let admin = self.admin();
        let name = format!("Fresh {n}");
        if path.contains("/invitations/") {
            return self.fresh_invitation(app, path.starts_with("/users/"), n);
        }
        if path.contains("/keys/") {
            let owner = self.member_id.to_string();
            return create_key(admin, &[("name", &name), ("owner", &owner)]).await.0.parse().expect("id");
        }
        if path.contains("/roles/") {
            admin.post("/roles", &[("name", &name)]).await;
            return id_of_name(app, "roles", &name);
        }
        if path.contains("/permissions/") {
            let name = format!("fresh.p{n}");
            admin.post("/permissions", &[("name", &name), ("label", "Fresh"), ("rules", "GET /fresh")]).await;
            return id_of_name(app, "permissions", &name);
        }
        if path.contains("/workspaces/") {
            let created = admin.post("/workspaces", &[("name", &name)]).await;
            assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
            return created.location().trim_start_matches("/workspaces/").parse().expect("id");
        }
        if path.contains("/key-types/") {
            let prefix = format!("kf{}", char::from(b'a' + u8::try_from(n % 26).expect("small")));
            admin.post("/settings/key-types", &[("name", &name), ("prefix", &prefix)]).await;
            return id_of_name(app, "key_types", &name);
        }
        let email = format!("fresh{n}@example.com");
        let page = admin
            .post(
                "/users",
                &[
                    ("email", &email),
                    ("name", &name),
                    ("role", "member"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        app.account_id(&email)
    }

    /// An invitation to the member from a workspace made for it, or (`from_first`) one from the first
    /// workspace to a person of a workspace made for it.
    fn fresh_invitation(&self, app: &TestApp, from_first: bool, n: usize) -> i64 {
        let (member, first, now) = (self.member_id, self.workspace, app.clock.now());
        app.state
            .db
            .write(move |c| {
                let other = keyward::db::workspaces::create(c, &format!("Inviting {n}"), now)?;
                let (ws, account) = if from_first {
                    let email =
                        keyward::domain::email::Email::parse(&format!("invitee{n}@example.net")).expect("email");
                    let new = keyward::db::accounts::NewAccount {
                        email: &email,
                        display_name: "Invitee",
                        password_hash: None,
                        is_super_admin: false,
                        now,
                    };
                    let id = keyward::db::accounts::create(c, &new)?;
                    keyward::db::workspaces::add_member(c, other, id, ConsoleRole::Member, now)?;
                    (first, id)
                } else {
                    (other, member)
                };
                keyward::db::invitations::create(c, ws, account, ConsoleRole::Member, None, now)?;
                let found = keyward::db::invitations::find_for(c, ws, account)?.expect("the invitation");
                Ok::<_, keyward::error::Error>(found.id)
            })
            .expect("an invitation")
    }

    fn id_for(&self, path: &str) -> i64 {
        let prefixes: [(&str, i64); 9] = [
            ("/workspaces/", self.workspace),
            ("/keys/", self.member_key),
            ("/api/v1/accounts/", self.member_id),
            ("/users/", self.member_id),
            ("/roles/", self.role),
            ("/permissions/", self.permission),
            ("/notifications/", self.notification),
            ("/settings/webhooks/", self.webhook),
            ("/settings/key-types/", self.key_type),
        ];
        prefixes.iter().find(|(p, _)| path.contains(p)).map_or(0, |(_, id)| *id)
    }
}

/// The concrete path to call for a registered one.
fn concrete(path: &str, id: i64, f: &Fixture) -> String {
    path.replace("{id}", &id.to_string())
        .replace("{workspace}", &f.workspace.to_string())
        .replace("{account}", &f.member_id.to_string())
        .replace("{tail:.*}", "")
        .replace("{path:.*}", "app.css")
        .replace("{action}", if path.starts_with("/users/") { "unlock" } else { "test" })
        .replace("{answer}", "decline")
}

/// The status and body a caller gets.
async fn call(
    app: &TestApp,
    f: &Fixture,
    caller: usize,
    console: bool,
    method: &str,
    path: &str,
) -> (StatusCode, String) {
    let http = if method == "route" { Method::GET } else { method.to_uppercase().parse().expect("method") };
    let key = |i: usize| match i {
        1..=4 => f.people_keys[i - 1].as_str(),
        5 => f.readonly_key.as_str(),
        6 => f.admin_key.as_str(),
        7 => f.expired_key.as_str(),
        _ => f.outsider_key.as_str(),
    };
    if console && (caller <= 4 || caller == 8) {
        let browser = match caller {
            0 => &f.anonymous,
            8 => &f.outsider,
            _ => &f.people[caller - 1],
        };
        let page = match http {
            Method::GET => browser.get(path).await,
            Method::POST => browser.post(path, &[]).await,
            other => panic!("the console has no {other} routes"),
        };
        return (page.status, page.body);
    }
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let mut request = client.request(http.clone(), format!("{}{path}", app.base));
    if caller > 0 {
        request = request.header("authorization", format!("Bearer {}", key(caller)));
    }
    if !console && matches!(http, Method::POST | Method::PATCH | Method::PUT) {
        request = request.header("content-type", "application/json").body("{}");
    }
    let response = request.send().await.expect("call");
    (response.status(), response.text().await.unwrap_or_default())
}

on_both_backends! {
    async fn every_route_answers_every_kind_of_caller_exactly_as_the_matrix_says(app) {
        let f = fixture(&app).await;
        let mut routes: Vec<(bool, &str, &str)> = keyward::console::ROUTES.iter().map(|(m, p)| (true, *m, *p))
            .chain(keyward::api::ROUTES.iter().map(|(m, p)| (false, *m, *p)))
            .collect();
        // Signing out ends the sessions the other rows use: last.
        routes.sort_by_key(|(_, m, p)| (*m, *p) == ("post", "/logout"));

        let mut wrong = Vec::new();
        let mut fresh = 0;
        for (console, method, registered) in &routes {
            let mut got = Vec::new();
            for caller in 0..CALLERS.len() {
                let id = if FRESH_TARGET.contains(&(*method, *registered)) {
                    fresh += 1;
                    f.fresh(&app, registered, fresh).await
                } else {
                    f.id_for(registered)
                };
                let path = concrete(registered, id, &f);
                let (status, body) = call(&app, &f, caller, *console, method, &path).await;
                if caller == 8 {
                    for marker in FIRST_WORKSPACE {
                        if body.contains(marker) {
                            wrong.push(format!("    {method} {path}: another workspace's admin sees {marker:?}"));
                        }
                    }
                }
                got.push(status.as_u16().to_string());
            }
            let got = got.join(" ");
            let expected = MATRIX.iter().find(|(m, p, _)| m == method && p == registered).map(|(_, _, s)| *s);
            if expected != Some(got.as_str()) {
                wrong.push(format!("    ({method:?}, {registered:?}, {got:?}), // expected {expected:?}"));
            }
        }
        for (method, path, _) in MATRIX {
            if !routes.iter().any(|(_, m, p)| m == method && p == path) {
                wrong.push(format!("    {method} {path} is in the matrix but not in the router"));
            }
        }
        assert!(wrong.is_empty(), "callers: {CALLERS:?}; rows as they are now:\n{}", wrong.join("\n"));

        // A console session is not a management-API credential.
        let admin = Browser::new(&app.base);
        admin.sign_in("admin@example.com", PASSWORD).await;
        assert_eq!(admin.get("/api/v1/keys").await.status, StatusCode::UNAUTHORIZED);
    }
}
