//! The dashboard: what is in the workspace at a glance.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::auth::CurrentUser;
use super::error::{AppError, html};
use super::layout::Layout;
use crate::clock::format_time;
use crate::db::{audit, dashboard};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage {
    layout: Layout,
    counts: dashboard::Counts,
    recent: Vec<audit::Recent>,
}

impl DashboardPage {
    fn when(&self, t: &i64) -> String {
        format_time(*t)
    }
}

pub async fn show(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (workspace, now, reader) = (user.workspace_id, state.now(), user.role.can_read_all());
    let (counts, recent) = state
        .blocking(move |db| {
            db.read(|c| {
                let counts = dashboard::counts(c, workspace, now)?;
                let recent = if reader { audit::recent(c, workspace, 10)? } else { Vec::new() };
                Ok::<_, diesel::result::Error>((counts, recent))
            })
        })
        .await?;
    let page = DashboardPage { layout: Layout::new("Dashboard", "dashboard", &user), counts, recent };
    Ok(html(StatusCode::OK, page.render()))
}
