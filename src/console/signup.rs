//! The public account pages besides sign-in: self sign-up for allowed domains, and choosing a
//! password through a one-time link.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::{AppError, html};
use super::form::FieldError;
use super::layout::Layout;
use super::session::ConsoleSession;
use crate::crypto::SecretString;
use crate::error::Error;
use crate::http::client_ip;
use crate::services::{password_links, whitelist};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct SignUpPage {
    layout: Layout,
    open: bool,
    email: String,
    name: String,
    errors: FieldError,
}

fn signup_page(session: &ConsoleSession, open: bool, email: String, name: String, errors: FieldError) -> SignUpPage {
    SignUpPage { layout: Layout::public("Create an account", session.csrf_token()), open, email, name, errors }
}

pub async fn show_signup(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, AppError> {
    let open = state.run(whitelist::signup_open).await?;
    let status = if open { StatusCode::OK } else { StatusCode::NOT_FOUND };
    let page = signup_page(&ConsoleSession(session), open, String::new(), String::new(), FieldError::default());
    Ok(html(status, page.render()))
}

pub async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<whitelist::SignUpForm>,
) -> Result<HttpResponse, AppError> {
    let session = ConsoleSession(session);
    if !state.run(whitelist::signup_open).await? {
        return Err(Error::NotFound.into());
    }
    let ip = client_ip(&req, &state);
    if let Some(secs) = state.ip_throttle.wait(ip, state.now()) {
        return Err(Error::Throttled(secs).into());
    }
    // Every attempt counts against the address, so sign-up cannot be used to probe or flood.
    state.ip_throttle.record_failure(ip, state.now());
    let form = form.into_inner();
    let (email, name) = (form.email.clone(), form.name.clone());
    match whitelist::sign_up(&state, Some(ip.to_string()), form).await {
        Ok(id) => {
            tracing::info!(account_id = id, "account signed up");
            Ok(HttpResponse::SeeOther().insert_header(("location", "/login?signed_up=1")).finish())
        }
        Err(Error::Invalid(invalid)) => {
            let page = signup_page(&session, true, email, name, invalid.into());
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "auth/password.html")]
struct PasswordPage {
    layout: Layout,
    token: String,
    /// `None` when the link is dead.
    email: Option<String>,
    errors: FieldError,
}

#[derive(Debug, serde::Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn show_password(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let lookup = token.clone();
    let email = state.run(move |s| password_links::email_for(s, &lookup)).await?;
    let status = if email.is_some() { StatusCode::OK } else { StatusCode::GONE };
    let layout = Layout::public("Choose your password", ConsoleSession(session).csrf_token());
    Ok(html(status, PasswordPage { layout, token, email, errors: FieldError::default() }.render()))
}

#[derive(Debug, serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: SecretString,
    #[serde(default)]
    confirm: SecretString,
}

pub async fn set_password(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let token = form.token.clone();
    let result = state.run(move |s| password_links::redeem(s, &form.token, &form.password, &form.confirm)).await;
    match result {
        Ok(_) => Ok(HttpResponse::SeeOther().insert_header(("location", "/login?password_set=1")).finish()),
        Err(Error::Invalid(invalid)) => {
            let lookup = token.clone();
            let email = state.run(move |s| password_links::email_for(s, &lookup)).await?;
            let layout = Layout::public("Choose your password", ConsoleSession(session).csrf_token());
            let page = PasswordPage { layout, token, email, errors: invalid.into() };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}
