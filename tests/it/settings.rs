//! Settings: key types.

use reqwest::StatusCode;

use crate::keys::{create_key, form_ids};
use crate::on_both_backends;

fn row_id(body: &str, name: &str) -> String {
    let at = body.find(&format!("value=\"{name}\" aria-label=\"Name of")).expect("row");
    body[..at].rsplit("form=\"type-form-").next().and_then(|s| s.split('"').next()).expect("id").to_owned()
}

on_both_backends! {
    async fn administrators_add_edit_and_remove_key_types(app) {
        let admin = app.admin().await;
        let page = admin.get("/settings/key-types").await;
        assert_eq!(page.status, StatusCode::OK);
        for seeded in ["Application", "Customer", "Integration", "Personal", "kwa", "Application EUI", "Customer ID"] {
            assert!(page.body.contains(seeded), "{seeded}");
        }
        let bad = admin.post("/settings/key-types", &[("name", "Gateway"), ("prefix", "KW-G"), ("editable", "1")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("A prefix is 2–12 lower-case letters or digits"));
        let taken = admin.post("/settings/key-types", &[("name", "Gateway"), ("prefix", "kwa")]).await;
        assert!(taken.body.contains("already used by Application"));
        let added = admin.post("/settings/key-types", &[("name", "Gateway"), ("prefix", "kwg"), ("id_field_label", "Gateway EUI")]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER);

        let (types, _) = form_ids(&admin).await;
        assert!(types.iter().any(|(n, _)| n.starts_with("Gateway")), "the new type is offered when adding keys");
        let (_, secret) = create_key(&admin, &[("name", "gw-1"), ("type_name", "Gateway"), ("identifier", "0016C001FF10A235")]).await;
        assert!(secret.starts_with("kwg_"));

        let page = admin.get("/settings/key-types").await.body;
        let id = row_id(&page, "Gateway");
        let rename = admin.post(&format!("/settings/key-types/{id}"), &[("name", "LoRa gateway"), ("prefix", "kwg"), ("id_field_label", "Gateway EUI")]).await;
        assert_eq!(rename.status, StatusCode::SEE_OTHER);
        let reprefix = admin.post(&format!("/settings/key-types/{id}"), &[("name", "LoRa gateway"), ("prefix", "kwl")]).await;
        assert_eq!(reprefix.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(reprefix.body.contains("its prefix cannot change"));
        assert_eq!(admin.post(&format!("/settings/key-types/{id}/delete"), &[]).await.status, StatusCode::CONFLICT);
        let list = admin.get("/keys").await.body;
        assert!(list.contains("LoRa gateway") && list.contains("title=\"Gateway EUI\">0016C001FF10A235<"));

        admin.post("/settings/key-types", &[("name", "Scratch"), ("prefix", "kws")]).await;
        let scratch = row_id(&admin.get("/settings/key-types").await.body, "Scratch");
        assert_eq!(admin.post(&format!("/settings/key-types/{scratch}/delete"), &[]).await.status, StatusCode::SEE_OTHER);
        assert!(!admin.get("/settings/key-types").await.body.contains("Scratch"));
        assert!(admin.get("/").await.body.contains("key_type.created"));
    }
}

on_both_backends! {
    async fn only_administrators_change_settings(app) {
        let admin = app.admin().await;
        let auditor = app.user(&admin, "aud@example.com", "auditor").await;
        let member = app.user(&admin, "mem@example.com", "member").await;
        let seen = auditor.get("/settings/key-types").await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(seen.body.contains("Application") && !seen.body.contains("Add key type"));
        assert_eq!(auditor.post("/settings/key-types", &[("name", "X"), ("prefix", "kwx")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(member.get("/settings").await.status, StatusCode::FORBIDDEN);
        assert_eq!(member.post("/settings/key-types", &[("name", "X"), ("prefix", "kwx")]).await.status, StatusCode::FORBIDDEN);
        assert!(!admin.get("/settings/key-types").await.body.contains("kwx"));
    }
}
