//! The API Keys page, adding a key (secret shown once), the key page, and revealing a key.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::{CurrentUser, KeyManager};
use super::error::{AppError, html, is_htmx};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use crate::clock::format_time;
use crate::crypto::SecretString;
use crate::db::keys::{Filter, ListQuery, SecretInfo, Sort};
use crate::db::{accounts, audit, key_types, keys as key_db, permissions, roles, usage};
use crate::domain::access::{Access, Permission};
use crate::domain::chart;
use crate::domain::key::PlainKey;
use crate::domain::key_input::DAY;
use crate::domain::policy;
use crate::error::Error;
use crate::services::keys::{self, KeyForm, Listed};
use crate::state::AppState;

const PAGE_SIZE: i64 = 50;

/// The table's filters by URL code (`""`: all keys); `expiring` and `unused` also read `days`.
const FILTERS: [&str; 7] = ["", "active", "inactive", "expired", "expiring", "unused", "rotation"];

/// The table's sorts by URL code: one table for reading the URL and for marking the sorted column.
const SORTS: [(&str, Sort); 7] = [
    ("name", Sort::Name),
    ("type", Sort::Type),
    ("owner", Sort::Owner),
    ("status", Sort::Status),
    ("expires", Sort::Expires),
    ("last_used", Sort::LastUsed),
    ("created", Sort::Created),
];

/// The table's state, all of it in the URL so reload, back and links work (the API reads the same).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `active`, `inactive`, `expired`, `expiring` (within `days`), `unused` (for `days`); empty: all.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub filter: String,
    /// For `expiring` and `unused`: 1–3650, default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    /// Matches name, description, identifier, owner and type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub q: String,
    /// `name`, `type`, `owner`, `status`, `expires`, `last_used` or `created` (the default).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub sort: String,
    /// `asc` or `desc`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub dir: String,
    /// The previous page's `next`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub after: String,
}

impl ListParams {
    fn days(&self) -> i64 {
        self.days.filter(|d| (1..=3650).contains(d)).unwrap_or(30)
    }

    /// The filter's URL code, `""` for all keys (and for anything unknown).
    fn filter_code(&self) -> &'static str {
        FILTERS.into_iter().find(|f| *f == self.filter).unwrap_or("")
    }

    fn filter(&self) -> Filter {
        match self.filter_code() {
            "active" => Filter::Active,
            "inactive" => Filter::Inactive,
            "expired" => Filter::Expired,
            "expiring" => Filter::ExpiringWithin(self.days() * DAY),
            "unused" => Filter::UnusedFor(self.days() * DAY),
            "rotation" => Filter::RotationDue(self.days() * DAY),
            _ => Filter::All,
        }
    }

    fn sort(&self) -> Sort {
        SORTS.into_iter().find(|(code, _)| *code == self.sort).map(|(_, sort)| sort).unwrap_or(
            // Keys about to expire, or just expired, read best by their expiry.
            if matches!(self.filter_code(), "expiring" | "expired") { Sort::Expires } else { Sort::Created },
        )
    }

    fn sort_code(&self) -> &'static str {
        let sort = self.sort();
        SORTS.into_iter().find(|(_, s)| *s == sort).map_or("created", |(code, _)| code)
    }

    fn descending(&self) -> bool {
        match self.dir.as_str() {
            "asc" => false,
            "desc" => true,
            _ => self.sort() == Sort::Created || self.filter_code() == "expired",
        }
    }

    pub fn query(&self) -> ListQuery {
        ListQuery {
            filter: self.filter(),
            search: Some(self.q.clone()).filter(|q| !q.trim().is_empty()),
            sort: self.sort(),
            descending: self.descending(),
            after: self.after.split_once(':').and_then(|(id, v)| Some((v.to_owned(), id.parse().ok()?))),
            limit: PAGE_SIZE,
            ..ListQuery::default()
        }
    }

    fn url(&self) -> String {
        let query = serde_urlencoded::to_string(self).unwrap_or_default();
        if query.is_empty() { "/keys".to_owned() } else { format!("/keys?{query}") }
    }

    /// The URL of the same view with another filter, from the first page.
    pub fn with_filter(&self, filter: &str) -> String {
        Self { filter: filter.to_owned(), after: String::new(), ..self.clone() }.url()
    }

    /// The URL sorted by `column`, toggling the direction when it is already the sort column.
    pub fn with_sort(&self, column: &str) -> String {
        let dir = if self.sort_code() == column && !self.descending() { "desc" } else { "asc" };
        Self { sort: column.to_owned(), dir: dir.to_owned(), after: String::new(), ..self.clone() }.url()
    }

    pub fn sort_mark(&self, column: &str) -> &'static str {
        match (self.sort_code() == column, self.descending()) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        }
    }

    pub fn is(&self, filter: &str) -> bool {
        self.filter_code() == filter
    }
}

#[derive(Template)]
#[template(path = "keys/index.html")]
struct KeysPage {
    layout: Layout,
    can_create: bool,
    table: KeysTable,
}

#[derive(Template)]
#[template(path = "keys/_table.html")]
struct KeysTable {
    params: ListParams,
    rows: Vec<Listed>,
    next: Option<String>,
    now: i64,
    csrf: String,
    can_bulk: bool,
    notice: Option<String>,
}

/// What the last bulk action did, carried in the redirect's query string.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    deleted: Option<usize>,
    reassigned: Option<usize>,
    activated: Option<usize>,
    deactivated: Option<usize>,
}

impl Done {
    fn notice(&self) -> Option<String> {
        let keys = |n: usize| if n == 1 { "1 key".to_owned() } else { format!("{n} keys") };
        [
            (self.deleted, "Deleted"),
            (self.reassigned, "Reassigned"),
            (self.activated, "Activated"),
            (self.deactivated, "Deactivated"),
        ]
        .into_iter()
        .find_map(|(n, verb)| n.map(|n| format!("{verb} {}.", keys(n))))
    }
}

impl KeysTable {
    fn when(&self, t: &Option<i64>, none: &str) -> String {
        t.map_or_else(|| none.to_owned(), format_time)
    }

    fn expired(&self, l: &Listed) -> bool {
        l.row.expires_at.is_some_and(|t| t <= self.now)
    }
}

pub async fn list(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
    done: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let caller = user.caller();
    let query = params.query();
    let sort = query.sort;
    let (rows, more) = state.run(move |s| keys::list(s, &caller, query)).await?;
    let next = more.then(|| rows.last()).flatten().map(|last| {
        ListParams { after: format!("{}:{}", last.row.id, last.row.sort_value(sort)), ..params.clone() }.url()
    });
    let table = KeysTable {
        params,
        rows,
        next,
        now: state.now(),
        csrf: user.csrf.clone(),
        can_bulk: policy::may_manage_key(user.role, true),
        notice: done.notice(),
    };
    if is_htmx(&req) {
        return Ok(html(StatusCode::OK, table.render()));
    }
    let can_create = policy::may_manage_key(user.role, true);
    Ok(html(StatusCode::OK, KeysPage { layout: Layout::new("API keys", "keys", &user), can_create, table }.render()))
}

// ---- adding a key ----

#[derive(Template)]
#[template(path = "keys/new.html")]
struct NewKeyPage {
    layout: Layout,
    form: KeyForm,
    errors: FieldError,
    types: Vec<key_types::KeyType>,
    roles: Vec<roles::Role>,
    catalogue: Vec<Permission>,
    owners: Vec<accounts::Member>,
    choose_owner: bool,
    me: i64,
}

/// What the add and edit forms share: the role and permission checkboxes and the expiry choice
/// (`keys/_permission_fields.html`, `keys/_expiry_fields.html`).
pub(super) trait AccessChoices {
    /// The expiry option checked before anything was chosen.
    const DEFAULT_EXPIRY: &'static str;

    /// The chosen role ids, permission ids and expiry option.
    fn chosen(&self) -> (&[i64], &[i64], &str);

    /// The current expiry, for the edit form's "keep" option.
    fn kept_expiry(&self) -> Option<String> {
        None
    }

    fn role_checked(&self, id: &i64) -> bool {
        self.chosen().0.contains(id)
    }

    fn permission_checked(&self, id: &i64) -> bool {
        self.chosen().1.contains(id)
    }

    fn expiry_is(&self, choice: &str) -> bool {
        let expiry = self.chosen().2;
        expiry == choice || (expiry.is_empty() && choice == Self::DEFAULT_EXPIRY)
    }
}

impl AccessChoices for NewKeyPage {
    const DEFAULT_EXPIRY: &'static str = "90";

    fn chosen(&self) -> (&[i64], &[i64], &str) {
        (&self.form.roles, &self.form.permissions, &self.form.expiry)
    }
}

impl NewKeyPage {
    fn owner_is(&self, id: &i64) -> bool {
        self.form.owner.parse::<i64>().map_or(*id == self.me, |o| o == *id)
    }

    fn type_is(&self, id: &i64) -> bool {
        self.form.key_type.parse::<i64>().is_ok_and(|t| t == *id)
    }
}

async fn new_key_page(
    state: &AppState,
    user: &CurrentUser,
    form: KeyForm,
    errors: FieldError,
) -> Result<NewKeyPage, AppError> {
    let (ws, choose_owner) = (user.workspace_id, policy::may_create_for_others(user.role));
    let (types, roles, owners, catalogue) = state
        .blocking(move |db| {
            db.read(|c| {
                let owners = if choose_owner { accounts::members(c, ws)? } else { Vec::new() };
                Ok::<_, diesel::result::Error>((
                    key_types::list(c, ws)?,
                    roles::list(c, ws)?,
                    owners,
                    permissions::catalogue(c, ws)?,
                ))
            })
        })
        .await?;
    let owners = owners.into_iter().filter(|m| m.account.is_active()).collect();
    Ok(NewKeyPage {
        layout: Layout::new("Add API key", "keys", user),
        form,
        errors,
        types,
        roles,
        catalogue,
        owners,
        choose_owner,
        me: user.id,
    })
}

pub async fn new(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if !policy::may_manage_key(user.role, true) {
        return Err(Error::Forbidden.into());
    }
    Ok(html(StatusCode::OK, new_key_page(&state, &user, KeyForm::default(), FieldError::default()).await?.render()))
}

#[derive(Template)]
#[template(path = "keys/created.html")]
struct CreatedPage {
    layout: Layout,
    id: i64,
    name: String,
    secret: PlainKey,
}

pub async fn create(
    state: web::Data<AppState>,
    Authed(KeyManager(user), form): Authed<KeyManager, KeyForm>,
) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let submitted = form.clone();
    match state.run(move |s| keys::create(s, &caller, &submitted)).await {
        Ok(created) => {
            tracing::info!(key_id = created.id, "key created");
            let page = CreatedPage {
                layout: Layout::new("Key created", "keys", &user),
                id: created.id,
                name: created.name,
                secret: created.secret,
            };
            Ok(html(StatusCode::CREATED, page.render()))
        }
        Err(Error::Invalid(invalid)) => {
            let page = new_key_page(&state, &user, form, invalid.into()).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

// ---- the key page ----

#[derive(Template)]
#[template(path = "keys/show.html")]
struct KeyPage {
    layout: Layout,
    key: key_db::KeyRecord,
    key_type: Option<key_types::KeyType>,
    owner: Option<accounts::Account>,
    roles: Vec<String>,
    secrets: Vec<SecretInfo>,
    can_reveal: bool,
    can_manage: bool,
    can_reassign: bool,
    reveal: RevealBox,
    last_use: Option<usage::LastUse>,
    recent_uses: Vec<usage::RecentUse>,
    bars: Vec<chart::Bar>,
    trail: Vec<audit::Recent>,
    effective: Vec<Permission>,
    held_back: Vec<Permission>,
    now: i64,
}

impl KeyPage {
    fn when(&self, t: &Option<i64>, none: &str) -> String {
        t.map_or_else(|| none.to_owned(), format_time)
    }

    fn at(&self, t: &i64) -> String {
        format_time(*t)
    }

    fn day(&self, day: &i64) -> String {
        format_time(day * DAY).chars().take(10).collect()
    }

    fn total_uses(&self) -> i64 {
        self.bars.iter().map(|b| b.uses).sum()
    }
}

/// The reveal form, or the revealed key.
#[derive(Template, Default)]
#[template(path = "keys/_reveal.html")]
struct RevealBox {
    key_id: i64,
    csrf: String,
    two_factor: bool,
    secret: Option<PlainKey>,
    error: Option<String>,
}

async fn key_page(state: &AppState, user: &CurrentUser, key_id: i64, reveal: RevealBox) -> Result<KeyPage, AppError> {
    let caller = user.caller();
    let now = state.now();
    let today = now.div_euclid(DAY);
    let (key, details, activity) = state
        .run(move |s| {
            let key = keys::get(s, &caller, key_id)?;
            let details = s.db.read(|c| {
                let key_type = key_types::find(c, key.workspace_id, key.key_type_id)?;
                let owner = accounts::find(c, key.owner_id)?;
                let roles = key_db::role_names(c, &[key.id])?.into_iter().map(|(_, n)| n).collect::<Vec<_>>();
                let secrets = key_db::secrets(c, key.id)?;
                Ok::<_, diesel::result::Error>((key_type, owner, roles, secrets))
            })?;
            let activity = s.db.read(|c| {
                let last = usage::last_used(c, key.id)?;
                let recent = usage::recent_uses(c, key.id)?;
                let daily = usage::daily(c, key.id, today - 29)?;
                let trail = audit::for_target(c, key.workspace_id, "api_key", key.id, 50)?;
                Ok::<_, diesel::result::Error>((last, recent, daily, trail))
            })?;
            let access = s.db.read(|c| {
                let catalogue = permissions::catalogue(c, key.workspace_id)?;
                let key_grants = permissions::key_grants(c, key.id)?;
                let owner_grants = permissions::account_grants(c, key.workspace_id, key.owner_id)?;
                let access = Access {
                    catalogue: &catalogue,
                    key: &key_grants,
                    owner: &owner_grants,
                    act_as_owner: key.act_as_owner,
                };
                let effective: Vec<Permission> = access.effective().into_iter().cloned().collect();
                // Granted to the key but not to its owner: shown so the gap is visible.
                let held_back = catalogue
                    .iter()
                    .filter(|p| (key.act_as_owner || key_grants.includes(p)) && !owner_grants.includes(p))
                    .cloned()
                    .collect::<Vec<_>>();
                Ok::<_, diesel::result::Error>((effective, held_back))
            })?;
            Ok((key, details, (activity, access)))
        })
        .await?;
    let (key_type, owner, roles, secrets) = details;
    let ((last_use, recent_uses, daily, trail), (effective, held_back)) = activity;
    let bars = chart::daily_bars(&daily, today, 30);
    let can_reveal = policy::may_reveal_key(user.role, user.id == key.owner_id);
    let can_manage = policy::may_manage_key(user.role, user.id == key.owner_id);
    let can_reassign = policy::may_create_for_others(user.role);
    Ok(KeyPage {
        layout: Layout::new(key.name.clone(), "keys", user),
        key,
        key_type,
        owner,
        roles,
        secrets,
        can_reveal,
        can_manage,
        can_reassign,
        reveal,
        last_use,
        recent_uses,
        bars,
        trail,
        effective,
        held_back,
        now,
    })
}

pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let reveal = RevealBox { key_id: id, csrf: user.csrf.clone(), two_factor: user.two_factor, ..RevealBox::default() };
    Ok(html(StatusCode::OK, key_page(&state, &user, id, reveal).await?.render()))
}

#[derive(Debug, serde::Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    password: SecretString,
    /// The two-factor code, for accounts that have it.
    #[serde(default)]
    code: String,
}

pub async fn reveal(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(KeyManager(user), form): Authed<KeyManager, RevealForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut reveal =
        RevealBox { key_id: id, csrf: user.csrf.clone(), two_factor: user.two_factor, ..RevealBox::default() };
    let status = match keys::reveal(&state, &user.caller(), id, &form.password, &form.code, user.ip).await {
        Ok(secret) => {
            tracing::info!(key_id = id, "key revealed");
            reveal.secret = Some(secret);
            StatusCode::OK
        }
        Err(Error::Invalid(invalid)) => {
            reveal.error = Some(invalid.message);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(other) => return Err(other.into()),
    };
    if is_htmx(&req) {
        return Ok(html(status, reveal.render()));
    }
    Ok(html(status, key_page(&state, &user, id, reveal).await?.render()))
}

/// `GET /keys/report.csv`: the credential report.
pub async fn report(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let bytes = state.run(move |s| keys::credential_report(s, &caller)).await?;
    let day: String = crate::clock::format_time(state.now()).chars().take(10).collect();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", format!("attachment; filename=\"keyward-credentials-{day}.csv\"")))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(filter: &str, sort: &str, dir: &str) -> ListParams {
        ListParams { filter: filter.into(), sort: sort.into(), dir: dir.into(), ..ListParams::default() }
    }

    #[test]
    fn unknown_codes_fall_back_to_the_defaults() {
        let p = params("bogus", "bogus", "");
        assert!(p.is(""));
        assert_eq!((p.sort(), p.descending()), (Sort::Created, true));
        assert_eq!(p.sort_mark("created"), "descending");
    }

    #[test]
    fn expiry_views_sort_by_expiry_and_its_header_toggles() {
        let expiring = params("expiring", "", "");
        assert_eq!((expiring.sort(), expiring.descending()), (Sort::Expires, false));
        assert_eq!(expiring.sort_mark("expires"), "ascending");
        assert!(expiring.with_sort("expires").contains("dir=desc"), "clicking the sorted column reverses it");
        assert_eq!(params("expired", "", "").sort_mark("expires"), "descending");
        assert!(params("", "name", "asc").with_sort("owner").contains("sort=owner&dir=asc"));
    }
}
