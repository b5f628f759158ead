//! Flows driven in a real headless Chromium through ChromeDriver (Debian's `chromium` and
//! `chromium-driver`). In CI they must run; elsewhere they are skipped, with the reason printed, when
//! either program is missing. Every page visited must leave no error and no CSP violation in the console.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session and the ChromeDriver serving it (stopped on drop).
pub struct Chrome {
    pub client: Client,
    driver: Child,
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// ChromeDriver's log endpoint: what the page wrote to its console.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": "browser" }).to_string()))
    }
}

/// ChromeDriver's door to the DevTools protocol (viewport and colour-scheme emulation).
#[derive(Debug)]
pub struct Cdp {
    pub cmd: String,
    pub params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()))
    }
}

impl Chrome {
    /// Starts ChromeDriver and a headless Chromium, or says why not (and fails in CI).
    pub async fn start() -> Option<Chrome> {
        let missing: Vec<&str> =
            [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !std::path::Path::new(p).exists()).collect();
        if !missing.is_empty() {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "browser tests must run in CI, but {missing:?} is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipped: {missing:?} not installed (apt-get install chromium chromium-driver)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reqwest::get(format!("{url}/status")).await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,1000"],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("an object") };
        // ChromeDriver is local and plain HTTP. A TLS connector would initialise OpenSSL in this process, whose
        // clean-up at exit raced the still-running server threads (a SIGSEGV after all tests had passed).
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client =
            ClientBuilder::new(connector).capabilities(capabilities).connect(&url).await.expect("a Chromium session");
        Some(Chrome { client, driver })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
        self.console_is_clean(url).await;
    }

    /// Fails on any console error or CSP violation since the last call. A 4xx answer the test provoked (a
    /// wrong password, a refused form) is logged by Chromium as a failed load; those are expected, a 5xx is not.
    pub async fn console_is_clean(&self, context: &str) {
        let log = self.client.issue_cmd(BrowserLog).await.expect("browser log");
        let problems: Vec<&Value> = log
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| {
                        let message = e["message"].as_str().unwrap_or("");
                        let refused_on_purpose = e["source"] == "network" && message.contains("status of 4");
                        (e["level"] == "SEVERE" && !refused_on_purpose) || message.contains("Content Security Policy")
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(problems.is_empty(), "console problems on {context}: {problems:?}");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.client.wait().for_element(Locator::Css(css)).await.expect(css);
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.client.wait().for_element(Locator::Css(css)).await.expect(css).click().await.expect("click");
    }

    /// The visible text of every element matching `css`, in page order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.expect(css) {
            texts.push(element.text().await.expect("text").trim().to_owned());
        }
        texts
    }

    /// Chooses the option with this visible text.
    pub async fn select(&self, css: &str, label: &str) {
        let select = self.client.wait().for_element(Locator::Css(css)).await.expect(css);
        select.select_by_label(label).await.expect(label);
    }

    /// Applies a starter catalogue from the Permissions page, as an administrator would.
    pub async fn apply_starter(&self, base: &str, code: &str) {
        self.goto(&format!("{base}/permissions")).await;
        self.wait_for_text("Start from a catalogue").await;
        self.click(&format!("#starter-{code} button[type=submit]")).await;
    }

    /// The secret a page shows once (`input[data-secret]`), when it appears.
    pub async fn shown_secret(&self) -> String {
        self.wait_for_text("data-secret").await;
        let input = self.client.wait().for_element(Locator::Css("input[data-secret]")).await.expect("the secret");
        input.prop("value").await.expect("value").expect("a value")
    }

    /// Waits until the page's HTML contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) -> String {
        for _ in 0..100 {
            let source = self.client.source().await.expect("source");
            if source.contains(needle) {
                return source;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed {needle:?}:\n{}", self.client.source().await.unwrap_or_default());
    }

    /// Waits until the page's HTML no longer contains `needle`.
    pub async fn wait_until_gone(&self, needle: &str) {
        for _ in 0..100 {
            if !self.client.source().await.expect("source").contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page kept showing {needle:?}");
    }

    /// Signs in through the sign-in page, with the tests' password.
    pub async fn sign_in(&self, base: &str, email: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.click("main button[type=submit]").await;
        self.wait_for_text("<h1>Dashboard</h1>").await;
    }

    /// Saves a PNG of the page under `target/screenshots/`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot");
    }
}

#[tokio::test]
async fn first_run_a_key_its_test_and_the_audit_trail_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.setup_token.clone().expect("setup token");

    chrome.goto(&format!("{}/setup?token={token}", app.base)).await;
    chrome.fill("#workspace", "Acme").await;
    chrome.fill("#name", "Ada Admin").await;
    chrome.fill("#email", "admin@example.com").await;
    chrome.fill("#password", PASSWORD).await;
    chrome.fill("#confirm", PASSWORD).await;
    chrome.click("main button[type=submit]").await;
    chrome.wait_for_text("<h1>Dashboard</h1>").await;
    chrome.console_is_clean("the dashboard").await;

    // Add a key: it is shown once, in full.
    chrome.goto(&format!("{}/keys/new", app.base)).await;
    chrome.fill("#name", "Browser key").await;
    chrome.select("#key_type", "Integration").await;
    // The catalogue is empty, so the key could use nothing: the form says so and asks before creating it.
    assert!(chrome.wait_for_text("This key could use nothing").await.contains("Choose a role or permissions."));
    chrome.click("main form button[type=submit]").await;
    chrome.wait_for_text("Tick \u{201c}Create it anyway\u{201d}").await;
    chrome.fill("#name", "Browser key").await;
    chrome.click("input[name=nothing_ok]").await;
    chrome.click("main form button[type=submit]").await;
    let secret = chrome.shown_secret().await;
    assert!(secret.starts_with("kwi_") && secret.len() > 40, "{secret}");
    chrome.console_is_clean("the new key").await;

    // The test page explains why an unknown path is refused.
    chrome.goto(&format!("{}/test-key", app.base)).await;
    chrome.fill("#test-key", &secret).await;
    chrome.fill("#test-path", "/integration/nowhere").await;
    chrome.select("#test-method", "GET").await;
    chrome.click("form[action='/test-key'] button[type=submit]").await;
    let result = chrome.wait_for_text("data-code=").await;
    assert!(result.contains("FORBIDDEN") && result.contains("Refused at"), "the decision is shown in place");
    assert!(!result.contains(&secret), "the pasted key is not written back into the page");
    chrome.console_is_clean("the test page").await;

    // The audit log filters in place; the bell is in the header.
    chrome.goto(&format!("{}/audit", app.base)).await;
    chrome.select("#audit-action", "key.created").await;
    let filtered = chrome.wait_for_text("Clear filters").await;
    assert!(filtered.contains("Browser key") && !filtered.contains("<code>setup.completed</code>"));
    assert!(chrome.client.find(Locator::Css("#bell")).await.is_ok());
    chrome.console_is_clean("the audit log").await;

    chrome.goto(&format!("{}/keys", app.base)).await;
    chrome.screenshot("keys").await;
    chrome.client.clone().close().await.expect("close the browser");
}

#[tokio::test]
async fn a_member_signs_in_hears_of_a_deleted_role_reveals_and_deletes_a_key_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    let (lock, _) = crate::roles::catalogue(&admin).await;
    admin.post("/roles", &[("name", "Lockers"), ("permissions", &lock)]).await;
    let role = crate::roles::role_id(&admin.get("/roles").await.body, "Lockers");
    let bob = app.user(&admin, "bob@example.com", "member").await;
    let (key_id, key) = crate::keys::create_key(&bob, &[("name", "Bob locker"), ("roles", &role)]).await;

    // Sign in: a wrong password is refused on the page, the right one opens the dashboard.
    chrome.goto(&format!("{}/login", app.base)).await;
    chrome.fill("#email", "bob@example.com").await;
    chrome.fill("#password", "not my password at all").await;
    chrome.click("main button[type=submit]").await;
    chrome.wait_for_text("role=\"alert\"").await;
    chrome.fill("#password", PASSWORD).await;
    chrome.click("main button[type=submit]").await;
    chrome.wait_for_text("<h1>Dashboard</h1>").await;
    chrome.wait_for_text("aria-label=\"Notifications\"").await;

    // The role goes; the bell shows it on the next page, and the list says what happened.
    admin.get(&format!("/roles/{role}/delete")).await;
    admin.post(&format!("/roles/{role}/delete"), &[]).await;
    chrome.goto(&format!("{}/keys", app.base)).await;
    chrome.wait_for_text("data-unread=\"1\"").await;
    chrome.click("#bell").await;
    let notices = chrome.wait_for_text("Mark all read").await;
    assert!(notices.contains("The role “Lockers” was deleted"), "{notices}");
    chrome.click("main form[action='/notifications/read'] button").await;
    chrome.wait_until_gone("Mark all read").await;
    assert!(!chrome.client.source().await.expect("source").contains("data-unread"), "the bell is cleared too");

    // Reveal: the wrong password is refused in place, the right one shows the key.
    chrome.goto(&format!("{}/keys/{key_id}", app.base)).await;
    chrome.fill("#reveal-password", "still not it").await;
    chrome.click("#reveal button[type=submit]").await;
    chrome.wait_for_text("reveal-error").await;
    chrome.fill("#reveal-password", PASSWORD).await;
    chrome.click("#reveal button[type=submit]").await;
    let shown =
        chrome.client.wait().for_element(Locator::Css("#revealed")).await.expect("revealed").prop("value").await;
    assert_eq!(shown.expect("value").as_deref(), Some(key.as_str()));
    chrome.console_is_clean("the key page").await;

    // Delete asks for the name typed exactly.
    chrome.goto(&format!("{}/keys/{key_id}/delete", app.base)).await;
    chrome.fill("#confirm", "bob locker").await;
    chrome.click("main button.btn-danger").await;
    chrome.wait_for_text("to confirm.").await;
    chrome.fill("#confirm", "Bob locker").await;
    chrome.click("main button.btn-danger").await;
    chrome.wait_for_text("No API keys yet").await;
    chrome.console_is_clean("the key list").await;
    chrome.client.clone().close().await.expect("close the browser");
}

#[tokio::test]
async fn people_are_imported_granted_by_checkbox_and_given_everything_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    let (lock, view) = crate::roles::catalogue(&admin).await;
    chrome.sign_in(&app.base, "admin@example.com").await;

    // Import: the file is previewed, then applied.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "email,name,role,permissions\ncara@example.com,Cara,member,device.lock\ndan@example.com,Dan,auditor,\n",
    )
    .expect("csv");
    chrome.goto(&format!("{}/users/import", app.base)).await;
    let input = chrome.client.find(Locator::Css("#import-file")).await.expect("file field");
    input.send_keys(&file.display().to_string()).await.expect("choose the file");
    chrome.click("#import-upload button[type=submit]").await;
    let preview = chrome.wait_for_text("Apply: create 2").await;
    assert!(preview.contains("cara@example.com") && preview.contains("dan@example.com"));
    chrome.click("form[action='/users/import/apply'] button[type=submit]").await;
    chrome.wait_for_text("Imported: 2 people created").await;
    chrome.console_is_clean("the import").await;
    let cara = app.account_id("cara@example.com");

    // One checkbox on a person's page saves at once.
    let dan = app.account_id("dan@example.com");
    chrome.goto(&format!("{}/users/{dan}", app.base)).await;
    chrome.click(&format!("input[name=permissions][value='{lock}']")).await;
    chrome.wait_for_text("Saved.").await;
    let page = admin.get(&format!("/users/{dan}")).await.body;
    assert!(page.contains(&format!("value=\"{lock}\" checked")), "the grant was stored");
    // From the keyboard: each tick saves and redraws the grants, and the focus stays on the box ticked.
    let view_box = format!("input[name=permissions][value='{view}']");
    chrome.tab_to(&view_box).await;
    chrome.tick_where_it_is_redrawn(&view_box, true).await;
    chrome.tick_where_it_is_redrawn(&view_box, false).await;
    let page = admin.get(&format!("/users/{dan}")).await.body;
    assert!(!page.contains(&format!("value=\"{view}\" checked")), "ticked and unticked: not held");

    // Add all permissions, after a confirmation that states the numbers.
    chrome.goto(&format!("{}/users", app.base)).await;
    chrome.click("a[href^='/users/grant-all']").await;
    let confirm = chrome.wait_for_text("Grant 2 permissions to 3 people").await;
    assert!(confirm.contains("grant-all-numbers"));
    chrome.click("main form[action='/users/grant-all'] button[type=submit]").await;
    chrome.wait_for_text("Granted 4 new permissions.").await;
    let cara_page = admin.get(&format!("/users/{cara}")).await.body;
    for id in [&lock, &view] {
        assert!(cara_page.contains(&format!("value=\"{id}\" checked")), "Cara holds permission {id} now");
    }
    chrome.console_is_clean("Add all").await;
    chrome.goto(&format!("{}/users", app.base)).await;
    chrome.screenshot("users").await;
    chrome.client.clone().close().await.expect("close the browser");
}

#[tokio::test]
async fn a_key_is_regenerated_with_overlap_reassigned_and_deleted_after_recent_use_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    app.user(&admin, "bob@example.com", "member").await;
    let (id, first) = crate::keys::create_key(&admin, &[("name", "Sync job")]).await;
    chrome.sign_in(&app.base, "admin@example.com").await;

    // Regenerate with a 24-hour overlap: both secrets work until it ends.
    chrome.goto(&format!("{}/keys/{id}/rotate", app.base)).await;
    chrome.click("input[name=overlap][value='86400']").await;
    chrome.click("main button[type=submit]").await;
    chrome.wait_for_text("The old secret keeps working until").await;
    let second = chrome
        .client
        .find(Locator::Css("input[data-secret]"))
        .await
        .expect("new secret")
        .prop("value")
        .await
        .expect("value");
    let second = second.expect("a value");
    assert_ne!(second, first);
    for key in [&first, &second] {
        let verdict = keyward::services::verify::verify(&app.state, key, &Default::default()).expect("verify");
        assert!(verdict.valid(), "both secrets work during the overlap");
    }

    // Reassign: Bob is told.
    chrome.goto(&format!("{}/keys/{id}/reassign", app.base)).await;
    chrome.select("#owner", "Test Person (bob@example.com)").await;
    chrome.fill("#comment", "You run the sync now").await;
    chrome.click("main form[action='/keys/reassign'] button[type=submit]").await;
    chrome.wait_until_gone("New owner").await;
    assert_eq!(app.notices("bob@example.com").len(), 1);
    chrome.console_is_clean("reassigning").await;
    chrome.goto(&format!("{}/keys/{id}", app.base)).await;
    chrome.screenshot("key").await;

    // Used just now: the first screen says so, and deleting needs an explicit tick.
    assert!(keyward::services::verify::verify(&app.state, &second, &Default::default()).expect("verify").valid());
    app.state.usage.flush(&app.state.db).expect("flush");
    chrome.goto(&format!("{}/keys/{id}/delete", app.base)).await;
    // One screen: the recent use, "Deactivate instead" before Delete, the name typed once.
    let page = chrome.wait_for_text("id=\"recent-use\"").await;
    assert!(page.contains("Sync job: used") && page.contains("in the last 3 days, last"), "the uses and the last one");
    let buttons = chrome.texts("main form[action='/keys/delete'] button").await;
    assert_eq!(buttons, ["Deactivate instead", "Delete"]);
    chrome.fill("#confirm", "Sync job").await;
    chrome.click("input[name=recent_ok]").await;
    chrome.click("main button.btn-danger").await;
    chrome.wait_until_gone("id=\"recent-use\"").await;
    let gone = keyward::services::verify::verify(&app.state, &second, &Default::default()).expect("verify");
    assert_eq!(gone.code.as_str(), "NOT_FOUND");
    chrome.console_is_clean("deleting").await;
    chrome.client.clone().close().await.expect("close the browser");
}

/// The add form shows what the key will be able to use as it is drawn up: permissions its owner does
/// not hold are unavailable with the reason, the summary follows the ticks and the owner, and a key
/// that could use nothing is created only after an explicit tick.
#[tokio::test]
async fn the_add_form_shows_live_what_a_key_will_use_within_its_owners_grants_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    app.user(&admin, "bob@example.com", "member").await;
    admin.get("/permissions").await;
    admin.post("/permissions/starter", &[("catalogue", "device-actions")]).await;
    let catalogue = admin.get("/keys/new").await.body;
    let lock = crate::permissions::permission_id(&catalogue, "device.lock");
    let me = app.account_id("admin@example.com");
    admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &lock)]).await;

    chrome.sign_in(&app.base, "admin@example.com").await;
    chrome.goto(&format!("{}/keys/new", app.base)).await;
    let page = chrome.wait_for_text("id=\"key-reach\"").await;
    assert!(page.contains("does not hold it"), "Wipe Device and the rest say why they are unavailable");
    let unavailable = chrome.eval("document.querySelectorAll('input[name=permissions]:disabled').length").await;
    assert_eq!(unavailable, json!(4), "the four device actions the administrator does not hold");
    assert!(!page.contains("This key will be able to use"));

    // Ticking Lock Device: the summary follows.
    chrome.click(&format!("input[name=permissions][value='{lock}']")).await;
    let page = chrome.wait_for_text("This key will be able to use").await;
    assert!(page.contains("1 permission") && page.contains("Lock Device"), "{page}");

    // Bob holds nothing: choosing him as owner makes Lock Device unavailable and the key useless.
    chrome.select("#owner", "Test Person (bob@example.com)").await;
    chrome.wait_for_text("This key could use nothing").await;
    let lock_box = format!("document.querySelector(\"input[name=permissions][value='{lock}']\")");
    chrome.wait_until_true(&format!("{lock_box}.disabled && !{lock_box}.checked")).await;
    chrome.fill("#name", "Bob's sync").await;
    chrome.click("main form button[type=submit]").await;
    chrome.wait_for_text("Tick \u{201c}Create it anyway\u{201d}").await;
    chrome.click("input[name=nothing_ok]").await;
    chrome.click("main form button[type=submit]").await;
    chrome.wait_for_text("data-secret").await;
    chrome.console_is_clean("the add form").await;
    chrome.client.clone().close().await.expect("close the browser");
}

const TAB: &str = "\u{E004}";
const SHIFT_TAB: &str = "\u{E008}\u{E004}";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";

impl Chrome {
    /// Presses keys on whatever has the focus, as a person at the keyboard would.
    /// An element htmx replaces between finding the focus and sending the keys is tried once more, on
    /// what has the focus then.
    pub async fn press(&self, keys: &str) {
        let focused = self.client.active_element().await.expect("a focused element");
        match focused.send_keys(keys).await {
            Err(CmdError::Standard(e)) if e.error == ErrorStatus::StaleElementReference => {
                let focused = self.client.active_element().await.expect("a focused element");
                focused.send_keys(keys).await.expect("keys");
            }
            sent => sent.expect("keys"),
        }
    }

    /// Presses the space bar on the focused checkbox (`css`), whose part of the page is redrawn when it
    /// changes (htmx), and waits for the redraw: the focus must then be on the new box, ticked or not as
    /// `ticked` says (htmx gives the focus back to an element of the same id), so Tab goes on from there.
    pub async fn tick_where_it_is_redrawn(&self, css: &str, ticked: bool) {
        let css = json!(css);
        self.eval("document.activeElement.dataset.before = 'redrawn'").await;
        self.press(" ").await;
        self.wait_until_true(&format!("document.querySelector({css}).dataset.before === undefined")).await;
        let kept = format!("document.activeElement.matches({css}) && document.activeElement.checked === {ticked}");
        self.wait_until_true(&kept).await;
    }

    /// Evaluates a JavaScript expression in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.client.execute(&format!("return ({expression});"), vec![]).await.expect("script")
    }

    /// Waits until a JavaScript expression is true in the page (what the page does after a key may take a tick).
    pub async fn wait_until_true(&self, expression: &str) {
        for _ in 0..50 {
            if self.eval(expression).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never true: {expression}");
    }

    /// Presses Tab until the focused element matches `css` (at most 80 times), as keyboard users do.
    pub async fn tab_to(&self, css: &str) {
        let test = format!("document.activeElement && document.activeElement.matches({})", json!(css));
        for _ in 0..80 {
            if self.eval(&test).await == json!(true) {
                return;
            }
            self.press(TAB).await;
        }
        panic!("Tab never reached {css}");
    }

    /// Form controls on the page that have no label: no `<label>`, no `aria-label`, no `aria-labelledby`.
    pub async fn unlabelled_controls(&self) -> Vec<String> {
        let found = self
            .eval(
                "Array.from(document.querySelectorAll('input, select, textarea'))
                   .filter(el => !['hidden', 'submit', 'button'].includes(el.type))
                   .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                                 && !el.getAttribute('aria-labelledby'))
                   .map(el => el.outerHTML.slice(0, 160))",
            )
            .await;
        serde_json::from_value(found).expect("a list")
    }
}

#[tokio::test]
async fn a_key_is_created_with_the_keyboard_alone_from_a_dialog_that_keeps_the_focus_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.admin().await;
    chrome.goto(&format!("{}/login", app.base)).await;
    chrome.tab_to("#email").await;
    chrome.press("admin@example.com").await;
    chrome.press(TAB).await;
    chrome.press(PASSWORD).await;
    chrome.press(ENTER).await;
    chrome.wait_for_text("<h1>Dashboard</h1>").await;

    // From the key list to the form, through its fields, to its button: Tab, typing and Enter only.
    chrome.goto(&format!("{}/keys", app.base)).await;
    chrome.tab_to("a[href='/keys/new']").await;
    chrome.press(ENTER).await;
    chrome.wait_for_text("Add API key").await;
    chrome.tab_to("#name").await;
    chrome.press("Keyboard key").await;
    chrome.tab_to("#key_type").await;
    chrome.press("Integration").await;
    // Nothing is in the catalogue yet: the form says the key could use nothing and asks for a tick. Ticking
    // it redraws that part of the form (what the key could use); the focus stays on the new box, so Tab
    // goes on from there rather than from the top of the page.
    chrome.tab_to("input[name=nothing_ok]").await;
    chrome.tick_where_it_is_redrawn("input[name=nothing_ok]", true).await;
    chrome.tab_to("main form button[type=submit]").await;
    chrome.press(ENTER).await;
    chrome.wait_for_text("Copy this key now").await;
    chrome.console_is_clean("the new key").await;
    chrome.screenshot("key-created").await;

    // The show-once dialog is modal and has the focus; Tab and Shift+Tab stay inside it.
    assert_eq!(chrome.eval("document.getElementById('secret-dialog').matches(':modal')").await, json!(true));
    assert_eq!(chrome.eval("document.activeElement.matches('button[data-copy]')").await, json!(true));
    let inside = "document.getElementById('secret-dialog').contains(document.activeElement)";
    for keys in [TAB, TAB, TAB, TAB, SHIFT_TAB, SHIFT_TAB, SHIFT_TAB, SHIFT_TAB, SHIFT_TAB] {
        chrome.press(keys).await;
        assert_eq!(chrome.eval(inside).await, json!(true), "the focus left the dialog");
    }
    let secret = chrome.eval("document.getElementById('secret').value").await;
    let secret = secret.as_str().expect("the key").to_owned();
    assert!(secret.starts_with("kwi_"), "{secret}");

    // Escape closes it and gives the focus to "Show the key again", which opens it once more.
    chrome.press(ESCAPE).await;
    chrome.wait_until_true("!document.getElementById('secret-dialog').open").await;
    chrome.wait_until_true("document.activeElement.matches('[data-show-dialog]')").await;
    chrome.press(ENTER).await;
    chrome.wait_until_true("document.getElementById('secret-dialog').matches(':modal')").await;
    chrome.tab_to("[data-close-dialog]").await;
    chrome.press(ENTER).await;
    chrome.wait_until_true("!document.getElementById('secret-dialog').open").await;
    // The page gives the focus back to "Show the key again" as the dialog closes; tabbing on before that
    // happened raced it under load (the focus came back after Tab had reached the link, and Enter reopened).
    chrome.wait_until_true("document.activeElement.matches('[data-show-dialog]')").await;

    // Then on to the key, which works.
    chrome.tab_to("main a[href^='/keys/']:not([href='/keys/new'])").await;
    chrome.press(ENTER).await;
    chrome.wait_for_text("<h1>Keyboard key").await;
    let verdict = keyward::services::verify::verify(&app.state, &secret, &Default::default()).expect("verify");
    assert!(verdict.valid());
    chrome.console_is_clean("the key page").await;

    // Revealing it again opens the same kind of dialog; Escape closes it and the key leaves the page.
    chrome.tab_to("#reveal-password").await;
    chrome.press(PASSWORD).await;
    chrome.press(ENTER).await;
    chrome.wait_for_text("reveal-dialog").await;
    assert_eq!(chrome.eval("document.getElementById('reveal-dialog').matches(':modal')").await, json!(true));
    assert_eq!(chrome.eval("document.getElementById('revealed').value").await, json!(secret));
    chrome.press(ESCAPE).await;
    chrome.wait_until_true("document.getElementById('reveal-dialog') === null").await;
    assert!(!chrome.client.source().await.expect("source").contains(&secret), "the key left the page");
    chrome.console_is_clean("the reveal").await;
    chrome.client.clone().close().await.expect("close the browser");
}

#[tokio::test]
async fn the_key_table_searches_filters_and_pages_in_place_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.admin().await;
    crate::keys::seed_keys(&app, 60).await;
    chrome.sign_in(&app.base, "admin@example.com").await;

    // Fifty a page, newest first; the next page comes in place and the address follows.
    chrome.goto(&format!("{}/keys", app.base)).await;
    let first = chrome.wait_for_text("key 0059").await;
    assert!(first.contains("key 0010") && !first.contains(">key 0009<"), "page one holds keys 59 to 10");
    chrome.click("a[rel=next]").await;
    let second = chrome.wait_for_text(">key 0009<").await;
    assert!(!second.contains(">key 0059<") && second.contains(">key 0000<"));
    assert!(chrome.client.current_url().await.expect("url").as_str().contains("after="), "the URL names the page");
    assert!(second.contains("51–60 of 60"), "the second page says where it is");

    // Bulk: the header box chooses the page, the bar counts, Apply waits for an action.
    chrome.goto(&format!("{}/keys", app.base)).await;
    chrome.wait_for_text("1–50 of 60").await;
    assert_eq!(chrome.eval("document.querySelector('#bulk button[type=submit]').disabled").await, json!(true));
    chrome.click("#select-page").await;
    chrome.wait_until_true("document.getElementById('bulk-count').textContent === '50 selected'").await;
    assert_eq!(
        chrome.eval("document.querySelector('#bulk button[type=submit]').disabled").await,
        json!(true),
        "no action yet"
    );
    chrome.select("#bulk-action", "Deactivate").await;
    chrome.wait_until_true("document.querySelector('#bulk button[type=submit]').disabled === false").await;
    chrome.click("input[name=ids]").await;
    chrome.wait_until_true("document.getElementById('bulk-count').textContent === '49 selected'").await;
    assert_eq!(chrome.eval("document.getElementById('select-page').indeterminate").await, json!(true));
    chrome.click("#bulk button[type=submit]").await;
    chrome.wait_for_text("Deactivated 49 keys.").await;

    // Across pages: with the whole page chosen, "Select all 60 matching" takes the keys of every page.
    // Eleven are still active, ten of them on page two, so only a selection beyond this page finds them all.
    chrome.wait_for_text("1–50 of 60").await;
    assert_eq!(chrome.eval("document.getElementById('select-matching').hidden").await, json!(true));
    chrome.click("#select-page").await;
    chrome.wait_until_true("document.getElementById('select-matching').hidden === false").await;
    chrome.click("#select-matching").await;
    chrome.wait_until_true("document.getElementById('bulk-count').textContent === 'All 60 matching selected'").await;
    chrome.select("#bulk-action", "Deactivate").await;
    chrome.click("#bulk button[type=submit]").await;
    chrome.wait_for_text("Deactivated 11 keys.").await;

    // Typing searches as you go; a filter tab narrows further.
    chrome.goto(&format!("{}/keys", app.base)).await;
    chrome.fill("#key-search", "needle 5").await;
    chrome.wait_until_gone(">key 0059<").await;
    let found = chrome.wait_for_text(">key 0050<").await;
    assert!(!found.contains(">key 0040<"), "only the key whose description matches");
    assert!(chrome.client.current_url().await.expect("url").as_str().contains("q=needle"));
    chrome.goto(&format!("{}/keys?filter=expired", app.base)).await;
    chrome.wait_for_text("No keys match").await;
    chrome.console_is_clean("the key table").await;
    chrome.client.clone().close().await.expect("close the browser");
}

#[tokio::test]
async fn every_form_control_on_every_page_has_a_label_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    app.user(&admin, "bob@example.com", "member").await;
    let bob = app.account_id("bob@example.com");
    let (key, _) = crate::keys::create_key(&admin, &[("name", "Labelled")]).await;
    let (lock, _) = crate::roles::catalogue(&admin).await;
    admin.post("/roles", &[("name", "Lockers"), ("permissions", &lock)]).await;
    let role = crate::roles::role_id(&admin.get("/roles").await.body, "Lockers");
    // A second workspace: the layout's switcher is on every page.
    let globex = crate::workspaces::create_workspace(&admin, "Globex").await;

    chrome.goto(&format!("{}/login", app.base)).await;
    let mut missing = chrome.unlabelled_controls().await;
    for page in ["/signup", "/password"] {
        chrome.goto(&format!("{}{page}", app.base)).await;
        missing.extend(chrome.unlabelled_controls().await.into_iter().map(|m| format!("{page}: {m}")));
    }
    chrome.sign_in(&app.base, "admin@example.com").await;
    let pages = [
        "/".to_owned(),
        "/keys".into(),
        "/keys/new".into(),
        format!("/keys/{key}"),
        format!("/keys/{key}/edit"),
        format!("/keys/{key}/rotate"),
        format!("/keys/{key}/reassign"),
        format!("/keys/{key}/delete"),
        "/users".into(),
        format!("/users/{bob}"),
        format!("/users/{bob}/delete"),
        "/users/import".into(),
        "/users/grant-all".into(),
        "/roles".into(),
        "/roles/new".into(),
        format!("/roles/{role}"),
        format!("/roles/{role}/delete"),
        "/permissions".into(),
        format!("/permissions/{lock}"),
        "/test-key".into(),
        "/notifications".into(),
        "/audit".into(),
        "/settings".into(),
        "/settings/domains/matching".into(),
        "/profile".into(),
        "/profile/two-factor".into(),
        "/workspaces".into(),
        format!("/workspaces/{globex}"),
        "/logout".into(),
    ];
    for page in &pages {
        chrome.goto(&format!("{}{page}", app.base)).await;
        missing.extend(chrome.unlabelled_controls().await.into_iter().map(|m| format!("{page}: {m}")));
    }
    assert!(missing.is_empty(), "controls without a label:\n{}", missing.join("\n"));
    chrome.client.clone().close().await.expect("close the browser");
}

#[tokio::test]
async fn a_super_administrator_creates_a_workspace_adds_a_member_and_switches_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    app.user(&admin, "tech@example.com", "member").await;
    let tech = app.account_id("tech@example.com");
    chrome.sign_in(&app.base, "admin@example.com").await;
    assert!(
        !chrome.client.source().await.expect("source").contains("workspace-switcher"),
        "one workspace: no switcher"
    );

    // Create a workspace: a wrong name is refused in place, then the new workspace's page opens.
    chrome.click("a[href='/workspaces']").await;
    chrome.wait_for_text("<h1>Workspaces</h1>").await;
    chrome.click("main details summary").await;
    chrome.fill("#workspace-name", "ACME").await;
    chrome.click("main form[action='/workspaces'] button[type=submit]").await;
    chrome.wait_for_text("A workspace named ACME already exists.").await;
    chrome.fill("#workspace-name", "Globex").await;
    chrome.click("main form[action='/workspaces'] button[type=submit]").await;
    chrome.wait_for_text("<h1>Globex</h1>").await;
    let globex = chrome.client.current_url().await.expect("url");

    // Add a member by email, as an Auditor.
    chrome.fill("#member-email", "tech@example.com").await;
    chrome.select("#member-role", "Auditor").await;
    chrome.click("main form[action$='/members'] button[type=submit]").await;
    chrome.wait_for_text(&format!("id=\"member-{tech}\"")).await;
    chrome.wait_until_true(&format!("document.querySelector('#role-{tech}').value === 'auditor'")).await;
    chrome.console_is_clean("the workspace page").await;
    chrome.screenshot("workspace").await;

    // The switcher appears; choosing Globex moves the console there, where Acme's people are not.
    chrome.select("#workspace-switcher", "Globex").await;
    chrome.click("form.kw-switcher button[type=submit]").await;
    chrome.wait_for_text("<h1>Dashboard</h1>").await;
    chrome.wait_until_true("document.querySelector('#workspace-switcher').selectedOptions[0].text === 'Globex'").await;
    chrome.goto(&format!("{}/users", app.base)).await;
    let people = chrome.wait_for_text("tech@example.com").await;
    assert!(people.contains("admin@example.com"), "both members of Globex are listed");
    chrome.console_is_clean("Globex's users").await;

    // Back to Acme, then archive Globex after the confirmation.
    chrome.select("#workspace-switcher", "Acme").await;
    chrome.click("form.kw-switcher button[type=submit]").await;
    chrome.wait_until_true("document.querySelector('#workspace-switcher').selectedOptions[0].text === 'Acme'").await;
    chrome.goto(globex.as_str()).await;
    chrome.wait_for_text("<h1>Globex</h1>").await;
    // The confirmation is in the page (one pattern for every destructive action), not the browser's dialog.
    chrome.click(".danger-zone details.confirm summary").await;
    let question =
        chrome.eval("document.querySelector('.danger-zone details.confirm[open] .confirm-panel').innerText").await;
    assert!(question.as_str().is_some_and(|q| q.starts_with("Archive Globex?")), "{question}");
    chrome.click(".danger-zone details.confirm[open] button.btn-danger").await;
    chrome.wait_for_text("Restore workspace").await;
    chrome.goto(&format!("{}/", app.base)).await;
    assert!(!chrome.client.source().await.expect("source").contains("workspace-switcher"), "Globex is archived");
    chrome.client.clone().close().await.expect("close the browser");
}

#[tokio::test]
async fn two_factor_is_set_up_from_a_qr_code_and_asked_for_at_sign_in_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.admin().await;
    chrome.sign_in(&app.base, "admin@example.com").await;

    // From the profile: set up, scan (the QR code is an inline SVG), confirm with the app's code.
    chrome.goto(&format!("{}/profile", app.base)).await;
    chrome.click("a[href='/profile/two-factor']").await;
    chrome.click("main form[action='/profile/two-factor'] button[type=submit]").await;
    chrome.wait_for_text("Scan this code with your authenticator app").await;
    chrome.wait_until_true("document.querySelector('.qr svg path') !== null").await;
    let text = chrome.eval("document.querySelector('#totp-secret').textContent").await;
    let compact: String = text.as_str().expect("the secret").split_whitespace().collect();
    let secret = totp_rs::Secret::try_from_base32(&compact).expect("base32").as_ref().to_vec();
    chrome.fill("#confirm-code", &crate::two_factor::code(&app, &secret, "admin@example.com")).await;
    chrome.click("main form[action='/profile/two-factor/confirm'] button[type=submit]").await;
    chrome.wait_for_text("they are shown only this once").await;
    let codes = chrome.eval("document.querySelectorAll('#recovery-codes li').length").await;
    assert_eq!(codes, json!(10));
    chrome.console_is_clean("the recovery codes").await;

    // Sign out and in again: the code is asked for after the password.
    chrome.goto(&format!("{}/logout", app.base)).await;
    chrome.click("main form[action='/logout'] button[type=submit]").await;
    chrome.wait_for_text("You have signed out.").await;
    chrome.fill("#email", "admin@example.com").await;
    chrome.fill("#password", PASSWORD).await;
    chrome.click("main button[type=submit]").await;
    chrome.wait_for_text("Code from your authenticator app").await;
    chrome.fill("#code", "000000").await;
    chrome.click("main button[type=submit]").await;
    chrome.wait_for_text("That code is not valid").await;
    app.clock.advance(30);
    chrome.fill("#code", &crate::two_factor::code(&app, &secret, "admin@example.com")).await;
    chrome.click("main button[type=submit]").await;
    chrome.wait_for_text("<h1>Dashboard</h1>").await;
    chrome.console_is_clean("the dashboard after two-factor").await;
    chrome.client.clone().close().await.expect("close the browser");
}

#[tokio::test]
async fn single_sign_on_from_the_sign_in_page_and_to_confirm_a_reveal_in_chromium() {
    if !crate::sso::provider_available() {
        return;
    }
    let Some(chrome) = Chrome::start().await else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.oidc = Some(crate::sso::oidc(port, false))).await;
    let _provider = crate::sso::Provider::start(port, &format!("{}/login/oidc/callback", app.base)).await;
    let admin = app.admin().await;
    admin.get("/settings").await;
    admin.post("/settings/domains", &[("domains", "corp.example")]).await;

    chrome.goto(&format!("{}/login", app.base)).await;
    chrome.click("a.sso").await;
    // The provider's own pages (its development sign-in and consent forms).
    chrome.fill("input[name=login]", "admin-jane@corp.example").await;
    chrome.fill("input[name=password]", "anything").await;
    chrome.click("button[type=submit]").await;
    chrome.wait_for_text("name=\"prompt\" value=\"consent\"").await;
    chrome.click("button[type=submit]").await;
    chrome.wait_for_text("<h1>Dashboard</h1>").await;
    // Whatever the provider's pages logged is theirs; from here on keyward's pages must be clean.
    let _ = chrome.client.issue_cmd(BrowserLog).await;
    chrome.goto(&format!("{}/users", app.base)).await;
    chrome.wait_for_text("admin-jane@corp.example").await;

    // Jane has no password: revealing her key sends her through the provider, which asks her to sign in again.
    let owner = app.account_id("admin-jane@corp.example").to_string();
    let (key, secret) = crate::keys::create_key(&admin, &[("name", "Jane's gate"), ("owner", &owner)]).await;
    chrome.goto(&format!("{}/keys/{key}", app.base)).await;
    chrome.wait_for_text("Confirm with Test IdP").await;
    for (size, width, height) in crate::screens::SIZES {
        chrome.viewport(width, height).await;
        chrome.eval("document.getElementById('reveal').scrollIntoView({block: 'center'})").await;
        chrome.screenshot(&format!("reveal-at-the-provider-{size}")).await;
    }
    chrome.click("#reveal a.btn").await;
    chrome.fill("input[name=login]", "admin-jane@corp.example").await;
    chrome.fill("input[name=password]", "anything").await;
    chrome.click("button[type=submit]").await;
    let back = chrome.wait_for_text("You confirmed it is you with Test IdP").await;
    assert!(back.contains("<h1>Jane's gate</h1>"), "back on the key's page, confirmed");
    for (size, width, height) in crate::screens::SIZES {
        chrome.viewport(width, height).await;
        chrome.eval("document.getElementById('reveal').scrollIntoView({block: 'center'})").await;
        chrome.screenshot(&format!("reveal-confirmed-{size}")).await;
    }
    let _ = chrome.client.issue_cmd(BrowserLog).await;
    chrome.click("#reveal button[type=submit]").await;
    let shown = chrome.shown_secret().await;
    assert_eq!(shown, secret, "the key is shown after confirming at the provider");
    chrome.console_is_clean("the revealed key").await;
    chrome.client.clone().close().await.expect("close the browser");
}

#[tokio::test]
async fn a_person_of_another_workspace_is_invited_accepts_and_sees_where_they_are_signed_in_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let root = app.admin().await;
    app.user(&root, "alice@example.com", "member").await;
    let alice = app.account_id("alice@example.com");
    app.state
        .db
        .write(|c| keyward::db::accounts::set_display_name(c, alice, "Alice Acme").map_err(keyward::error::Error::from))
        .expect("rename");
    let globex = crate::workspaces::create_workspace(&root, "Globex").await;
    crate::workspaces::switch(&root, globex).await;
    app.user(&root, "bob@example.com", "admin").await;

    // Bob, Administrator of Globex only, adds Alice by email: she already has an account, so she is invited.
    chrome.sign_in(&app.base, "bob@example.com").await;
    chrome.goto(&format!("{}/users", app.base)).await;
    chrome.click("#users-section details summary").await;
    chrome.fill("#new-email", "alice@example.com").await;
    chrome.fill("#new-name", "Whoever").await;
    chrome.click("#users-section form[action='/users'] button[type=submit]").await;
    let page = chrome.wait_for_text("they are invited and join when they accept").await;
    assert!(page.contains("Invitations pending") && page.contains("id=\"invitations-table\""), "the pending list");
    assert!(!page.contains("Alice Acme"), "nothing of the person but the email Bob typed");
    chrome.console_is_clean("Users with an invitation").await;
    for (width, height, size) in [(1440, 900, "wide"), (390, 844, "phone")] {
        chrome.client.set_window_size(width, height).await.expect("size");
        chrome.screenshot(&format!("users-invitation-{size}")).await;
    }
    chrome.client.set_window_size(1280, 1000).await.expect("size");
    chrome.goto(&format!("{}/logout", app.base)).await;
    chrome.click("main form[action='/logout'] button[type=submit]").await;
    chrome.wait_for_text("You have signed out.").await;

    // Alice sees it on the bell and under Notifications, accepts, and lands in Globex.
    chrome.sign_in(&app.base, "alice@example.com").await;
    chrome.wait_until_true("document.querySelector('#bell .count') !== null").await;
    chrome.click("#bell").await;
    chrome.wait_for_text("You are invited to join Globex as Member.").await;
    chrome.console_is_clean("Notifications with an invitation").await;
    chrome.screenshot("notifications-invitation").await;
    chrome.click("#invitations form[action$='/accept'] button[type=submit]").await;
    chrome.wait_for_text("<h1>Dashboard</h1>").await;
    chrome.wait_until_true("document.querySelector('#workspace-switcher').selectedOptions[0].text === 'Globex'").await;

    // Her profile lists where she is signed in, this browser marked.
    chrome.goto(&format!("{}/profile", app.base)).await;
    let profile = chrome.wait_for_text("Where you are signed in").await;
    assert!(profile.contains("This browser"), "this session is marked");
    chrome.console_is_clean("Profile").await;
    for (width, height, size) in [(1440, 900, "wide"), (390, 844, "phone")] {
        chrome.client.set_window_size(width, height).await.expect("size");
        chrome.eval("document.getElementById('sessions').scrollIntoView() || true").await;
        chrome.screenshot(&format!("profile-sessions-{size}")).await;
    }
    assert!(chrome.unlabelled_controls().await.is_empty(), "every control on Profile has a label");
}

/// A new administrator's first steps as they are seen: the checklist ticks as a starter catalogue is applied
/// from the empty Permissions page, a permission is granted and a key made; the access review answers "who
/// can Wipe Device?" from its filter; and deleting a departed person, choosing to revoke, deactivates
/// their keys.
#[tokio::test]
async fn the_checklist_a_starter_catalogue_the_access_review_and_a_revoking_departure_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    app.user(&admin, "bob@example.com", "member").await;
    chrome.sign_in(&app.base, "admin@example.com").await;
    let step = |page: &str, name: &str| {
        page.split(&format!("data-step=\"{name}\" class=\"")).nth(1).is_some_and(|rest| rest.starts_with("done"))
    };
    chrome.goto(&format!("{}/", app.base)).await;
    let page = chrome.wait_for_text("Get started").await;
    assert!(!step(&page, "permissions") && !step(&page, "keys"), "nothing is done yet");

    // The empty Permissions page offers the starter catalogues; one click adds one.
    chrome.apply_starter(&app.base, "device-actions").await;
    let catalogue = chrome.wait_for_text("Wipe Device").await;
    assert!(catalogue.contains("Unlock Device"));
    chrome.console_is_clean("the catalogue").await;

    // A grant and a key later, the checklist has moved on.
    let wipe = crate::permissions::permission_id(&admin.get("/keys/new").await.body, "device.wipe");
    let bob_id = app.account_id("bob@example.com");
    admin.htmx_post(&format!("/users/{bob_id}/grants"), &[("permissions", &wipe)]).await;
    // High-risk permissions are put on keys by administrators.
    let owner = bob_id.to_string();
    let (bob_key, _) =
        crate::keys::create_key(&admin, &[("name", "Bob's wiper"), ("owner", &owner), ("permissions", &wipe)]).await;
    chrome.goto(&format!("{}/", app.base)).await;
    let page = chrome.wait_for_text("Get started").await;
    assert!(step(&page, "permissions") && step(&page, "grants") && step(&page, "keys"), "three steps done");
    assert!(!step(&page, "verify"), "the key has not been used yet");

    // Who can wipe a device? The review's filter says: Bob, and what his key can call.
    chrome.goto(&format!("{}/access", app.base)).await;
    chrome.select("#holds", "Who holds Wipe Device (high risk)").await;
    chrome.click("form[action='/access'] button[type=submit]").await;
    let review = chrome.wait_for_text("holders-count").await;
    assert!(review.contains("<strong>1</strong> person holds Wipe Device."), "{review}");
    assert!(review.contains(&format!("id=\"access-{bob_id}\"")));
    assert!(review.contains(&format!("id=\"key-access-{bob_key}\"")) && review.contains("<code>device.wipe</code>"));
    chrome.console_is_clean("the access review").await;

    // Bob leaves: his keys are revoked, not handed over.
    chrome.goto(&format!("{}/users/{bob_id}/delete", app.base)).await;
    chrome.wait_for_text("Their keys in this workspace").await;
    chrome.click("input[name=keys][value=deactivate]").await;
    chrome.click("form[action$='/delete'] button.btn-danger").await;
    chrome.wait_until_gone("Their keys in this workspace").await;
    let key = admin.get(&format!("/keys/{bob_key}")).await.body;
    assert!(key.contains("Inactive"), "revoked with its owner");
    chrome.console_is_clean("after the departure").await;
    chrome.client.clone().close().await.expect("close the browser");
}

/// A key type that restricts its keys' roles, seen in the add form: the rule is stated before anyone tries,
/// a Device role on a Customer key is refused in place with the same words, and the allowed role is taken.
#[tokio::test]
async fn a_customer_key_is_kept_to_billing_access_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.admin().await;
    chrome.sign_in(&app.base, "admin@example.com").await;
    chrome.apply_starter(&app.base, "lorawan").await;
    chrome.wait_for_text("/integration/device/sendmsg").await;

    chrome.goto(&format!("{}/keys/new", app.base)).await;
    assert!(
        chrome
            .wait_for_text("Customer keys may hold only Billing Access.")
            .await
            .contains("class=\"muted restriction\"")
    );
    chrome.fill("#name", "Acme billing").await;
    chrome.select("#key_type", "Customer (needs Customer ID)").await;
    chrome.fill("#identifier", "C-1").await;
    let role = |name: &str| format!("//label[contains(normalize-space(.), '{name}')]/input[@name='roles']");
    chrome
        .client
        .find(Locator::XPath(&role("Device: Downlinks")))
        .await
        .expect("Downlinks")
        .click()
        .await
        .expect("tick");
    // The administrator holds none of the role's permissions: once the live summary has caught up with the
    // tick (it replaces the box), the key is acknowledged as using nothing yet.
    chrome.wait_for_text("holds none of the chosen permissions").await;
    chrome.click("input[name=nothing_ok]").await;
    chrome.click("main form button[type=submit]").await;
    let refused = chrome.wait_for_text("class=\"error\"").await;
    assert!(refused.contains("Customer keys may hold only Billing Access."), "refused in place");
    assert!(!refused.contains("data-secret"), "nothing was created");

    chrome
        .client
        .find(Locator::XPath(&role("Device: Downlinks")))
        .await
        .expect("Downlinks")
        .click()
        .await
        .expect("untick");
    chrome.client.find(Locator::XPath(&role("Billing Access"))).await.expect("Billing").click().await.expect("tick");
    chrome.click("main form button[type=submit]").await;
    chrome.wait_for_text("data-secret").await;
    chrome.console_is_clean("the Customer key").await;
    chrome.client.clone().close().await.expect("close the browser");
}
