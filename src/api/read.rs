//! The management API's read side for people, roles, permissions, the audit log and notifications.
//! Accounts, roles, permissions and audit need a reading console role (Administrator or Auditor, through
//! the key's owner); notifications are the key owner's own.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::caller::ApiCaller;
use super::error::{ApiError, ErrorBody};
use crate::clock::format_rfc3339;
use crate::domain::access::Permission;
use crate::domain::key_type::BuiltinRole;
use crate::services::Caller;
use crate::services::directory::{self, UserFilter};
use crate::services::{audit, grants, notifications, permissions, roles};
use crate::state::AppState;

fn readers_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.role.can_read_all() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Reading this needs an Administrator's or Auditor's key.",
        ))
    }
}

fn ok(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// A person in the workspace, as the Users page lists them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountSummary {
    id: i64,
    email: String,
    name: String,
    /// `admin`, `auditor` or `member`.
    role: &'static str,
    /// `active`, `disabled` or `locked`.
    status: &'static str,
    /// Names of the roles they hold.
    roles: Vec<String>,
    /// How many permissions they hold directly, and how many of those are high-risk.
    permissions: i64,
    high_risk_permissions: i64,
    /// How many keys they own.
    keys: i64,
    last_sign_in_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountList {
    accounts: Vec<AccountSummary>,
}

#[utoipa::path(get, path = "/api/v1/accounts", tag = "people",
    params(
        ("q" = Option<String>, Query, description = "Matches name or email, case-insensitively."),
        ("role" = Option<String>, Query, description = "`admin`, `auditor` or `member`."),
        ("status" = Option<String>, Query, description = "`active`, `disabled` or `locked`."),
    ),
    responses((status = 200, body = AccountList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn accounts(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    filter: web::Query<UserFilter>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let filter = filter.into_inner();
    let people = state.run(move |s| directory::list(s, &caller, &filter)).await?;
    let list: Vec<_> = people
        .iter()
        .map(|p| {
            let a = &p.member.account;
            let status = if a.disabled_at.is_some() {
                "disabled"
            } else if a.locked_at.is_some() {
                "locked"
            } else {
                "active"
            };
            AccountSummary {
                id: a.id,
                email: a.email.clone(),
                name: a.display_name.clone(),
                role: p.member.role.code(),
                status,
                roles: p.roles.clone(),
                permissions: p.permissions,
                high_risk_permissions: p.high_risk,
                keys: p.keys,
                last_sign_in_at: a.last_sign_in_at.map(format_rfc3339),
            }
        })
        .collect();
    Ok(ok(AccountList { accounts: list }))
}

/// One person: their console role, state and grants.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDetail {
    id: i64,
    email: String,
    name: String,
    role: &'static str,
    disabled: bool,
    locked: bool,
    /// False until they choose one (imported people, password links).
    has_password: bool,
    created_at: String,
    last_sign_in_at: Option<String>,
    /// Names of the permissions they hold directly.
    permissions: Vec<String>,
    /// Names of the roles they hold.
    roles: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 200, body = AccountDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn account(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let id = path.into_inner();
    let grants::Held { member, catalogue, roles: all_roles, permission_ids: held, role_ids } =
        state.run(move |s| grants::held(s, &caller, id)).await?;
    let a = &member.account;
    Ok(ok(AccountDetail {
        id: a.id,
        email: a.email.clone(),
        name: a.display_name.clone(),
        role: member.role.code(),
        disabled: a.disabled_at.is_some(),
        locked: a.locked_at.is_some(),
        has_password: a.password_hash.is_some(),
        created_at: format_rfc3339(a.created_at),
        last_sign_in_at: a.last_sign_in_at.map(format_rfc3339),
        permissions: catalogue.iter().filter(|p| held.contains(&p.id)).map(|p| p.name.clone()).collect(),
        roles: all_roles.iter().filter(|r| role_ids.contains(&r.id)).map(|r| r.name.clone()).collect(),
    }))
}

/// A permission of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionJson {
    id: i64,
    name: String,
    label: String,
    /// `normal` or `high`.
    risk: &'static str,
    /// Whether using it changes something (READONLY never reaches those).
    writes: bool,
    /// `METHOD /path` rules: `*` is one segment, `**` the rest.
    rules: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionList {
    permissions: Vec<PermissionJson>,
}

fn permission_json(p: &Permission) -> PermissionJson {
    PermissionJson {
        id: p.id,
        name: p.name.clone(),
        label: p.label.clone(),
        risk: if p.high_risk { "high" } else { "normal" },
        writes: p.writes,
        rules: p.rules.iter().map(ToString::to_string).collect(),
    }
}

async fn catalogue(state: &AppState, caller: Caller) -> Result<Vec<Permission>, ApiError> {
    Ok(state.run(move |s| permissions::catalogue(s, &caller)).await?)
}

#[utoipa::path(get, path = "/api/v1/permissions", tag = "catalogue",
    responses((status = 200, body = PermissionList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn permission_list(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let list = catalogue(&state, caller).await?;
    Ok(ok(PermissionList { permissions: list.iter().map(permission_json).collect() }))
}

#[utoipa::path(get, path = "/api/v1/permissions/{id}", tag = "catalogue", params(("id" = i64, Path)),
    responses((status = 200, body = PermissionJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn permission(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let id = path.into_inner();
    let list = catalogue(&state, caller).await?;
    let p = list.iter().find(|p| p.id == id).ok_or_else(|| ApiError::from(crate::error::Error::NotFound))?;
    Ok(ok(permission_json(p)))
}

/// A role: built-in (ADMIN, READONLY) or custom.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleJson {
    id: i64,
    name: String,
    description: String,
    builtin: bool,
    permissions: RoleGrants,
}

/// What a role grants: `"all"` (ADMIN), `"read-only"` (READONLY: every permission that does not
/// write), or the names of a custom role's permissions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum RoleGrants {
    Rule(&'static str),
    Listed(Vec<String>),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    roles: Vec<RoleJson>,
}

async fn roles_json(state: &AppState, caller: Caller) -> Result<Vec<RoleJson>, ApiError> {
    let (list, catalogue) = state.run(move |s| roles::list(s, &caller)).await?;
    Ok(list
        .iter()
        .map(|roles::Listed { role: r, permission_ids, .. }| {
            let builtin = r.builtin.as_deref().and_then(BuiltinRole::parse);
            let held = || catalogue.iter().filter(|p| permission_ids.contains(&p.id)).map(|p| p.name.clone()).collect();
            RoleJson {
                id: r.id,
                name: r.name.clone(),
                description: r.description.clone(),
                builtin: builtin.is_some(),
                permissions: match builtin {
                    Some(BuiltinRole::Admin) => RoleGrants::Rule("all"),
                    Some(BuiltinRole::ReadOnly) => RoleGrants::Rule("read-only"),
                    None => RoleGrants::Listed(held()),
                },
            }
        })
        .collect())
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "catalogue",
    responses((status = 200, body = RoleList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn role_list(ApiCaller(caller): ApiCaller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    Ok(ok(RoleList { roles: roles_json(&state, caller).await? }))
}

#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "catalogue", params(("id" = i64, Path)),
    responses((status = 200, body = RoleJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn role(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let id = path.into_inner();
    let all = roles_json(&state, caller).await?;
    let role = all.into_iter().find(|r| r.id == id).ok_or_else(|| ApiError::from(crate::error::Error::NotFound))?;
    Ok(ok(role))
}

#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// An event id: return older events (the previous page's `next`).
    before: Option<i64>,
    /// 1–500, default 100.
    limit: Option<i64>,
}

/// An audit event: who did what, when, from where, to what, with the values before and after.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    id: i64,
    at: String,
    /// The account or key that acted, as a label.
    actor: String,
    actor_account_id: Option<i64>,
    actor_key_id: Option<i64>,
    source_ip: Option<String>,
    action: String,
    target: AuditTarget,
    #[schema(value_type = Option<Object>)]
    before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    after: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditTarget {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<i64>,
    label: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    events: Vec<AuditEvent>,
    /// Pass as `before` for older events; null on the last page.
    next: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn audit_events(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let (before, limit) = (query.before, query.limit.unwrap_or(100).clamp(1, 500));
    let rows = state.run(move |s| audit::events(s, &caller, before, limit)).await?;
    let parse = |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str(t).ok());
    let next = (i64::try_from(rows.len()).unwrap_or(0) == limit).then(|| rows.last().map(|r| r.id)).flatten();
    let events: Vec<_> = rows
        .iter()
        .map(|e| AuditEvent {
            id: e.id,
            at: format_rfc3339(e.occurred_at),
            actor: e.actor_label.clone(),
            actor_account_id: e.actor_account_id,
            actor_key_id: e.actor_key_id,
            source_ip: e.source_ip.clone(),
            action: e.action.clone(),
            target: AuditTarget { kind: e.target_type.clone(), id: e.target_id, label: e.target_label.clone() },
            before: parse(&e.before_json),
            after: parse(&e.after_json),
        })
        .collect();
    Ok(ok(AuditPage { events, next }))
}

/// A notification to the key's owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationJson {
    id: i64,
    kind: String,
    title: String,
    body: String,
    /// Where the console fixes what it is about.
    link: Option<String>,
    created_at: String,
    read: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    notifications: Vec<NotificationJson>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    responses((status = 200, body = NotificationList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn notification_list(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rows = state.run(move |s| notifications::recent(s, &caller, 200)).await?;
    let list: Vec<_> = rows
        .iter()
        .map(|n| NotificationJson {
            id: n.id,
            kind: n.kind.clone(),
            title: n.title.clone(),
            body: n.body.clone(),
            link: n.link.clone(),
            created_at: format_rfc3339(n.created_at),
            read: n.read_at.is_some(),
        })
        .collect();
    Ok(ok(NotificationList { notifications: list }))
}
