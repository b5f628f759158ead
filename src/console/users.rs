//! User Management: the accounts of the workspace, adding one, disabling, enabling and unlocking.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::{Admin, CurrentUser, Reader};
use super::error::{AppError, html, is_htmx};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use crate::domain::access::Permission;
use crate::domain::role::ConsoleRole;
use crate::error::Error;
use crate::services::accounts::{self as account_service, Added, NewUserForm};
use crate::services::accounts::{Member, MemberSummary};
use crate::services::directory::{self, GrantAllPlan, UserFilter};
use crate::services::grants::{self, Held};
use crate::services::policies::DepartedKeys;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "users/index.html")]
struct UsersPage {
    layout: Layout,
    section: UsersSection,
}

/// Rows shown per page of the list.
const PAGE: usize = 100;

/// The filters, the table and the add form: what htmx swaps after filtering or adding someone.
#[derive(Template)]
#[template(path = "users/_section.html")]
struct UsersSection {
    csrf: String,
    can_edit: bool,
    me: i64,
    filter: UserFilter,
    /// The rows of this page, and how many match in all.
    rows: Vec<MemberSummary>,
    total: usize,
    page: usize,
    roles: [ConsoleRole; 3],
    catalogue: Vec<Permission>,
    form: AddForm,
    errors: FieldError,
    notice: Option<String>,
    /// Email is on: new people can be invited by email.
    email_on: bool,
    /// Invitations of people who already have an account elsewhere, not yet accepted.
    invitations: Vec<crate::services::invitations::Pending>,
    /// Members whose account the viewer may not change: their rows offer no account actions.
    beyond_reach: std::collections::HashSet<i64>,
    now: i64,
}

#[derive(Debug, Default)]
struct AddForm {
    email: String,
    name: String,
    role: String,
    permissions: Vec<i64>,
    /// Email an invitation instead of setting a password.
    invite: bool,
}

#[derive(Template)]
#[template(path = "users/_row.html")]
struct UserRow<'a> {
    csrf: &'a str,
    can_edit: bool,
    me: i64,
    s: &'a MemberSummary,
    /// The viewer may not change this account (`accounts::changeable`).
    beyond_reach: bool,
    now: i64,
}

impl UserRow<'_> {
    fn last_sign_in(&self) -> crate::console::moment::MaybeMoment {
        crate::console::moment::MaybeMoment::new(self.s.member.account.last_sign_in_at, self.now, "Never")
    }
}

impl UsersSection {
    fn row(&self, s: &MemberSummary) -> String {
        let beyond_reach = self.beyond_reach.contains(&s.member.account.id);
        UserRow { csrf: &self.csrf, can_edit: self.can_edit, me: self.me, s, beyond_reach, now: self.now }
            .render()
            .unwrap_or_default()
    }

    /// Every permission may be granted here (the shared permission fields ask).
    fn unavailable(&self, _p: &Permission) -> Option<String> {
        None
    }

    fn permission_checked(&self, id: &i64) -> bool {
        self.form.permissions.contains(id)
    }

    fn statuses(&self) -> [(&'static str, &'static str); 3] {
        directory::STATUSES
    }

    fn first(&self) -> usize {
        (self.page - 1) * PAGE + 1
    }

    fn last(&self) -> usize {
        (self.first() + self.rows.len()).saturating_sub(1)
    }

    /// The URL of another page of the same list.
    fn page_url(&self, page: usize) -> String {
        let query = self.filter.query();
        match (query.is_empty(), page) {
            (true, 1) => "/users".to_owned(),
            (true, _) => format!("/users?page={page}"),
            (false, 1) => format!("/users?{query}"),
            (false, _) => format!("/users?{query}&page={page}"),
        }
    }

    fn has_next(&self) -> bool {
        self.page * PAGE < self.total
    }

    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        crate::console::moment::Moment::new(*t, self.now)
    }

    fn role_label(&self, code: &str) -> &'static str {
        ConsoleRole::parse(code).unwrap_or(ConsoleRole::Member).label()
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    filter: UserFilter,
    #[serde(default)]
    page: String,
    /// Set after "Add all permissions": how many grants were new.
    #[serde(default)]
    granted: String,
    /// Set after an import: how many people were created and updated.
    #[serde(default)]
    created: String,
    #[serde(default)]
    invited: String,
    #[serde(default)]
    updated: String,
    /// Set after adding the accounts of allowed domains.
    #[serde(default)]
    joined: String,
    /// Set after removing someone from the workspace.
    #[serde(default)]
    removed: String,
}

impl ListQuery {
    /// What just happened, when the URL says so.
    fn notice(&self) -> Option<String> {
        let plural = |n: usize, one: &str, many: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") };
        if self.removed == "1" {
            return Some("Removed from this workspace. Their account and their other workspaces are unchanged.".into());
        }
        if let Ok(n) = self.joined.parse::<usize>() {
            return Some(format!("Added {} of the allowed domains as Members.", plural(n, "account", "accounts")));
        }
        if let Ok(n) = self.granted.parse::<usize>() {
            return Some(format!("Granted {}.", plural(n, "new permission", "new permissions")));
        }
        match (self.created.parse::<usize>(), self.updated.parse::<usize>()) {
            (Ok(c), Ok(u)) => {
                let i = self.invited.parse::<usize>().unwrap_or(0);
                Some(format!("Imported: {} created, {i} invited, {u} updated.", plural(c, "person", "people")))
            }
            _ => None,
        }
    }
}

async fn section(
    state: &AppState,
    user: &CurrentUser,
    filter: UserFilter,
    page: usize,
    form: AddForm,
    errors: FieldError,
    notice: Option<String>,
) -> Result<UsersSection, AppError> {
    let (caller, wanted) = (user.caller(), filter.clone());
    let directory::UsersPage { rows: all, catalogue, invitations, beyond_reach } =
        state.run(move |s| directory::page(s, &caller, &wanted)).await?;
    let total = all.len();
    let page = page.clamp(1, total.div_ceil(PAGE).max(1));
    let rows = all.into_iter().skip((page - 1) * PAGE).take(PAGE).collect();
    Ok(UsersSection {
        csrf: user.csrf.clone(),
        can_edit: user.role.can_administer(),
        me: user.id,
        filter,
        rows,
        total,
        page,
        roles: ConsoleRole::ALL,
        catalogue,
        form,
        errors,
        notice,
        email_on: state.smtp.is_some(),
        invitations,
        beyond_reach,
        now: user.now,
    })
}

fn page(user: &CurrentUser, section: UsersSection, status: StatusCode) -> HttpResponse {
    html(status, UsersPage { layout: Layout::new("Users", "users", user), section }.render())
}

fn blank_form() -> AddForm {
    AddForm { role: ConsoleRole::Member.code().into(), invite: true, ..AddForm::default() }
}

pub async fn list(
    req: HttpRequest,
    Reader(user): Reader,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let query: ListQuery = serde_html_form::from_str(req.query_string()).unwrap_or_default();
    let number = query.page.parse().unwrap_or(1);
    let notice = query.notice();
    let section = section(&state, &user, query.filter, number, blank_form(), FieldError::default(), notice).await?;
    if is_htmx(&req) {
        return Ok(html(StatusCode::OK, section.render()));
    }
    Ok(page(&user, section, StatusCode::OK))
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authed(Admin(user), input): Authed<Admin, NewUserForm>,
) -> Result<HttpResponse, AppError> {
    let result = account_service::add_user(&state, &user.caller(), input.clone()).await;
    let email = input.email.trim().to_owned();
    let (status, form, errors, notice) = match result {
        Ok(Added::Created(_)) if input.invite => (
            StatusCode::OK,
            blank_form(),
            None,
            format!("Added {email} and emailed them an invitation to choose a password."),
        ),
        Ok(Added::Created(_)) => (StatusCode::OK, blank_form(), None, format!("Added {email}.")),
        Ok(Added::Invited(_)) => (
            StatusCode::OK,
            blank_form(),
            None,
            format!("{email} already has a keyward account: they are invited and join when they accept."),
        ),
        Err(Error::Invalid(invalid)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            AddForm {
                email: input.email,
                name: input.name,
                role: input.role,
                permissions: input.permissions,
                invite: input.invite,
            },
            Some(invalid),
            String::new(),
        ),
        Err(other) => return Err(other.into()),
    };
    let notice = errors.is_none().then_some(notice);
    let errors = errors.map(FieldError::from).unwrap_or_default();
    let section = section(&state, &user, UserFilter::default(), 1, form, errors, notice).await?;
    if is_htmx(&req) {
        return Ok(html(status, section.render()));
    }
    Ok(page(&user, section, status))
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowAction {
    Disable,
    Enable,
    Unlock,
}

pub async fn row_action(
    req: HttpRequest,
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<(i64, RowAction)>,
) -> Result<HttpResponse, AppError> {
    let (account_id, action) = path.into_inner();
    let (origin, caller) = (user.origin(), user.caller());
    let summary = state
        .run(move |s| {
            match action {
                RowAction::Disable => account_service::set_disabled(s, &caller, account_id, true)?,
                RowAction::Enable => account_service::set_disabled(s, &caller, account_id, false)?,
                RowAction::Unlock => account_service::unlock(s, &origin, Some(&caller), account_id)?,
            }
            account_service::summary(s, &caller, account_id)
        })
        .await?;
    if is_htmx(&req) {
        let row =
            UserRow { csrf: &user.csrf, can_edit: true, me: user.id, s: &summary, beyond_reach: false, now: user.now };
        return Ok(html(StatusCode::OK, row.render()));
    }
    Ok(HttpResponse::SeeOther().insert_header(("location", "/users")).finish())
}

// ---- Add All Permissions ----

#[derive(Template)]
#[template(path = "users/grant_all.html")]
struct GrantAllPage {
    layout: Layout,
    filter: UserFilter,
    plan: GrantAllPlan,
}

pub async fn confirm_grant_all(
    req: HttpRequest,
    Admin(user): Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let query: ListQuery = serde_html_form::from_str(req.query_string()).unwrap_or_default();
    let (caller, filter) = (user.caller(), query.filter.clone());
    let plan = state.run(move |s| directory::plan(s, &caller, &filter)).await?;
    let layout = Layout::new("Add all permissions", "users", &user);
    Ok(html(StatusCode::OK, GrantAllPage { layout, filter: query.filter, plan }.render()))
}

#[derive(Debug, serde::Deserialize)]
pub struct GrantAllForm {
    #[serde(flatten)]
    filter: UserFilter,
    #[serde(default)]
    users: String,
    #[serde(default)]
    permissions: String,
}

pub async fn grant_all(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, GrantAllForm>,
) -> Result<HttpResponse, AppError> {
    let confirmed = (form.users.parse().unwrap_or(usize::MAX), form.permissions.parse().unwrap_or(usize::MAX));
    let (caller, filter) = (user.caller(), form.filter);
    let plan = state.run(move |s| directory::grant_all(s, &caller, &filter, confirmed)).await?;
    tracing::info!(users = plan.users.len(), permissions = plan.permissions, "all permissions granted");
    let query = serde_urlencoded::to_string([("granted", plan.new_grants)]).unwrap_or_default();
    Ok(HttpResponse::SeeOther().insert_header(("location", format!("/users?{query}"))).finish())
}

// ---- one person: grants ----

#[derive(Template)]
#[template(path = "users/show.html")]
struct UserPage {
    layout: Layout,
    member: Member,
    grants: GrantsBox,
    /// Whether the viewer may change the account itself, not only its membership here.
    may_change: bool,
    /// Their personal key here, if they have one.
    personal: Option<crate::services::keys::KeyRecord>,
    /// Email is on: an invitation can be emailed again.
    email_on: bool,
    /// An invitation was just emailed.
    emailed: bool,
}

/// The grants form: what htmx swaps after each change.
#[derive(Template)]
#[template(path = "users/_grants.html")]
struct GrantsBox {
    account_id: i64,
    csrf: String,
    can_edit: bool,
    catalogue: Vec<crate::domain::access::Permission>,
    roles: Vec<crate::services::roles::Role>,
    permissions_held: Vec<i64>,
    roles_held: Vec<i64>,
    saved: bool,
    errors: FieldError,
}

impl GrantsBox {
    fn has_permission(&self, id: &i64) -> bool {
        self.permissions_held.contains(id)
    }

    fn has_role(&self, id: &i64) -> bool {
        self.roles_held.contains(id)
    }
}

async fn grants_box(
    state: &AppState,
    user: &CurrentUser,
    account_id: i64,
    saved: bool,
    errors: FieldError,
) -> Result<(Member, GrantsBox), AppError> {
    let caller = user.caller();
    let Held { member, catalogue, roles, permission_ids: permissions_held, role_ids: roles_held } =
        state.run(move |s| grants::held(s, &caller, account_id)).await?;
    let grants = GrantsBox {
        account_id,
        csrf: user.csrf.clone(),
        can_edit: user.role.can_administer(),
        catalogue,
        roles,
        permissions_held,
        roles_held,
        saved,
        errors,
    };
    Ok((member, grants))
}

pub async fn show(
    req: HttpRequest,
    Reader(user): Reader,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let account_id = path.into_inner();
    let (member, grants) = grants_box(&state, &user, account_id, false, FieldError::default()).await?;
    let emailed = req.query_string() == "emailed=1";
    user_page(&state, &user, member, grants, StatusCode::OK, emailed).await
}

/// Emails the person an invitation again, with a new link to choose a password (the old one stops working).
pub async fn resend_invitation(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    state.run(move |s| crate::services::password_links::resend_invitation(s, &caller, id)).await?;
    Ok(super::see_other(format!("/users/{id}?emailed=1")))
}

/// Generates a person's personal key for them (IncidentIQ's "Generate new API key" on Manage User),
/// shown once to the Administrator, who hands it over. A person who has one regenerates it instead,
/// on the key's own page, with the overlap choice.
pub async fn generate_personal_key(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, owner) = (user.caller(), path.into_inner());
    match state.run(move |s| crate::services::keys::create_personal(s, &caller, owner, "", "")).await {
        Ok(created) => {
            tracing::info!(key_id = created.id, owner, "personal key generated for a person");
            Ok(super::keys::CreatedPage::response(Layout::new("Personal key", "users", &user), created))
        }
        Err(Error::Invalid(invalid)) => Err(Error::Conflict(invalid.message).into()),
        Err(other) => Err(other.into()),
    }
}

pub async fn set_grants(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(Admin(user), form): Authed<Admin, crate::services::grants::GrantsForm>,
) -> Result<HttpResponse, AppError> {
    let account_id = path.into_inner();
    let caller = user.caller();
    let (status, saved, errors) =
        match state.run(move |s| crate::services::grants::set(s, &caller, account_id, &form)).await {
            Ok(()) => (StatusCode::OK, true, FieldError::default()),
            Err(Error::Invalid(invalid)) => (StatusCode::UNPROCESSABLE_ENTITY, false, invalid.into()),
            Err(other) => return Err(other.into()),
        };
    let (member, grants) = grants_box(&state, &user, account_id, saved, errors).await?;
    if is_htmx(&req) {
        return Ok(html(status, grants.render()));
    }
    user_page(&state, &user, member, grants, status, false).await
}

/// A person's page around their grants box: whether the viewer may change the account, and their personal key.
async fn user_page(
    state: &AppState,
    user: &CurrentUser,
    member: Member,
    grants: GrantsBox,
    status: StatusCode,
    emailed: bool,
) -> Result<HttpResponse, AppError> {
    let (caller, account_id) = (user.caller(), member.account.id);
    let may_change =
        user.role.can_administer() && state.run(move |s| account_service::may_change(s, &caller, account_id)).await?;
    let caller = user.caller();
    let personal = state.run(move |s| crate::services::keys::personal_of(s, &caller, account_id)).await?;
    let layout = Layout::new(member.account.display_name.clone(), "users", user);
    let email_on = state.smtp.is_some();
    Ok(html(status, UserPage { layout, member, grants, may_change, personal, email_on, emailed }.render()))
}

impl UserPage {
    fn roles(&self) -> [ConsoleRole; 3] {
        ConsoleRole::ALL
    }

    /// Administrators manage everyone but themselves.
    fn may_delete(&self) -> bool {
        self.layout.user.as_ref().is_some_and(|u| u.role.can_administer() && u.id != self.member.account.id)
    }

    /// A personal key is generated for people who can look after it themselves.
    fn may_hold_keys(&self) -> bool {
        crate::domain::policy::may_take_over_keys(self.member.role) && self.member.account.is_active()
    }
}

/// Removes the person from this workspace only; their account and other workspaces stay.
pub async fn remove(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    state.run(move |s| crate::services::workspaces::leave(s, &caller, id)).await?;
    Ok(super::see_other("/users?removed=1"))
}

/// Ends every session of the person (a lost laptop, a departure): they must sign in again everywhere.
pub async fn end_sessions(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    state.run(move |s| crate::services::sessions::end_all_of(s, &caller, id)).await?;
    Ok(super::see_other(format!("/users/{id}")))
}

/// Withdraws a pending invitation.
pub async fn cancel_invitation(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    state.run(move |s| crate::services::invitations::cancel(s, &caller, id)).await?;
    Ok(super::see_other("/users"))
}

// ---- deleting a person ----

#[derive(Template)]
#[template(path = "users/delete.html")]
struct DeletePage {
    layout: Layout,
    deletion: account_service::Deletion,
    /// What the form holds: the chosen recipient and what happens to the keys.
    to: i64,
    then: DepartedKeys,
    errors: FieldError,
}

/// Keys named one by one on the Delete page; the rest are counted.
const KEYS_LISTED: usize = 10;

impl DeletePage {
    fn choices(&self) -> [DepartedKeys; 2] {
        DepartedKeys::ALL
    }

    /// "3 Integration, 1 Personal": the keys here by type, most first.
    fn by_type(&self) -> String {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for key in &self.deletion.here {
            match counts.iter_mut().find(|(t, _)| *t == key.type_name) {
                Some((_, n)) => *n += 1,
                None => counts.push((&key.type_name, 1)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        counts.iter().map(|(t, n)| format!("{n} {t}")).collect::<Vec<_>>().join(", ")
    }

    fn active(&self) -> usize {
        self.deletion.here.iter().filter(|k| k.is_active()).count()
    }

    /// The most recent use of any of their keys here.
    fn last_use(&self) -> Option<crate::console::moment::Moment> {
        self.deletion.here.iter().filter_map(|k| k.last_used_at).max().map(|at| self.layout.when(&at))
    }

    fn listed(&self) -> &[crate::services::keys::Owned] {
        &self.deletion.here[..self.deletion.here.len().min(KEYS_LISTED)]
    }

    fn unlisted(&self) -> usize {
        self.deletion.here.len().saturating_sub(KEYS_LISTED)
    }
}

async fn delete_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    chosen: Option<(i64, DepartedKeys)>,
    errors: FieldError,
) -> Result<DeletePage, AppError> {
    let caller = user.caller();
    let deletion = state.run(move |s| account_service::deletion(s, &caller, id)).await?;
    let (to, then) = chosen.unwrap_or((user.id, deletion.default));
    let layout = Layout::new(format!("Delete {}", deletion.member.account.email), "users", user);
    Ok(DeletePage { layout, deletion, to, then, errors })
}

pub async fn confirm_delete(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let page = delete_page(&state, &user, path.into_inner(), None, FieldError::default()).await?;
    Ok(html(StatusCode::OK, page.render()))
}

/// The Delete page's choice for the person's keys here.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DeletePersonForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    keys: String,
}

pub async fn delete(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(Admin(user), form): Authed<Admin, DeletePersonForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    // Sent by the page only when the person owns keys here; otherwise the defaults apply.
    let to = form.to.trim().parse::<i64>().ok();
    let then = DepartedKeys::parse(form.keys.trim());
    let (caller, choice) = (user.caller(), account_service::KeysChoice { to, then });
    match state.run(move |s| account_service::delete_user(s, &caller, id, choice)).await {
        Ok(deleted) => {
            tracing::info!(account_id = id, workspaces = deleted.moved.len(), "account deleted; keys reassigned");
            Ok(super::see_other("/users"))
        }
        Err(Error::Invalid(invalid)) => {
            let chosen = Some((to.unwrap_or(user.id), then.unwrap_or_default()));
            let page = delete_page(&state, &user, id, chosen, invalid.into()).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(Admin(user), form): Authed<Admin, RoleForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, id, role) = (user.caller(), path.into_inner(), form.role);
    state.run(move |s| account_service::change_role(s, &caller, id, &role)).await?;
    Ok(HttpResponse::SeeOther().insert_header(("location", format!("/users/{id}"))).finish())
}

// ---- password links ----

#[derive(Template)]
#[template(path = "users/password_link.html")]
struct PasswordLinkPage {
    layout: Layout,
    member: Member,
    link: String,
    hours: i64,
}

pub async fn create_password_link(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    let (token, member) = state
        .run(move |s| {
            let token = crate::services::password_links::create(s, &caller, id)?;
            let member = account_service::member(s, &caller, id)?;
            Ok((token, member))
        })
        .await?;
    let link = format!("{}/password?token={token}", state.config.public_url.trim_end_matches('/'));
    let page = PasswordLinkPage {
        layout: Layout::new(format!("Password link for {}", member.account.email), "users", &user),
        member,
        link,
        hours: crate::services::password_links::VALID_SECS / 3600,
    };
    Ok(html(StatusCode::OK, page.render()))
}
