//! Bulk add from CSV and XLSX: the preview is exact, nothing changes before apply, apply writes
//! exactly the good rows, and 10,000 rows go through.

use std::time::Instant;

use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp};
use crate::on_both_backends;

const MIXED: &[[&str; 4]] = &[
    ["email", "name", "role", "permissions"],
    ["new1@example.com", "New One", "member", "device.lock"],
    ["bad-email", "Bad", "member", ""],
    ["new2@example.com", "New Two", "Auditor", ""],
    ["NEW1@example.com", "Again", "member", ""],
    ["x@example.com", "X", "superuser", ""],
    ["y@example.com", "Y", "member", "device.lock;nope.nope"],
    ["existing@example.com", "", "auditor", "device.lock"],
    ["z.person@example.com", "", "member", "LOCK device"],
];

fn csv_of(rows: &[[&str; 4]]) -> Vec<u8> {
    rows.iter().map(|r| r.join(",")).collect::<Vec<_>>().join("\n").into_bytes()
}

fn xlsx_of(rows: &[[&str; 4]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet
                    .write_string(u32::try_from(r).expect("row"), u16::try_from(c).expect("col"), *cell)
                    .expect("cell");
            }
        }
    }
    book.save_to_buffer().expect("xlsx")
}

async fn prepared(app: &TestApp) -> Browser {
    let admin = app.admin().await;
    admin.get("/permissions").await;
    admin
        .post(
            "/permissions",
            &[("name", "device.lock"), ("label", "Lock Device"), ("writes", "1"), ("rules", "POST /d/*/lock")],
        )
        .await;
    app.user(&admin, "existing@example.com", "member").await;
    admin.get("/users/import").await;
    admin
}

pub fn hidden<'a>(page: &'a str, name: &str) -> &'a str {
    let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("{name}"));
    page[at..].split("value=\"").nth(1).and_then(|s| s.split('"').next()).expect("value")
}

async fn mixed_file_is_previewed_exactly_and_applied(app: &TestApp, filename: &str, file: Vec<u8>) {
    let admin = prepared(app).await;
    let preview = admin.upload("/users/import", filename, file).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let body = &preview.body;
    assert!(
        body.contains("<strong>3</strong> to create · <strong>0</strong> to invite · <strong>1</strong> to update"),
        "{body}"
    );
    assert!(body.contains("<strong class=\"error\">4</strong> with errors"));
    for reason in [
        "<td>3</td><td>bad-email</td><td>\u{201c}bad-email\u{201d} is not a valid email address</td>",
        "<td>5</td><td>new1@example.com</td><td>the same email as row 2</td>",
        "unknown role \u{201c}superuser\u{201d}",
        "unknown permission \u{201c}nope.nope\u{201d}",
        "role Member \u{2192} Auditor; + device.lock",
    ] {
        assert!(body.contains(reason), "preview lacks {reason:?}");
    }
    // An email-only row gets a name from the address; a permission may be named by its label, in any case.
    let z = body[body.find("z.person@example.com").expect("z row")..].split("</tr>").next().unwrap_or_default();
    assert!(z.contains("Z Person") && z.contains("device.lock"), "{z}");
    let before = admin.get("/users").await.body;
    assert!(!before.contains("new1@example.com"), "nothing changes before apply");

    admin.get("/users/import").await;
    let (token, creates, updates) = (hidden(body, "token"), hidden(body, "creates"), hidden(body, "updates"));
    let counts = [("token", token), ("creates", creates), ("invites", "0"), ("updates", updates)];
    let applied = admin.post("/users/import/apply", &counts).await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    let listed = admin.get(applied.location()).await.body;
    assert!(listed.contains("Imported: 3 people created, 0 invited, 1 updated."), "{listed}");
    assert!(listed.contains("new1@example.com") && listed.contains("new2@example.com"));
    for refused in ["bad-email", "x@example.com", "y@example.com", "Again"] {
        assert!(!listed.contains(refused), "{refused} was not applied");
    }
    let row =
        |email: &str| listed[listed.find(email).expect("row")..].split("</tr>").next().unwrap_or_default().to_owned();
    assert!(row("new1@example.com").contains("Member") && row("new1@example.com").contains("1 permission"));
    assert!(row("new2@example.com").contains("Auditor"));
    assert!(row("z.person@example.com").contains("Z Person") && row("z.person@example.com").contains("1 permission"));
    assert!(row("existing@example.com").contains("Auditor") && row("existing@example.com").contains("1 permission"));
    assert_eq!(
        app.browser().sign_in("new1@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED,
        "no password yet"
    );

    admin.get("/users/import").await;
    let again = admin.post("/users/import/apply", &counts).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "an upload applies once");
    assert!(admin.get("/").await.body.contains("accounts.imported"));
}

on_both_backends! {
    async fn a_csv_file_with_good_and_bad_rows_is_previewed_exactly_and_only_good_rows_apply(app) {
        mixed_file_is_previewed_exactly_and_applied(&app, "people.csv", csv_of(MIXED)).await;
    }
}

on_both_backends! {
    async fn an_xlsx_file_with_good_and_bad_rows_is_previewed_exactly_and_only_good_rows_apply(app) {
        mixed_file_is_previewed_exactly_and_applied(&app, "people.xlsx", xlsx_of(MIXED)).await;
    }
}

on_both_backends! {
    async fn a_preview_that_no_longer_holds_applies_nothing(app) {
        let admin = prepared(&app).await;
        let preview = admin.upload("/users/import", "p.csv", csv_of(&MIXED[..4])).await.body;
        // Someone adds new2 by hand before the import is applied.
        app.user(&admin, "new2@example.com", "member").await;
        admin.get("/users/import").await;
        let applied = admin.post("/users/import/apply", &[("token", hidden(&preview, "token")), ("creates", hidden(&preview, "creates")), ("invites", hidden(&preview, "invites")), ("updates", hidden(&preview, "updates"))]).await;
        assert_eq!(applied.status, StatusCode::CONFLICT);
        assert!(!admin.get("/users").await.body.contains("new1@example.com"), "nothing was applied");
    }
}

on_both_backends! {
    async fn bad_files_are_refused_clearly_and_only_administrators_import(app) {
        let admin = prepared(&app).await;
        let big = vec![b'a'; keyward::services::import::MAX_BYTES + 10];
        let refused = admin.upload("/users/import", "big.csv", big).await;
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(refused.body.contains("larger than 5 MB"), "{:?}", refused.body);
        let wrong = admin.upload("/users/import", "x.csv", b"name,role\nAda,member\n".to_vec()).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains("must name the columns"));
        let template = admin.get("/users/import/template.csv").await;
        assert_eq!(template.header("content-type"), "text/csv; charset=utf-8");
        assert!(template.body.starts_with("email,name,role,permissions\n") && template.body.contains("device.lock"));

        let member = app.user(&admin, "m@example.com", "member").await;
        member.get("/").await;
        assert_eq!(member.upload("/users/import", "p.csv", csv_of(MIXED)).await.status, StatusCode::FORBIDDEN);
        assert_eq!(member.get("/users/import").await.status, StatusCode::FORBIDDEN);
        let outsider = app.browser();
        let anonymous = outsider.upload("/users/import", "p.csv", csv_of(MIXED)).await;
        assert_ne!(anonymous.status, StatusCode::OK);
    }
}

on_both_backends! {
    async fn ten_thousand_rows_import_in_one_go(app) {
        let admin = prepared(&app).await;
        let mut file = String::from("email,name,role,permissions\n");
        for i in 0..10_000 {
            file.push_str(&format!("person{i:05}@example.com,Person {i},member,device.lock\n"));
        }
        let started = Instant::now();
        let preview = admin.upload("/users/import", "big.csv", file.into_bytes()).await;
        let previewed = started.elapsed();
        assert_eq!(preview.status, StatusCode::OK);
        assert!(preview.body.contains("<strong>10000</strong> to create") && preview.body.contains("and 9500 more."));
        admin.get("/users/import").await;
        let started = Instant::now();
        let applied = admin.post("/users/import/apply", &[("token", hidden(&preview.body, "token")), ("creates", "10000"), ("invites", "0"), ("updates", "0")]).await;
        let apply_time = started.elapsed();
        assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
        eprintln!("10,000-row import: upload + preview {previewed:?}, apply {apply_time:?}");
        let listed = admin.get("/users?q=person09999").await.body;
        assert!(listed.contains("1 person") && listed.contains("1 permission"));
        assert!(admin.get("/users").await.body.contains("10002 people"));
    }
}
