//! The API's one error shape, `{"error": {"code", "message"}}`, and the extractor settings that answer in it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use serde::Serialize;
use utoipa::ToSchema;

/// Largest JSON body the API reads.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// An API error as JSON.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Every API error: `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail<'a> {
    /// A stable machine-readable code, such as `not_found` or `invalid`.
    pub code: &'a str,
    /// What went wrong, for people.
    pub message: &'a str,
}

impl<'a> ErrorBody<'a> {
    pub fn new(code: &'a str, message: &'a str) -> Self {
        ErrorBody { error: ErrorDetail { code, message } }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(ErrorBody::new(self.code, &self.message))
    }
}

impl From<crate::error::Error> for ApiError {
    fn from(e: crate::error::Error) -> Self {
        use crate::error::Error;
        match e {
            Error::Invalid(invalid) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("{}: {}", invalid.field, invalid.message),
            ),
            Error::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such resource."),
            Error::Forbidden => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", "The key's role does not allow this.")
            }
            Error::Refused(message) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", message),
            Error::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            Error::Throttled(secs) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                format!("Too many failed attempts; try again in {secs} seconds."),
            ),
            Error::Locked => ApiError::new(
                StatusCode::FORBIDDEN,
                "locked",
                "The key owner's account is locked after too many failed attempts.",
            ),
            other => {
                tracing::error!(error = %other, "API request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error.")
            }
        }
    }
}

/// The JSON extractor's settings: bodies are size-limited, and unreadable JSON is a 400 in the API's shape.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(MAX_JSON_BODY).error_handler(|err, _req| {
        use actix_web::error::JsonPayloadError;
        let (status, message) = match &err {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, format!("The body is larger than {} KiB.", MAX_JSON_BODY / 1024))
            }
            JsonPayloadError::ContentType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json.".to_owned())
            }
            JsonPayloadError::Deserialize(e) => {
                (StatusCode::BAD_REQUEST, format!("The body is not the expected JSON: {e}"))
            }
            _ => (StatusCode::BAD_REQUEST, "The body could not be read as JSON.".to_owned()),
        };
        let code = if status == StatusCode::BAD_REQUEST { "malformed_json" } else { "bad_request" };
        ApiError::new(status, code, message).into()
    })
}

/// What to verify: the key, and optionally a permission name or a request (method and path).
/// Path segments that do not parse (`/api/v1/keys/abc`) are a JSON 404 under `/api/`.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        if req.path().starts_with("/api/") {
            return ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such resource.").into();
        }
        actix_web::error::ErrorNotFound(err)
    })
}

/// Query strings that do not parse are a JSON 400 under `/api/`.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, req| {
        if req.path().starts_with("/api/") {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("The query string is not valid: {err}"),
            )
            .into();
        }
        actix_web::error::ErrorBadRequest(err)
    })
}

/// Unknown routes under `/api/`.
pub fn not_found_error() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such API route.")
}
