//! Notifications in the console (bell, list, mark read) and the reminder job: expiry reminders at the
//! configured days, expiry, rotation due and ended overlaps — each exactly once, driven by the clock.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp};
use crate::keys::create_key;
use crate::on_both_backends;

const DAY: i64 = 86_400;

fn run(app: &TestApp) -> usize {
    keyward::services::reminders::run(&app.state).expect("reminders").total()
}

on_both_backends! {
    async fn owners_hear_once_before_expiry_at_expiry_and_when_rotation_is_due(app) {
        let admin = app.admin().await;
        admin.get("/settings").await;
        let refused = admin.post("/settings/policies", &[("reminder_days", "7, soon"), ("rotation_days", "90"), ("recent_use_days", "3"), ("stale_days", "30")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("“soon” is not a number of days from 1 to 365."), "{}", refused.body);
        let saved = admin.post("/settings/policies", &[("reminder_days", "3 7"), ("rotation_days", "40"), ("recent_use_days", "3"), ("stale_days", "30")]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let settings = admin.get("/settings/policies").await.body;
        assert!(settings.contains("value=\"7, 3\"") && settings.contains("value=\"40\""));
        // The log reads as before → after; the export keeps the raw JSON.
        assert!(admin.get("/audit?action=settings.policies_changed").await.body.contains("<span class=\"field\">rotation days</span> <del>90</del> → <ins>40</ins>"));
        assert!(admin.get("/audit.csv?action=settings.policies_changed").await.body.contains("rotation_days\"\":40"));

        let (id, _) = create_key(&admin, &[("name", "Nightly export"), ("expiry", "30")]).await;
        assert_eq!(run(&app), 0);
        app.clock.advance(23 * DAY + DAY / 2);
        run(&app);
        assert_eq!(app.notices("admin@example.com"), vec!["Key “Nightly export” expires in 7 days"]);
        assert_eq!(run(&app), 0, "each reminder once");
        app.clock.advance(4 * DAY);
        run(&app);
        app.clock.advance(3 * DAY);
        run(&app);
        assert_eq!(
            app.notices("admin@example.com"),
            vec![
                "Key “Nightly export” has expired",
                "Key “Nightly export” expires in 3 days",
                "Key “Nightly export” expires in 7 days",
            ]
        );
        assert_eq!(run(&app), 0);

        // Rotation is due 40 days after the secret was made; the notice links to the regenerate form.
        admin.sign_in("admin@example.com", PASSWORD).await;
        let (fresh, _) = create_key(&admin, &[("name", "Partner feed"), ("expiry", "never")]).await;
        app.clock.advance(39 * DAY);
        run(&app);
        assert!(!app.notices("admin@example.com").iter().any(|n| n.contains("Partner feed")));
        app.clock.advance(2 * DAY);
        run(&app);
        assert_eq!(app.notices("admin@example.com")[0], "Key “Partner feed” is due for rotation");
        assert_eq!(run(&app), 0);

        // Regenerating with an overlap: when the overlap ends, the owner hears of it.
        admin.sign_in("admin@example.com", PASSWORD).await;
        admin.get(&format!("/keys/{fresh}/rotate")).await;
        let rotated = admin.post(&format!("/keys/{fresh}/rotate"), &[("overlap", "3600")]).await;
        assert!(rotated.status.is_success(), "{}", rotated.status);
        app.clock.advance(2 * 3600);
        run(&app);
        assert_eq!(app.notices("admin@example.com")[0], "The overlap of key “Partner feed” has ended");

        // The bell counts the unread; the list links each notice to its fix; marking read empties the bell.
        admin.sign_in("admin@example.com", PASSWORD).await;
        let bell = admin.get_htmx("/notifications/bell").await.body;
        assert!(bell.contains("data-unread=\"5\""), "{bell}");
        let list = admin.get("/notifications").await.body;
        assert!(list.contains(&format!("href=\"/keys/{id}/edit\"")) && list.contains(&format!("href=\"/keys/{fresh}/rotate\"")), "{list}");
        assert!(list.contains("Mark all read"));
        for link in list.split("<a href=\"/keys/").skip(1).filter_map(|s| s.split('"').next()) {
            let landed = admin.get(&format!("/keys/{link}")).await;
            assert_eq!(landed.status, StatusCode::OK, "the notification's link /keys/{link} opens");
        }
        let first = list.split("id=\"notification-").nth(1).and_then(|s| s.split('"').next()).expect("a notification").to_owned();
        let one = admin.htmx_post(&format!("/notifications/{first}/read"), &[]).await;
        assert_eq!(one.status, StatusCode::OK);
        assert!(one.body.contains("data-unread=\"4\""), "the bell is swapped with the list");
        let again = admin.htmx_post(&format!("/notifications/{first}/read"), &[]).await;
        assert_eq!(again.status, StatusCode::OK, "marking a read one again is no error");
        assert!(again.body.contains("data-unread=\"4\""));
        let all = admin.post("/notifications/read", &[]).await;
        assert_eq!(all.status, StatusCode::SEE_OTHER);
        assert!(app.notices("admin@example.com").is_empty());
        assert!(!admin.get_htmx("/notifications/bell").await.body.contains("data-unread"));
    }
}

on_both_backends! {
    async fn people_see_and_mark_only_their_own_notifications(app) {
        let admin = app.admin().await;
        let member = app.user(&admin, "mo@example.com", "member").await;
        let (_, _) = create_key(&member, &[("name", "Mo's key"), ("expiry", "30")]).await;
        app.clock.advance(28 * DAY);
        run(&app);
        assert_eq!(app.notices("mo@example.com"), vec!["Key “Mo's key” expires in 2 days"]);
        assert!(app.notices("admin@example.com").is_empty());
        admin.sign_in("admin@example.com", PASSWORD).await;
        let empty = admin.get("/notifications").await.body;
        assert!(empty.contains("No notifications."));
        member.sign_in("mo@example.com", PASSWORD).await;
        let list = member.get("/notifications").await.body;
        let theirs = list.split("id=\"notification-").nth(1).and_then(|s| s.split('"').next()).expect("notice").to_owned();
        admin.get("/notifications").await;
        assert_eq!(admin.post(&format!("/notifications/{theirs}/read"), &[]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.notices("mo@example.com").len(), 1);
    }
}

on_both_backends! {
    async fn the_dashboard_counts_what_needs_attention_and_links_to_it(app) {
        let admin = app.admin().await;
        admin.get("/settings").await;
        admin.post("/settings/policies", &[("reminder_days", "3"), ("rotation_days", "40"), ("recent_use_days", "3"), ("stale_days", "20")]).await;
        admin.get("/permissions").await;
        admin.post("/permissions", &[("name", "device.wipe"), ("label", "Wipe"), ("risk", "high"), ("writes", "1"), ("rules", "POST /d/*/wipe")]).await;
        let wipe = crate::permissions::permission_id(&admin.get("/keys/new").await.body, "device.wipe");
        let member = app.user(&admin, "mo@example.com", "member").await;
        create_key(&admin, &[("name", "Old one"), ("expiry", "never")]).await;
        create_key(&member, &[("name", "Mo's"), ("expiry", "never")]).await;
        app.clock.advance(41 * DAY);
        admin.sign_in("admin@example.com", PASSWORD).await;
        create_key(&admin, &[("name", "Soon gone"), ("expiry", "30")]).await;
        let mo = app.account_id("mo@example.com");
        admin.get(&format!("/users/{mo}")).await;
        admin.htmx_post(&format!("/users/{mo}/grants"), &[("permissions", &wipe)]).await;

        let dashboard = admin.get("/").await;
        assert_eq!(dashboard.count("keys-active"), Some(3));
        assert_eq!(dashboard.count("keys-expiring"), Some(1));
        assert_eq!(dashboard.count("keys-rotation"), Some(2), "{}", dashboard.body);
        assert_eq!(dashboard.count("keys-unused"), Some(2));
        assert_eq!(dashboard.count("high-risk"), Some(1));
        assert!(dashboard.body.contains("href=\"/keys?filter=rotation&#38;days=40\""));
        let rotation = admin.get("/keys?filter=rotation&days=40").await.body;
        assert!(rotation.contains("Old one") && rotation.contains("Mo&#39;s") && !rotation.contains("Soon gone"), "{rotation}");
        let risky = admin.get("/users?risk=high").await.body;
        assert!(risky.contains("mo@example.com") && !risky.contains("cell-sub\">admin@example.com<"), "{risky}");

        member.sign_in("mo@example.com", PASSWORD).await;
        let own = member.get("/").await;
        assert_eq!((own.count("keys-active"), own.count("keys-rotation")), (Some(1), Some(1)), "a Member counts their own keys");
        assert_eq!(own.count("high-risk"), None);
        assert!(!own.body.contains("accounts-active"));
    }
}

on_both_backends! {
    async fn the_maximum_lifetime_holds_and_the_credential_report_lists_every_key(app) {
        let admin = app.admin().await;
        admin.get("/settings").await;
        let saved = admin
            .post("/settings/policies", &[("reminder_days", "3"), ("rotation_days", "30"), ("recent_use_days", "3"), ("stale_days", "30"), ("max_lifetime_days", "60")])
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let types = crate::keys::form_ids(&admin).await.0;
        let integration = types.iter().find(|(n, _)| n.starts_with("Integration")).map(|(_, id)| id.clone()).expect("type");
        for expiry in ["never", "90"] {
            admin.get("/keys/new").await;
            let refused = admin.post("/keys", &[("name", "Too long"), ("key_type", &integration), ("expiry", expiry)]).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(refused.body.contains("Keys must expire within 60 days."));
        }
        let (id, _) = create_key(&admin, &[("name", "=cmd|' /C calc'!A0"), ("expiry", "30"), ("role_name", "READONLY")]).await;
        admin.get(&format!("/keys/{id}/edit")).await;
        let edit = admin.post(&format!("/keys/{id}/edit"), &[("status", "active"), ("expiry", "365"), ("roles", "")]).await;
        assert_eq!(edit.status, StatusCode::UNPROCESSABLE_ENTITY);
        let member = app.user(&admin, "mo@example.com", "member").await;
        create_key(&member, &[("name", "Mo's key"), ("expiry", "30")]).await;
        app.clock.advance(31 * DAY);

        admin.sign_in("admin@example.com", PASSWORD).await;
        let report = admin.get("/keys/report.csv").await;
        assert_eq!(report.status, StatusCode::OK);
        assert!(report.header("content-disposition").contains("keyward-credentials-"));
        let lines: Vec<&str> = report.body.lines().collect();
        assert_eq!(lines[0], "id,name,owner,type,roles,status,created,expires,last_used,secret_age_days,rotation");
        assert_eq!(lines.len(), 3, "{}", report.body);
        assert!(report.body.contains("'=cmd") && report.body.contains("READONLY"), "{}", report.body);
        assert!(report.body.contains(",31,expired"), "{}", report.body);
        let (ok, stdout, stderr) = app.command(&["report", "credentials"], &[]);
        assert!(ok, "{stderr}");
        assert_eq!(stdout.lines().count(), 3, "the command prints the same report: {stdout}");
        assert!(stdout.contains("Mo's key") && stdout.contains("'=cmd"));
        let (ok, _, stderr) = app.command(&["report", "credentials", "--workspace", "999"], &[]);
        assert!(!ok && stderr.contains("there is no workspace 999"), "{stderr}");
        member.sign_in("mo@example.com", PASSWORD).await;
        let own = member.get("/keys/report.csv").await.body;
        assert_eq!(own.lines().count(), 2, "a Member's report holds their own keys: {own}");
        assert!(own.contains("Mo's key"));
    }
}
