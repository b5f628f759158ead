//! What a person sees: every console page, at a laptop's 1440×900 and a phone's 390×844, in light and dark,
//! in Chromium. No page is wider than the screen, the header keeps one height, axe-core (npm `axe-core`,
//! installed under `tests/browser` and injected through WebDriver) finds no serious or critical violation,
//! and the API keys table shows at least 12 rows above the fold. Screenshots go to `target/screenshots/`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::browser::Chrome;
use crate::helpers::{Backend, TestApp};

/// GET routes that are not pages a person looks at: files, fragments htmx swaps in, redirects to
/// elsewhere, and steps only reachable mid-flow (each is covered by its own test).
const NOT_PAGES: [(&str, &str); 13] = [
    ("/static/{path:.*}", "a file"),
    ("/favicon.ico", "a redirect to the icon"),
    ("/keys/report.csv", "a CSV download"),
    ("/audit.csv", "a CSV download"),
    ("/access.csv", "a CSV download"),
    ("/users/import/template.csv", "a CSV download"),
    ("/notifications/bell", "the bell fragment (seen in every header)"),
    ("/roles/preview", "a fragment of the role form"),
    ("/keys/new/access", "a fragment of the add-key form"),
    ("/keys/new/reach", "a fragment of the add-key form"),
    ("/login/oidc", "a redirect to the identity provider (sso.rs)"),
    ("/login/oidc/callback", "the identity provider's return (sso.rs)"),
    ("/login/two-factor", "mid sign-in (browser.rs: two_factor_is_set_up_…)"),
];

/// Pages seen before signing in.
const PUBLIC: [&str; 6] = ["/login", "/login/forgot", "/signup", "/password", "/verify-email", "/setup"];

pub const SIZES: [(&str, u32, u32); 2] = [("1440", 1440, 900), ("390", 390, 844)];
const SCHEMES: [&str; 2] = ["light", "dark"];

fn axe_source() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "the layout test must run in CI, but {} is missing (npm ci --prefix tests/browser)",
                path.display()
            );
            eprintln!("skipped: {} is missing (npm ci --prefix tests/browser)", path.display());
            None
        }
    }
}

/// What one page measured at one size and scheme.
#[derive(Debug)]
struct Measure {
    overflow: Option<(i64, i64)>,
    header: f64,
    serious: Vec<String>,
}

async fn measure(chrome: &Chrome, axe: &str) -> Measure {
    let sizes = chrome
        .eval(
            "[document.documentElement.scrollWidth, window.innerWidth,
              (document.querySelector('header') || {getBoundingClientRect: () => ({height: -1})}).getBoundingClientRect().height]",
        )
        .await;
    let (scroll, inner) = (sizes[0].as_i64().unwrap_or(0), sizes[1].as_i64().unwrap_or(0));
    if chrome.eval("typeof window.axe === 'undefined'").await == json!(true) {
        chrome.client.execute(&format!("{axe}\nreturn true;"), vec![]).await.expect("axe-core loads");
    }
    let found = chrome
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(
               r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')
                   + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160)).join(' | '))));",
            vec![],
        )
        .await
        .expect("axe runs");
    Measure {
        overflow: (scroll > inner).then_some((scroll, inner)),
        header: sizes[2].as_f64().unwrap_or(-1.0),
        serious: serde_json::from_value(found).unwrap_or_default(),
    }
}

/// A file name for a page: `/keys/12/edit` → `keys-id-edit`.
fn slug(route: &str) -> String {
    let s: String = route
        .trim_matches('/')
        .split('/')
        .map(|part| if part.starts_with('{') { "id" } else { part })
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() { "overview".to_owned() } else { s }
}

/// A page to measure: its screenshot's name, its URL, and what to do on it first (a script, and what is
/// true once that has taken effect).
type Page<'a> = (String, String, Option<(&'a str, &'a str)>);

#[tokio::test]
async fn every_console_page_fits_the_screen_keeps_its_header_and_passes_axe_in_light_and_dark_in_chromium() {
    let Some(chrome) = Chrome::start().await else { return };
    let Some(axe) = axe_source() else { return };
    // Email on (to a server nobody calls: the job is off), so its pages and forms are measured too.
    let app = TestApp::spawn_with(Backend::Sqlite, crate::mail::email_on).await;
    let setup_token = app.setup_token.clone().expect("a fresh install");
    let admin = app.admin().await;
    keyward::services::demo::load(&app.state, 50).expect("demo data");
    let bob = app.user(&admin, "bob@example.com", "member").await;
    drop(bob);
    let bob = app.account_id("bob@example.com");
    let (key, _) = crate::keys::create_key(&admin, &[("name", "Screens")]).await;
    let (lock, _) = crate::roles::catalogue(&admin).await;
    admin.post("/roles", &[("name", "Lockers"), ("permissions", &lock)]).await;
    let role = crate::roles::role_id(&admin.get("/roles").await.body, "Lockers");
    let globex = crate::workspaces::create_workspace(&admin, "Globex").await;
    let ids: BTreeMap<&str, String> = [
        ("/keys/{id}", key.clone()),
        ("/users/{id}", bob.to_string()),
        ("/roles/{id}", role.to_string()),
        ("/permissions/{id}", lock.clone()),
        ("/workspaces/{id}", globex.to_string()),
    ]
    .into_iter()
    .collect();

    // Every GET route of the console is a page measured here or named in NOT_PAGES.
    let mut pages = Vec::new();
    let mut unmapped = Vec::new();
    for (method, route) in keyward::console::ROUTES {
        if *method != "get" || NOT_PAGES.iter().any(|(r, _)| r == route) || PUBLIC.contains(route) {
            continue;
        }
        let url = match route.find('{') {
            None => route.to_string(),
            Some(at) => {
                let (head, tail) = route.split_at(at);
                let pattern = format!("{head}{{id}}");
                match ids.get(pattern.as_str()) {
                    Some(id) => format!("{head}{id}{}", tail.split_once('}').map_or("", |(_, rest)| rest)),
                    None => {
                        unmapped.push(*route);
                        continue;
                    }
                }
            }
        };
        pages.push((slug(route), url, None));
    }
    assert!(unmapped.is_empty(), "GET routes neither measured nor named in NOT_PAGES: {unmapped:?}");
    // What a page shows only after something is done on it, measured then: a script, and what is true once
    // it has taken effect. Adding a person with the invitation box (email on), and an import's preview with
    // its email box, from a file chosen in the page (people to create, to update, and a refused row).
    let add_user = "document.getElementById('new-invite').closest('details').open = true";
    pages.push(("users-add".to_owned(), "/users".to_owned(), Some((add_user, "true"))));
    let preview = "(() => { \
        const csv = 'email,name,role,permissions\\nnew.person@example.com,New Person,Member,\\n\
            bob@example.com,,Auditor,\\nnot-an-address,,,\\n'; \
        const files = new DataTransfer(); \
        files.items.add(new File([csv], 'people.csv', { type: 'text/csv' })); \
        document.getElementById('import-file').files = files.files; \
        document.getElementById('import-upload').requestSubmit(); })()";
    // Shown with the email box in view (the screenshot is of the window).
    let previewed = "(() => { const box = document.getElementById('import-email'); \
        if (box) { box.scrollIntoView({ block: 'center' }); } return box !== null; })()";
    pages.push(("users-import-preview".to_owned(), "/users/import".to_owned(), Some((preview, previewed))));

    let mut failures = Vec::new();
    let mut headers: BTreeMap<&str, Vec<(String, f64)>> = BTreeMap::new();
    let mut report = Vec::new();
    // Public pages first (a fresh browser is signed out); the setup page is seen with its link used.
    let public: Vec<Page<'_>> = PUBLIC
        .iter()
        .map(|p| {
            let url = if *p == "/setup" { format!("/setup?token={setup_token}") } else { p.to_string() };
            (slug(p), url, None)
        })
        .collect();
    for (signed_in, list) in [(false, &public), (true, &pages)] {
        if signed_in {
            chrome.sign_in(&app.base, "admin@example.com").await;
        }
        for (size, width, height) in SIZES {
            chrome.viewport(width, height).await;
            for scheme in SCHEMES {
                chrome.color_scheme(scheme).await;
                for (name, url, open) in list.iter() {
                    chrome.goto(&format!("{}{url}", app.base)).await;
                    if let Some((open, done)) = open {
                        chrome.eval(open).await;
                        chrome.wait_until_true(done).await;
                    }
                    let m = measure(&chrome, &axe).await;
                    chrome.screenshot(&format!("{name}-{size}-{scheme}")).await;
                    if let Some((scroll, inner)) = m.overflow {
                        failures.push(format!("{url} at {size} {scheme}: {scroll} px wide in a {inner} px window"));
                    }
                    for v in &m.serious {
                        failures.push(format!("{url} at {size} {scheme}: axe {v}"));
                    }
                    if size == "390" && m.header > 64.0 {
                        failures.push(format!("{url} at 390: the header is {} px high (at most 64)", m.header));
                    }
                    if signed_in {
                        headers.entry(size).or_default().push((url.clone(), m.header));
                    }
                    report.push(format!(
                        "{url} {size} {scheme}: header {} px, axe serious {}",
                        m.header,
                        m.serious.len()
                    ));
                }
            }
        }
    }
    for (size, seen) in &headers {
        let first = seen[0].1;
        for (url, h) in seen {
            if (h - first).abs() > 0.5 {
                failures.push(format!("{url} at {size}: header {h} px, {} has {first} px", seen[0].0));
            }
        }
    }

    // On a phone the navigation waits behind "Menu" (a link to #nav: it works without scripts too).
    chrome.viewport(390, 844).await;
    chrome.color_scheme("light").await;
    chrome.goto(&format!("{}/keys", app.base)).await;
    let hidden = "getComputedStyle(document.getElementById('nav')).display === 'none'";
    assert_eq!(chrome.eval(hidden).await, json!(true), "the sidebar is folded away on a phone");
    chrome.click(".kw-menu-button").await;
    chrome.wait_until_true("getComputedStyle(document.getElementById('nav')).display !== 'none'").await;
    let users =
        chrome.eval("document.querySelector('#nav a[href=\"/users\"]').getBoundingClientRect().width > 0").await;
    assert_eq!(users, json!(true), "the opened menu offers the pages");
    chrome.screenshot("menu-390-light").await;

    // The API keys table at 1440×900 with 50+ keys: at least 12 rows above the fold.
    chrome.viewport(1440, 900).await;
    chrome.color_scheme("light").await;
    chrome.goto(&format!("{}/keys", app.base)).await;
    let visible = chrome
        .eval("Array.from(document.querySelectorAll('#keys-table tbody tr')).filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length")
        .await;
    let rows = visible.as_i64().unwrap_or(0);
    report.push(format!("/keys 1440×900: {rows} rows above the fold"));
    if rows < 12 {
        failures.push(format!("/keys at 1440×900 shows {rows} rows above the fold, not 12"));
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
    chrome.client.clone().close().await.expect("close the browser");
}

impl Chrome {
    /// The page's viewport, exactly (the window's outer size differs by the browser's frame).
    pub async fn viewport(&self, width: u32, height: u32) {
        let mobile = width < 600;
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await;
    }

    /// Emulates the system's light or dark preference (`prefers-color-scheme`).
    pub async fn color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
    }

    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.client.issue_cmd(crate::browser::Cdp { cmd: cmd.to_owned(), params }).await.expect(cmd)
    }
}
