//! CSRF, origin checks and the headers every response carries.

use reqwest::StatusCode;

use crate::helpers::PASSWORD;
use crate::on_both_backends;

on_both_backends! {
    async fn state_changes_without_a_valid_csrf_token_are_refused_and_change_nothing(app) {
        let admin = app.admin().await;
        admin.get("/users").await;
        let token = admin.csrf();
        let add = |email: &'static str| [("email", email), ("name", "N"), ("role", "member"), ("password", PASSWORD), ("confirm", PASSWORD)];

        let missing = admin.post_raw("/users", &add("a@example.com"), &[]).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN);
        assert!(missing.body.contains("This form has expired or came from another site"));

        let mut wrong = vec![("csrf_token", "forged-token")];
        wrong.extend_from_slice(&add("b@example.com"));
        assert_eq!(admin.post_raw("/users", &wrong, &[]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(admin.post_raw("/users", &add("c@example.com"), &[("X-CSRF-Token", "forged")]).await.status, StatusCode::FORBIDDEN);

        let mut right = vec![("csrf_token", token.as_str())];
        right.extend_from_slice(&add("d@example.com"));
        let cross_site = admin.post_raw("/users", &right, &[("Origin", "https://evil.example")]).await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN, "the right token from another origin is refused");
        let fetch_site = admin.post_raw("/users", &right, &[("Sec-Fetch-Site", "cross-site")]).await;
        assert_eq!(fetch_site.status, StatusCode::FORBIDDEN);

        // Another session's token is no good either.
        let other = app.browser();
        other.get("/login").await;
        let mut foreign = vec![("csrf_token", other.csrf())];
        foreign.extend(add("e@example.com").iter().map(|(k, v)| (*k, (*v).to_owned())));
        let foreign: Vec<(&str, &str)> = foreign.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(admin.post_raw("/users", &foreign, &[]).await.status, StatusCode::FORBIDDEN);

        let list = admin.get("/users").await;
        for email in ["a@", "b@", "c@", "d@", "e@"] {
            assert!(!list.body.contains(&format!("{email}example.com")), "{email} must not exist");
        }
        let origin = app.base.clone();
        assert_eq!(admin.post_raw("/users", &right, &[("Origin", origin.as_str())]).await.status, StatusCode::OK);
        assert!(admin.get("/users").await.body.contains("d@example.com"));

        // Sign-in itself is protected against login CSRF.
        let fresh = app.browser();
        let blind = fresh.post_raw("/login", &[("email", "admin@example.com"), ("password", PASSWORD)], &[]).await;
        assert_eq!(blind.status, StatusCode::FORBIDDEN);
    }
}

on_both_backends! {
    async fn every_response_carries_the_security_headers(app) {
        let admin = app.admin().await;
        let anonymous = app.browser();
        let mut pages = Vec::new();
        for path in ["/", "/users", "/profile", "/logout", "/no-such-page"] {
            pages.push((path, admin.get(path).await));
        }
        for path in ["/login", "/healthz", "/readyz", "/static/app.css", "/"] {
            pages.push((path, anonymous.get(path).await));
        }
        for (path, page) in &pages {
            let csp = page.header("content-security-policy");
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert!(csp.contains("script-src 'self'"), "{path}");
            assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}");
            assert_eq!(page.header("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(page.header("referrer-policy"), "same-origin", "{path}");
            assert!(!page.header("x-request-id").is_empty(), "{path}");
            if !path.starts_with("/static/") {
                assert_eq!(page.header("cache-control"), "no-store", "{path}");
            }
        }
        let not_found = &pages[4].1;
        assert_eq!(not_found.status, StatusCode::NOT_FOUND);
        assert!(not_found.body.contains("does not exist"));
    }
}

on_both_backends! {
    async fn session_cookies_are_http_only_and_same_site_strict(app) {
        let page = app.browser().get("/login").await;
        let cookie = page.header("set-cookie");
        assert!(cookie.starts_with("keyward_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("Secure"), "plain HTTP on loopback works without flags");
    }
}

on_both_backends! {
    async fn pages_load_only_local_scripts_and_configure_htmx_safely(app) {
        let admin = app.admin().await;
        let page = admin.get("/").await;
        assert!(!page.body.contains("<script>"), "no inline scripts");
        assert!(page.body.contains("\"allowEval\":false"));
        assert!(page.body.contains("\"selfRequestsOnly\":true"));
        assert!(page.body.contains("\"includeIndicatorStyles\":false"));
        assert!(page.body.contains(&format!("\"X-CSRF-Token\": \"{}\"", admin.csrf())));
        for src in page.body.split("src=\"").skip(1).chain(page.body.split("href=\"/static/").skip(1)) {
            let url = src.split('"').next().unwrap_or_default();
            let url = if url.starts_with('/') { url.to_owned() } else { format!("/static/{url}") };
            let asset = admin.get(&url).await;
            assert_eq!(asset.status, StatusCode::OK, "{url}");
            assert_eq!(asset.header("cache-control"), "public, max-age=31536000, immutable", "{url}");
        }
    }
}

on_both_backends! {
    /// `next` after sign-in is read as a browser reads `Location`: tabs, newlines and backslashes that a
    /// browser drops or turns into `/` never lead to another site, and control characters are no 500.
    async fn sign_in_never_redirects_off_site_whatever_next_holds(app) {
        app.admin().await;
        let nasty = [
            "/%09/evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "//evil.example",
            "/\r\n/evil.example", "\t//evil.example", "/\u{1}x", "https://evil.example/",
        ];
        for next in nasty {
            let b = app.browser();
            b.get("/login").await;
            let page = b.post("/login", &[("email", "admin@example.com"), ("password", PASSWORD), ("next", next)]).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{next:?}: {}", page.body);
            let to = page.location();
            assert!(to.starts_with('/') && !to.starts_with("//") && !to.contains('\\') && !to.contains("evil.example\t"), "{next:?} → {to:?}");
            assert!(to == "/" || to == "/%09/evil.example", "{next:?} → {to:?}");
            // Signed in, the sign-in page sends on at once: the same rule.
            let encoded: String = serde_urlencoded::to_string([("next", next)]).expect("query");
            let again = b.get(&format!("/login?{encoded}")).await;
            assert!(!again.status.is_server_error(), "{next:?}");
            let to = again.location();
            assert!(to == "/" || to == "/%09/evil.example", "{next:?} → {to:?}");
        }
        // A legitimate deep link still works.
        let b = app.browser();
        b.get("/login").await;
        let page = b.post("/login", &[("email", "admin@example.com"), ("password", PASSWORD), ("next", "/keys?q=a%20b")]).await;
        assert_eq!(page.location(), "/keys?q=a%20b");
    }
}

on_both_backends! {
    /// Every export goes through one CSV writer that guards every cell, the owner's email included.
    async fn exports_never_hand_a_spreadsheet_a_formula(app) {
        let admin = app.admin().await;
        app.user(&admin, "=2+5@example.com", "member").await;
        let owner = app.account_id("=2+5@example.com").to_string();
        crate::keys::create_key(&admin, &[("name", "=HYPERLINK(\"http://evil.example\")"), ("owner", &owner)]).await;
        for export in ["/keys/report.csv", "/audit.csv"] {
            let csv = admin.get(export).await;
            assert_eq!(csv.status, StatusCode::OK, "{export}");
            let mut reader = csv::ReaderBuilder::new().from_reader(csv.body.as_bytes());
            let mut fields = 0;
            for record in reader.records() {
                for field in &record.expect("a record") {
                    fields += 1;
                    assert!(!field.starts_with(['=', '+', '-', '@']), "{export}: {field:?}");
                }
            }
            assert!(fields > 0 && csv.body.contains("'=2+5@example.com"), "{export}: {}", csv.body);
        }
    }
}

on_both_backends! {
    /// A name cannot hide characters, and names that look alike are the same name.
    async fn names_cannot_impersonate_each_other(app) {
        let admin = app.admin().await;
        crate::keys::create_key(&admin, &[("name", "Billing sync")]).await;
        let (types, _) = crate::keys::form_ids(&admin).await;
        let integration = types.iter().find(|(n, _)| n.starts_with("Integration")).map(|(_, id)| id.clone()).expect("type");
        for (name, message) in [
            ("Billing sync\u{200B}", "invisible or control characters (it holds U+200B)"),
            ("\u{202E}cnys gnilliB", "(it holds U+202E)"),
            ("\u{FEFF}Billing sync", "(it holds U+FEFF)"),
            ("ＢＩＬＬＩＮＧ  SYNC", "already exists"),
        ] {
            let page = admin.post("/keys", &[("name", name), ("expiry", "90"), ("key_type", &integration)]).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
            assert!(page.body.contains(message), "{name:?}: {message}");
        }
        admin.get("/users").await;
        let person = admin.post("/users", &[("email", "z@example.com"), ("name", "Ada\u{200D}"), ("role", "member"),
            ("password", PASSWORD), ("confirm", PASSWORD)]).await;
        assert_eq!(person.status, StatusCode::UNPROCESSABLE_ENTITY);
        admin.get("/workspaces").await;
        let workspace = admin.post("/workspaces", &[("name", "ＡＣＭＥ")]).await;
        assert!(workspace.body.contains("already exists"), "{}", workspace.body);
    }
}

/// A request body trickled in is cut off at the deadline with 408, and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_in_is_cut_off() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = crate::helpers::TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| c.body_timeout_secs = 1).await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
    let head = format!(
        "POST /api/v1/keys/verify HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    for _ in 0..40 {
        // One byte every 100 ms: always something arriving, never the whole body.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if stream.write_all(b" ").await.is_err() {
            break;
        }
        let mut buf = [0_u8; 512];
        if let Ok(Ok(n)) = tokio::time::timeout(std::time::Duration::from_millis(5), stream.read(&mut buf)).await {
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "after {:?}: {answer:?}", started.elapsed());
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "cut off near the deadline");
    assert_eq!(app.browser().get("/healthz").await.status, StatusCode::OK);
}
