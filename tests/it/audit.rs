//! The audit log page: filters, paging, CSV export, and the hash chain that shows tampering.

use diesel::RunQueryDsl as _;
use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::keys::create_key;
use crate::on_both_backends;

fn tamper(app: &TestApp, sql: &str) {
    let sql = sql.to_owned();
    app.state
        .db
        .write_counters(|c| diesel::sql_query(sql).execute(c).map_err(keyward::error::Error::from))
        .expect("tamper");
}

fn event_id(app: &TestApp, action: &str) -> i64 {
    use diesel::prelude::*;
    use keyward::db::schema::audit_events;
    let action = action.to_owned();
    app.state
        .db
        .read(|c| {
            audit_events::table
                .filter(audit_events::action.eq(action))
                .select(audit_events::id)
                .order(audit_events::id.desc())
                .first::<i64>(c)
        })
        .expect("event")
}

on_both_backends! {
    async fn the_audit_log_filters_exports_and_proves_its_chain(app) {
        let admin = app.admin().await;
        create_key(&admin, &[("name", "Billing sync")]).await;
        create_key(&admin, &[("name", "=HYPERLINK(\"http://evil\")")]).await;
        admin.get("/permissions").await;
        admin.post("/permissions", &[("name", "device.lock"), ("label", "Lock"), ("rules", "POST /d/*/lock")]).await;

        let page = admin.get("/audit").await;
        assert_eq!(page.status, StatusCode::OK);
        for text in ["setup.completed", "key.created", "Billing sync", "permission.created", "admin@example.com", "Verify chain"] {
            assert!(page.body.contains(text), "{text} on the audit page");
        }
        let keys_only = admin.get_htmx("/audit?action=key.created").await;
        assert!(keys_only.body.contains("Billing sync") && !keys_only.body.contains("<code>permission.created"));
        assert!(!keys_only.body.contains("<html"), "htmx gets the table alone");
        let prefix = admin.get("/audit?action=permission.").await.body;
        assert!(prefix.contains("device.lock") && !prefix.contains("Billing sync"));
        let searched = admin.get("/audit?q=billing").await.body;
        assert!(searched.contains("Billing sync") && !searched.contains("device.lock"));
        let by_target = admin.get("/audit?target=BILLING").await.body;
        assert!(by_target.contains("Billing sync") && !by_target.contains("<code>setup.completed"));
        let nobody = admin.get("/audit?actor=mallory").await.body;
        assert!(nobody.contains("No events match."));
        let later = admin.get("/audit?from=2999-01-01").await.body;
        assert!(later.contains("No events match."));
        let bad = admin.get("/audit?from=2026-02-01&to=2026-01-01").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("The end date is before the start date."));
        assert_eq!(admin.get("/audit?from=soon").await.status, StatusCode::UNPROCESSABLE_ENTITY);

        let csv = admin.get("/audit.csv?action=key.created").await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.header("content-type").starts_with("text/csv"));
        assert!(csv.header("content-disposition").contains("keyward-audit-"));
        let mut lines = csv.body.lines();
        assert!(lines.next().is_some_and(|h| h.starts_with("id,time,actor,")));
        assert_eq!(csv.body.lines().count(), 3, "a header and two key events:\n{}", csv.body);
        assert!(csv.body.contains("'=HYPERLINK"), "a formula is defused:\n{}", csv.body);

        admin.get("/audit").await;
        let intact = admin.htmx_post("/audit/verify", &[]).await;
        assert_eq!(intact.status, StatusCode::OK);
        assert!(intact.body.contains("The chain is intact"), "{}", intact.body);

        // Removing an event breaks the link of the one after it; editing one breaks its own hash.
        let removed = event_id(&app, "key.created");
        tamper(&app, &format!("DELETE FROM audit_events WHERE id = {removed}"));
        let gap = admin.htmx_post("/audit/verify", &[]).await.body;
        assert!(gap.contains("The chain is broken at event #") && gap.contains("removed, inserted or reordered"), "{gap}");
        assert!(!gap.contains(&format!("#{removed}<")), "{gap}");
        let edited = event_id(&app, "setup.completed");
        tamper(&app, &format!("UPDATE audit_events SET actor_label = 'mallory@example.com' WHERE id = {edited}"));
        let broken = admin.htmx_post("/audit/verify", &[]).await.body;
        assert!(broken.contains(&format!("broken at event #{edited}</strong>")) && broken.contains("edited"), "{broken}");
    }
}

on_both_backends! {
    async fn members_cannot_read_the_audit_log(app) {
        let admin = app.admin().await;
        let member = app.user(&admin, "mo@example.com", "member").await;
        assert_eq!(member.get("/audit").await.status, StatusCode::FORBIDDEN);
        assert_eq!(member.get("/audit.csv").await.status, StatusCode::FORBIDDEN);
        member.get("/keys").await;
        assert_eq!(member.post("/audit/verify", &[]).await.status, StatusCode::FORBIDDEN);
        let auditor = app.user(&admin, "audrey@example.com", "auditor").await;
        assert_eq!(auditor.get("/audit").await.status, StatusCode::OK);
    }
}

on_both_backends! {
    async fn every_kind_of_change_is_audited_with_before_and_after_and_never_a_secret(app) {
        let admin = app.admin().await;
        admin.get("/permissions").await;
        admin.post("/permissions", &[("name", "device.lock"), ("label", "Lock"), ("rules", "POST /d/*/lock")]).await;
        let (id, key) = create_key(&admin, &[("name", "Audited")]).await;
        admin.get(&format!("/keys/{id}/edit")).await;
        admin.post(&format!("/keys/{id}/edit"), &[("description", "changed"), ("status", "active"), ("expiry", "keep")]).await;
        admin.get(&format!("/keys/{id}")).await;
        admin.post(&format!("/keys/{id}/reveal"), &[("password", "wrong password")]).await;
        admin.post(&format!("/keys/{id}/reveal"), &[("password", crate::helpers::PASSWORD)]).await;
        admin.get(&format!("/keys/{id}/rotate")).await;
        let rotated = admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "0")]).await.body;
        let new_key = crate::key_lifecycle::secret_in(&rotated);
        admin.get("/settings").await;
        admin.post("/settings/policies", &[("reminder_days", "7"), ("rotation_days", "90"), ("recent_use_days", "3"), ("stale_days", "30")]).await;
        let secret_page = admin.htmx_post("/settings/shared-secret/reveal", &[("password", crate::helpers::PASSWORD)]).await.body;
        let start = secret_page.find("value=\"kwss_").expect("secret") + "value=\"".len();
        let shared = secret_page[start..].split('"').next().expect("secret").to_owned();
        app.browser().sign_in("admin@example.com", "not the password").await;

        let events = app.state.db.read(|c| keyward::db::audit::chain_after(c, 0, 10_000)).expect("events");
        let has = |action: &str| events.iter().find(|e| e.action == action);
        for action in ["setup.completed", "permission.created", "key.created", "key.updated", "key.reveal_refused", "key.revealed", "key.rotated", "settings.policies_changed", "shared_secret.revealed", "account.sign_in_failed"] {
            assert!(has(action).is_some(), "{action} is audited");
        }
        for action in ["permission.created", "key.created", "key.updated", "settings.policies_changed"] {
            let e = has(action).expect("event");
            assert!(e.after_json.is_some(), "{action} records what it became");
        }
        let updated = has("key.updated").expect("event");
        assert!(updated.before_json.as_deref().is_some_and(|b| !b.contains("changed")) && updated.after_json.as_deref().is_some_and(|a| a.contains("changed")));
        for e in &events {
            let text = format!("{:?}", e);
            for secret in [key.as_str(), new_key.as_str(), shared.as_str(), crate::helpers::PASSWORD, "not the password"] {
                assert!(!text.contains(secret), "{} holds a secret", e.action);
            }
        }
    }
}
