//! The management API's keys: `/api/v1/keys` (list, create) and `/api/v1/keys/{id}` (get, delete),
//! authenticated with a keyward key that holds ADMIN (read and write) or READONLY (read). The same
//! services as the console decide, with the same rules and audit events; the key acts for its owner
//! and never with more than the owner's console role.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::caller::{ApiBody, ApiCaller};
use super::error::{ApiError, ErrorBody};
use crate::clock::format_rfc3339;
use crate::services::key_forms::EditChoices;
use crate::services::key_list::ListParams;
use crate::services::keys::{self, DeleteForm, DeleteOutcome, KeyForm};
use crate::state::AppState;

/// A key as the API Keys table shows it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyJson {
    id: i64,
    name: String,
    description: String,
    #[serde(rename = "type")]
    key_type: String,
    identifier: Option<String>,
    owner: String,
    roles: Vec<String>,
    status: String,
    expires_at: Option<String>,
    created_at: String,
    last_used_at: Option<String>,
    /// The secret's first and last characters, to tell keys apart.
    hint: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyPage {
    keys: Vec<KeyJson>,
    /// Pass as `after` for the next page; absent on the last.
    next: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/keys", tag = "keys", params(ListParams),
    responses((status = 200, body = KeyPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn list(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let query = params.query();
    let sort = query.sort;
    let (rows, more, _) = state.run(move |s| keys::list(s, &caller, query)).await?;
    let next = more.then(|| rows.last()).flatten().map(|last| format!("{}:{}", last.row.id, last.row.sort_value(sort)));
    let keys = rows
        .into_iter()
        .map(|l| KeyJson {
            id: l.row.id,
            name: l.row.name,
            description: l.row.description,
            key_type: l.row.type_name,
            identifier: l.row.identifier,
            owner: l.row.owner_email,
            roles: l.roles,
            status: l.row.status.to_string(),
            expires_at: l.row.expires_at.map(format_rfc3339),
            created_at: format_rfc3339(l.row.created_at),
            last_used_at: l.row.last_used_at.map(format_rfc3339),
            hint: l.hint,
        })
        .collect();
    Ok(HttpResponse::Ok().json(KeyPage { keys, next }))
}

/// One key: its settings and restrictions (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyDetail {
    id: i64,
    name: String,
    description: String,
    identifier: Option<String>,
    /// `active` or `inactive`.
    status: String,
    expires_at: Option<String>,
    created_at: String,
    /// CIDR blocks the key may be used from; null: anywhere.
    ip_allow: Option<Vec<String>>,
    /// Requests per `rate_window_secs`; null: no limit.
    rate_limit: Option<i64>,
    rate_window_secs: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/keys/{id}", tag = "keys", params(("id" = i64, Path)),
    responses((status = 200, body = KeyDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let key = state.run(move |s| keys::get(s, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(KeyDetail {
        id: key.id,
        name: key.name,
        description: key.description,
        identifier: key.identifier,
        status: key.status.to_string(),
        expires_at: key.expires_at.map(format_rfc3339),
        created_at: format_rfc3339(key.created_at),
        ip_allow: key.ip_allow.map(|l| l.lines().map(str::to_owned).collect()),
        rate_limit: key.rate_limit,
        rate_window_secs: key.rate_window_secs,
    }))
}

/// `POST /api/v1/keys`: the add form's fields as JSON; 201 with the secret, shown this once.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
    #[serde(default)]
    description: String,
    /// Key type id.
    key_type: i64,
    #[serde(default)]
    identifier: String,
    /// Owner account id; default: the key's own owner.
    #[serde(default)]
    owner: Option<i64>,
    #[serde(default)]
    roles: Vec<i64>,
    #[serde(default)]
    permissions: Vec<i64>,
    /// `never`, `30`, `90`, `365`, or a date `YYYY-MM-DD`.
    #[serde(default)]
    expires: Option<String>,
}

/// A new key's secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey<'a> {
    id: i64,
    name: &'a str,
    key: &'a str,
}

#[utoipa::path(post, path = "/api/v1/keys", tag = "keys", request_body = CreateKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    ApiBody(caller, body): ApiBody<CreateKey>,
) -> Result<HttpResponse, ApiError> {
    let (expiry, expires_on) = match body.expires.as_deref().map(str::trim) {
        None | Some("") | Some("never") => ("never".to_owned(), String::new()),
        Some(days @ ("30" | "90" | "365")) => (days.to_owned(), String::new()),
        Some(date) => ("date".to_owned(), date.to_owned()),
    };
    let form = KeyForm {
        name: body.name,
        description: body.description,
        key_type: body.key_type.to_string(),
        identifier: body.identifier,
        owner: body.owner.map(|o| o.to_string()).unwrap_or_default(),
        roles: body.roles,
        permissions: body.permissions,
        expiry,
        expires_on,
        ..KeyForm::default()
    };
    let created = state.run(move |s| keys::create(s, &caller, &form)).await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((actix_web::http::header::LOCATION, format!("/api/v1/keys/{}", created.id)))
        .json(CreatedKey { id: created.id, name: &created.name, key: created.secret.expose() }))
}

/// `DELETE /api/v1/keys/{id}`: no typed confirmation (the call is the intent), but a key used within
/// the recent-use window needs `?recent_ok=true`, as in the console; otherwise 409.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys", params(("id" = i64, Path), RecentOk),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<RecentOk>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let recent_ok = query.recent_ok;
    let outcome = state
        .run(move |s| {
            let key = keys::get_managed(s, &caller, id)?;
            let form = DeleteForm {
                ids: vec![id],
                confirm: keys::delete_phrase(&key).to_owned(),
                recent_ok: recent_ok.then(|| "1".to_owned()),
            };
            keys::delete(s, &caller, &form)
        })
        .await?;
    match outcome {
        DeleteOutcome::Deleted(_) => Ok(HttpResponse::NoContent().finish()),
        DeleteOutcome::UsedRecently { days, .. } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "used_recently",
            format!("The key was used within the last {days} days; repeat with ?recent_ok=true to delete it anyway."),
        )),
    }
}

#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecentOk {
    /// Delete even if the key was used within the recent-use window.
    #[serde(default)]
    #[param(required = false)]
    recent_ok: bool,
}

/// `PATCH /api/v1/keys/{id}`: the edit form's fields; what is left out stays as it is.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchKey {
    description: Option<String>,
    /// `active` or `inactive`.
    status: Option<String>,
    /// `never`, `30`, `90`, `365`, or a date `YYYY-MM-DD`.
    expires: Option<String>,
    roles: Option<Vec<i64>>,
    permissions: Option<Vec<i64>>,
    /// CIDR blocks or addresses; an empty list removes the restriction.
    ip_allow: Option<Vec<String>>,
    /// Requests per `rate_window` (`second`, `minute`, `hour`); `0` removes the limit.
    rate_limit: Option<i64>,
    rate_window: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/keys/{id}", tag = "keys", params(("id" = i64, Path)), request_body = PatchKey,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The key's type does not allow editing its keys.", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn patch(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    ApiBody(caller, body): ApiBody<PatchKey>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (path.into_inner(), body);
    state
        .run(move |s| {
            let EditChoices { key, role_ids: roles, permission_ids: permissions, .. } =
                crate::services::key_forms::edit(s, &caller, id)?;
            let (expiry, expires_on) = match body.expires.as_deref().map(str::trim) {
                None => ("keep".to_owned(), String::new()),
                Some(choice @ ("never" | "30" | "90" | "365")) => (choice.to_owned(), String::new()),
                Some(date) => ("date".to_owned(), date.to_owned()),
            };
            let window_name = |secs: Option<i64>| {
                crate::domain::restrict::WINDOWS.iter().find(|(_, w)| Some(*w) == secs).map_or("minute", |(n, _)| n)
            };
            let form = keys::EditForm {
                description: body.description.unwrap_or(key.description),
                roles: body.roles.unwrap_or(roles),
                permissions: body.permissions.unwrap_or(permissions),
                status: body.status.unwrap_or_else(|| key.status.to_string()),
                expiry,
                expires_on,
                act_as_owner: key.act_as_owner.then(|| "1".to_owned()),
                limits: keys::Restrictions {
                    ip_allow: body.ip_allow.map_or_else(|| key.ip_allow.unwrap_or_default(), |list| list.join("\n")),
                    rate_limit: match body.rate_limit {
                        Some(0) => String::new(),
                        Some(n) => n.to_string(),
                        None => key.rate_limit.map(|n| n.to_string()).unwrap_or_default(),
                    },
                    rate_window: body.rate_window.unwrap_or_else(|| window_name(key.rate_window_secs).to_owned()),
                },
            };
            keys::update(s, &caller, id, &form)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// Seconds the old secret keeps working (0: it stops now).
    #[serde(default)]
    overlap_secs: i64,
}

/// The rotated key's new secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKey<'a> {
    id: i64,
    key: &'a str,
    overlap_secs: i64,
}

/// `POST /api/v1/keys/{id}/rotate`: a new secret for the same key, shown this once.
#[utoipa::path(post, path = "/api/v1/keys/{id}/rotate", tag = "keys", params(("id" = i64, Path)),
    request_body(content = Option<RotateKey>, description = "Optional; an empty body is no overlap."),
    responses((status = 200, body = RotatedKey), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The key's type does not allow regenerating its keys.", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn rotate(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // An empty body is "no overlap"; anything else must be the JSON object, or nothing happens.
    let body: RotateKey = if body.iter().all(u8::is_ascii_whitespace) {
        RotateKey::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("The body is not the expected JSON: {e}"))
        })?
    };
    let (id, overlap) = (path.into_inner(), body.overlap_secs);
    if !(0..=30 * 86_400).contains(&overlap) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "overlap_secs: from 0 to 30 days."));
    }
    let secret = state.run(move |s| keys::rotate(s, &caller, id, overlap)).await?;
    Ok(HttpResponse::Ok().insert_header((actix_web::http::header::CACHE_CONTROL, "no-store")).json(RotatedKey {
        id,
        key: secret.expose(),
        overlap_secs: overlap,
    }))
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignKey {
    /// The new owner's account id.
    owner: i64,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/keys/{id}/reassign`: the new owner is notified, as in the console.
#[utoipa::path(post, path = "/api/v1/keys/{id}/reassign", tag = "keys", params(("id" = i64, Path)),
    request_body = ReassignKey,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reassign(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    ApiBody(caller, body): ApiBody<ReassignKey>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (path.into_inner(), body);
    state.run(move |s| keys::reassign(s, &caller, &[id], body.owner, body.comment.trim())).await?;
    Ok(HttpResponse::NoContent().finish())
}
