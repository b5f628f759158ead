//! The integration API: key verification (`POST /api/v1/keys/verify`), forward-auth for reverse
//! proxies (`/api/v1/authorize`), and `/metrics`. JSON in and out; errors are
//! `{"error": {"code", "message"}}`. Keys arrive in bodies or headers, never in URLs, and are never logged.

use std::time::Instant;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, not_found_error};
use crate::clock::format_rfc3339;
use crate::domain::access::Want;
use crate::domain::forwarded;
use crate::domain::verdict::Code;
use crate::http::client_ip;
use crate::metrics::Endpoint;
use crate::services::shared_secret::{self, SIGNATURE_HEADER};
use crate::services::verify::{UseContext, Verdict, serve};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The key as presented to your service.
    pub key: String,
    /// A permission the key must hold.
    #[serde(default)]
    pub permission: Option<String>,
    /// With `path`: the request's method, checked against the permissions' URI rules.
    #[serde(default)]
    pub method: Option<String>,
    /// With `method`: the request's path (a query string is ignored).
    #[serde(default)]
    pub path: Option<String>,
    /// The address the key is used from, for the key's IP allow-list; defaults to the caller's.
    #[serde(default)]
    pub ip: Option<String>,
}

/// The verification answer, borrowed from the verdict (the hot path serialises without copying).
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse<'a> {
    pub valid: bool,
    #[schema(value_type = VerifyCode)]
    pub code: Code,
    pub key_id: Option<i64>,
    pub name: Option<&'a str>,
    pub owner: Option<&'a str>,
    #[serde(rename = "type")]
    pub key_type: Option<&'a str>,
    pub roles: &'a [String],
    pub permissions: &'a [String],
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_permissions: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// The verification codes, as documented (the same names as `domain::verdict::Code`; a test checks).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    Valid,
    Malformed,
    NotFound,
    Inactive,
    Expired,
    Forbidden,
    IpNotAllowed,
    RateLimited,
}

impl<'a> From<&'a Verdict> for VerifyResponse<'a> {
    fn from(v: &'a Verdict) -> Self {
        let key = v.key.as_deref();
        VerifyResponse {
            valid: v.valid(),
            code: v.code,
            key_id: key.map(|k| k.key_id),
            name: key.map(|k| k.name.as_str()),
            owner: key.map(|k| k.profile.owner.as_str()),
            key_type: key.map(|k| k.profile.key_type.as_str()),
            roles: key.map_or(&[], |k| k.profile.roles.as_slice()),
            permissions: key.map_or(&[], |k| k.profile.permissions.as_slice()),
            expires_at: key.and_then(|k| k.expires_at).map(format_rfc3339),
            missing_permissions: (v.code == Code::Forbidden).then_some(v.missing.as_slice()),
            reason: v.reason.as_deref(),
        }
    }
}

/// What to check the key for: a permission by name, or a request by method and path.
fn want_of(permission: Option<String>, method: Option<String>, path: Option<String>) -> Result<Option<Want>, ApiError> {
    match (permission, method, path) {
        (Some(p), _, _) if !p.trim().is_empty() => Ok(Some(Want::Permission(p.trim().to_owned()))),
        (_, Some(method), Some(path)) => {
            Ok(Some(Want::Request { method: method.trim().to_uppercase(), path: forwarded::strip_query(&path) }))
        }
        (_, None, Some(_)) | (_, Some(_), None) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "Give both method and path to check a request, or a permission name.",
        )),
        _ => Ok(None),
    }
}

/// Verifies a key, optionally for a permission or a request. A well-formed request always gets 200;
/// `code` says why a key is refused. The answer is signed with the shared secret (`X-Keyward-Signature`).
#[utoipa::path(post, path = "/api/v1/keys/verify", tag = "verification", request_body = VerifyRequest,
    params(("X-Keyward-Workspace" = Option<i64>, Header,
        description = "Pins the answer to one workspace: a key of another is NOT_FOUND.")),
    security(()),
    responses(
        (status = 200, body = VerifyResponse, headers(
            ("X-Keyward-Signature" = String, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">[,v1=…]"))),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn verify_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let body = body.into_inner();
    let want = want_of(body.permission, body.method, body.path.clone())?;
    let workspace = pinned_workspace(&req)?;
    let ip = body.ip.filter(|ip| !ip.trim().is_empty()).unwrap_or_else(|| client_ip(&req, &state).to_string());
    let path = body.path.as_deref().map(forwarded::strip_query);
    let context = UseContext { ip: Some(ip), path, want, workspace };
    let verdict = serve(&state, body.key, context).await?;
    let body = serde_json::to_vec(&VerifyResponse::from(&verdict))
        .map_err(|e| ApiError::from(crate::error::Error::Internal(e.to_string())))?;
    let signature =
        signature(&state, verdict.key.as_deref().map(|k| k.profile.workspace_id).or(workspace), &body).await?;
    if signature.is_none() && workspace.is_some() {
        // Pinned to a workspace with no secret: it does not exist or is archived. An unsigned answer would
        // teach integrations to accept unsigned answers; the pin itself is wrong.
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_workspace",
            "X-Keyward-Workspace names no active workspace: check the id under Settings.",
        ));
    }
    state.metrics.observe(Endpoint::Verify, verdict.code, started.elapsed());
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, "no-store")).content_type("application/json");
    if let Some(signature) = signature {
        response.insert_header((SIGNATURE_HEADER, signature));
    }
    Ok(response.body(body))
}

/// The header that pins verification and forward-auth to one workspace.
pub const WORKSPACE_HEADER: &str = "X-Keyward-Workspace";

/// The workspace a request is pinned to by `X-Keyward-Workspace`, if any; anything but a workspace id is a 400.
fn pinned_workspace(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get(WORKSPACE_HEADER) else { return Ok(None) };
    value.to_str().ok().and_then(|v| v.trim().parse::<i64>().ok()).map(Some).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_workspace",
            "X-Keyward-Workspace must be a workspace id (a number).",
        )
    })
}

/// The response signature under the workspace's shared secrets. A key of a workspace created since they
/// were loaded (by another process) has its secret made here, once; a key that was not found never
/// causes database work (before setup there is no workspace and no secret to sign with).
async fn signature(state: &AppState, workspace_id: Option<i64>, body: &[u8]) -> Result<Option<String>, ApiError> {
    let signature = state.signing.sign(workspace_id, body, state.now());
    if signature.is_some() || workspace_id.is_none() {
        return Ok(signature);
    }
    state.run(shared_secret::ensure_all).await?;
    Ok(state.signing.sign(workspace_id, body, state.now()))
}

struct RequestHeaders<'a>(&'a HttpRequest);

impl forwarded::Headers for RequestHeaders<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.headers().get(name).map(header::HeaderValue::as_bytes)
    }
}

/// The presented key: `Authorization: Bearer <key>` or `X-API-Key: <key>`.
pub fn presented_key(req: &HttpRequest) -> Option<String> {
    forwarded::presented_key(&RequestHeaders(req))
}

/// Forward-auth for reverse proxies: 200 when the key may make the original request, 401 when the key
/// is missing or invalid, 403 when it may not. The original request comes from nginx (`X-Original-*`),
/// Traefik and Caddy (`X-Forwarded-*`), or is this request itself: Envoy's ext_authz appends the
/// original path, `/api/v1/authorize/<path>`.
#[utoipa::path(method(get, post, put, patch, delete, head), path = "/api/v1/authorize", tag = "verification",
    params(
        ("X-Original-Method" = Option<String>, Header, description = "nginx auth_request: the original method."),
        ("X-Original-URI" = Option<String>, Header, description = "nginx auth_request: the original URI."),
        ("X-Forwarded-Method" = Option<String>, Header, description = "Traefik, Caddy: the original method."),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "Traefik, Caddy: the original URI."),
        ("X-Keyward-Workspace" = Option<i64>, Header,
            description = "Pins the check to one workspace: a key of another is refused as unknown (401)."),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Allowed.", headers(
            ("X-Keyward-Key-Id" = String), ("X-Keyward-Owner" = String), ("X-Keyward-Code" = String))),
        (status = 400, body = ErrorBody, description = "X-Keyward-Workspace is not a workspace id."),
        (status = 401, body = ErrorBody, headers(("X-Keyward-Code" = String))),
        (status = 403, body = ErrorBody, headers(("X-Keyward-Code" = String)))))]
pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let workspace = pinned_workspace(&req)?;
    forward_auth(&req, &state, workspace).await
}

/// Forward-auth pinned to one workspace by the path, for proxies that cannot add a header: a key of
/// another workspace is refused (401) as an unknown key would be.
#[utoipa::path(method(get, post, put, patch, delete, head), path = "/api/v1/workspaces/{workspace}/authorize",
    tag = "verification",
    params(
        ("workspace" = i64, Path, description = "The workspace whose keys may pass."),
        ("X-Original-Method" = Option<String>, Header, description = "nginx auth_request: the original method."),
        ("X-Original-URI" = Option<String>, Header, description = "nginx auth_request: the original URI."),
        ("X-Forwarded-Method" = Option<String>, Header, description = "Traefik, Caddy: the original method."),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "Traefik, Caddy: the original URI."),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Allowed.", headers(
            ("X-Keyward-Key-Id" = String), ("X-Keyward-Owner" = String), ("X-Keyward-Code" = String))),
        (status = 401, body = ErrorBody, headers(("X-Keyward-Code" = String))),
        (status = 403, body = ErrorBody, headers(("X-Keyward-Code" = String))),
        (status = 404, body = ErrorBody, description = "The workspace in the path is not a number.")))]
pub async fn authorize_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (workspace, _) = path.into_inner();
    forward_auth(&req, &state, Some(workspace)).await
}

/// The path Envoy appended after `/authorize`, exactly as sent: the router's own match is percent-decoded,
/// and the original path must reach `domain::uri::normalise_path` as undecoded as the proxies' headers do.
fn raw_tail(req: &HttpRequest) -> &str {
    let path = req.uri().path();
    path.find("/authorize").map_or("", |at| &path[at + "/authorize".len()..])
}

async fn forward_auth(req: &HttpRequest, state: &AppState, workspace: Option<i64>) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let original = forwarded::original_request(&RequestHeaders(req), req.method().as_str(), raw_tail(req))
        .ok_or_else(not_found_error)?;
    let Some(key) = presented_key(req) else {
        return Ok(denied(
            StatusCode::UNAUTHORIZED,
            "MISSING",
            "No key: send Authorization: Bearer <key> or X-API-Key.",
        ));
    };
    let path = original.path.clone();
    let want = Some(Want::Request { method: original.method, path: original.path });
    let context = UseContext { ip: Some(client_ip(req, state).to_string()), path: Some(path), want, workspace };
    let verdict = serve(state, key, context).await?;
    state.metrics.observe(Endpoint::Authorize, verdict.code, started.elapsed());
    let status = match verdict.code {
        Code::Valid => StatusCode::OK,
        // nginx auth_request only understands 2xx, 401 and 403: a rate limit is a refusal too.
        Code::Forbidden | Code::IpNotAllowed | Code::RateLimited => StatusCode::FORBIDDEN,
        Code::Malformed | Code::NotFound | Code::Inactive | Code::Expired => StatusCode::UNAUTHORIZED,
    };
    if status != StatusCode::OK {
        let message = verdict.reason.clone().unwrap_or_else(|| "The key is not valid.".to_owned());
        return Ok(denied(status, verdict.code.as_str(), &message));
    }
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, "no-store")).insert_header(("X-Keyward-Code", "VALID"));
    if let Some(key) = verdict.key.as_deref() {
        response
            .insert_header(("X-Keyward-Key-Id", key.key_id.to_string()))
            .insert_header(("X-Keyward-Owner", key.profile.owner.as_str()));
    }
    Ok(response.finish())
}

fn denied(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store")).insert_header(("X-Keyward-Code", code));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"keyward\""));
    }
    response.json(ErrorBody::new(code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented codes are the decision's codes: adding a code without documenting it fails to compile.
    fn documented(code: Code) -> VerifyCode {
        match code {
            Code::Valid => VerifyCode::Valid,
            Code::Malformed => VerifyCode::Malformed,
            Code::NotFound => VerifyCode::NotFound,
            Code::Inactive => VerifyCode::Inactive,
            Code::Expired => VerifyCode::Expired,
            Code::Forbidden => VerifyCode::Forbidden,
            Code::IpNotAllowed => VerifyCode::IpNotAllowed,
            Code::RateLimited => VerifyCode::RateLimited,
        }
    }

    #[test]
    fn documented_codes_serialise_as_the_decision_does() {
        for code in Code::ALL {
            let (real, doc) = (serde_json::to_string(&code).ok(), serde_json::to_string(&documented(code)).ok());
            assert_eq!(real, doc);
            assert_eq!(real, Some(format!("\"{}\"", code.as_str())));
        }
    }
}
