//! Settings: key types for now (policies, allowed domains, webhooks and the shared secret follow).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::auth::{Admin, CurrentUser, Reader};
use super::error::{AppError, html};
use super::form::{FieldError, HtmlForm};
use super::layout::Layout;
use crate::db::key_types::{self, KeyType};
use crate::error::Error;
use crate::services::key_types::{self as type_service, TypeForm};
use crate::services::whitelist::{self, Whitelist, WhitelistForm};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "settings/index.html")]
struct SettingsPage {
    layout: Layout,
    can_edit: bool,
    types: Vec<(KeyType, i64)>,
    /// The row whose form failed (None: the add form), its input and why.
    failed: Option<(Option<i64>, TypeForm, FieldError)>,
    whitelist: Whitelist,
    /// The domains as typed and why they were refused, when they were.
    domains_failed: Option<(String, FieldError)>,
}

impl SettingsPage {
    fn domains_text(&self) -> String {
        self.domains_failed.as_ref().map_or_else(|| self.whitelist.domains.join("\n"), |(text, _)| text.clone())
    }

    fn domains_error(&self) -> Option<&str> {
        self.domains_failed.as_ref().and_then(|(_, e)| e.any())
    }

    /// The message for `field` of the row `row` (0: the add form).
    fn error_for(&self, row: impl std::borrow::Borrow<i64>, field: &str) -> Option<&str> {
        let row = *row.borrow();
        self.failed.as_ref().filter(|(r, ..)| r.unwrap_or(0) == row).and_then(|(_, _, e)| e.get(field))
    }

    fn add_failed(&self) -> bool {
        self.failed.as_ref().is_some_and(|(row, ..)| row.is_none())
    }

    fn added_form(&self) -> TypeForm {
        self.failed.as_ref().filter(|(r, ..)| r.is_none()).map(|(_, f, _)| f.clone()).unwrap_or_default()
    }
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    failed: Option<(Option<i64>, TypeForm, FieldError)>,
) -> Result<SettingsPage, AppError> {
    with_domains(state, user, failed, None).await
}

async fn with_domains(
    state: &AppState,
    user: &CurrentUser,
    failed: Option<(Option<i64>, TypeForm, FieldError)>,
    domains_failed: Option<(String, FieldError)>,
) -> Result<SettingsPage, AppError> {
    let ws = user.workspace_id;
    let (types, counts) = state
        .blocking(move |db| {
            db.read(|c| Ok::<_, diesel::result::Error>((key_types::list(c, ws)?, key_types::key_counts(c, ws)?)))
        })
        .await?;
    let types = types
        .into_iter()
        .map(|t| {
            let n = counts.iter().find(|(id, _)| *id == t.id).map_or(0, |(_, n)| *n);
            (t, n)
        })
        .collect();
    Ok(SettingsPage {
        layout: Layout::new("Settings", "settings", user),
        can_edit: user.role.can_administer(),
        types,
        failed,
        whitelist: state.run(move |s| whitelist::get(s, ws)).await?,
        domains_failed,
    })
}

pub async fn show(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(html(StatusCode::OK, page(&state, &user, None).await?.render()))
}

fn back() -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("location", "/settings#key-types")).finish()
}

async fn answer(
    state: &AppState,
    user: &CurrentUser,
    row: Option<i64>,
    form: TypeForm,
    result: crate::error::Result<()>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => Ok(back()),
        Err(Error::Invalid(invalid)) => {
            let page = page(state, user, Some((row, form, invalid.into()))).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn add_type(
    Admin(user): Admin,
    state: web::Data<AppState>,
    HtmlForm(form): HtmlForm<TypeForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted) = (user.caller(), form.clone());
    let result = state.run(move |s| type_service::create(s, &caller, &submitted).map(drop)).await;
    answer(&state, &user, None, form, result).await
}

pub async fn update_type(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    HtmlForm(form): HtmlForm<TypeForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (caller, submitted) = (user.caller(), form.clone());
    let result = state.run(move |s| type_service::update(s, &caller, id, &submitted)).await;
    answer(&state, &user, Some(id), form, result).await
}

pub async fn delete_type(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    state.run(move |s| type_service::delete(s, &caller, id)).await?;
    Ok(back())
}

// ---- allowed domains ----

pub async fn save_domains(
    Admin(user): Admin,
    state: web::Data<AppState>,
    HtmlForm(form): HtmlForm<WhitelistForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted) = (user.caller(), form.clone());
    match state.run(move |s| whitelist::save(s, &caller, &submitted)).await {
        Ok(_) => Ok(HttpResponse::SeeOther().insert_header(("location", "/settings#domains")).finish()),
        Err(Error::Invalid(invalid)) => {
            let page = with_domains(&state, &user, None, Some((form.domains, invalid.into()))).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "settings/matching.html")]
struct MatchingPage {
    layout: Layout,
    domains: Vec<String>,
    accounts: Vec<(i64, String)>,
}

pub async fn matching(Admin(user): Admin, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (caller, ws) = (user.caller(), user.workspace_id);
    let (accounts, list) = state.run(move |s| Ok((whitelist::matching(s, &caller)?, whitelist::get(s, ws)?))).await?;
    let layout = Layout::new("Add matching accounts", "settings", &user);
    Ok(html(StatusCode::OK, MatchingPage { layout, domains: list.domains, accounts }.render()))
}

#[derive(Debug, serde::Deserialize)]
pub struct MatchingForm {
    #[serde(default)]
    expected: String,
}

pub async fn add_matching(
    Admin(user): Admin,
    state: web::Data<AppState>,
    HtmlForm(form): HtmlForm<MatchingForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, expected) = (user.caller(), form.expected.parse().unwrap_or(usize::MAX));
    let added = state.run(move |s| whitelist::add_matching(s, &caller, expected)).await?;
    Ok(HttpResponse::SeeOther().insert_header(("location", format!("/users?joined={added}"))).finish())
}
