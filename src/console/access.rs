//! The access review page and its CSV: people × permissions, and what each key can call.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;

use super::auth::Reader;
use super::error::{AppError, html};
use super::layout::Layout;
use crate::services::access_review::{self, Review};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "access/index.html")]
struct AccessPage {
    layout: Layout,
    review: Review,
    /// "Who holds …": a permission name, or empty for everyone.
    permission: String,
}

impl AccessPage {
    /// The people shown: everyone, or the holders of the chosen permission.
    fn people(&self) -> Vec<&access_review::PersonRow> {
        if self.permission.is_empty() {
            self.review.people.iter().collect()
        } else {
            self.review.holders_of(&self.permission)
        }
    }

    fn chosen_label(&self) -> &str {
        self.review.catalogue.iter().find(|p| p.name == self.permission).map_or("", |p| p.label.as_str())
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct AccessQuery {
    #[serde(default)]
    permission: String,
}

pub async fn show(
    Reader(user): Reader,
    state: web::Data<AppState>,
    query: web::Query<AccessQuery>,
) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let review = state.run(move |s| access_review::review(s, &caller)).await?;
    let page = AccessPage {
        layout: Layout::new("Access review", "access", &user),
        review,
        permission: query.into_inner().permission,
    };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn export(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let csv = state.run(move |s| access_review::csv(s, &caller)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"keyward-access.csv\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(csv))
}
