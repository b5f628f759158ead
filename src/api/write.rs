//! The management API's writes for the permission catalogue and custom roles, through the console's
//! services (Administrators' keys only, as in the console).

use actix_web::{HttpResponse, web};

use serde::Serialize;
use utoipa::ToSchema;

use super::caller::{ApiBody, ApiCaller};
use super::error::{ApiError, ErrorBody};
use crate::services::Caller;
use crate::services::permissions::{self, PermissionForm};
use crate::services::roles::{self, RoleForm};
use crate::state::AppState;

/// What was created: its id (also in `Location`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    id: i64,
}

fn created(kind: &str, id: i64) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, format!("/api/v1/{kind}/{id}")))
        .json(Created { id })
}

#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionBody {
    name: Option<String>,
    label: Option<String>,
    description: Option<String>,
    /// `normal` or `high`.
    risk: Option<String>,
    /// Whether using it changes something (READONLY never grants those).
    writes: Option<bool>,
    /// `METHOD /path` rules, `*` one segment, `**` the rest.
    rules: Option<Vec<String>>,
}

impl PermissionBody {
    /// The form the console would submit: these fields over `base`.
    fn over(self, base: PermissionForm) -> PermissionForm {
        PermissionForm {
            name: self.name.unwrap_or(base.name),
            label: self.label.unwrap_or(base.label),
            description: self.description.unwrap_or(base.description),
            risk: self.risk.unwrap_or(base.risk),
            writes: self.writes.map_or(base.writes, |w| w.then(|| "1".to_owned())),
            rules: self.rules.map_or(base.rules, |r| r.join("\n")),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/permissions", tag = "catalogue", request_body = PermissionBody,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
pub async fn create_permission(
    state: web::Data<AppState>,
    ApiBody(caller, body): ApiBody<PermissionBody>,
) -> Result<HttpResponse, ApiError> {
    let form = body.over(PermissionForm { writes: Some("1".into()), ..PermissionForm::default() });
    let id = state.run(move |s| permissions::create(s, &caller, &form)).await?;
    Ok(created("permissions", id))
}

#[utoipa::path(patch, path = "/api/v1/permissions/{id}", tag = "catalogue", params(("id" = i64, Path)),
    request_body = PermissionBody, responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_permission(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    ApiBody(caller, body): ApiBody<PermissionBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (path.into_inner(), body);
    state
        .run(move |s| {
            let base = permissions::form_of(s, caller.workspace_id, id)?;
            permissions::update(s, &caller, id, &body.over(base))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/permissions/{id}", tag = "catalogue", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_permission(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    state.run(move |s| permissions::delete(s, &caller, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    name: Option<String>,
    description: Option<String>,
    /// Permission ids.
    permissions: Option<Vec<i64>>,
}

#[utoipa::path(post, path = "/api/v1/roles", tag = "catalogue", request_body = RoleBody,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
pub async fn create_role(
    state: web::Data<AppState>,
    ApiBody(caller, body): ApiBody<RoleBody>,
) -> Result<HttpResponse, ApiError> {
    let form = RoleForm {
        name: body.name.unwrap_or_default(),
        description: body.description.unwrap_or_default(),
        permissions: body.permissions.unwrap_or_default(),
    };
    let id = state.run(move |s| roles::create(s, &caller, &form)).await?;
    Ok(created("roles", id))
}

#[utoipa::path(patch, path = "/api/v1/roles/{id}", tag = "catalogue", params(("id" = i64, Path)), request_body = RoleBody,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_role(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    ApiBody(caller, body): ApiBody<RoleBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (path.into_inner(), body);
    state
        .run(move |s| {
            let (role, permission_ids) = roles::get(s, &caller, id)?;
            let form = RoleForm {
                name: body.name.unwrap_or(role.name),
                description: body.description.unwrap_or(role.description),
                permissions: body.permissions.unwrap_or(permission_ids),
            };
            roles::update(s, &caller, id, &form)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A deleted role, and how many key owners were told.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleDeleted {
    deleted: i64,
    owners_notified: usize,
}

/// Deleting a custom role takes it from every key and account, and tells the affected key owners.
#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "catalogue", params(("id" = i64, Path)),
    responses((status = 200, body = RoleDeleted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_role(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let notified = state.run(move |s| roles::delete(s, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(RoleDeleted { deleted: id, owners_notified: notified }))
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    email: String,
    name: String,
    /// `admin`, `auditor` or `member`.
    role: String,
    /// At least 12 characters, as in the console; leave it out with `invite`.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<crate::crypto::SecretString>,
    #[serde(default)]
    permissions: Vec<i64>,
    /// Email the person an invitation with a one-time link to choose their password (72 hours) instead
    /// of setting one; refused (422) while email is off.
    #[serde(default)]
    invite: bool,
}

/// An existing account was invited rather than created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invited {
    /// Always `invitation_pending`.
    status: &'static str,
    message: &'static str,
}

/// `POST /api/v1/accounts`: as the console's Add user (the password must meet the same rules). An email
/// that already has an account, in another workspace, is invited instead: 202, and it joins when it accepts.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "people", request_body = NewAccount,
    responses((status = 201, body = Created), (status = 202, body = Invited), (status = 422, body = ErrorBody)))]
pub async fn create_account(
    state: web::Data<AppState>,
    ApiBody(caller, body): ApiBody<NewAccount>,
) -> Result<HttpResponse, ApiError> {
    caller.must_administer()?;
    let form = crate::services::accounts::NewUserForm {
        email: body.email,
        name: body.name,
        role: body.role,
        confirm: body.password.clone().unwrap_or_default(),
        password: body.password.unwrap_or_default(),
        permissions: body.permissions,
        invite: body.invite,
    };
    match crate::services::accounts::add_user(&state, &caller, form).await? {
        crate::services::accounts::Added::Created(id) => Ok(created("accounts", id)),
        crate::services::accounts::Added::Invited(_) => Ok(HttpResponse::Accepted().json(Invited {
            status: "invitation_pending",
            message: "This email already has a keyward account: it is invited and joins when it accepts.",
        })),
    }
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAccount {
    /// `admin`, `auditor` or `member`.
    role: Option<String>,
    disabled: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "people", params(("id" = i64, Path)),
    request_body = PatchAccount, responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, description = "The caller's own account: it cannot disable itself or change its own role.",
            body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_account(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    ApiBody(caller, body): ApiBody<PatchAccount>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (path.into_inner(), body);
    state.run(move |s| crate::services::accounts::update(s, &caller, id, body.role.as_deref(), body.disabled)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A person's direct grants, by id.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    #[serde(default)]
    permissions: Vec<i64>,
    #[serde(default)]
    roles: Vec<i64>,
}

/// `PUT /api/v1/accounts/{id}/grants`: the person's direct permissions and roles, replaced.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/grants", tag = "people", params(("id" = i64, Path)), request_body = Grants,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_grants(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    ApiBody(caller, body): ApiBody<Grants>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (path.into_inner(), body);
    let form = crate::services::grants::GrantsForm { permissions: body.permissions, roles: body.roles };
    state.run(move |s| crate::services::grants::set(s, &caller, id, &form)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/v1/accounts/{id}`: their keys go to an administrator, who is notified, as in the console;
/// `keys` and `to` choose as the console's Delete page does.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "people", params(("id" = i64, Path), DepartedKeysQuery),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`keys` is not hand_over or deactivate, or `to` is not an Administrator who may receive them")))]
pub async fn delete_account(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<DepartedKeysQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let choice = query.into_inner().choice()?;
    state.run(move |s| crate::services::accounts::delete_user(s, &caller, id, choice)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DepartedKeysQuery {
    /// `hand_over` (they keep working) or `deactivate`; left out: the workspace's policy.
    #[param(required = false)]
    keys: Option<String>,
    /// The id of the active Administrator who receives them; left out: the caller, when an Administrator here.
    #[param(required = false)]
    to: Option<i64>,
}

impl DepartedKeysQuery {
    fn choice(self) -> Result<crate::services::accounts::KeysChoice, ApiError> {
        use crate::services::policies::DepartedKeys;
        let then = match self.keys.as_deref() {
            None => None,
            Some(code) => Some(DepartedKeys::parse(code).ok_or_else(|| {
                crate::error::Error::from(crate::domain::Invalid::new("keys", "keys is hand_over or deactivate."))
            })?),
        };
        Ok(crate::services::accounts::KeysChoice { to: self.to, then })
    }
}

/// How many notifications were marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    marked_read: usize,
}

async fn mark(caller: Caller, state: &AppState, id: Option<i64>) -> Result<HttpResponse, ApiError> {
    let changed = state.run(move |s| crate::services::notifications::mark_read(s, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(MarkedRead { marked_read: changed }))
}

/// `POST /api/v1/notifications/{id}/read`: one of the key owner's notifications (404 if not theirs; one already read stays read).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = MarkedRead), (status = 404, body = ErrorBody)))]
pub async fn mark_read(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    mark(caller, &state, Some(path.into_inner())).await
}

/// `POST /api/v1/notifications/read`: all of them.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", responses((status = 200, body = MarkedRead)))]
pub async fn mark_all_read(ApiCaller(caller): ApiCaller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    mark(caller, &state, None).await
}
