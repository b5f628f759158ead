//! The permission catalogue page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::auth::{Admin, CurrentUser, Reader};
use super::error::{AppError, html};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use crate::domain::access::Permission;
use crate::error::Error;
use crate::services::catalogues::{self, Starter};
use crate::services::permissions::{self, PermissionForm};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "permissions/index.html")]
struct CataloguePage {
    layout: Layout,
    can_edit: bool,
    catalogue: Vec<Permission>,
    form: PermissionForm,
    errors: FieldError,
    /// The starter catalogues, offered while the catalogue is empty.
    starters: &'static [Starter],
}

#[derive(Template)]
#[template(path = "permissions/edit.html")]
struct EditPage {
    layout: Layout,
    id: i64,
    form: PermissionForm,
    errors: FieldError,
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    form: PermissionForm,
    errors: FieldError,
) -> Result<CataloguePage, AppError> {
    let caller = user.caller();
    let catalogue = state.run(move |s| permissions::catalogue(s, &caller)).await?;
    Ok(CataloguePage {
        layout: Layout::new("Permissions", "permissions", user),
        can_edit: user.role.can_administer(),
        catalogue,
        form,
        errors,
        starters: &catalogues::STARTERS,
    })
}

pub async fn list(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let form = PermissionForm { writes: Some("1".into()), ..PermissionForm::default() };
    Ok(html(StatusCode::OK, list_page(&state, &user, form, FieldError::default()).await?.render()))
}

fn back() -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("location", "/permissions")).finish()
}

#[derive(Debug, serde::Deserialize)]
pub struct StarterForm {
    #[serde(default)]
    catalogue: String,
}

/// Applies a starter catalogue; the page then lists what it added (and Roles its roles).
pub async fn apply_starter(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, StarterForm>,
) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    state.run(move |s| catalogues::apply(s, &caller, &form.catalogue)).await?;
    Ok(back())
}

pub async fn create(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, PermissionForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted) = (user.caller(), form.clone());
    match state.run(move |s| permissions::create(s, &caller, &submitted)).await {
        Ok(_) => Ok(back()),
        Err(Error::Invalid(invalid)) => {
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, list_page(&state, &user, form, invalid.into()).await?.render()))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn edit(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, ws) = (path.into_inner(), user.workspace_id);
    let form = state.run(move |s| permissions::form_of(s, ws, id)).await?;
    let page = EditPage {
        layout: Layout::new(format!("Edit {}", form.name), "permissions", &user),
        id,
        form,
        errors: FieldError::default(),
    };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn update(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(Admin(user), form): Authed<Admin, PermissionForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (caller, submitted) = (user.caller(), form.clone());
    match state.run(move |s| permissions::update(s, &caller, id, &submitted)).await {
        Ok(()) => Ok(back()),
        Err(Error::Invalid(invalid)) => {
            let page = EditPage {
                layout: Layout::new("Edit permission", "permissions", &user),
                id,
                form,
                errors: invalid.into(),
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn delete(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    state.run(move |s| permissions::delete(s, &caller, id)).await?;
    Ok(back())
}
