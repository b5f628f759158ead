//! User Management: the accounts of the workspace, adding one, disabling, enabling and unlocking.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::{Admin, CurrentUser, Reader};
use super::error::{AppError, html, is_htmx};
use super::form::FieldError;
use super::form::HtmlForm;
use super::layout::Layout;
use crate::db::accounts::{self, Member};
use crate::domain::role::ConsoleRole;
use crate::error::Error;
use crate::services::accounts::{self as account_service, NewUserForm};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "users/index.html")]
struct UsersPage {
    layout: Layout,
    section: UsersSection,
}

/// The table and the add form: what htmx swaps after adding someone.
#[derive(Template)]
#[template(path = "users/_section.html")]
struct UsersSection {
    csrf: String,
    can_edit: bool,
    me: i64,
    rows: Vec<Member>,
    roles: [ConsoleRole; 3],
    form: AddForm,
}

#[derive(Debug, Default)]
struct AddForm {
    email: String,
    name: String,
    role: String,
    errors: FieldError,
    added: Option<String>,
}

#[derive(Template)]
#[template(path = "users/_row.html")]
struct UserRow<'a> {
    csrf: &'a str,
    can_edit: bool,
    me: i64,
    m: &'a Member,
}

impl UsersSection {
    fn row(&self, m: &Member) -> String {
        UserRow { csrf: &self.csrf, can_edit: self.can_edit, me: self.me, m }.render().unwrap_or_default()
    }
}

async fn section(state: &AppState, user: &CurrentUser, form: AddForm) -> Result<UsersSection, AppError> {
    let workspace = user.workspace_id;
    let rows = state.blocking(move |db| db.read(|c| accounts::members(c, workspace))).await?;
    Ok(UsersSection {
        csrf: user.csrf.clone(),
        can_edit: user.role.can_administer(),
        me: user.id,
        rows,
        roles: ConsoleRole::ALL,
        form,
    })
}

fn page(user: &CurrentUser, section: UsersSection, status: StatusCode) -> HttpResponse {
    html(status, UsersPage { layout: Layout::new("Users", "users", user), section }.render())
}

pub async fn list(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let form = AddForm { role: ConsoleRole::Member.code().into(), ..AddForm::default() };
    Ok(page(&user, section(&state, &user, form).await?, StatusCode::OK))
}

pub async fn create(
    req: HttpRequest,
    Admin(user): Admin,
    state: web::Data<AppState>,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let result = account_service::create_user(&state, user.origin(), Some(user.workspace_id), input.clone()).await;
    let (status, form) = match result {
        Ok(_) => (
            StatusCode::OK,
            AddForm {
                role: ConsoleRole::Member.code().into(),
                added: Some(input.email.trim().to_owned()),
                ..AddForm::default()
            },
        ),
        Err(Error::Invalid(invalid)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            AddForm { email: input.email, name: input.name, role: input.role, errors: invalid.into(), added: None },
        ),
        Err(other) => return Err(other.into()),
    };
    let section = section(&state, &user, form).await?;
    if is_htmx(&req) {
        return Ok(html(status, section.render()));
    }
    Ok(page(&user, section, status))
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowAction {
    Disable,
    Enable,
    Unlock,
}

pub async fn row_action(
    req: HttpRequest,
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<(i64, RowAction)>,
) -> Result<HttpResponse, AppError> {
    let (account_id, action) = path.into_inner();
    let (origin, workspace) = (user.origin(), user.workspace_id);
    let member = state
        .run(move |s| {
            match action {
                RowAction::Disable => account_service::set_disabled(s, &origin, workspace, account_id, true)?,
                RowAction::Enable => account_service::set_disabled(s, &origin, workspace, account_id, false)?,
                RowAction::Unlock => account_service::unlock(s, &origin, Some(workspace), account_id)?,
            }
            s.db.read(|c| accounts::member(c, workspace, account_id))?.ok_or(Error::NotFound)
        })
        .await?;
    if is_htmx(&req) {
        let row = UserRow { csrf: &user.csrf, can_edit: true, me: user.id, m: &member };
        return Ok(html(StatusCode::OK, row.render()));
    }
    Ok(HttpResponse::SeeOther().insert_header(("location", "/users")).finish())
}

// ---- one person: grants ----

#[derive(Template)]
#[template(path = "users/show.html")]
struct UserPage {
    layout: Layout,
    member: Member,
    grants: GrantsBox,
}

/// The grants form: what htmx swaps after each change.
#[derive(Template)]
#[template(path = "users/_grants.html")]
struct GrantsBox {
    account_id: i64,
    csrf: String,
    can_edit: bool,
    catalogue: Vec<crate::domain::access::Permission>,
    roles: Vec<crate::db::roles::Role>,
    permissions_held: Vec<i64>,
    roles_held: Vec<i64>,
    saved: bool,
    errors: FieldError,
}

impl GrantsBox {
    fn has_permission(&self, id: &i64) -> bool {
        self.permissions_held.contains(id)
    }

    fn has_role(&self, id: &i64) -> bool {
        self.roles_held.contains(id)
    }
}

async fn grants_box(
    state: &AppState,
    user: &CurrentUser,
    account_id: i64,
    saved: bool,
    errors: FieldError,
) -> Result<(Member, GrantsBox), AppError> {
    let ws = user.workspace_id;
    let (member, catalogue, roles, (permissions_held, roles_held)) = state
        .blocking(move |db| {
            db.read(|c| {
                let member = accounts::member(c, ws, account_id)?.ok_or(Error::NotFound)?;
                Ok::<_, Error>((
                    member,
                    crate::db::permissions::catalogue(c, ws)?,
                    crate::db::roles::list(c, ws)?,
                    crate::db::permissions::account_grant_ids(c, ws, account_id)?,
                ))
            })
        })
        .await?;
    let grants = GrantsBox {
        account_id,
        csrf: user.csrf.clone(),
        can_edit: user.role.can_administer(),
        catalogue,
        roles,
        permissions_held,
        roles_held,
        saved,
        errors,
    };
    Ok((member, grants))
}

pub async fn show(
    Reader(user): Reader,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (member, grants) = grants_box(&state, &user, path.into_inner(), false, FieldError::default()).await?;
    let page = UserPage { layout: Layout::new(member.account.display_name.clone(), "users", &user), member, grants };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn set_grants(
    req: HttpRequest,
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    HtmlForm(form): HtmlForm<crate::services::grants::GrantsForm>,
) -> Result<HttpResponse, AppError> {
    let account_id = path.into_inner();
    let caller = user.caller();
    let (status, saved, errors) =
        match state.run(move |s| crate::services::grants::set(s, &caller, account_id, &form)).await {
            Ok(()) => (StatusCode::OK, true, FieldError::default()),
            Err(Error::Invalid(invalid)) => (StatusCode::UNPROCESSABLE_ENTITY, false, invalid.into()),
            Err(other) => return Err(other.into()),
        };
    let (member, grants) = grants_box(&state, &user, account_id, saved, errors).await?;
    if is_htmx(&req) {
        return Ok(html(status, grants.render()));
    }
    let page = UserPage { layout: Layout::new(member.account.display_name.clone(), "users", &user), member, grants };
    Ok(html(status, page.render()))
}

impl UserPage {
    fn roles(&self) -> [ConsoleRole; 3] {
        ConsoleRole::ALL
    }

    /// Administrators manage everyone but themselves.
    fn may_delete(&self) -> bool {
        self.layout.user.as_ref().is_some_and(|u| u.role.can_administer() && u.id != self.member.account.id)
    }
}

// ---- deleting a person ----

#[derive(Template)]
#[template(path = "users/delete.html")]
struct DeletePage {
    layout: Layout,
    member: Member,
    keys: Vec<String>,
}

pub async fn confirm_delete(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, ws) = (path.into_inner(), user.workspace_id);
    if id == user.id {
        return Err(Error::Conflict("You cannot delete your own account.".into()).into());
    }
    let (member, keys) = state
        .blocking(move |db| {
            db.read(|c| {
                let member = accounts::member(c, ws, id)?.ok_or(Error::NotFound)?;
                let keys = crate::db::keys::owned_by(c, id)?.into_iter().map(|(_, _, name)| name).collect::<Vec<_>>();
                Ok::<_, Error>((member, keys))
            })
        })
        .await?;
    let page =
        DeletePage { layout: Layout::new(format!("Delete {}", member.account.email), "users", &user), member, keys };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn delete(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    let deleted = state.run(move |s| account_service::delete_user(s, &caller, id)).await?;
    tracing::info!(account_id = id, workspaces = deleted.moved.len(), "account deleted; keys reassigned");
    Ok(HttpResponse::SeeOther().insert_header(("location", "/users")).finish())
}

#[derive(Debug, serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, id, role) = (user.caller(), path.into_inner(), form.into_inner().role);
    state.run(move |s| account_service::change_role(s, &caller, id, &role)).await?;
    Ok(HttpResponse::SeeOther().insert_header(("location", format!("/users/{id}"))).finish())
}
