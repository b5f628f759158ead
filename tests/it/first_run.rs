//! First run: the dashboard's checklist, ticked from the data, and the starter catalogues that fill an empty
//! Permissions page (never with people or keys).

use reqwest::StatusCode;
use serde_json::json;

use crate::keys::create_key;
use crate::on_both_backends;
use crate::permissions::permission_id;

fn step_done(dashboard: &str, step: &str) -> bool {
    dashboard.contains(&format!("data-step=\"{step}\" class=\"done\""))
}

on_both_backends! {
    async fn the_checklist_is_ticked_from_the_data_and_goes_away_when_a_key_has_been_verified(app) {
        let admin = app.admin().await;
        let dashboard = admin.get("/").await.body;
        assert!(dashboard.contains("id=\"first-steps\""), "{dashboard}");
        for step in ["permissions", "grants", "keys", "verify"] {
            assert!(!step_done(&dashboard, step), "{step} is not done yet");
        }
        // The lines to paste name this server.
        assert!(dashboard.contains(&format!("curl -s {}/api/v1/keys/verify", app.base)), "{dashboard}");
        assert!(dashboard.contains(&format!("proxy_pass {}/api/v1/authorize;", app.base)));
        assert!(dashboard.contains(&format!("forward_auth {} {{", app.base.trim_start_matches("http://"))));

        // 1. A starter catalogue describes what integrations may call.
        admin.get("/permissions").await;
        assert_eq!(admin.post("/permissions/starter", &[("catalogue", "device-actions")]).await.status, StatusCode::SEE_OTHER);
        assert!(step_done(&admin.get("/").await.body, "permissions"));

        // 2. Granting one to a person.
        let lock = permission_id(&admin.get("/keys/new").await.body, "device.lock");
        let me = app.account_id("admin@example.com");
        admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &lock)]).await;
        let dashboard = admin.get("/").await.body;
        assert!(step_done(&dashboard, "grants") && !step_done(&dashboard, "keys"));

        // 3. A key; 4. verified once: the list is gone.
        let (_, secret) = create_key(&admin, &[("name", "First"), ("permissions", &lock)]).await;
        assert!(step_done(&admin.get("/").await.body, "keys"));
        let verified: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v1/keys/verify", app.base))
            .json(&json!({ "key": secret, "permission": "device.lock" }))
            .send()
            .await
            .expect("verify")
            .json()
            .await
            .expect("json");
        assert_eq!(verified["code"], "VALID", "{verified}");
        app.state.usage.flush(&app.state.db).expect("usage flushed");
        assert!(!admin.get("/").await.body.contains("id=\"first-steps\""), "every step is done");

        // Members never see it.
        let member = app.user(&admin, "mo@example.com", "member").await;
        assert!(!member.get("/").await.body.contains("id=\"first-steps\""));
    }
}

on_both_backends! {
    async fn a_starter_catalogue_adds_its_permissions_and_roles_once_and_nothing_else(app) {
        let admin = app.admin().await;
        let empty = admin.get("/permissions").await.body;
        assert!(empty.contains("Start from a catalogue") && empty.contains("LoRaWAN integration APIs (SenRa-style)"));
        assert!(!empty.contains("keyward demo"), "a production workspace is not sent to the demo");
        let people = admin.get("/users").await.body.matches("<tr id=\"user-").count();
        let keys_before = admin.get("/").await.count("keys-active");

        assert_eq!(admin.post("/permissions/starter", &[("catalogue", "lorawan")]).await.status, StatusCode::SEE_OTHER);
        let catalogue = admin.get("/permissions").await.body;
        for rule in [
            "/integration/device/sendmsg", "/integration/device/sendmcastmsg", "/integration/device/clearmsgs",
            "/integration/mcastTransfer", "/integration/device/status", "/integration/device/register",
            "/integration/device/activate", "/integration/device/activateOne", "/integration/device/deactivate",
            "/integration/device/update", "/integration/device/csvExport", "/integration/usage/details",
            "/integration/usage/contracts",
        ] {
            assert!(catalogue.contains(&format!("<code>* {rule}</code>")), "{rule}");
        }
        let roles = admin.get("/roles").await.body;
        for role in ["Device: Downlinks", "Device: FUOTA", "Device: Onboarding", "Device: Read Access", "Device: Full Access", "Billing Access"] {
            assert!(roles.contains(&format!(">{role}</a>")), "{role}: {roles}");
        }
        // Full Access holds the four device permissions, and only those.
        let full = crate::roles::role_id(&roles, "Device: Full Access");
        let full = admin.get(&format!("/roles/{full}")).await.body;
        assert_eq!(full.matches("name=\"permissions\" value=\"").count(), 5);
        assert_eq!(full.matches(" checked").count(), 4, "{full}");

        // Again: nothing new. And never people or keys.
        admin.post("/permissions/starter", &[("catalogue", "lorawan")]).await;
        assert_eq!(admin.get("/roles").await.body.matches(">Device: Full Access</a>").count(), 1);
        assert_eq!(admin.get("/users").await.body.matches("<tr id=\"user-").count(), people);
        assert_eq!(admin.get("/").await.count("keys-active"), keys_before);
        let audit = admin.get("/audit?action=catalogue.applied").await.body;
        assert!(audit.contains("<ins>lorawan</ins>"), "{audit}");

        // Unknown catalogues and non-administrators are refused.
        assert_eq!(admin.post("/permissions/starter", &[("catalogue", "nope")]).await.status, StatusCode::NOT_FOUND);
        let auditor = app.user(&admin, "aud@example.com", "auditor").await;
        auditor.get("/permissions").await;
        assert_eq!(auditor.post("/permissions/starter", &[("catalogue", "lorawan")]).await.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn keyward_catalogue_add_fills_the_first_workspace_from_the_command_line() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let admin = app.admin().await;
    let (ok, stdout, _) = app.command(&["catalogue", "list"], &[]);
    assert!(ok && stdout.contains("device-actions") && stdout.contains("lorawan"), "{stdout}");
    let (ok, _, stderr) = app.command(&["catalogue", "add", "device-actions"], &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("5 permissions and 0 roles added, 0 key types restricted"), "{stderr}");
    let catalogue = admin.get("/permissions").await.body;
    for label in ["View Location", "Change Status", "Lock Device", "Unlock Device", "Wipe Device"] {
        assert!(catalogue.contains(label), "{label}");
    }
    assert_eq!(catalogue.matches("high risk").count(), 2, "Unlock and Wipe are high-risk");
    let (ok, _, stderr) = app.command(&["catalogue", "add", "nope"], &[]);
    assert!(!ok && stderr.contains("no catalogue nope"), "{stderr}");
}

on_both_backends! {
    async fn a_new_key_starts_with_a_type_that_needs_no_identifier(app) {
        let admin = app.admin().await;
        let form = admin.get("/keys/new").await.body;
        let select = form.split("<select id=\"key_type\"").nth(1).and_then(|s| s.split("</select>").next()).expect("types");
        let chosen = select.split("<option").find(|o| o.contains(" selected")).expect("a type is chosen");
        assert!(!chosen.contains("(needs "), "the first submit must not fail for an identifier: {chosen}");
        // So a name alone makes a key.
        let page = admin.post("/keys", &[("name", "Just a name"), ("key_type", chosen.split('"').nth(1).expect("id")), ("expiry", "90")]).await;
        assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    }
}
