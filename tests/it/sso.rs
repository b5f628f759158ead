//! Single sign-on against a real, certified OpenID provider (npm `oidc-provider`, run on loopback from
//! `tests/oidc`): the happy path with group → role mapping, an existing account matched by verified email
//! (whose password then stops working), and each tampering refused — a changed `state`, a changed
//! `nonce`, an expired code — as is an email whose domain no workspace allows. In CI it must run;
//! elsewhere it is skipped, with the reason, when Node or the provider's packages are missing.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keyward::config::{GroupRoles, OidcConfig};
use reqwest::StatusCode;
use reqwest::redirect::Policy;

use crate::helpers::{Backend, PASSWORD, TestApp, csrf_in};

const PROVIDER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc");

/// The provider process (stopped on drop).
pub struct Provider {
    child: Child,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn provider_available() -> bool {
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let installed = std::path::Path::new(PROVIDER_DIR).join("node_modules/oidc-provider").exists();
    if node && installed {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "the single sign-on tests must run in CI: node {node}, npm ci --prefix tests/oidc done {installed}"
    );
    eprintln!("skipped: needs node and `npm ci --prefix tests/oidc` (node {node}, provider installed {installed})");
    false
}

impl Provider {
    pub async fn start(port: u16, redirect: &str) -> Provider {
        let child = Command::new("node")
            .arg(format!("{PROVIDER_DIR}/provider.mjs"))
            .arg(port.to_string())
            .arg(redirect)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let provider = Provider { child };
        let discovery = format!("http://127.0.0.1:{port}/.well-known/openid-configuration");
        for _ in 0..100 {
            if reqwest::get(&discovery).await.is_ok_and(|r| r.status().is_success()) {
                return provider;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the OpenID provider did not start");
    }
}

/// keyward's single sign-on settings for the test provider on `port` (see `tests/oidc/provider.mjs`).
pub fn oidc(port: u16, passwords_off: bool) -> OidcConfig {
    OidcConfig {
        issuer: format!("http://127.0.0.1:{port}"),
        client_id: "keyward".into(),
        client_secret: Some("keyward-test-secret".into()),
        label: "Test IdP".into(),
        group_roles: GroupRoles::parse("keyward-admins=admin").expect("roles"),
        passwords_off,
    }
}

/// A browser for the whole round trip: cookies for keyward and the provider, redirects by hand.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client")
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Follows the provider's pages from `url` as a person would (signing in as `login`, consenting) and
/// returns the URL it sends the browser back to keyward with.
async fn through_provider(client: &reqwest::Client, mut url: String, app: &TestApp, login: &str) -> String {
    for _ in 0..12 {
        if url.starts_with(&app.base) {
            return url;
        }
        let response = client.get(&url).send().await.expect("provider");
        if response.status().is_redirection() {
            url = resolve(&url, &location(&response));
            continue;
        }
        let page = response.text().await.unwrap_or_default();
        if page.contains("/session/end/confirm") {
            // Another account than the provider's session: it ends that session first (a self-submitting form).
            let value = |name: &str| {
                let marker = format!("name=\"{name}\" value=\"");
                page.split(&marker).nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_owned()
            };
            let action = page.split("action=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default();
            let ended = client.post(action).form(&[("xsrf", value("xsrf")), ("logout", value("logout"))]).send().await;
            url = resolve(action, &location(&ended.expect("end the provider's session")));
            continue;
        }
        let fields: Vec<(&str, &str)> = if page.contains("name=\"prompt\" value=\"login\"") {
            vec![("prompt", "login"), ("login", login), ("password", "anything")]
        } else if page.contains("name=\"prompt\" value=\"consent\"") {
            vec![("prompt", "consent")]
        } else {
            panic!("an unexpected provider page at {url}:\n{page}");
        };
        let answer = client.post(&url).form(&fields).send().await.expect("interaction");
        url = resolve(&url, &location(&answer));
    }
    panic!("the provider never sent the browser back");
}

/// A `Location` as the browser reads it: relative ones against the page that sent it.
fn resolve(from: &str, to: &str) -> String {
    url::Url::parse(from).and_then(|base| base.join(to)).map_or_else(|_| to.to_owned(), |u| u.to_string())
}

/// Starts a sign-in at keyward; returns the provider URL keyward redirects to.
async fn start(client: &reqwest::Client, app: &TestApp) -> String {
    let response = client.get(format!("{}/login/oidc", app.base)).send().await.expect("start");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response)
}

/// The whole sign-in as `login`: the callback's answer (status, body, location).
async fn sign_in(client: &reqwest::Client, app: &TestApp, login: &str) -> (StatusCode, String, String) {
    let to_provider = start(client, app).await;
    let back = through_provider(client, to_provider, app, login).await;
    callback(client, &back).await
}

async fn callback(client: &reqwest::Client, url: &str) -> (StatusCode, String, String) {
    let response = client.get(url).send().await.expect("callback");
    let (status, to) = (response.status(), location(&response));
    (status, response.text().await.unwrap_or_default(), to)
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("url");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name { value.to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

/// A server whose single sign-on is the test provider (started, on a free port), or `None` when the provider
/// or the database is not available here (never in CI).
async fn with_provider(backend: Backend, passwords_off: bool) -> Option<(TestApp, Provider)> {
    if !provider_available() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let app = TestApp::spawn_with_if_available(backend, |config| {
        config.oidc = Some(oidc(port, passwords_off));
        crate::mail::email_on(config);
    })
    .await?;
    let provider = Provider::start(port, &format!("{}/login/oidc/callback", app.base)).await;
    Some((app, provider))
}

async fn single_sign_on(backend: Backend) {
    let Some((app, _provider)) = with_provider(backend, true).await else { return };
    let admin = app.admin().await;
    admin.get("/settings").await;
    admin.post("/settings/domains", &[("domains", "corp.example")]).await;
    assert!(app.browser().get("/login").await.body.contains("Sign in with Test IdP"));

    // A newcomer of an allowed domain is created; the provider's groups give the console role.
    let jane = browser();
    let (status, body, to) = sign_in(&jane, &app, "admin-jane@corp.example").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(to, "/");
    assert_eq!(jane.get(format!("{}/users", app.base)).send().await.expect("users").status(), StatusCode::OK);
    let sam = browser();
    assert_eq!(sign_in(&sam, &app, "sam@corp.example").await.0, StatusCode::SEE_OTHER);
    assert_eq!(sam.get(format!("{}/users", app.base)).send().await.expect("users").status(), StatusCode::FORBIDDEN);
    assert_eq!(sam.get(format!("{}/keys", app.base)).send().await.expect("keys").status(), StatusCode::OK);

    // An existing account is matched by its verified email and linked; its password then stops working.
    let ada = browser();
    assert_eq!(sign_in(&ada, &app, "admin@example.com").await.0, StatusCode::SEE_OTHER);
    let page = ada.get(format!("{}/", app.base)).send().await.expect("home").text().await.unwrap_or_default();
    assert!(page.contains("Ada Admin"), "signed in as the existing account");
    let by_password = app.browser().sign_in("admin@example.com", PASSWORD).await;
    assert_eq!(by_password.status, StatusCode::UNAUTHORIZED);
    assert!(by_password.body.contains("This account signs in with single sign-on."), "{}", by_password.body);

    // Someone signed up first with another person's email: they cannot sign in before following the emailed
    // link, and when the owner signs in with single sign-on, the squatter's password is dropped.
    admin.get("/settings").await;
    admin.post("/settings/domains", &[("domains", "corp.example"), ("self_signup", "1")]).await;
    let squatter = app.browser();
    squatter.get("/signup").await;
    let signed_up = squatter
        .post(
            "/signup",
            &[("email", "vic@corp.example"), ("name", "Not Vic"), ("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(signed_up.status, StatusCode::SEE_OTHER, "{}", signed_up.body);
    let unconfirmed = squatter.sign_in("vic@corp.example", PASSWORD).await;
    assert!(unconfirmed.body.contains("Confirm your email first"), "{}", unconfirmed.body);
    assert_eq!(squatter.get("/").await.status, StatusCode::SEE_OTHER);
    let vic = browser();
    assert_eq!(sign_in(&vic, &app, "vic@corp.example").await.0, StatusCode::SEE_OTHER);
    let again = app.browser().sign_in("vic@corp.example", PASSWORD).await;
    assert!(again.body.contains("Wrong email or password."), "the squatter's password is gone: {}", again.body);
    assert_eq!(vic.get(format!("{}/", app.base)).send().await.expect("home").status(), StatusCode::OK);

    // Someone whose domain no workspace allows is refused.
    let (status, body, _) = sign_in(&browser(), &app, "eve@evil.example").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("its domain is not allowed"), "{body}");

    // A tampered state is refused, and the session's sign-in is used up.
    let mallory = browser();
    let back = through_provider(&mallory, start(&mallory, &app).await, &app, "sam@corp.example").await;
    let (status, body, _) = callback(&mallory, &with_param(&back, "state", "forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("state mismatch"), "{body}");
    let (status, body, _) = callback(&mallory, &back).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a callback is answered once");
    assert!(body.contains("start again"), "{body}");

    // A nonce changed on the way to the provider comes back in the ID token and is refused.
    let trudy = browser();
    let to_provider = with_param(&start(&trudy, &app).await, "nonce", "not-the-one-keyward-made");
    let back = through_provider(&trudy, to_provider, &app, "sam@corp.example").await;
    let (status, body, _) = callback(&trudy, &back).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("identity token did not check out"), "{body}");

    // An authorization code used after it expired (the test provider gives them 5 seconds) is refused.
    let late = browser();
    let back = through_provider(&late, start(&late, &app).await, &app, "sam@corp.example").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (status, body, _) = callback(&late, &back).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("the code was not accepted"), "{body}");

    // Every refusal is in the audit log (outside any workspace: nobody was known).
    let refusals: i64 = app
        .state
        .db
        .read(|c| {
            use diesel::prelude::*;
            use keyward::db::schema::audit_events;
            audit_events::table.filter(audit_events::action.eq("account.sso_failed")).count().get_result(c)
        })
        .expect("count");
    assert_eq!(refusals, 5, "domain, state, used-up, nonce, expired");
    drop(admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_maps_groups_links_accounts_and_refuses_tampering_sqlite() {
    single_sign_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_maps_groups_links_accounts_and_refuses_tampering_postgres() {
    single_sign_on(Backend::Postgres).await;
}

/// Someone who signs in with single sign-on only has no password to re-enter: revealing a key sends them
/// through the provider again (`prompt=login`, `max_age=0`), and only a fresh sign-in there as the same
/// person (`sub`, `auth_time`) lets the key be shown.
async fn reveals_are_confirmed_at_the_provider(backend: Backend) {
    let Some((app, _provider)) = with_provider(backend, false).await else { return };
    let admin = app.admin().await;
    admin.get("/settings").await;
    admin.post("/settings/domains", &[("domains", "corp.example")]).await;
    let jane = browser();
    assert_eq!(sign_in(&jane, &app, "admin-jane@corp.example").await.0, StatusCode::SEE_OTHER);
    let jane_id = app
        .state
        .db
        .read(|c| {
            keyward::db::accounts::find_by_email(
                c,
                &keyward::domain::email::Email::parse("admin-jane@corp.example").expect("email"),
            )
        })
        .expect("read")
        .expect("jane")
        .id;
    let (key, secret) =
        crate::keys::create_key(&admin, &[("name", "Jane's gate"), ("owner", &jane_id.to_string())]).await;
    let page_url = format!("{}/keys/{key}", app.base);
    let get = |url: String| {
        let jane = jane.clone();
        async move { jane.get(url).send().await.expect("get").text().await.unwrap_or_default() }
    };

    // No password field: a link through the provider instead; a reveal without it is refused.
    let page = get(page_url.clone()).await;
    let confirm = format!("/login/oidc?again=1&#38;next=%2Fkeys%2F{key}%23reveal");
    assert!(page.contains("Confirm with Test IdP") && page.contains(&confirm), "{page}");
    assert!(!page.contains("id=\"reveal-password\""));
    let reveal = |csrf: String| {
        let jane = jane.clone();
        let url = format!("{page_url}/reveal");
        async move { jane.post(url).form(&[("csrf_token", csrf)]).send().await.expect("reveal") }
    };
    let refused = reveal(csrf_in(&page).unwrap_or_default()).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!refused.text().await.unwrap_or_default().contains(&secret));

    // Someone else signing in at the provider does not confirm it is Jane.
    let again = format!("{}/login/oidc?again=1&next=/keys/{key}", app.base);
    let to_provider = location(&jane.get(&again).send().await.expect("start"));
    assert!(to_provider.contains("prompt=login") && to_provider.contains("max_age=0"), "{to_provider}");
    let back = through_provider(&jane, to_provider, &app, "sam@corp.example").await;
    let (status, body, _) = callback(&jane, &back).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("the provider signed in someone else"), "{body}");
    assert_eq!(
        reveal(csrf_in(&get(page_url.clone()).await).unwrap_or_default()).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Jane herself, asked again by the provider: the key is shown, and the view is audited.
    let to_provider = location(&jane.get(&again).send().await.expect("start"));
    let back = through_provider(&jane, to_provider, &app, "admin-jane@corp.example").await;
    let (status, body, to) = callback(&jane, &back).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(to, format!("/keys/{key}"));
    let page = get(page_url.clone()).await;
    assert!(page.contains("You confirmed it is you with Test IdP"), "{page}");
    let shown = reveal(csrf_in(&page).unwrap_or_default()).await;
    assert_eq!(shown.status(), StatusCode::OK);
    assert!(shown.text().await.unwrap_or_default().contains(&secret), "the key is shown");
    let audit = admin.get("/audit").await.body;
    for action in ["account.reauthenticated", "account.reauthentication_refused", "key.revealed"] {
        assert!(audit.contains(action), "{action}");
    }

    // The shared secret page offers the same for her.
    let settings = get(format!("{}/settings/shared-secret", app.base)).await;
    assert!(settings.contains("You confirmed it is you with Test IdP"), "{settings}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reveals_are_confirmed_at_the_provider_for_single_sign_on_accounts_sqlite() {
    reveals_are_confirmed_at_the_provider(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reveals_are_confirmed_at_the_provider_for_single_sign_on_accounts_postgres() {
    reveals_are_confirmed_at_the_provider(Backend::Postgres).await;
}
