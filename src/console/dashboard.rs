//! The dashboard: what is in the workspace at a glance.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::auth::CurrentUser;
use super::error::{AppError, html};
use super::layout::Layout;
use crate::clock::format_time;
use crate::db::{audit, dashboard};
use crate::domain::key_input::DAY;
use crate::services::directory::{self, UserFilter};
use crate::services::policies::{self, Policies};
use crate::state::AppState;

/// The dashboard's "expiring soon" window.
const EXPIRING_DAYS: i64 = 30;

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage {
    layout: Layout,
    counts: dashboard::Counts,
    recent: Vec<audit::Recent>,
    policies: Policies,
    /// People holding a high-risk permission (readers only).
    high_risk_people: Option<usize>,
}

impl DashboardPage {
    fn when(&self, t: &i64) -> String {
        format_time(*t)
    }
}

pub async fn show(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (workspace, now, reader) = (user.workspace_id, state.now(), user.role.can_read_all());
    // A Member counts only their own keys, as the keys page shows them.
    let owner = (!reader).then_some(user.id);
    let caller = user.caller();
    let (counts, recent, policies, high_risk_people) = state
        .run(move |s| {
            let policies = policies::get(s, workspace)?;
            let windows = dashboard::Windows {
                expiring: EXPIRING_DAYS * DAY,
                rotation: policies.rotation_days * DAY,
                unused: policies.stale_days * DAY,
            };
            let (counts, recent) = s.db.read(|c| {
                let counts = dashboard::counts(c, workspace, owner, now, windows)?;
                let recent = if reader { audit::recent(c, workspace, 10)? } else { Vec::new() };
                Ok::<_, diesel::result::Error>((counts, recent))
            })?;
            let high_risk = if reader {
                let filter = UserFilter { risk: "high".to_owned(), ..UserFilter::default() };
                Some(directory::list(s, &caller, &filter)?.len())
            } else {
                None
            };
            Ok((counts, recent, policies, high_risk))
        })
        .await?;
    let layout = Layout::new("Dashboard", "dashboard", &user);
    let page = DashboardPage { layout, counts, recent, policies, high_risk_people };
    Ok(html(StatusCode::OK, page.render()))
}
