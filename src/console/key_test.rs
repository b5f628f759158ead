//! The test-key page (`/test-key`): paste a key or give a key id, a request or a permission, and see
//! the verifier's decision with each check in order; plus the catalogue check.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::CurrentUser;
use super::error::{AppError, html, is_htmx};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use crate::error::Error;
use crate::services::key_test::{self, CatalogueReport, Outcome, TestForm};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "key_test/_result.html")]
struct ResultBox {
    outcome: Option<Outcome>,
    errors: FieldError,
}

#[derive(Template)]
#[template(path = "key_test/index.html")]
struct TestPage {
    layout: Layout,
    /// The form as typed, without the pasted key (a secret is never echoed back).
    form: TestForm,
    result: ResultBox,
    catalogue: CatalogueReport,
}

#[derive(Debug, serde::Deserialize)]
pub struct Prefill {
    #[serde(default)]
    key_id: String,
}

async fn page(state: &AppState, user: &CurrentUser, form: TestForm, result: ResultBox) -> Result<TestPage, AppError> {
    let caller = user.caller();
    let catalogue = state.run(move |s| key_test::check_catalogue(s, &caller)).await?;
    Ok(TestPage { layout: Layout::new("Test a key", "test-key", user), form, result, catalogue })
}

pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    prefill: web::Query<Prefill>,
) -> Result<HttpResponse, AppError> {
    let form = TestForm { key_id: prefill.into_inner().key_id, ..TestForm::default() };
    let result = ResultBox { outcome: None, errors: FieldError::default() };
    Ok(html(StatusCode::OK, page(&state, &user, form, result).await?.render()))
}

pub async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authed(user, form): Authed<CurrentUser, TestForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted, ip) = (user.caller(), form.clone(), user.ip.to_string());
    let (status, result) = match state.run(move |s| key_test::run(s, &caller, &submitted, &ip)).await {
        Ok(outcome) => (StatusCode::OK, ResultBox { outcome: Some(outcome), errors: FieldError::default() }),
        Err(Error::Invalid(invalid)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, ResultBox { outcome: None, errors: invalid.into() })
        }
        Err(other) => return Err(other.into()),
    };
    if is_htmx(&req) {
        return Ok(html(status, result.render()));
    }
    let echoed = TestForm { key: Default::default(), ..form };
    Ok(html(status, page(&state, &user, echoed, result).await?.render()))
}
