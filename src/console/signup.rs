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

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    /// The request was taken: the same words whether or not the email has an account.
    sent: bool,
    errors: FieldError,
}

fn forgot_page(session: &ConsoleSession, email: String, sent: bool, errors: FieldError) -> ForgotPage {
    ForgotPage { layout: Layout::public("Forgot your password?", session.csrf_token()), email, sent, errors }
}

pub async fn show_forgot(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, AppError> {
    if state.smtp.is_none() {
        return Err(Error::NotFound.into());
    }
    Ok(html(
        StatusCode::OK,
        forgot_page(&ConsoleSession(session), String::new(), false, FieldError::default()).render(),
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// "Forgot your password?": the same answer whether or not the email has an account; a client asking too
/// often is told to wait, an address asked for too often gets nothing more.
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    let session = ConsoleSession(session);
    if state.smtp.is_none() {
        return Err(Error::NotFound.into());
    }
    let email = match crate::domain::email::Email::parse(&form.email) {
        Ok(email) => email,
        Err(invalid) => {
            let page = forgot_page(&session, form.email.clone(), false, invalid.into());
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()));
        }
    };
    let (ip, now) = (client_ip(&req, &state), state.now());
    let client = format!("client:{ip}");
    let (per_client, hour) = (password_links::RESETS_PER_CLIENT, 3600);
    if let Some(wait) = state.link_requests.wait(&client, per_client, hour, now) {
        return Err(Error::Throttled(wait).into());
    }
    state.link_requests.allow(&client, per_client, hour, now);
    let fresh =
        state.link_requests.allow(&format!("reset:{}", email.as_str()), password_links::RESETS_PER_ADDRESS, hour, now);
    let wanted = email.clone();
    state.run(move |s| password_links::request_reset(s, &wanted, fresh, Some(ip.to_string()))).await?;
    Ok(html(StatusCode::OK, forgot_page(&session, email.as_str().to_owned(), true, FieldError::default()).render()))
}

#[derive(Template)]
#[template(path = "auth/verify.html")]
struct VerifyPage {
    layout: Layout,
    token: String,
    /// `None` when the link is dead.
    email: Option<String>,
}

/// The emailed confirmation link: a button to confirm (a mail scanner opening the link confirms nothing).
pub async fn show_verify(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let lookup = token.clone();
    let email = state.run(move |s| password_links::verifying(s, &lookup)).await?;
    let status = if email.is_some() { StatusCode::OK } else { StatusCode::GONE };
    let layout = Layout::public("Confirm your email", ConsoleSession(session).csrf_token());
    Ok(html(status, VerifyPage { layout, token, email }.render()))
}

pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = form.into_inner().token;
    let ip = client_ip(&req, &state).to_string();
    let lookup = token.clone();
    match state.run(move |s| password_links::verify(s, &lookup, Some(ip))).await {
        Ok(_) => Ok(HttpResponse::SeeOther().insert_header(("location", "/login?verified=1")).finish()),
        Err(Error::Conflict(_)) => {
            let layout = Layout::public("Confirm your email", ConsoleSession(session).csrf_token());
            Ok(html(StatusCode::GONE, VerifyPage { layout, token, email: None }.render()))
        }
        Err(other) => Err(other.into()),
    }
}
