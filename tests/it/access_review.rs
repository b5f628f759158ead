//! The access review: people × permissions (direct or through a role), who holds a given permission, and
//! what each key can call after its owner's grants — on the page and in the CSV.

use reqwest::StatusCode;

use crate::keys::create_key;
use crate::on_both_backends;
use crate::permissions::permission_id;
use crate::roles::role_id;

on_both_backends! {
    async fn the_review_shows_who_holds_what_and_what_each_key_can_really_call(app) {
        let admin = app.admin().await;
        let bob = app.user(&admin, "bob@example.com", "member").await;
        admin.get("/permissions").await;
        admin.post("/permissions/starter", &[("catalogue", "device-actions")]).await;
        let catalogue = admin.get("/keys/new").await.body;
        let (lock, wipe) = (permission_id(&catalogue, "device.lock"), permission_id(&catalogue, "device.wipe"));
        admin.post("/roles", &[("name", "Lockers"), ("permissions", &lock)]).await;
        let lockers = role_id(&admin.get("/roles").await.body, "Lockers");
        let (me, bob_id) = (app.account_id("admin@example.com"), app.account_id("bob@example.com"));
        admin.htmx_post(&format!("/users/{bob_id}/grants"), &[("roles", &lockers)]).await;
        admin.htmx_post(&format!("/users/{me}/grants"), &[("permissions", &wipe)]).await;
        // Bob's key is granted Wipe too, which Bob does not hold: it can only lock.
        let (key, _) = create_key(&bob, &[("name", "Bob key"), ("role_name", "Lockers")]).await;
        admin.get(&format!("/keys/{key}/edit")).await;
        let edited = admin.post(&format!("/keys/{key}/edit"), &[("name", "Bob key"), ("roles", &lockers), ("permissions", &wipe), ("status", "active"), ("expiry", "keep")]).await;
        assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);

        let page = admin.get("/access").await.body;
        let bob_row = page.split(&format!("id=\"access-{bob_id}\"")).nth(1).and_then(|r| r.split("</tr>").next()).expect("Bob's row");
        assert!(bob_row.contains("title=\"Through Lockers\""), "{bob_row}");
        assert!(!bob_row.contains("Direct grant"), "Bob holds nothing directly");
        let my_row = page.split(&format!("id=\"access-{me}\"")).nth(1).and_then(|r| r.split("</tr>").next()).expect("my row");
        assert!(my_row.contains("Direct grant"), "{my_row}");
        let bob_key = page.split(&format!("id=\"key-access-{key}\"")).nth(1).and_then(|r| r.split("</tr>").next()).expect("key row");
        assert!(bob_key.contains("<code>device.lock</code>") && !bob_key.contains("device.wipe"), "{bob_key}");

        // Who holds Wipe Device? Only the administrator.
        let wipers = admin.get("/access?permission=device.wipe").await.body;
        assert!(wipers.contains("<strong>1</strong> person holds Wipe Device."), "{wipers}");
        assert!(wipers.contains(&format!("id=\"access-{me}\"")) && !wipers.contains(&format!("id=\"access-{bob_id}\"")));

        // The same question on Users: a filter by permission, directly or through a role.
        let (my_row, bob_row) = (format!("id=\"user-{me}\""), format!("id=\"user-{bob_id}\""));
        let users = admin.get("/users?holds=device.wipe").await.body;
        assert!(users.contains(&my_row) && !users.contains(&bob_row), "{users}");
        assert!(users.contains("value=\"device.wipe\" selected"));
        let lockers_page = admin.get("/users?holds=device.lock").await.body;
        assert!(lockers_page.contains(&bob_row) && !lockers_page.contains(&my_row), "Bob through Lockers");
        assert!(admin.get("/users?holds=no.such").await.body.contains("Nobody matches"));

        let csv = admin.get("/access.csv").await;
        assert!(csv.header("content-type").starts_with("text/csv"));
        assert!(csv.body.contains("person,Test Person,bob@example.com,device.lock,Lock Device,normal,Lockers"), "{}", csv.body);
        assert!(csv.body.contains("person,Ada Admin,admin@example.com,device.wipe,Wipe Device,high,direct"), "{}", csv.body);
        assert!(csv.body.contains("key,Bob key,bob@example.com,device.lock,Lock Device,normal,key and owner"));
        assert!(!csv.body.contains("key,Bob key,bob@example.com,device.wipe"), "held back by its owner's grants");

        // Auditors may review; members may not.
        let auditor = app.user(&admin, "aud@example.com", "auditor").await;
        assert_eq!(auditor.get("/access").await.status, StatusCode::OK);
        assert_eq!(bob.get("/access").await.status, StatusCode::FORBIDDEN);
        assert_eq!(bob.get("/access.csv").await.status, StatusCode::FORBIDDEN);
    }
}
