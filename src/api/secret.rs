//! The shared secret through the management API: when it was made (any Administrator's key), and,
//! after the key owner's password is re-entered, the secret itself or a new one.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use serde::Serialize;
use utoipa::ToSchema;

use super::caller::{ApiBody, ApiCaller};
use super::error::{ApiError, ErrorBody};
use crate::crypto::SecretString;
use crate::http::client_ip;
use crate::services::shared_secret::{self, SecretInfo};
use crate::state::AppState;

/// When the current secret was made, and the previous ones still signing (never a secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretMetadata {
    created_at: Option<i64>,
    previous: Vec<PreviousSecret>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviousSecret {
    created_at: i64,
    /// Unix seconds when it stops signing.
    retires_at: i64,
}

impl From<SecretInfo> for SecretMetadata {
    fn from(info: SecretInfo) -> Self {
        SecretMetadata {
            created_at: info.created_at,
            previous: info
                .previous
                .into_iter()
                .map(|p| PreviousSecret { created_at: p.created_at, retires_at: p.retires_at })
                .collect(),
        }
    }
}

/// The shared secret itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretValue<'a> {
    secret: &'a str,
}

#[utoipa::path(get, path = "/api/v1/shared-secret", tag = "shared secret",
    responses((status = 200, body = SecretMetadata)))]
pub async fn show(ApiCaller(caller): ApiCaller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let info = state.run(move |s| shared_secret::info(s, &caller)).await?;
    Ok(HttpResponse::Ok().json(SecretMetadata::from(info)))
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reauthenticated {
    /// The password of the account that owns the calling key.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    /// The owner's two-factor code (or a recovery code), when the owner has two-factor sign-in.
    #[serde(default)]
    code: String,
    /// With regenerate: how long the previous secret keeps signing (0 to 30 days; default 0).
    #[serde(default)]
    overlap_secs: i64,
}

fn secret_response(secret: &SecretString) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(SecretValue { secret: secret.expose() })
}

#[utoipa::path(post, path = "/api/v1/shared-secret/reveal", tag = "shared secret", request_body = Reauthenticated,
    responses((status = 200, body = SecretValue), (status = 422, body = ErrorBody)))]
pub async fn reveal(
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiBody(caller, body): ApiBody<Reauthenticated>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state);
    let secret =
        shared_secret::reveal(&state, &caller, crate::services::auth::Proof::password(&body.password, &body.code), ip)
            .await?;
    Ok(secret_response(&secret))
}

#[utoipa::path(post, path = "/api/v1/shared-secret/regenerate", tag = "shared secret", request_body = Reauthenticated,
    responses((status = 200, body = SecretValue), (status = 422, body = ErrorBody)))]
pub async fn regenerate(
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiBody(caller, body): ApiBody<Reauthenticated>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state);
    let secret = shared_secret::regenerate(
        &state,
        &caller,
        crate::services::auth::Proof::password(&body.password, &body.code),
        body.overlap_secs,
        ip,
    )
    .await?;
    Ok(secret_response(&secret))
}
