//! First run: the one-time link printed at start-up creates the first workspace and Administrator.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::{AppError, html};
use super::layout::Layout;
use super::session::ConsoleSession;
use crate::error::Error;
use crate::http::client_ip;
use crate::services::setup::{self, SetupForm};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    workspace: String,
    name: String,
    email: String,
    error: Option<String>,
}

/// A setup link that was used already, or never was one: say so, and where to go instead.
#[derive(Template)]
#[template(path = "auth/setup_closed.html")]
struct SetupClosed {
    layout: Layout,
}

#[derive(Debug, serde::Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn no_setup() -> AppError {
    Error::NotFound.into()
}

pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    if !setup::token_matches(&state, &query.token) {
        let layout = Layout::public("Setup link used", ConsoleSession(session).csrf_token());
        return Ok(html(StatusCode::NOT_FOUND, SetupClosed { layout }.render()));
    }
    let page = SetupPage {
        layout: Layout::public("Set up keyward", ConsoleSession(session).csrf_token()),
        token: query.into_inner().token,
        workspace: String::new(),
        name: String::new(),
        email: String::new(),
        error: None,
    };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if !setup::token_matches(&state, &form.token) {
        return Err(no_setup());
    }
    let session = ConsoleSession(session);
    match setup::complete(&state, form.clone(), client_ip(&req, &state)).await {
        Ok(signed_in) => {
            super::session::begin(&state, &req, &session, signed_in).await?;
            tracing::info!(account_id = signed_in.account_id, "first administrator created; setup link retired");
            Ok(HttpResponse::SeeOther().insert_header(("location", "/")).finish())
        }
        Err(Error::Invalid(invalid)) => {
            let page = SetupPage {
                layout: Layout::public("Set up keyward", session.csrf_token()),
                token: form.token,
                workspace: form.workspace,
                name: form.name,
                email: form.email,
                error: Some(invalid.message),
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(e) => Err(e.into()),
    }
}
