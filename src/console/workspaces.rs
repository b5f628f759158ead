//! Workspaces, for super-administrators: the list, creating one, and each workspace's name, archive
//! state and members. Also the switcher every member of several workspaces sees in the layout.

use actix_session::SessionExt as _;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::{CurrentUser, SuperAdmin};
use super::error::{AppError, html};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use super::see_other;
use super::session::ConsoleSession;
use crate::domain::role::ConsoleRole;
use crate::error::Error;
use crate::services::accounts::Member;
use crate::services::workspaces::{self, Summary};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "workspaces/index.html")]
struct ListPage {
    layout: Layout,
    workspaces: Vec<Summary>,
    name: String,
    errors: FieldError,
}

#[derive(Template)]
#[template(path = "workspaces/show.html")]
struct ShowPage {
    layout: Layout,
    workspace: Summary,
    members: Vec<Member>,
    name: String,
    add: MemberForm,
    errors: FieldError,
}

impl ListPage {
    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        self.layout.when(t)
    }
}

impl ShowPage {
    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        self.layout.when(t)
    }

    fn roles(&self) -> [ConsoleRole; 3] {
        ConsoleRole::ALL
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct RoleForm {
    role: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct SwitchForm {
    workspace: String,
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    name: String,
    errors: FieldError,
) -> Result<ListPage, AppError> {
    let who = user.super_admin();
    let workspaces = state.run(move |s| workspaces::list(s, &who)).await?;
    Ok(ListPage { layout: Layout::new("Workspaces", "workspaces", user), workspaces, name, errors })
}

pub async fn list(SuperAdmin(user): SuperAdmin, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(html(StatusCode::OK, list_page(&state, &user, String::new(), FieldError::default()).await?.render()))
}

pub async fn create(
    state: web::Data<AppState>,
    Authed(SuperAdmin(user), form): Authed<SuperAdmin, NameForm>,
) -> Result<HttpResponse, AppError> {
    let (who, name) = (user.super_admin(), form.name.clone());
    match state.run(move |s| workspaces::create(s, &who, &name)).await {
        Ok(id) => Ok(see_other(format!("/workspaces/{id}"))),
        Err(Error::Invalid(invalid)) => Ok(html(
            StatusCode::UNPROCESSABLE_ENTITY,
            list_page(&state, &user, form.name, invalid.into()).await?.render(),
        )),
        Err(other) => Err(other.into()),
    }
}

async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    name: Option<String>,
    add: MemberForm,
    errors: FieldError,
) -> Result<ShowPage, AppError> {
    let who = user.super_admin();
    let (workspace, members) = state.run(move |s| workspaces::show(s, &who, id)).await?;
    Ok(ShowPage {
        layout: Layout::new(workspace.name.clone(), "workspaces", user),
        name: name.unwrap_or_else(|| workspace.name.clone()),
        workspace,
        members,
        add,
        errors,
    })
}

pub async fn show(
    SuperAdmin(user): SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let add = MemberForm { role: ConsoleRole::Member.code().into(), ..MemberForm::default() };
    let page = show_page(&state, &user, path.into_inner(), None, add, FieldError::default()).await?;
    Ok(html(StatusCode::OK, page.render()))
}

/// Back to the workspace's page after a change, or the page again with the field's error.
async fn after(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    result: crate::error::Result<()>,
    (name, add): (Option<String>, MemberForm),
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => Ok(see_other(format!("/workspaces/{id}"))),
        Err(Error::Invalid(invalid)) => {
            let page = show_page(state, user, id, name, add, invalid.into()).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn rename(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(SuperAdmin(user), form): Authed<SuperAdmin, NameForm>,
) -> Result<HttpResponse, AppError> {
    let (id, who, name) = (path.into_inner(), user.super_admin(), form.name.clone());
    let result = state.run(move |s| workspaces::rename(s, &who, id, &name)).await;
    after(&state, &user, id, result, (Some(form.name), MemberForm::default())).await
}

pub async fn archive(
    SuperAdmin(user): SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_archived(&state, &user, path.into_inner(), true).await
}

pub async fn restore(
    SuperAdmin(user): SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_archived(&state, &user, path.into_inner(), false).await
}

async fn set_archived(state: &AppState, user: &CurrentUser, id: i64, archive: bool) -> Result<HttpResponse, AppError> {
    let who = user.super_admin();
    state.run(move |s| workspaces::set_archived(s, &who, id, archive)).await?;
    Ok(see_other(format!("/workspaces/{id}")))
}

pub async fn add_member(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(SuperAdmin(user), form): Authed<SuperAdmin, MemberForm>,
) -> Result<HttpResponse, AppError> {
    let (id, who, submitted) = (path.into_inner(), user.super_admin(), form.clone());
    let result = state.run(move |s| workspaces::add_member(s, &who, id, &submitted.email, &submitted.role)).await;
    after(&state, &user, id, result.map(drop), (None, form)).await
}

pub async fn change_role(
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    Authed(SuperAdmin(user), form): Authed<SuperAdmin, RoleForm>,
) -> Result<HttpResponse, AppError> {
    let ((id, account), who) = (path.into_inner(), user.super_admin());
    let result = state.run(move |s| workspaces::change_role(s, &who, id, account, &form.role)).await;
    after(&state, &user, id, result, (None, MemberForm::default())).await
}

pub async fn remove_member(
    SuperAdmin(user): SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let ((id, account), who) = (path.into_inner(), user.super_admin());
    state.run(move |s| workspaces::remove_member(s, &who, id, account)).await?;
    Ok(see_other(format!("/workspaces/{id}")))
}

/// The layout's switcher: moves this session to another workspace the account belongs to. Anything
/// else (not a member, archived, not a number) is a 404, as a foreign id is everywhere.
pub async fn switch(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authed(user, form): Authed<CurrentUser, SwitchForm>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = form.workspace.trim().parse().map_err(|_| Error::NotFound)?;
    let me = user.id;
    if !state.run(move |s| workspaces::may_enter(s, me, id)).await? {
        return Err(Error::NotFound.into());
    }
    ConsoleSession(req.get_session()).switch_workspace(id);
    Ok(see_other("/"))
}
