//! The signed-in person's own account: details and password change.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::CurrentUser;
use super::error::{AppError, html, is_htmx};
use super::form::FieldError;
use super::layout::Layout;
use super::session::ConsoleSession;
use crate::crypto::SecretString;
use crate::error::Error;
use crate::services::auth;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "profile/index.html")]
struct ProfilePage {
    layout: Layout,
    form: PasswordForm,
}

#[derive(Template, Default)]
#[template(path = "profile/_password_form.html")]
struct PasswordForm {
    csrf: String,
    errors: FieldError,
    done: bool,
}

pub async fn show(user: CurrentUser) -> HttpResponse {
    let form = PasswordForm { csrf: user.csrf.clone(), ..PasswordForm::default() };
    html(StatusCode::OK, ProfilePage { layout: Layout::new("Profile", "profile", &user), form }.render())
}

#[derive(Debug, serde::Deserialize)]
pub struct ChangePassword {
    current_password: SecretString,
    new_password: SecretString,
    confirm: SecretString,
}

pub async fn change_password(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<ChangePassword>,
) -> Result<HttpResponse, AppError> {
    let result =
        auth::change_password(&state, user.id, &form.current_password, &form.new_password, &form.confirm, user.ip)
            .await;
    let session = ConsoleSession(session);
    let (status, form) = match result {
        Ok(epoch) => {
            session.set_epoch(epoch, state.now());
            (StatusCode::OK, PasswordForm { csrf: session.csrf_token(), errors: FieldError::default(), done: true })
        }
        Err(Error::Invalid(invalid)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            PasswordForm { csrf: user.csrf.clone(), errors: invalid.into(), done: false },
        ),
        Err(other) => return Err(other.into()),
    };
    if is_htmx(&req) {
        let mut response = html(status, form.render());
        if form.done {
            // The CSRF token changed with the session; the page's htmx header must follow.
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("hx-refresh"),
                actix_web::http::header::HeaderValue::from_static("true"),
            );
        }
        return Ok(response);
    }
    Ok(html(
        status,
        ProfilePage {
            layout: Layout::new("Profile", "profile", &CurrentUser { csrf: form.csrf.clone(), ..user }),
            form,
        }
        .render(),
    ))
}
