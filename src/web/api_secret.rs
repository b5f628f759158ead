//! The shared secret through the management API: when it was made (any Administrator's key), and,
//! after the key owner's password is re-entered, the secret itself or a new one.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::api::ApiError;
use super::api_keys::ApiCaller;
use super::auth::client_ip;
use crate::crypto::SecretString;
use crate::services::shared_secret::{self, SecretInfo};
use crate::state::AppState;

pub async fn show(ApiCaller(caller): ApiCaller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let info: SecretInfo = state.run(move |s| shared_secret::info(s, &caller)).await?;
    Ok(HttpResponse::Ok().json(info))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reauthenticated {
    /// The password of the account that owns the calling key.
    password: SecretString,
    /// With regenerate: how long the previous secret keeps signing (0 to 30 days; default 0).
    #[serde(default)]
    overlap_secs: i64,
}

fn secret_response(secret: &SecretString) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "secret": secret.expose() }))
}

pub async fn reveal(
    req: HttpRequest,
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    body: web::Json<Reauthenticated>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state);
    let secret = shared_secret::reveal(&state, &caller, &body.password, ip).await?;
    Ok(secret_response(&secret))
}

pub async fn regenerate(
    req: HttpRequest,
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    body: web::Json<Reauthenticated>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state);
    let secret = shared_secret::regenerate(&state, &caller, &body.password, body.overlap_secs, ip).await?;
    Ok(secret_response(&secret))
}
