//! The management API's read side for people, roles, permissions, the audit log and notifications.
//! Accounts, roles, permissions and audit need a reading console role (Administrator or Auditor, through
//! the key's owner); notifications are the key owner's own.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::api::ApiError;
use super::api_keys::ApiCaller;
use crate::clock::format_rfc3339;
use crate::db::{audit, notifications, permissions, roles};
use crate::domain::access::Permission;
use crate::domain::key_type::BuiltinRole;
use crate::services::Caller;
use crate::services::directory::{self, UserFilter};
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

/// Reads on the blocking pool.
async fn read<T, E>(
    state: &AppState,
    f: impl FnOnce(&mut crate::db::DbConn) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<crate::error::Error>,
{
    Ok(state.run(move |s| s.db.read(f)).await?)
}

fn ok(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

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
            serde_json::json!({
                "id": a.id, "email": a.email, "name": a.display_name, "role": p.member.role.code(),
                "status": if a.disabled_at.is_some() { "disabled" } else if a.locked_at.is_some() { "locked" } else { "active" },
                "roles": p.roles, "permissions": p.permissions, "high_risk_permissions": p.high_risk, "keys": p.keys,
                "last_sign_in_at": a.last_sign_in_at.map(format_rfc3339),
            })
        })
        .collect();
    Ok(ok(serde_json::json!({ "accounts": list })))
}

pub async fn account(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let id = path.into_inner();
    let ws = caller.workspace_id;
    let (member, catalogue, (held, role_ids), all_roles) = read(&state, move |c| {
        let member = crate::db::accounts::member(c, ws, id)?.ok_or(crate::error::Error::NotFound)?;
        Ok::<_, crate::error::Error>((
            member,
            permissions::rows(c, ws)?,
            permissions::account_grant_ids(c, ws, id)?,
            roles::list(c, ws)?,
        ))
    })
    .await?;
    let a = &member.account;
    Ok(ok(serde_json::json!({
        "id": a.id, "email": a.email, "name": a.display_name, "role": member.role.code(),
        "disabled": a.disabled_at.is_some(), "locked": a.locked_at.is_some(), "has_password": a.password_hash.is_some(),
        "created_at": format_rfc3339(a.created_at), "last_sign_in_at": a.last_sign_in_at.map(format_rfc3339),
        "permissions": catalogue.iter().filter(|p| held.contains(&p.id)).map(|p| &p.name).collect::<Vec<_>>(),
        "roles": all_roles.iter().filter(|r| role_ids.contains(&r.id)).map(|r| &r.name).collect::<Vec<_>>(),
    })))
}

fn permission_json(p: &Permission) -> serde_json::Value {
    serde_json::json!({
        "id": p.id, "name": p.name, "label": p.label, "risk": if p.high_risk { "high" } else { "normal" },
        "writes": p.writes, "rules": p.rules.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

async fn catalogue(state: &AppState, ws: i64) -> Result<Vec<Permission>, ApiError> {
    read(state, move |c| permissions::catalogue(c, ws)).await
}

pub async fn permission_list(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let list = catalogue(&state, caller.workspace_id).await?;
    Ok(ok(serde_json::json!({ "permissions": list.iter().map(permission_json).collect::<Vec<_>>() })))
}

pub async fn permission(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let id = path.into_inner();
    let list = catalogue(&state, caller.workspace_id).await?;
    let p = list.iter().find(|p| p.id == id).ok_or_else(|| ApiError::from(crate::error::Error::NotFound))?;
    Ok(ok(permission_json(p)))
}

async fn roles_json(state: &AppState, ws: i64) -> Result<Vec<serde_json::Value>, ApiError> {
    let (list, pairs, names) = read(state, move |c| {
        Ok::<_, diesel::result::Error>((
            roles::list(c, ws)?,
            roles::permission_pairs(c, ws)?,
            permissions::rows(c, ws)?,
        ))
    })
    .await?;
    Ok(list
        .iter()
        .map(|r| {
            let builtin = r.builtin.as_deref().and_then(BuiltinRole::parse);
            let held: Vec<&str> = pairs
                .iter()
                .filter(|(role, _)| *role == r.id)
                .filter_map(|(_, p)| names.iter().find(|n| n.id == *p).map(|n| n.name.as_str()))
                .collect();
            serde_json::json!({
                "id": r.id, "name": r.name, "description": r.description, "builtin": builtin.is_some(),
                "permissions": match builtin {
                    Some(BuiltinRole::Admin) => serde_json::json!("all"),
                    Some(BuiltinRole::ReadOnly) => serde_json::json!("read-only"),
                    None => serde_json::json!(held),
                },
            })
        })
        .collect())
}

pub async fn role_list(ApiCaller(caller): ApiCaller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    Ok(ok(serde_json::json!({ "roles": roles_json(&state, caller.workspace_id).await? })))
}

pub async fn role(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let id = path.into_inner();
    let all = roles_json(&state, caller.workspace_id).await?;
    let role = all.into_iter().find(|r| r["id"] == id).ok_or_else(|| ApiError::from(crate::error::Error::NotFound))?;
    Ok(ok(role))
}

#[derive(Debug, serde::Deserialize)]
pub struct AuditQuery {
    /// An event id: return older events (the previous page's `next`).
    before: Option<i64>,
    /// 1–500, default 100.
    limit: Option<i64>,
}

pub async fn audit_events(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    readers_only(&caller)?;
    let (ws, before, limit) = (caller.workspace_id, query.before, query.limit.unwrap_or(100).clamp(1, 500));
    let rows = read(&state, move |c| audit::page(c, ws, before, limit)).await?;
    let parse = |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
    let next = (i64::try_from(rows.len()).unwrap_or(0) == limit).then(|| rows.last().map(|r| r.id)).flatten();
    let events: Vec<_> = rows
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "at": format_rfc3339(e.occurred_at), "actor": e.actor_label,
                "actor_account_id": e.actor_account_id, "actor_key_id": e.actor_key_id, "source_ip": e.source_ip,
                "action": e.action, "target": { "type": e.target_type, "id": e.target_id, "label": e.target_label },
                "before": parse(&e.before_json), "after": parse(&e.after_json),
            })
        })
        .collect();
    Ok(ok(serde_json::json!({ "events": events, "next": next })))
}

pub async fn notification_list(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (ws, account) = (caller.workspace_id, caller.account_id.unwrap_or_default());
    let rows = read(&state, move |c| notifications::for_account(c, ws, account, 200)).await?;
    let list: Vec<_> = rows
        .iter()
        .map(|n| {
            serde_json::json!({
                "id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
                "created_at": format_rfc3339(n.created_at), "read": n.read_at.is_some(),
            })
        })
        .collect();
    Ok(ok(serde_json::json!({ "notifications": list })))
}
