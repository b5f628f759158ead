//! Key types that restrict which roles their keys may hold (the LoRaWAN starter: Customer keys Billing Access
//! only, Application keys the Device roles), enforced in the console and the management API alike.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::keys::{create_key, form_ids};
use crate::on_both_backends;
use crate::roles::role_id;

fn id_of(list: &[(String, String)], prefix: &str) -> String {
    list.iter().find(|(n, _)| n.starts_with(prefix)).map(|(_, id)| id.clone()).unwrap_or_else(|| panic!("{prefix}"))
}

on_both_backends! {
    async fn a_key_type_keeps_its_keys_to_the_roles_it_allows_in_console_and_api(app) {
        let admin = app.admin().await;
        admin.get("/permissions").await;
        admin.post("/permissions/starter", &[("catalogue", "lorawan")]).await;
        let settings = admin.get("/settings/key-types").await.body;
        let customer_row = settings.split("<tr id=\"type-").find(|r| r.contains("value=\"Customer\"")).expect("Customer row");
        assert!(customer_row.contains("<summary>Billing Access</summary>"), "{customer_row}");
        let (types, roles) = form_ids(&admin).await;
        let (customer, application) = (id_of(&types, "Customer"), id_of(&types, "Application"));
        let (billing, downlinks) = (id_of(&roles, "Billing Access"), id_of(&roles, "Device: Downlinks"));

        // The form says so before anyone tries, and the console refuses a Device role on a Customer key.
        let form = admin.get("/keys/new").await.body;
        assert!(form.contains("Customer keys may hold only Billing Access."), "{form}");
        let refused = admin
            .post("/keys", &[("name", "Acme billing"), ("key_type", &customer), ("identifier", "C-1"), ("roles", &downlinks), ("expiry", "90")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("Customer keys may hold only Billing Access."), "{}", refused.body);
        create_key(&admin, &[("name", "Acme billing"), ("key_type", &customer), ("identifier", "C-1"), ("roles", &billing)]).await;
        create_key(&admin, &[("name", "Gateway 7"), ("key_type", &application), ("identifier", "70B3D5"), ("roles", &downlinks)]).await;

        // Editing cannot slip one in either (Customer and Application keys are create/delete-only, so an
        // editable type restricted by hand shows it).
        let integration = id_of(&types, "Integration");
        admin.get("/settings/key-types").await;
        assert_eq!(admin.post(&format!("/settings/key-types/{integration}/roles"), &[("roles", &billing)]).await.status, StatusCode::SEE_OTHER);
        let (editable, _) = create_key(&admin, &[("name", "Usage export"), ("roles", &billing)]).await;
        admin.get(&format!("/keys/{editable}/edit")).await;
        let edit = admin.post(&format!("/keys/{editable}/edit"), &[("roles", &billing), ("roles", &downlinks), ("status", "active"), ("expiry", "keep")]).await;
        assert_eq!(edit.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", edit.body);
        assert!(edit.body.contains("Integration keys may hold only Billing Access."));
        assert_eq!(admin.post(&format!("/settings/key-types/{integration}/roles"), &[]).await.status, StatusCode::SEE_OTHER);

        // The management API is held to the same rule.
        let (_, admin_key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
        let body = json!({ "name": "API customer", "key_type": customer.parse::<i64>().expect("id"), "identifier": "C-2",
                           "roles": [downlinks.parse::<i64>().expect("id")], "expires": "30" });
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/keys", app.base))
            .bearer_auth(&admin_key)
            .json(&body)
            .send()
            .await
            .expect("api");
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let answer: Value = response.json().await.expect("json");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("Customer keys may hold only")), "{answer}");

        // A restriction that existing keys break is refused; lifting it allows any role.
        admin.get("/settings/key-types").await;
        let fuota = role_id(&admin.get("/roles").await.body, "Device: FUOTA");
        let tighter = admin.post(&format!("/settings/key-types/{customer}/roles"), &[("roles", &fuota)]).await;
        assert_eq!(tighter.status, StatusCode::CONFLICT);
        assert!(tighter.body.contains("1 Customer keys hold other roles (Acme billing)"), "{}", tighter.body);
        assert_eq!(admin.post(&format!("/settings/key-types/{customer}/roles"), &[]).await.status, StatusCode::SEE_OTHER);
        create_key(&admin, &[("name", "Any role now"), ("key_type", &customer), ("identifier", "C-3"), ("roles", &downlinks)]).await;
        let audit = admin.get("/audit?action=key_type.roles_changed").await.body;
        assert!(audit.contains("<del>Billing Access</del> → <ins>any</ins>"), "{audit}");
    }
}
