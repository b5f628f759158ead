//! The audit log page (`/audit`): every event of the workspace, filtered by actor, action, target,
//! time and free text, a page at a time; the same filter as CSV; and the hash-chain check.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::Reader;
use super::error::{AppError, html, is_htmx};
use super::layout::Layout;
use crate::clock::format_time;
use crate::error::Error;
use crate::services::audit::EventRow;
use crate::services::audit::{self, ChainReport, FilterForm};
use crate::state::AppState;

#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "audit/_table.html")]
struct AuditTable {
    form: FilterForm,
    rows: Vec<EventRow>,
    /// The link to older events, with the filter.
    older: Option<String>,
    error: Option<String>,
    actions: Vec<String>,
    now: i64,
}

impl AuditTable {
    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        crate::console::moment::Moment::new(*t, self.now)
    }

    fn query(&self) -> String {
        serde_urlencoded::to_string(&self.form).unwrap_or_default()
    }

    fn filtered(&self) -> bool {
        !self.query().is_empty()
    }

    /// The change as readable `field: before → after` pairs.
    fn changes(&self, row: &EventRow) -> Vec<super::audit_change::Pair> {
        super::audit_change::pairs(row.before_json.as_deref(), row.after_json.as_deref())
    }
}

#[derive(Template)]
#[template(path = "audit/index.html")]
struct AuditPage {
    layout: Layout,
    table: AuditTable,
}

pub async fn show(
    req: HttpRequest,
    Reader(user): Reader,
    state: web::Data<AppState>,
    form: web::Query<FilterForm>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let caller = user.caller();
    let (filter, error) = match form.parse() {
        Ok(filter) => (Some(filter), None),
        Err(Error::Invalid(invalid)) => (None, Some(invalid.message)),
        Err(other) => return Err(other.into()),
    };
    let before = page.before;
    let (rows, next, actions) = state.run(move |s| audit::view(s, &caller, filter.as_ref(), before)).await?;
    let mut table = AuditTable { form, rows, older: None, error, actions, now: user.now };
    table.older = next.map(|id| {
        let query = table.query();
        if query.is_empty() { format!("/audit?before={id}") } else { format!("/audit?{query}&before={id}") }
    });
    let status = if table.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    if is_htmx(&req) {
        return Ok(html(status, table.render()));
    }
    Ok(html(status, AuditPage { layout: Layout::new("Audit log", "audit", &user), table }.render()))
}

pub async fn export(
    Reader(user): Reader,
    state: web::Data<AppState>,
    form: web::Query<FilterForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, form) = (user.caller(), form.into_inner());
    let filter = form.parse()?;
    let bytes = state.run(move |s| audit::export_csv(s, &caller, &filter)).await?;
    let name = format!("keyward-audit-{}.csv", format_time(state.now()).chars().take(10).collect::<String>());
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .body(bytes))
}

#[derive(Template)]
#[template(path = "audit/_chain.html")]
struct ChainResult {
    report: ChainReport,
    now: i64,
}

impl ChainResult {
    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        crate::console::moment::Moment::new(*t, self.now)
    }
}

pub async fn verify_chain(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let report = state.run(move |s| audit::verify_chain(s, &caller)).await?;
    if let Some(broken) = &report.broken {
        tracing::warn!(event_id = broken.id, "the audit chain is broken");
    }
    Ok(html(StatusCode::OK, ChainResult { report, now: user.now }.render()))
}
