//! Two-factor sign-in: set up from the profile with a QR code and the secret in text, confirmed with a
//! code; sign-in asks for a code after the password; a code is used once; recovery codes work once each;
//! failures count toward the lockout; reveals ask for a code; a workspace can require two-factor; an
//! Administrator can reset someone's (audited).

use diesel::prelude::*;
use keyward::db::schema;
use keyward::domain::two_factor::{code_at, totp};
use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp};
use crate::keys::create_key;
use crate::on_both_backends;

/// The secret shown on the set-up page, as bytes.
fn secret_on(page: &str) -> Vec<u8> {
    let text = page.split("id=\"totp-secret\" class=\"secret-text\">").nth(1).and_then(|s| s.split('<').next());
    let compact: String = text.expect("the secret in text").split_whitespace().collect();
    totp_rs::Secret::try_from_base32(&compact).expect("base32").as_ref().to_vec()
}

/// The code an authenticator app would show now.
pub fn code(app: &TestApp, secret: &[u8], email: &str) -> String {
    code_at(&totp(secret, email).expect("totp"), app.clock.now())
}

/// Sets up two-factor for the signed-in browser; returns the secret and the recovery codes.
pub async fn enrol(app: &TestApp, b: &Browser, email: &str) -> (Vec<u8>, Vec<String>) {
    b.get("/profile/two-factor").await;
    let setup = b.post("/profile/two-factor", &[]).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    assert!(setup.body.contains("<svg") && setup.body.contains("<path"), "a QR code drawn on the server");
    let secret = secret_on(&setup.body);
    let done = b.post("/profile/two-factor/confirm", &[("code", &code(app, &secret, email))]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let codes: Vec<String> =
        done.body.split("<li><code>").skip(1).map(|s| s.split('<').next().expect("code").to_owned()).collect();
    (secret, codes)
}

fn failed_attempts(app: &TestApp, email: &str) -> i64 {
    let id = app.account_id(email);
    app.state
        .db
        .read(move |c| schema::accounts::table.find(id).select(schema::accounts::failed_attempts).first(c))
        .expect("account")
}

on_both_backends! {
    async fn two_factor_is_set_up_asked_at_sign_in_used_once_and_recovered(app) {
        let admin = app.admin().await;
        let ada = app.user(&admin, "ada@example.com", "member").await;

        // Off to begin with; a wrong first code leaves it off and shows the same secret again.
        let off = ada.get("/profile/two-factor").await.body;
        assert!(off.contains("Set up two-factor"), "{off}");
        let setup = ada.post("/profile/two-factor", &[]).await;
        let secret = secret_on(&setup.body);
        let wrong = ada.post("/profile/two-factor/confirm", &[("code", "000000")]).await;
        let wrong = if code(&app, &secret, "ada@example.com") == "000000" {
            ada.post("/profile/two-factor/confirm", &[("code", "111111")]).await
        } else {
            wrong
        };
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains("That code does not match"), "{}", wrong.body);
        assert_eq!(secret_on(&wrong.body), secret, "the same secret, still waiting");
        let done = ada.post("/profile/two-factor/confirm", &[("code", &code(&app, &secret, "ada@example.com"))]).await;
        assert_eq!(done.status, StatusCode::OK);
        let recovery: Vec<String> =
            done.body.split("<li><code>").skip(1).map(|s| s.split('<').next().expect("code").to_owned()).collect();
        assert_eq!(recovery.len(), 10);
        assert!(ada.get("/profile/two-factor").await.body.contains("10 unused recovery codes left"));
        assert!(!ada.get("/profile/two-factor").await.body.contains(&recovery[0]), "recovery codes are shown once");

        // Sign-in asks for a code after the password; the password alone opens nothing.
        let b = app.browser();
        let first = b.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(first.location(), "/login/two-factor");
        assert_eq!(b.get("/keys").await.status, StatusCode::SEE_OTHER, "not signed in yet");
        let asked = b.get("/login/two-factor").await;
        assert!(asked.body.contains("Code from your authenticator app"));
        // The code just used to confirm the set-up is spent.
        let replay = b.post("/login/two-factor", &[("code", &code(&app, &secret, "ada@example.com"))]).await;
        assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.body);
        assert!(replay.body.contains("That code is not valid"));
        assert_eq!(failed_attempts(&app, "ada@example.com"), 1, "a wrong code counts toward the lockout");
        app.clock.advance(30);
        let fresh = code(&app, &secret, "ada@example.com");
        let ok = b.post("/login/two-factor", &[("code", &fresh)]).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        assert_eq!(b.get("/keys").await.status, StatusCode::OK);
        assert_eq!(failed_attempts(&app, "ada@example.com"), 0);

        // The same code again, in another sign-in within its window: refused.
        let c = app.browser();
        c.sign_in("ada@example.com", PASSWORD).await;
        c.get("/login/two-factor").await;
        assert_eq!(c.post("/login/two-factor", &[("code", &fresh)]).await.status, StatusCode::UNAUTHORIZED);

        // A recovery code works once, typed loosely.
        let loose = recovery[3].to_uppercase().replace('-', " ");
        assert_eq!(c.post("/login/two-factor", &[("code", &loose)]).await.status, StatusCode::SEE_OTHER);
        let d = app.browser();
        d.sign_in("ada@example.com", PASSWORD).await;
        d.get("/login/two-factor").await;
        assert_eq!(d.post("/login/two-factor", &[("code", &recovery[3])]).await.status, StatusCode::UNAUTHORIZED);
        assert!(ada.get("/profile/two-factor").await.body.contains("9 unused recovery codes left"));

        // Without a password accepted first, the second step is not there.
        let stranger = app.browser();
        stranger.get("/login").await;
        assert_eq!(stranger.get("/login/two-factor").await.location(), "/login?expired=1");
        assert_eq!(stranger.post("/login/two-factor", &[("code", "123456")]).await.location(), "/login?expired=1");

        // Enough wrong codes lock the account like wrong passwords do.
        for _ in 0..12 {
            app.clock.advance(3_600);
            if d.sign_in("ada@example.com", PASSWORD).await.status != StatusCode::SEE_OTHER {
                break;
            }
            d.get("/login/two-factor").await;
            let page = d.post("/login/two-factor", &[("code", "abcde-fghjk")]).await;
            if page.status == StatusCode::FORBIDDEN {
                assert!(page.body.contains("locked"), "{}", page.body);
                break;
            }
            assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
        }
        let locked = app.state.db.read(|c| {
            schema::accounts::table
                .filter(schema::accounts::email.eq("ada@example.com"))
                .select(schema::accounts::locked_at)
                .first::<Option<i64>>(c)
        });
        assert!(locked.expect("account").is_some(), "wrong codes locked the account");

        // Audited (the Administrator's session ended in the hours the lockout took).
        let admin = app.browser();
        admin.sign_in("admin@example.com", PASSWORD).await;
        let audit = admin.get("/audit").await.body;
        for action in ["account.two_factor_enabled", "account.two_factor_failed", "account.recovery_code_used"] {
            assert!(audit.contains(action), "{action} is not in the audit log");
        }
    }
}

on_both_backends! {
    async fn reveals_ask_for_the_code_and_two_factor_can_be_required_reset_and_switched_off(app) {
        let admin = app.admin().await;
        let (secret, _) = enrol(&app, &admin, "admin@example.com").await;
        let (key_id, key) = create_key(&admin, &[("name", "Guarded")]).await;

        // Revealing a key asks for the code as well as the password.
        let page = admin.get(&format!("/keys/{key_id}")).await.body;
        assert!(page.contains("name=\"code\""), "the reveal form asks for a code");
        let reveal = format!("/keys/{key_id}/reveal");
        let no_code = admin.post(&reveal, &[("password", PASSWORD)]).await;
        assert_eq!(no_code.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_code.body.contains("Enter the code from your authenticator app."), "{}", no_code.body);
        app.clock.advance(30);
        let shown = admin.post(&reveal, &[("password", PASSWORD), ("code", &code(&app, &secret, "admin@example.com"))]).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert!(shown.body.contains(&key));
        // So does the shared secret.
        admin.get("/settings").await;
        let secret_reveal = admin.post("/settings/shared-secret/reveal", &[("password", PASSWORD)]).await;
        assert_eq!(secret_reveal.status, StatusCode::UNPROCESSABLE_ENTITY);
        app.clock.advance(30);
        let shown = admin
            .post("/settings/shared-secret/reveal", &[("password", PASSWORD), ("code", &code(&app, &secret, "admin@example.com"))])
            .await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert!(shown.body.contains("kwss_"));

        // Required for the workspace: someone without two-factor is sent to set it up, and nowhere else.
        let bob = app.user(&admin, "bob@example.com", "member").await;
        admin.get("/settings").await;
        assert_eq!(admin.post("/settings/two-factor", &[("required", "1")]).await.status, StatusCode::SEE_OTHER);
        assert!(admin.get("/settings/two-factor").await.body.contains("name=\"required\" value=\"1\" checked"));
        let sent = bob.get("/keys").await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER);
        assert_eq!(sent.location(), "/profile/two-factor?required=1");
        let asked = bob.get("/profile/two-factor?required=1").await;
        assert!(asked.body.contains("This workspace requires two-factor sign-in."), "{}", asked.body);
        assert_eq!(bob.get("/logout").await.status, StatusCode::OK, "signing out is allowed");
        enrol(&app, &bob, "bob@example.com").await;
        assert_eq!(bob.get("/keys").await.status, StatusCode::OK, "in, once set up");
        // A Member cannot reset anyone's.
        let me = app.account_id("admin@example.com");
        assert_eq!(bob.post(&format!("/users/{me}/two-factor/reset"), &[]).await.status, StatusCode::FORBIDDEN);

        // An Administrator resets Bob's (audited); Bob signs in with the password alone until he sets it up again.
        let bob_id = app.account_id("bob@example.com");
        let shown = admin.get(&format!("/users/{bob_id}")).await.body;
        assert!(shown.contains("Reset two-factor"), "{shown}");
        assert_eq!(admin.post(&format!("/users/{bob_id}/two-factor/reset"), &[]).await.status, StatusCode::SEE_OTHER);
        let again = app.browser();
        assert_eq!(again.sign_in("bob@example.com", PASSWORD).await.location(), "/");
        assert!(admin.get("/audit").await.body.contains("account.two_factor_reset"));
        let me = app.account_id("admin@example.com");
        assert_eq!(admin.post(&format!("/users/{me}/two-factor/reset"), &[]).await.status, StatusCode::CONFLICT);

        // The owner switches it off with password and code.
        admin.post("/settings/two-factor", &[]).await;
        admin.get("/profile/two-factor").await;
        let refused = admin.post("/profile/two-factor/disable", &[("password", PASSWORD), ("code", "")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        app.clock.advance(30);
        let off = admin
            .post("/profile/two-factor/disable", &[("password", PASSWORD), ("code", &code(&app, &secret, "admin@example.com"))])
            .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
        assert!(admin.get("/profile/two-factor").await.body.contains("Set up two-factor"));
        assert!(!admin.get(&format!("/keys/{key_id}")).await.body.contains("name=\"code\""), "no code asked any more");
    }
}
