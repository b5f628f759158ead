//! The one error type at the web edge. Status codes are decided in `status_code`; the body is an HTML
//! page for browsers, and `htmx_errors` turns it into a toast for htmx requests.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::layout::Layout;
use crate::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue.")]
    SignInRequired { next: String },
    #[error("Your session has expired. Sign in again.")]
    SessionExpired { next: String },
    #[error("This form has expired or came from another site. Reload the page and try again.")]
    Csrf,
    #[error("The request body is too large.")]
    TooLarge,
    #[error("This workspace requires two-factor sign-in: set it up to continue.")]
    TwoFactorRequired,
    #[error(transparent)]
    Service(#[from] Error),
}

impl AppError {
    /// What the person is told. Internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Service(Error::Db(_) | Error::Internal(_)) => {
                "Something went wrong on our side. Nothing was changed; try again.".into()
            }
            AppError::Service(Error::NotFound) => "That page or item does not exist.".into(),
            AppError::Service(Error::Forbidden) => "Your role does not allow this.".into(),
            other => other.to_string(),
        }
    }

    fn title(&self) -> &'static str {
        match self.status_code() {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::UNPROCESSABLE_ENTITY => "Check your input",
            StatusCode::PAYLOAD_TOO_LARGE => "Too large",
            s if s.is_server_error() => "Server error",
            _ => "Error",
        }
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    layout: Layout,
    title: &'static str,
    message: String,
}

#[derive(Debug, Template)]
#[template(path = "errors/_toast.html")]
pub struct Toast {
    pub kind: &'static str,
    pub message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::SignInRequired { .. } | AppError::SessionExpired { .. } | AppError::TwoFactorRequired => {
                StatusCode::SEE_OTHER
            }
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Service(e) => match e {
                Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                Error::Conflict(_) => StatusCode::CONFLICT,
                Error::NotFound => StatusCode::NOT_FOUND,
                Error::Forbidden | Error::Refused(_) => StatusCode::FORBIDDEN,
                Error::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                Error::Locked => StatusCode::FORBIDDEN,
                Error::Db(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        match self {
            AppError::SignInRequired { next } | AppError::SessionExpired { next } => {
                let expired = matches!(self, AppError::SessionExpired { .. });
                let location = login_url(next, expired);
                HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
            }
            AppError::TwoFactorRequired => {
                HttpResponse::SeeOther().insert_header((header::LOCATION, "/profile/two-factor?required=1")).finish()
            }
            _ => {
                let page = ErrorPage {
                    layout: Layout::anonymous(self.title()),
                    title: self.title(),
                    message: self.public_message(),
                };
                html(status, page.render())
            }
        }
    }
}

pub fn login_url(next: &str, expired: bool) -> String {
    let mut url = String::from("/login");
    let mut query = form_urlencoded_pairs(&[("next", next)]);
    if expired {
        query.push_str("&expired=1");
    }
    if !next.is_empty() && next != "/" {
        url.push('?');
        url.push_str(&query);
    } else if expired {
        url.push_str("?expired=1");
    }
    url
}

fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// An HTML response from a rendered template, or a plain 500 when rendering failed.
pub fn html(status: StatusCode, rendered: askama::Result<String>) -> HttpResponse {
    match rendered {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("Internal error")
        }
    }
}

pub fn is_htmx(req: &actix_web::HttpRequest) -> bool {
    req.headers().contains_key("hx-request")
}

/// For htmx requests, errors become a toast swapped into `#toasts` (and sign-in redirects an
/// `HX-Redirect`), instead of an error page replacing a table row. 422 responses are forms showing
/// their own errors and pass through.
pub async fn htmx_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let htmx = req.headers().contains_key("hx-request");
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if !htmx || !(status.is_client_error() || status.is_server_error() || status == StatusCode::SEE_OTHER) {
        return Ok(res);
    }
    if status == StatusCode::UNPROCESSABLE_ENTITY || res.headers().contains_key("hx-retarget") {
        return Ok(res);
    }
    let app_error = res.response().error().and_then(|e| e.as_error::<AppError>());
    if status == StatusCode::SEE_OTHER {
        let Some(location) = res.headers().get(header::LOCATION).cloned() else {
            return Ok(res);
        };
        let (req, _) = res.into_parts();
        let redirect = HttpResponse::NoContent().insert_header(("HX-Redirect", location)).finish();
        return Ok(ServiceResponse::new(req, redirect));
    }
    let message = app_error
        .map_or_else(|| status.canonical_reason().unwrap_or("Request failed").to_owned(), AppError::public_message);
    let (req, _) = res.into_parts();
    let toast = Toast { kind: "error", message };
    let mut response = html(status, toast.render());
    response
        .headers_mut()
        .insert(header::HeaderName::from_static("hx-retarget"), header::HeaderValue::from_static("#toasts"));
    response
        .headers_mut()
        .insert(header::HeaderName::from_static("hx-reswap"), header::HeaderValue::from_static("beforeend"));
    Ok(ServiceResponse::new(req, response))
}
