//! The dashboard: what is in the workspace at a glance.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::auth::CurrentUser;
use super::error::{AppError, html};
use super::layout::Layout;
use crate::services::dashboard::{self, Overview};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage {
    layout: Layout,
    overview: Overview,
}

/// The template reads the overview's fields as its own.
impl std::ops::Deref for DashboardPage {
    type Target = Overview;

    fn deref(&self) -> &Overview {
        &self.overview
    }
}

impl DashboardPage {
    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        self.layout.when(t)
    }
}

pub async fn show(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let overview = state.run(move |s| dashboard::overview(s, &caller)).await?;
    let page = DashboardPage { layout: Layout::new("Dashboard", "dashboard", &user), overview };
    Ok(html(StatusCode::OK, page.render()))
}
