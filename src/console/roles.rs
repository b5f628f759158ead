//! Roles: the list with its permission matrix, the role form with a live preview of what the role
//! reaches, and deletion that first shows who holds the role.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::{Admin, CurrentUser, Reader};
use super::error::{AppError, html};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use crate::domain::access::Permission;
use crate::domain::key_type::BuiltinRole;
use crate::error::Error;
use crate::services::roles::{self, Holders, RoleForm};
use crate::state::AppState;

/// A role as the list shows it.
#[derive(Debug)]
struct RoleRow {
    role: roles::Role,
    builtin: Option<BuiltinRole>,
    permissions: BTreeSet<i64>,
    keys: i64,
    people: i64,
}

impl RoleRow {
    /// Whether the role grants `p`: built-in roles by their rule, custom roles by their checkboxes.
    fn grants(&self, p: &Permission) -> bool {
        match self.builtin {
            Some(BuiltinRole::Admin) => true,
            Some(BuiltinRole::ReadOnly) => !p.writes,
            None => self.permissions.contains(&p.id),
        }
    }
}

#[derive(Template)]
#[template(path = "roles/index.html")]
struct RolesPage {
    layout: Layout,
    can_edit: bool,
    rows: Vec<RoleRow>,
    catalogue: Vec<Permission>,
}

pub async fn list(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let (list, catalogue) = state.run(move |s| roles::list(s, &caller)).await?;
    let rows = list
        .into_iter()
        .map(|roles::Listed { role, permission_ids, keys, people }| RoleRow {
            builtin: role.builtin.as_deref().and_then(BuiltinRole::parse),
            permissions: permission_ids.into_iter().collect(),
            role,
            keys,
            people,
        })
        .collect();
    let page = RolesPage {
        layout: Layout::new("Roles", "roles", &user),
        can_edit: user.role.can_administer(),
        rows,
        catalogue,
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// The URIs a set of permissions reaches: each rule once, with the permissions that give it.
#[derive(Template)]
#[template(path = "roles/_reach.html")]
struct Reach {
    rules: Vec<(String, Vec<String>)>,
    everything: bool,
}

impl Reach {
    fn of(catalogue: &[Permission], holds: impl Fn(&Permission) -> bool, everything: bool) -> Reach {
        let mut rules: Vec<(String, Vec<String>)> = Vec::new();
        for p in catalogue.iter().filter(|p| holds(p)) {
            for rule in &p.rules {
                let text = rule.to_string();
                match rules.iter_mut().find(|(r, _)| *r == text) {
                    Some((_, by)) => by.push(p.name.clone()),
                    None => rules.push((text, vec![p.name.clone()])),
                }
            }
        }
        rules.sort();
        Reach { rules, everything }
    }
}

#[derive(Template)]
#[template(path = "roles/form.html")]
struct FormPage {
    layout: Layout,
    /// `None` while creating.
    id: Option<i64>,
    builtin: Option<BuiltinRole>,
    can_edit: bool,
    form: RoleForm,
    catalogue: Vec<Permission>,
    reach: Reach,
    errors: FieldError,
}

impl FormPage {
    /// Every permission may be granted here (the shared permission fields ask).
    fn unavailable(&self, _p: &Permission) -> Option<String> {
        None
    }

    fn permission_checked(&self, id: &i64) -> bool {
        self.form.permissions.contains(id)
    }

    fn action(&self) -> String {
        self.id.map_or_else(|| "/roles".to_owned(), |id| format!("/roles/{id}"))
    }
}

async fn catalogue(state: &AppState, user: &CurrentUser) -> Result<Vec<Permission>, AppError> {
    let caller = user.caller();
    Ok(state.run(move |s| crate::services::permissions::catalogue(s, &caller)).await?)
}

fn form_page(
    user: &CurrentUser,
    id: Option<i64>,
    builtin: Option<BuiltinRole>,
    form: RoleForm,
    catalogue: Vec<Permission>,
    errors: FieldError,
) -> FormPage {
    let held: BTreeSet<i64> = form.permissions.iter().copied().collect();
    let reach = match builtin {
        Some(BuiltinRole::Admin) => Reach::of(&catalogue, |_| true, true),
        Some(BuiltinRole::ReadOnly) => Reach::of(&catalogue, |p| !p.writes, false),
        None => Reach::of(&catalogue, |p| held.contains(&p.id), false),
    };
    let title = if id.is_none() { "New role".to_owned() } else { form.name.clone() };
    FormPage {
        layout: Layout::new(title, "roles", user),
        id,
        builtin,
        can_edit: user.role.can_administer() && builtin.is_none(),
        form,
        catalogue,
        reach,
        errors,
    }
}

pub async fn new(Admin(user): Admin, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let catalogue = catalogue(&state, &user).await?;
    let page = form_page(&user, None, None, RoleForm::default(), catalogue, FieldError::default());
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn show(
    Reader(user): Reader,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let caller = user.caller();
    let (role, permissions, catalogue) = state.run(move |s| roles::edit_view(s, &caller, id)).await?;
    let form = RoleForm { permissions, name: role.name, description: role.description };
    let builtin = role.builtin.as_deref().and_then(BuiltinRole::parse);
    Ok(html(StatusCode::OK, form_page(&user, Some(id), builtin, form, catalogue, FieldError::default()).render()))
}

#[derive(Debug, serde::Deserialize)]
pub struct PreviewQuery {
    #[serde(default)]
    permissions: Vec<i64>,
}

/// The live preview: what the checked permissions reach.
pub async fn preview(
    Reader(user): Reader,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let PreviewQuery { permissions } =
        serde_html_form::from_str(req.query_string()).unwrap_or(PreviewQuery { permissions: Vec::new() });
    let catalogue = catalogue(&state, &user).await?;
    Ok(html(StatusCode::OK, Reach::of(&catalogue, |p| permissions.contains(&p.id), false).render()))
}

fn saved() -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("location", "/roles")).finish()
}

async fn refused(
    state: &AppState,
    user: &CurrentUser,
    id: Option<i64>,
    form: RoleForm,
    result: Result<(), Error>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => Ok(saved()),
        Err(Error::Invalid(invalid)) => {
            let catalogue = catalogue(state, user).await?;
            let page = form_page(user, id, None, form, catalogue, invalid.into());
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, RoleForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted) = (user.caller(), form.clone());
    let result = state.run(move |s| roles::create(s, &caller, &submitted)).await.map(drop);
    refused(&state, &user, None, form, result).await
}

pub async fn update(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(Admin(user), form): Authed<Admin, RoleForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, id, submitted) = (user.caller(), path.into_inner(), form.clone());
    let result = state.run(move |s| roles::update(s, &caller, id, &submitted)).await;
    refused(&state, &user, Some(id), form, result).await
}

#[derive(Template)]
#[template(path = "roles/delete.html")]
struct DeletePage {
    layout: Layout,
    holders: Holders,
}

pub async fn confirm_delete(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    let holders = state.run(move |s| roles::holders(s, &caller, id)).await?;
    let layout = Layout::new(format!("Delete {}", holders.role.name), "roles", &user);
    Ok(html(StatusCode::OK, DeletePage { layout, holders }.render()))
}

pub async fn delete(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    let notified = state.run(move |s| roles::delete(s, &caller, id)).await?;
    tracing::info!(role_id = id, owners_notified = notified, "role deleted");
    Ok(saved())
}
