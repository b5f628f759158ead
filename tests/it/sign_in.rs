//! First-run setup, signing in and out, lockout, password changes and session lifetime.

use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp};

/// Fails to sign in (moving the clock past each delay) until the account locks.
async fn lock_out(app: &TestApp, b: &Browser, email: &str) {
    for _ in 0..=app.state.config.lockout.threshold() {
        app.clock.advance(600);
        if b.sign_in(email, "wrong password 1234").await.status == StatusCode::FORBIDDEN {
            return;
        }
    }
    panic!("{email} did not lock");
}
use crate::on_both_backends;

on_both_backends! {
    async fn the_setup_link_creates_the_first_administrator_once(app) {
        let token = app.setup_token.clone().expect("setup token");
        let stranger = app.browser();
        assert_eq!(stranger.get("/setup").await.status, StatusCode::NOT_FOUND);
        assert_eq!(stranger.get("/setup?token=wrong").await.status, StatusCode::NOT_FOUND);
        assert!(stranger.get("/login").await.body.contains("setup link"));

        let admin = app.admin().await;
        let dashboard = admin.get("/").await;
        assert_eq!(dashboard.status, StatusCode::OK);
        assert!(dashboard.body.contains("Ada Admin"));
        assert_eq!(dashboard.count("accounts-active"), Some(1));
        assert_eq!(dashboard.count("keys-active"), Some(0));
        assert!(dashboard.body.contains("setup.completed"));

        let again = app.browser();
        assert_eq!(again.get(&format!("/setup?token={token}")).await.status, StatusCode::NOT_FOUND);
        again.get("/login").await;
        let replay = again
            .post("/setup", &[("token", &token), ("workspace", "X"), ("name", "Eve"), ("email", "eve@example.com"),
                              ("password", PASSWORD), ("confirm", PASSWORD)])
            .await;
        assert_eq!(replay.status, StatusCode::NOT_FOUND);
        assert_eq!(again.sign_in("eve@example.com", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    }
}

on_both_backends! {
    async fn setup_with_bad_input_explains_and_creates_nothing(app) {
        let token = app.setup_token.clone().expect("setup token");
        let b = app.browser();
        b.get(&format!("/setup?token={token}")).await;
        let page = b
            .post("/setup", &[("token", &token), ("workspace", "Acme"), ("name", "Ada"), ("email", "ada@example.com"),
                              ("password", PASSWORD), ("confirm", "something else entirely")])
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("The two passwords differ."));
        assert!(page.body.contains("ada@example.com"), "the form keeps what was typed");
        let short = b
            .post("/setup", &[("token", &token), ("workspace", "Acme"), ("name", "Ada"), ("email", "ada@example.com"),
                              ("password", "short"), ("confirm", "short")])
            .await;
        assert!(short.body.contains("at least 12 characters"));
        assert_eq!(app.browser().sign_in("ada@example.com", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
        // The link still works after a failed attempt.
        assert_eq!(app.browser().get(&format!("/setup?token={token}")).await.status, StatusCode::OK);
    }
}

on_both_backends! {
    async fn signing_in_lands_on_the_requested_page_and_signing_out_ends_the_session(app) {
        let admin = app.admin().await;
        let b = app.browser();
        let redirect = b.get("/users").await;
        assert_eq!(redirect.status, StatusCode::SEE_OTHER);
        assert_eq!(redirect.location(), "/login?next=%2Fusers");
        b.get("/login?next=%2Fusers").await;
        let signed_in = b.post("/login", &[("email", "ADMIN@example.com"), ("password", PASSWORD), ("next", "/users")]).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
        assert_eq!(signed_in.location(), "/users");
        assert_eq!(b.get("/users").await.status, StatusCode::OK);

        b.get("/logout").await;
        let out = b.post("/logout", &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
        // The other browser of the same person is unaffected.
        assert_eq!(admin.get("/").await.status, StatusCode::OK);
    }
}

on_both_backends! {
    async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(app) {
        app.admin().await;
        let wrong = app.browser().sign_in("admin@example.com", "not the password at all").await;
        let unknown = app.browser().sign_in("nobody@example.com", "not the password at all").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.body.contains("Wrong email or password."));
        assert!(unknown.body.contains("Wrong email or password."));
        assert!(wrong.body.contains("admin@example.com"), "the email stays in the form");
    }
}

on_both_backends! {
    async fn repeated_failures_slow_down_then_lock_until_an_administrator_unlocks(app) {
        let admin = app.admin().await;
        app.user(&admin, "mia@example.com", "member").await;
        let b = app.browser();
        let attempt = |password: &'static str| {
            let b = &b;
            async move { b.sign_in("mia@example.com", password).await }
        };
        for _ in 0..3 {
            assert_eq!(attempt("wrong password 1234").await.status, StatusCode::UNAUTHORIZED);
        }
        // From the fourth failure on, attempts must wait: 1 s, 2 s, 4 s, …
        let wait = attempt(PASSWORD).await;
        assert_eq!(wait.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(wait.body.contains("Wait 1 seconds"), "{}", wait.body);
        let mut delay = 1;
        for _ in 3..9 {
            app.clock.advance(delay);
            assert_eq!(attempt("wrong password 1234").await.status, StatusCode::UNAUTHORIZED);
            delay *= 2;
        }
        app.clock.advance(delay);
        // The tenth consecutive failure (the default threshold) locks the account.
        let locked = attempt("wrong password 1234").await;
        assert_eq!(locked.status, StatusCode::FORBIDDEN);
        assert!(locked.body.contains("locked"));
        app.clock.advance(3600);
        assert_eq!(attempt(PASSWORD).await.status, StatusCode::FORBIDDEN, "the right password does not open a locked account");

        // The hour that passed also ended the administrator's idle session.
        assert_eq!(admin.sign_in("admin@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER);
        let users = admin.get("/users").await;
        assert!(users.body.contains("Locked"));
        let id = users.body.split("action=\"/users/").filter_map(|s| s.split_once("/unlock")).map(|(id, _)| id.to_owned()).next();
        let id = id.expect("an unlock button");
        let unlocked = admin.htmx_post(&format!("/users/{id}/unlock"), &[]).await;
        assert_eq!(unlocked.status, StatusCode::OK);
        assert!(unlocked.body.contains("Active"));
        assert_eq!(attempt(PASSWORD).await.status, StatusCode::SEE_OTHER);
    }
}

on_both_backends! {
    async fn the_command_line_creates_admins_and_unlocks_accounts(app) {
        let (ok, stdout, stderr) = app.command(
            &["admin", "create", "--email", "Ops@Example.com", "--name", "Ops"],
            &[("KEYWARD_ADMIN_PASSWORD", PASSWORD)],
        );
        assert!(ok, "{stderr}");
        assert!(stdout.is_empty(), "nothing on stdout: {stdout}");
        let b = app.browser();
        assert_eq!(b.sign_in("ops@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER);
        assert!(b.get("/users").await.body.contains("ops@example.com"));

        let (ok, _, stderr) = app.command(&["admin", "create", "--email", "ops@example.com", "--name", "Again"],
                                          &[("KEYWARD_ADMIN_PASSWORD", PASSWORD)]);
        assert!(!ok);
        assert!(stderr.contains("already exists"), "{stderr}");
        let (ok, _, stderr) = app.command(&["admin", "create", "--email", "x@example.com", "--name", "X"], &[]);
        assert!(!ok, "without a password and a terminal it refuses");
        assert!(stderr.contains("KEYWARD_ADMIN_PASSWORD"), "{stderr}");

        let locked = app.browser();
        lock_out(&app, &locked, "ops@example.com").await;
        assert_eq!(locked.sign_in("ops@example.com", PASSWORD).await.status, StatusCode::FORBIDDEN);
        let (ok, _, stderr) = app.command(&["account", "unlock", "ops@example.com"], &[]);
        assert!(ok, "{stderr}");
        assert_eq!(locked.sign_in("ops@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER);

        let (ok, _, stderr) = app.command(&["account", "unlock", "nobody@example.com"], &[]);
        assert!(!ok);
        assert!(stderr.contains("no account"), "{stderr}");
    }
}

on_both_backends! {
    async fn changing_the_password_ends_the_other_sessions_but_not_this_one(app) {
        let here = app.admin().await;
        let elsewhere = app.browser();
        assert_eq!(elsewhere.sign_in("admin@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER);

        here.get("/profile").await;
        let wrong = here
            .htmx_post("/profile/password", &[("current_password", "not it at all"), ("new_password", "a brand new passphrase"),
                                              ("confirm", "a brand new passphrase")])
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains("not your current password"));
        assert_eq!(elsewhere.get("/").await.status, StatusCode::OK, "a refused change ends nothing");

        let changed = here
            .htmx_post("/profile/password", &[("current_password", PASSWORD), ("new_password", "a brand new passphrase"),
                                              ("confirm", "a brand new passphrase")])
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert!(changed.body.contains("Password changed"));
        assert_eq!(here.get("/").await.status, StatusCode::OK);
        let gone = elsewhere.get("/").await;
        assert_eq!(gone.status, StatusCode::SEE_OTHER);
        assert!(gone.location().starts_with("/login"));
        assert_eq!(app.browser().sign_in("admin@example.com", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.browser().sign_in("admin@example.com", "a brand new passphrase").await.status, StatusCode::SEE_OTHER);
    }
}

on_both_backends! {
    async fn sessions_end_after_the_idle_timeout_and_the_absolute_lifetime(app) {
        let b = app.admin().await;
        app.clock.advance(29 * 60);
        assert_eq!(b.get("/").await.status, StatusCode::OK);
        app.clock.advance(29 * 60);
        assert_eq!(b.get("/").await.status, StatusCode::OK, "activity keeps the session alive");
        app.clock.advance(31 * 60);
        let expired = b.get("/").await;
        assert_eq!(expired.status, StatusCode::SEE_OTHER);
        assert!(expired.location().contains("expired=1"));
        assert!(b.get(expired.location()).await.body.contains("Your session has ended"));

        let active = app.browser();
        active.sign_in("admin@example.com", PASSWORD).await;
        for _ in 0..25 {
            app.clock.advance(29 * 60);
            active.get("/").await;
        }
        assert_eq!(active.get("/").await.status, StatusCode::SEE_OTHER, "12 hours is the most, however active");
    }
}

on_both_backends! {
    async fn disabling_an_account_ends_its_sessions_at_once(app) {
        let admin = app.admin().await;
        let member = app.user(&admin, "mo@example.com", "member").await;
        assert_eq!(member.get("/").await.status, StatusCode::OK);
        let users = admin.get("/users").await;
        let id = users.body.split("action=\"/users/").filter_map(|s| s.split_once("/disable")).map(|(id, _)| id.to_owned()).next();
        let disabled = admin.htmx_post(&format!("/users/{}/disable", id.expect("a disable button")), &[]).await;
        assert_eq!(disabled.status, StatusCode::OK);
        assert!(disabled.body.contains("Disabled"));
        assert_eq!(member.get("/").await.status, StatusCode::SEE_OTHER);
        let again = app.browser().sign_in("mo@example.com", PASSWORD).await;
        assert!(again.body.contains("disabled"), "{}", again.body);
        assert_eq!(admin.get("/").await.count("accounts-disabled"), Some(1));
    }
}

#[tokio::test]
async fn a_fresh_install_has_no_accounts_and_a_setup_token() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    assert!(app.setup_token.as_ref().is_some_and(|t| t.len() >= 43));
}

on_both_backends! {
    async fn a_workspace_can_shorten_its_sessions(app) {
        let b = app.admin().await;
        b.get("/settings").await;
        let fields = [("reminder_days", "3"), ("rotation_days", "90"), ("recent_use_days", "3"), ("stale_days", "30")];
        let mut bad = fields.to_vec();
        bad.push(("session_idle_minutes", "2"));
        let refused = b.post("/settings/policies", &bad).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("The idle timeout must be a whole number from 5 to 720."));
        let mut good = fields.to_vec();
        good.extend([("session_idle_minutes", "10"), ("session_lifetime_hours", "1")]);
        assert_eq!(b.post("/settings/policies", &good).await.status, StatusCode::SEE_OTHER);
        app.clock.advance(9 * 60);
        assert_eq!(b.get("/").await.status, StatusCode::OK);
        app.clock.advance(11 * 60);
        let expired = b.get("/").await;
        assert_eq!(expired.status, StatusCode::SEE_OTHER, "ten idle minutes end the session here");
        assert!(expired.location().contains("expired=1"));
        let again = app.browser();
        again.sign_in("admin@example.com", PASSWORD).await;
        for _ in 0..6 {
            app.clock.advance(9 * 60);
            assert_eq!(again.get("/").await.status, StatusCode::OK);
        }
        app.clock.advance(9 * 60);
        assert_eq!(again.get("/").await.status, StatusCode::SEE_OTHER, "one hour in all");
    }
}

/// A client with no cookie jar: cookies go where the test puts them, as a thief's copy would.
struct Raw {
    client: reqwest::Client,
    base: String,
}

impl Raw {
    fn new(app: &TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { client, base: app.base.clone() }
    }

    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let response =
            self.client.get(format!("{}{path}", self.base)).header("cookie", cookie).send().await.expect("get");
        (response.status(), response.text().await.unwrap_or_default())
    }

    /// Signs in and returns the session cookie (`name=value`).
    async fn sign_in(&self, email: &str) -> String {
        let login = self.client.get(format!("{}/login", self.base)).send().await.expect("login page");
        let cookie = cookie_of(&login);
        let body = login.text().await.expect("body");
        let csrf = body.split("name=\"csrf_token\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("csrf");
        let signed = self
            .client
            .post(format!("{}/login", self.base))
            .header("cookie", &cookie)
            .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
            .form(&[("csrf_token", csrf), ("email", email), ("password", PASSWORD)])
            .send()
            .await
            .expect("sign in");
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);
        cookie_of(&signed)
    }

    async fn post(&self, path: &str, cookie: &str) -> StatusCode {
        let (_, page) = self.get("/profile", cookie).await;
        let csrf = page.split("name=\"csrf_token\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("");
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .form(&[("csrf_token", csrf)])
            .send()
            .await
            .expect("post");
        response.status()
    }
}

fn cookie_of(response: &reqwest::Response) -> String {
    let set = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("a session cookie");
    set.split(';').next().expect("name=value").to_owned()
}

on_both_backends! {
    /// Signing out ends the session on the server: a copy of the cookie taken before stops working. People
    /// see their sessions, end one or all others, and an Administrator ends all of someone's.
    async fn signed_out_cookies_stay_dead_and_sessions_are_listed_and_ended(app) {
        let admin = app.admin().await;
        app.user(&admin, "m@example.com", "member").await;
        let raw = Raw::new(&app);
        let cookie = raw.sign_in("m@example.com").await;
        let copy = cookie.clone();
        assert_eq!(raw.get("/", &copy).await.0, StatusCode::OK);
        assert_eq!(raw.post("/logout", &cookie).await, StatusCode::SEE_OTHER);
        assert_eq!(raw.get("/", &copy).await.0, StatusCode::SEE_OTHER, "the copied cookie is dead");
        app.clock.advance(10);
        assert_eq!(raw.get("/profile", &copy).await.0, StatusCode::SEE_OTHER);

        // Two more sessions (the browser that app.user signed in is a third): the profile lists all three,
        // this one marked; "sign out everywhere else" ends the others.
        let laptop = raw.sign_in("m@example.com").await;
        let phone = raw.sign_in("m@example.com").await;
        let (_, profile) = raw.get("/profile", &laptop).await;
        assert_eq!(profile.matches("id=\"session-").count(), 3, "{profile}");
        assert!(profile.contains("This browser") && profile.contains("Firefox on Linux"), "{profile}");
        assert_eq!(raw.post("/profile/sessions/end-others", &laptop).await, StatusCode::SEE_OTHER);
        assert_eq!(raw.get("/", &phone).await.0, StatusCode::SEE_OTHER);
        assert_eq!(raw.get("/", &laptop).await.0, StatusCode::OK);

        // One by one.
        let tablet = raw.sign_in("m@example.com").await;
        let (_, profile) = raw.get("/profile", &laptop).await;
        let other: i64 = profile.split("/profile/sessions/").nth(1).and_then(|s| s.split('/').next()).and_then(|s| s.parse().ok()).expect("the other session");
        assert_eq!(raw.post(&format!("/profile/sessions/{other}/end"), &laptop).await, StatusCode::SEE_OTHER);
        assert_eq!(raw.get("/", &tablet).await.0, StatusCode::SEE_OTHER);

        // An Administrator ends every session of the person.
        let id = app.account_id("m@example.com");
        admin.get(&format!("/users/{id}")).await;
        assert_eq!(admin.post(&format!("/users/{id}/sessions/end"), &[]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(raw.get("/", &laptop).await.0, StatusCode::SEE_OTHER);
        assert_eq!(admin.get("/").await.status, StatusCode::OK);
    }
}

on_both_backends! {
    /// Repeated failures on an email that has no account are answered exactly as on one that has: the
    /// same statuses and messages, attempt by attempt, through the delays to the lock.
    async fn sign_in_does_not_tell_which_emails_exist(app) {
        let admin = app.admin().await;
        app.user(&admin, "mia@example.com", "member").await;
        let mut seen: Vec<Vec<(StatusCode, String)>> = Vec::new();
        for email in ["mia@example.com", "nobody@example.com"] {
            let b = app.browser();
            let mut answers = Vec::new();
            let mut delay = 0;
            for attempt in 0..14 {
                app.clock.advance(delay);
                let page = b.sign_in(email, "wrong password 1234").await;
                let message = ["Wrong email or password.", "Wait", "locked"]
                    .iter()
                    .find(|m| page.body.contains(*m))
                    .map_or_else(|| page.body.clone(), |m| (*m).to_owned());
                answers.push((page.status, message));
                // Now and then try again at once, inside the wait.
                delay = if attempt % 3 == 2 { 0 } else { 300 };
            }
            seen.push(answers);
        }
        assert_eq!(seen[0], seen[1], "a known and an unknown email answered differently");
        assert!(seen[0].iter().any(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS), "{:?}", seen[0]);
        assert_eq!(seen[0].last().map(|(s, _)| *s), Some(StatusCode::FORBIDDEN), "both end locked: {:?}", seen[0]);
    }
}
