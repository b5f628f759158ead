//! Cross-site request forgery defence for the console: every state-changing request must carry the
//! session's token — in the `X-CSRF-Token` header (htmx) or the `csrf_token` form field — and must not
//! come from another origin (`Origin` / `Sec-Fetch-Site`). The JSON API under `/api/` authenticates
//! with keys in headers, never cookies, and is not subject to this.

use actix_session::SessionExt as _;
use actix_web::HttpMessage as _;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt as _;

use super::error::AppError;
use super::session::ConsoleSession;
use crate::crypto::constant_time_eq;

pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "csrf_token";
/// Largest urlencoded form body read here; file uploads are multipart and send the header.
const MAX_FORM_BYTES: usize = 256 * 1024;

pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || req.path().starts_with("/api/") {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    if !same_origin(&req) {
        tracing::warn!(path = req.path(), "refused a cross-origin state change");
        return Ok(req.error_response(AppError::Csrf).map_into_right_body());
    }
    let expected = ConsoleSession(req.get_session()).stored_csrf_token();
    let presented = match req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        Some(token) => Some(token.to_owned()),
        None if is_form(&req) => match read_body(&mut req).await {
            Ok(body) => {
                let token = form_token(&body);
                req.set_payload(Payload::from(body));
                token
            }
            Err(e) => return Ok(req.error_response(e).map_into_right_body()),
        },
        // A file upload without JavaScript carries the token in its action URL (the request log
        // leaves query strings out, and the Referrer-Policy keeps it on this site).
        None if is_multipart(&req) => query_token(req.query_string()),
        None => None,
    };
    let valid = matches!((&expected, &presented), (Some(e), Some(p)) if constant_time_eq(e.as_bytes(), p.as_bytes()));
    if !valid {
        tracing::warn!(path = req.path(), "refused a state change without a valid CSRF token");
        return Ok(req.error_response(AppError::Csrf).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// `Origin`, when sent, must name this host; `Sec-Fetch-Site`, when sent, must be same-origin or none.
fn same_origin(req: &ServiceRequest) -> bool {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin_host =
            origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest.trim_end_matches('/'));
        return matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h));
    }
    match req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => true,
    }
}

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

fn is_multipart(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"))
}

fn query_token(query: &str) -> Option<String> {
    form_token(query.as_bytes())
}

async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, AppError> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::Csrf)?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(AppError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn form_token(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find_map(|(k, v)| (k == FIELD).then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_among_other_fields() {
        assert_eq!(form_token(b"a=1&csrf_token=abc%2Bd&b=2").as_deref(), Some("abc+d"));
        assert_eq!(form_token(b"a=1"), None);
        assert_eq!(form_token(b"%%%"), None);
    }
}
