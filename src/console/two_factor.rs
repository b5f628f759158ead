//! Two-factor sign-in pages: set up, confirm and switch off from the profile; an Administrator's reset
//! on a person's page; the workspace's requirement in Settings.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::auth::{Admin, CurrentUser};
use super::error::{AppError, html};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use super::see_other;
use crate::clock::format_time;
use crate::crypto::SecretString;
use crate::error::Error;
use crate::services::two_factor::{self, Enrolment, Status};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "profile/two_factor.html")]
struct Page {
    layout: Layout,
    status: Status,
    /// Set-up in progress: the QR code and secret to scan or type.
    enrolment: Option<Enrolment>,
    /// Just confirmed: the recovery codes, shown this once.
    recovery_codes: Vec<String>,
    required: bool,
    errors: FieldError,
}

impl Page {
    fn since(&self) -> String {
        self.status.since.map(format_time).unwrap_or_default()
    }

    /// The secret in groups of four, easier to type.
    fn grouped(&self, secret: &str) -> String {
        secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    required: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Debug, serde::Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    password: SecretString,
    #[serde(default)]
    code: String,
}

#[derive(Debug, serde::Deserialize)]
pub struct RequireForm {
    #[serde(default)]
    required: Option<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    enrolment: Option<Enrolment>,
    recovery_codes: Vec<String>,
    errors: FieldError,
) -> Result<Page, AppError> {
    let me = user.id;
    let status = state.run(move |s| two_factor::status(s, me)).await?;
    Ok(Page {
        layout: Layout::new("Two-factor sign-in", "profile", user),
        status,
        enrolment,
        recovery_codes,
        required: false,
        errors,
    })
}

pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    // A set-up in progress is not shown again here: its secret appears only in answer to the POST that
    // made it (and to a wrong first code); "Set up" makes a new one.
    let mut page = page(&state, &user, None, Vec::new(), FieldError::default()).await?;
    page.required = query.required.is_some() && !user.two_factor;
    Ok(html(StatusCode::OK, page.render()))
}

/// Starts setting up: a new secret, shown as a QR code and in text.
pub async fn begin(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let me = user.id;
    let enrolment = state.run(move |s| two_factor::begin(s, me)).await?;
    Ok(html(StatusCode::OK, page(&state, &user, Some(enrolment), Vec::new(), FieldError::default()).await?.render()))
}

/// Confirms the set-up with a first code and shows the recovery codes once.
pub async fn confirm(
    state: web::Data<AppState>,
    Authed(user, form): Authed<CurrentUser, CodeForm>,
) -> Result<HttpResponse, AppError> {
    let (me, ip) = (user.id, user.ip);
    match state.run(move |s| two_factor::confirm(s, me, &form.code, ip)).await {
        Ok(codes) => {
            let mut user = user;
            user.two_factor = true;
            Ok(html(StatusCode::OK, page(&state, &user, None, codes, FieldError::default()).await?.render()))
        }
        Err(Error::Invalid(invalid)) => {
            let enrolment = state.run(move |s| two_factor::pending(s, me)).await?;
            let page = page(&state, &user, enrolment, Vec::new(), invalid.into()).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

/// Switches the signed-in account's two-factor off, after its password and a code.
pub async fn disable(
    state: web::Data<AppState>,
    Authed(user, form): Authed<CurrentUser, DisableForm>,
) -> Result<HttpResponse, AppError> {
    match two_factor::disable(&state, user.id, &form.password, &form.code, user.ip).await {
        Ok(()) => Ok(see_other("/profile/two-factor")),
        Err(Error::Invalid(invalid)) => {
            let page = page(&state, &user, None, Vec::new(), invalid.into()).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

/// An Administrator resets a member's two-factor.
pub async fn reset(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    state.run(move |s| two_factor::reset(s, &caller, id)).await?;
    Ok(see_other(format!("/users/{id}")))
}

/// Settings: require two-factor of everyone in the workspace, or not.
pub async fn require(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, RequireForm>,
) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let required = form.required.is_some();
    state.run(move |s| two_factor::set_required(s, &caller, required)).await?;
    Ok(see_other(super::settings::Tab::TwoFactor.path()))
}
