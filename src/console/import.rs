//! Bulk add from a spreadsheet: upload (with a progress bar through htmx), preview, apply, template.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;

use super::auth::{Admin, CurrentUser};
use super::error::{AppError, html, is_htmx};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use crate::domain::Invalid;
use crate::error::Error;
use crate::services::import::{self, Action, Plan, PlannedRow};
use crate::state::AppState;

/// Rows of each kind the preview lists before summarising the rest.
const SHOWN: usize = 500;

#[derive(Template)]
#[template(path = "users/import.html")]
struct ImportPage {
    layout: Layout,
    result: ImportResult,
}

/// Below the upload form: why the file was refused, or its preview. What htmx swaps after uploading.
#[derive(Template)]
#[template(path = "users/_import_result.html")]
struct ImportResult {
    errors: FieldError,
    preview: Option<Preview>,
}

/// What applying the uploaded file would do.
#[derive(Template)]
#[template(path = "users/_import_preview.html")]
struct Preview {
    csrf: String,
    token: String,
    filename: String,
    plan: Plan,
    /// Email is on: the people created and invited can be emailed.
    email_on: bool,
}

impl Preview {
    fn of<'a>(&'a self, kind: fn(&Action) -> bool) -> impl Iterator<Item = &'a PlannedRow> + 'a {
        self.plan.rows.iter().filter(move |r| kind(&r.action)).take(SHOWN)
    }

    fn refused_rows(&self) -> impl Iterator<Item = &PlannedRow> {
        self.of(|a| matches!(a, Action::Refused(_)))
    }

    fn created_rows(&self) -> impl Iterator<Item = &PlannedRow> {
        self.of(|a| *a == Action::Create)
    }

    fn invited_rows(&self) -> impl Iterator<Item = &PlannedRow> {
        self.of(|a| *a == Action::Invite)
    }

    fn updated_rows(&self) -> impl Iterator<Item = &PlannedRow> {
        self.of(|a| matches!(a, Action::Update(_)))
    }

    /// The apply button, naming only what it does: "Apply: create 2, update 1".
    fn apply_label(&self) -> String {
        let plan = &self.plan;
        let parts: Vec<String> = [("create", plan.creates()), ("invite", plan.invites()), ("update", plan.updates())]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(verb, n)| format!("{verb} {n}"))
            .collect();
        format!("Apply: {}", parts.join(", "))
    }

    /// Who the email box emails and what each is sent, in whole sentences for one and for many.
    fn email_summary(&self) -> String {
        let people = |n: usize| if n == 1 { "1 person".to_owned() } else { format!("{n} people") };
        let (creates, invites) = (self.plan.creates(), self.plan.invites());
        let mut parts = Vec::new();
        if creates > 0 {
            let get = if creates == 1 { "gets" } else { "get" };
            parts.push(format!(
                "{} to create {get} an invitation with a link to choose their password (valid 72 hours)",
                people(creates)
            ));
        }
        if invites > 0 {
            let are = if invites == 1 { "is" } else { "are" };
            parts.push(format!("{} to invite {are} asked to accept", people(invites)));
        }
        parts.join("; ")
    }

    fn more(&self, count: usize) -> usize {
        count.saturating_sub(SHOWN)
    }

    fn role(row: &PlannedRow) -> &'static str {
        row.role.map_or("Member", |r| r.label())
    }

    fn permissions(row: &PlannedRow) -> String {
        row.permissions.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")
    }

    fn notes(row: &PlannedRow) -> String {
        match &row.action {
            Action::Refused(notes) | Action::Update(notes) => notes.join("; "),
            Action::Create | Action::Invite | Action::Unchanged => String::new(),
        }
    }
}

fn page(user: &CurrentUser, errors: FieldError, preview: Option<Preview>) -> ImportPage {
    ImportPage { layout: Layout::new("Import people", "users", user), result: ImportResult { errors, preview } }
}

pub async fn show(Admin(user): Admin) -> Result<HttpResponse, AppError> {
    Ok(html(StatusCode::OK, page(&user, FieldError::default(), None).render()))
}

/// The template to fill in, with the workspace's own permission names in its example.
pub async fn template(Admin(user): Admin, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let names = state
        .run(move |s| crate::services::permissions::rows(s, &caller))
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect::<Vec<_>>();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", "attachment; filename=\"keyward-people.csv\""))
        .body(import::template(&names)))
}

/// The uploaded file's name and bytes, refused past the size limit without reading further.
async fn file_of(mut body: Multipart) -> Result<(String, Vec<u8>), Invalid> {
    while let Some(field) = body.next().await {
        let mut field = field.map_err(|_| Invalid::new("file", "The upload was cut off. Try again."))?;
        if field.name() != Some("file") {
            continue;
        }
        let filename =
            field.content_disposition().and_then(|d| d.get_filename()).unwrap_or("upload").chars().take(200).collect();
        return match field.bytes(import::MAX_BYTES).await {
            Ok(Ok(bytes)) => Ok((filename, bytes.to_vec())),
            Ok(Err(_)) => Err(Invalid::new("file", "The upload was cut off. Try again.")),
            Err(_) => Err(import::too_large()),
        };
    }
    Err(Invalid::new("file", "Choose a CSV or XLSX file to upload."))
}

pub async fn upload(
    req: HttpRequest,
    Admin(user): Admin,
    state: web::Data<AppState>,
    body: Multipart,
) -> Result<HttpResponse, AppError> {
    let refuse = |invalid: Invalid| {
        let status = if invalid == import::too_large() {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        if is_htmx(&req) {
            // Named target: the refusal replaces the preview area, not a toast.
            let mut response = html(status, ImportResult { errors: invalid.into(), preview: None }.render());
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("hx-retarget"),
                actix_web::http::header::HeaderValue::from_static("#import-result"),
            );
            return response;
        }
        html(status, page(&user, invalid.into(), None).render())
    };
    let (filename, bytes) = match file_of(body).await {
        Ok(file) => file,
        Err(invalid) => return Ok(refuse(invalid)),
    };
    let rows =
        match state.run(move |_| import::read(&filename, &bytes).map(|r| (filename, r)).map_err(Error::from)).await {
            Ok(rows) => rows,
            Err(Error::Invalid(invalid)) => return Ok(refuse(invalid)),
            Err(other) => return Err(other.into()),
        };
    let (filename, rows) = rows;
    let caller = user.caller();
    let (plan, token, filename) = state
        .run(move |s| {
            let (plan, token) = import::preview(s, &caller, &filename, rows)?;
            Ok((plan, token, filename))
        })
        .await?;
    let preview = Preview { csrf: user.csrf.clone(), token, filename, plan, email_on: state.smtp.is_some() };
    if is_htmx(&req) {
        return Ok(html(
            StatusCode::OK,
            ImportResult { errors: FieldError::default(), preview: Some(preview) }.render(),
        ));
    }
    Ok(html(StatusCode::OK, page(&user, FieldError::default(), Some(preview)).render()))
}

#[derive(Debug, serde::Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    creates: String,
    #[serde(default)]
    invites: String,
    #[serde(default)]
    updates: String,
    /// Email the people created (their invitation with a password link) and invited.
    #[serde(default)]
    email: bool,
}

pub async fn apply(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, ApplyForm>,
) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let count = |field: &str| field.parse().unwrap_or(usize::MAX);
    let previewed = (count(&form.creates), count(&form.invites), count(&form.updates));
    let started = std::time::Instant::now();
    let token = form.token;
    let email = form.email;
    let plan = state.run(move |s| import::apply_held(s, &caller, &token, previewed, email)).await?;
    tracing::info!(
        created = plan.creates(),
        invited = plan.invites(),
        updated = plan.updates(),
        refused = plan.refused(),
        elapsed_ms = started.elapsed().as_millis(),
        "spreadsheet imported"
    );
    let location = format!("/users?created={}&invited={}&updated={}", plan.creates(), plan.invites(), plan.updates());
    if is_htmx(&req) {
        return Ok(HttpResponse::Ok().insert_header(("HX-Redirect", location)).finish());
    }
    Ok(HttpResponse::SeeOther().insert_header(("location", location)).finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview(actions: &[Action]) -> Preview {
        let row = |(line, action): (usize, &Action)| PlannedRow {
            line,
            email: format!("p{line}@example.com"),
            name: String::new(),
            role: None,
            permissions: Vec::new(),
            action: action.clone(),
        };
        let plan = Plan { rows: actions.iter().enumerate().map(row).collect() };
        Preview { csrf: String::new(), token: String::new(), filename: String::new(), plan, email_on: true }
    }

    #[test]
    fn the_preview_says_what_applying_does_in_sentences_for_one_and_for_many() {
        let one = preview(&[Action::Create, Action::Update(vec!["role".into()])]);
        assert_eq!(one.apply_label(), "Apply: create 1, update 1");
        assert_eq!(
            one.email_summary(),
            "1 person to create gets an invitation with a link to choose their password (valid 72 hours)"
        );
        let many = preview(&[Action::Create, Action::Create, Action::Invite, Action::Invite, Action::Invite]);
        assert_eq!(many.apply_label(), "Apply: create 2, invite 3");
        assert_eq!(
            many.email_summary(),
            "2 people to create get an invitation with a link to choose their password (valid 72 hours); \
             3 people to invite are asked to accept"
        );
        assert_eq!(preview(&[Action::Invite]).email_summary(), "1 person to invite is asked to accept");
    }
}
