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
    /// This server as people reach it, for the ready-to-paste verification and proxy lines.
    base: String,
}

/// The template reads the overview's fields as its own.
impl std::ops::Deref for DashboardPage {
    type Target = Overview;

    fn deref(&self) -> &Overview {
        &self.overview
    }
}

impl DashboardPage {
    /// `host:port` of this server, as Caddy's `forward_auth` wants it.
    fn authority(&self) -> &str {
        self.base.split_once("://").map_or(self.base.as_str(), |(_, rest)| rest)
    }

    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        self.layout.when(t)
    }
}

pub async fn show(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let overview = state.run(move |s| dashboard::overview(s, &caller)).await?;
    let base = state.config.public_url.trim_end_matches('/').to_owned();
    let page = DashboardPage { layout: Layout::new("Dashboard", "dashboard", &user), overview, base };
    Ok(html(StatusCode::OK, page.render()))
}
