//! The API Keys page, adding a key (secret shown once), the key page, and revealing a key.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::{CurrentUser, KeyManager};
use super::error::{AppError, html, is_htmx};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use super::moment::{MaybeMoment, Moment};
use crate::clock::format_time;
use crate::crypto::SecretString;
use crate::domain::access::Permission;
use crate::domain::key::PlainKey;
use crate::domain::key_input::DAY;
use crate::domain::policy;
use crate::error::Error;
use crate::services::accounts::Member;
use crate::services::key_forms::{self, Draft, NewKeyChoices, Reach};
use crate::services::key_list::ListParams;
use crate::services::key_page::{self, KeyView};
use crate::services::key_types::KeyType;
use crate::services::keys::{self, KeyForm, Listed};
use crate::services::roles::Role;
use crate::state::AppState;

/// Keys expiring within this many days stand out in the table (as the "Expiring soon" tab counts them).
const EXPIRING_SOON_DAYS: i64 = 30;

#[derive(Template)]
#[template(path = "keys/index.html")]
struct KeysPage {
    layout: Layout,
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
    problem: Option<String>,
    /// This page's first row's position, and how many keys match in all.
    from: usize,
    total: i64,
}

/// 1234567 → "1,234,567".
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// What the last bulk action did, carried in the redirect's query string.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    deleted: Option<usize>,
    reassigned: Option<usize>,
    activated: Option<usize>,
    deactivated: Option<usize>,
    /// A bulk action that could not start: `keys` (none chosen) or `action` (none chosen).
    missing: Option<String>,
    /// The position of this page's first row (after the first page).
    from: Option<usize>,
}

impl Done {
    fn notice(&self) -> Option<String> {
        let keys = |n: usize| if n == 1 { "1 key".to_owned() } else { format!("{n} keys") };
        match (self.activated, self.deactivated) {
            (Some(0), _) => return Some("Nothing changed: the chosen keys were already active.".to_owned()),
            (_, Some(0)) => return Some("Nothing changed: the chosen keys were already inactive.".to_owned()),
            _ => {}
        }
        [
            (self.deleted, "Deleted"),
            (self.reassigned, "Reassigned"),
            (self.activated, "Activated"),
            (self.deactivated, "Deactivated"),
        ]
        .into_iter()
        .find_map(|(n, verb)| n.map(|n| format!("{verb} {}.", keys(n))))
    }

    fn problem(&self) -> Option<String> {
        match self.missing.as_deref() {
            Some("keys") => Some("Choose at least one key with its checkbox, then an action.".to_owned()),
            Some("action") => Some("Choose what to do with the chosen keys, then Apply.".to_owned()),
            _ => None,
        }
    }
}

impl KeysTable {
    fn when(&self, t: &Option<i64>, none: &'static str) -> MaybeMoment {
        MaybeMoment::new(*t, self.now, none)
    }

    /// An expiry, marked when it falls within the "Expiring soon" window or has passed.
    fn expiry(&self, t: &Option<i64>) -> MaybeMoment {
        t.map_or(MaybeMoment::Absent("Never"), |t| MaybeMoment::At(Moment::deadline(t, self.now, EXPIRING_SOON_DAYS)))
    }

    /// The filter and search the table shows, for "select all matching" (the bulk form's `matching`).
    fn matching(&self) -> String {
        let params =
            ListParams { after: String::new(), sort: String::new(), dir: String::new(), ..self.params.clone() };
        format!("?{}", serde_urlencoded::to_string(&params).unwrap_or_default())
    }

    fn total_text(&self) -> String {
        thousands(self.total)
    }

    /// More keys match than this page shows: "select all matching" is offered.
    fn more_than_page(&self) -> bool {
        usize::try_from(self.total).is_ok_and(|t| t > self.rows.len())
    }

    /// "1–50 of 1,234".
    fn range(&self) -> String {
        let last = self.from + self.rows.len().saturating_sub(1);
        format!("{}–{} of {}", thousands(self.from as i64), thousands(last as i64), thousands(self.total))
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
    let (rows, more, total) = state.run(move |s| keys::list(s, &caller, query)).await?;
    // Keyset pages carry where they start, for "51–100 of 1,234".
    let from = done.from.filter(|f| *f >= 1 && !params.after.is_empty()).unwrap_or(1);
    let next = more.then(|| rows.last()).flatten().map(|last| {
        let url =
            ListParams { after: format!("{}:{}", last.row.id, last.row.sort_value(sort)), ..params.clone() }.url();
        format!("{url}&from={}", from + rows.len())
    });
    let table = KeysTable {
        params,
        rows,
        next,
        now: state.now(),
        csrf: user.csrf.clone(),
        can_bulk: policy::may_manage_key(user.role, true),
        notice: done.notice(),
        problem: done.problem(),
        from,
        total,
    };
    if is_htmx(&req) {
        return Ok(html(StatusCode::OK, table.render()));
    }
    Ok(html(StatusCode::OK, KeysPage { layout: Layout::new("API keys", "keys", &user), table }.render()))
}

// ---- adding a key ----

#[derive(Template)]
#[template(path = "keys/new.html")]
struct NewKeyPage {
    layout: Layout,
    form: KeyForm,
    errors: FieldError,
    types: Vec<KeyType>,
    roles: Vec<Role>,
    catalogue: Vec<Permission>,
    owners: Vec<Member>,
    /// Types that restrict their keys' roles, and the roles each allows.
    restricted: Vec<(String, Vec<String>)>,
    choose_owner: bool,
    me: i64,
    /// What the key as drawn up would use; `None` when its owner is not one the caller may choose.
    reach: Option<Reach>,
}

/// The add form's roles, permissions and summary, re-rendered when the owner changes.
#[derive(Template)]
#[template(path = "keys/new.html", block = "access")]
struct NewKeyAccess(NewKeyPage);

/// The add form's live summary of what the key will use, re-rendered as boxes are ticked.
#[derive(Template)]
#[template(path = "keys/new.html", block = "reach")]
struct NewKeyReach(NewKeyPage);

impl std::ops::Deref for NewKeyAccess {
    type Target = NewKeyPage;
    fn deref(&self) -> &NewKeyPage {
        &self.0
    }
}

impl std::ops::Deref for NewKeyReach {
    type Target = NewKeyPage;
    fn deref(&self) -> &NewKeyPage {
        &self.0
    }
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

    /// Why this permission cannot be given to the key, if it cannot.
    fn unavailable(&self, _p: &Permission) -> Option<String> {
        None
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

    fn permission_checked(&self, id: &i64) -> bool {
        let chosen = self.form.permissions.contains(id);
        chosen && !self.catalogue.iter().any(|p| p.id == *id && self.unavailable(p).is_some())
    }

    fn unavailable(&self, p: &Permission) -> Option<String> {
        self.reach.as_ref().and_then(|r| r.unavailable(p))
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
    mut form: KeyForm,
    errors: FieldError,
) -> Result<NewKeyPage, AppError> {
    let caller = user.caller();
    let choose_owner = policy::may_create_for_others(user.role);
    let choices = state.run(move |s| key_forms::new_key(s, &caller)).await?;
    if form.key_type.is_empty() {
        form.key_type = choices.default_type().map(|t| t.to_string()).unwrap_or_default();
    }
    let reach = draft_reach(state, user, &form).await?;
    let NewKeyChoices { types, roles, catalogue, owners, restricted } = choices;
    Ok(NewKeyPage {
        layout: Layout::new("Add API key", "keys", user),
        form,
        errors,
        types,
        roles,
        catalogue,
        owners,
        restricted,
        choose_owner,
        me: user.id,
        reach,
    })
}

/// What the key as the form draws it up would use; `None` for an owner the caller may not choose (the
/// create call says why).
async fn draft_reach(state: &AppState, user: &CurrentUser, form: &KeyForm) -> Result<Option<Reach>, AppError> {
    let caller = user.caller();
    let (owner, roles, permissions) = (form.owner.trim().parse().ok(), form.roles.clone(), form.permissions.clone());
    let act_as_owner = form.act_as_owner.is_some();
    let reach = state
        .run(move |s| {
            let draft = Draft { owner, roles: &roles, permissions: &permissions, act_as_owner };
            key_forms::reach(s, &caller, &draft)
        })
        .await;
    match reach {
        Ok(reach) => Ok(Some(reach)),
        Err(Error::NotFound | Error::Forbidden) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// `GET /keys/new/access`: the roles, permissions and summary for the owner now chosen.
pub async fn new_access(
    KeyManager(user): KeyManager,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let page = draft_page(&state, &user, &req).await?;
    Ok(html(StatusCode::OK, NewKeyAccess(page).render()))
}

/// `GET /keys/new/reach`: the summary of what the key as drawn up would use.
pub async fn new_reach(
    KeyManager(user): KeyManager,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let page = draft_page(&state, &user, &req).await?;
    Ok(html(StatusCode::OK, NewKeyReach(page).render()))
}

/// The add form as its query draws it up, for the live parts.
async fn draft_page(state: &AppState, user: &CurrentUser, req: &HttpRequest) -> Result<NewKeyPage, AppError> {
    let form: KeyForm = serde_html_form::from_str(req.query_string()).unwrap_or_default();
    new_key_page(state, user, form, FieldError::default()).await
}

pub async fn new(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if !policy::may_manage_key(user.role, true) {
        return Err(Error::Forbidden.into());
    }
    Ok(html(StatusCode::OK, new_key_page(&state, &user, KeyForm::default(), FieldError::default()).await?.render()))
}

/// A new key's secret, shown once: after Add API key, a personal key from the profile, or one generated
/// for a person from their page.
#[derive(Template)]
#[template(path = "keys/created.html")]
pub(super) struct CreatedPage {
    layout: Layout,
    id: i64,
    name: String,
    secret: PlainKey,
}

impl CreatedPage {
    pub(super) fn response(layout: Layout, created: keys::Created) -> HttpResponse {
        let page = CreatedPage { layout, id: created.id, name: created.name, secret: created.secret };
        html(StatusCode::CREATED, page.render())
    }
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
            Ok(CreatedPage::response(Layout::new("Key created", "keys", &user), created))
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
    view: KeyView,
    reveal: RevealBox,
}

/// The template reads the view's fields as its own.
impl std::ops::Deref for KeyPage {
    type Target = KeyView;

    fn deref(&self) -> &KeyView {
        &self.view
    }
}

impl KeyPage {
    fn when(&self, t: &Option<i64>, none: &'static str) -> MaybeMoment {
        self.layout.when_or(t, none)
    }

    fn expiry(&self, t: &Option<i64>) -> MaybeMoment {
        t.map_or(MaybeMoment::Absent("Never"), |t| {
            MaybeMoment::At(Moment::deadline(t, self.layout.now, EXPIRING_SOON_DAYS))
        })
    }

    fn at(&self, t: &i64) -> Moment {
        self.layout.when(t)
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
    /// Confirmed at the single sign-on provider instead of with a password.
    provider: Option<super::auth::ProviderConfirmation>,
    secret: Option<PlainKey>,
    error: Option<String>,
}

impl RevealBox {
    fn for_key(state: &AppState, user: &CurrentUser, key_id: i64) -> Self {
        let provider = user.provider_confirmation(state, &format!("/keys/{key_id}#reveal"));
        RevealBox { key_id, csrf: user.csrf.clone(), two_factor: user.two_factor, provider, ..RevealBox::default() }
    }
}

async fn key_page(state: &AppState, user: &CurrentUser, key_id: i64, reveal: RevealBox) -> Result<KeyPage, AppError> {
    let caller = user.caller();
    let view = state.run(move |s| key_page::view(s, &caller, key_id)).await?;
    Ok(KeyPage { layout: Layout::new(view.key.name.clone(), "keys", user), view, reveal })
}

pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let reveal = RevealBox::for_key(&state, &user, id);
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
    let mut reveal = RevealBox::for_key(&state, &user, id);
    let status = match keys::reveal(&state, &user.caller(), id, user.proof(&form.password, &form.code), user.ip).await {
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
