//! Notifications in the console: the bell with the unread count (in every page's header, refreshed
//! by htmx), the list, and marking them read.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::CurrentUser;
use super::error::{AppError, html, is_htmx};
use super::layout::Layout;
use crate::services::notifications::{self, NotificationRow, Received};
use crate::state::AppState;

/// The bell, drawn inline so it takes the text colour.
pub const BELL_ICON: &str = r#"<svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"><path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9"/><path d="M13.7 21a2 2 0 0 1-3.4 0"/></svg>"#;

/// The newest notifications the list shows.
const SHOWN: i64 = 200;

#[derive(Template)]
#[template(path = "notifications/_bell.html")]
struct Bell {
    unread: i64,
}

impl Bell {
    fn icon(&self) -> &'static str {
        BELL_ICON
    }
}

/// Unread notifications here, and invitations waiting for an answer (from any workspace).
async fn unread(state: &AppState, user: &CurrentUser) -> Result<i64, AppError> {
    let caller = user.caller();
    Ok(state.run(move |s| notifications::unread(s, &caller)).await?)
}

pub async fn bell(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(html(StatusCode::OK, Bell { unread: unread(&state, &user).await? }.render()))
}

#[derive(Template)]
#[template(path = "notifications/index.html")]
struct ListPage {
    layout: Layout,
    list: ListSection,
}

#[derive(Template)]
#[template(path = "notifications/_list.html")]
struct ListSection {
    invitations: Vec<Received>,
    rows: Vec<NotificationRow>,
    csrf: String,
    bell: Bell,
    /// Answering htmx: the header's bell is swapped too (out of band). A whole page has its own bell.
    swap_bell: bool,
    now: i64,
}

impl ListSection {
    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        crate::console::moment::Moment::new(*t, self.now)
    }

    fn role_label(&self, code: &str) -> &'static str {
        crate::domain::role::ConsoleRole::parse(code).unwrap_or(crate::domain::role::ConsoleRole::Member).label()
    }

    fn unread(&self) -> usize {
        self.rows.iter().filter(|n| n.read_at.is_none()).count()
    }
}

async fn section(state: &AppState, user: &CurrentUser) -> Result<ListSection, AppError> {
    let caller = user.caller();
    let notifications::Inbox { invitations, rows, unread } =
        state.run(move |s| notifications::inbox(s, &caller, SHOWN)).await?;
    Ok(ListSection {
        invitations,
        rows,
        csrf: user.csrf.clone(),
        bell: Bell { unread },
        swap_bell: false,
        now: user.now,
    })
}

pub async fn list(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let list = section(&state, &user).await?;
    Ok(html(StatusCode::OK, ListPage { layout: Layout::new("Notifications", "notifications", &user), list }.render()))
}

async fn mark(
    req: HttpRequest,
    user: CurrentUser,
    state: &AppState,
    id: Option<i64>,
) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    state.run(move |s| notifications::mark_read(s, &caller, id)).await?;
    if is_htmx(&req) {
        let section = ListSection { swap_bell: true, ..section(state, &user).await? };
        return Ok(html(StatusCode::OK, section.render()));
    }
    Ok(HttpResponse::SeeOther().insert_header(("location", "/notifications")).finish())
}

pub async fn mark_read(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    mark(req, user, &state, Some(path.into_inner())).await
}

pub async fn mark_all_read(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    mark(req, user, &state, None).await
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Accept,
    Decline,
}

/// Accepting or declining an invitation to another workspace. Accepting opens that workspace.
pub async fn answer_invitation(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, Answer)>,
) -> Result<HttpResponse, AppError> {
    let ((id, answer), me, ip) = (path.into_inner(), user.id, user.origin().ip);
    let accept = matches!(answer, Answer::Accept);
    let workspace = state.run(move |s| crate::services::invitations::answer(s, me, ip, id, accept)).await?;
    if accept {
        use actix_session::SessionExt as _;
        super::session::ConsoleSession(req.get_session()).switch_workspace(workspace);
        return Ok(super::see_other("/"));
    }
    Ok(super::see_other("/notifications"))
}
