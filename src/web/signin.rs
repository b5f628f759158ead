//! Signing in and out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::client_ip;
use super::error::{AppError, html};
use super::layout::Layout;
use super::session::ConsoleSession;
use crate::crypto::SecretString;
use crate::error::Error;
use crate::services::auth::{self, SignInError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    notice: Option<&'static str>,
    error: Option<String>,
    signup_open: bool,
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    signed_up: Option<String>,
    #[serde(default)]
    password_set: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: SecretString,
    #[serde(default)]
    next: String,
}

/// Only a local path may follow sign-in: never another site (`//evil`, `/\evil`, `https://…`).
fn safe_next(next: &str) -> String {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") && !next.contains("://");
    if local && !next.starts_with("/login") { next.to_owned() } else { "/".to_owned() }
}

pub async fn show(state: web::Data<AppState>, session: Session, query: web::Query<LoginQuery>) -> HttpResponse {
    let session = ConsoleSession(session);
    if session.facts().is_some() && query.expired.is_none() {
        return HttpResponse::SeeOther().insert_header(("location", safe_next(&query.next))).finish();
    }
    let notice = if query.expired.is_some() {
        Some("Your session has ended. Sign in again.")
    } else if query.signed_out.is_some() {
        Some("You have signed out.")
    } else if query.signed_up.is_some() {
        Some("Your account is ready. Sign in.")
    } else if query.password_set.is_some() {
        Some("Your password is set. Sign in with it.")
    } else {
        None
    };
    let signup_open = state.run(crate::services::whitelist::signup_open).await.unwrap_or(false);
    let setup_pending = state.setup_token.lock().map(|t| t.is_some()).unwrap_or(false);
    let page = LoginPage {
        layout: Layout::public("Sign in", session.csrf_token()),
        email: String::new(),
        next: safe_next(&query.next),
        notice: notice.or(setup_pending.then_some(
            "No account exists yet: open the setup link printed in the server's log to create the first administrator.",
        )),
        error: None,
        signup_open,
    };
    html(StatusCode::OK, page.render())
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let session = ConsoleSession(session);
    let ip = client_ip(&req, &state);
    let (status, error) = match auth::sign_in(&state, &form.email, &form.password, ip).await {
        Ok(signed_in) => {
            session.sign_in(signed_in, state.now());
            return Ok(HttpResponse::SeeOther().insert_header(("location", safe_next(&form.next))).finish());
        }
        Err(SignInError::Refused(Error::Throttled(secs))) => {
            (StatusCode::TOO_MANY_REQUESTS, format!("Too many failed attempts. Wait {secs} seconds and try again."))
        }
        Err(SignInError::Refused(Error::Locked)) => (StatusCode::FORBIDDEN, Error::Locked.to_string()),
        Err(SignInError::Refused(other)) => return Err(other.into()),
        Err(refused) => (StatusCode::UNAUTHORIZED, refused.to_string()),
    };
    let page = LoginPage {
        layout: Layout::public("Sign in", session.csrf_token()),
        email: form.email,
        next: safe_next(&form.next),
        notice: None,
        error: Some(error.replace("this account is locked", "This account is locked")),
        signup_open: false,
    };
    Ok(html(status, page.render()))
}

#[derive(Template)]
#[template(path = "auth/logout.html")]
struct LogoutPage {
    layout: Layout,
}

/// A confirmation page, so that signing out is a POST like every other change.
pub async fn confirm(user: super::auth::CurrentUser) -> HttpResponse {
    html(StatusCode::OK, LogoutPage { layout: Layout::new("Sign out", "", &user) }.render())
}

pub async fn logout(session: Session) -> HttpResponse {
    ConsoleSession(session).sign_out();
    HttpResponse::SeeOther().insert_header(("location", "/login?signed_out=1")).finish()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_follow_sign_in() {
        assert_eq!(safe_next("/users?q=a"), "/users?q=a");
        for bad in ["", "//evil.example", "/\\evil.example", "https://evil.example", "/login", "users"] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
