//! Settings, one form per page under a sub-navigation: general facts, key types, key policies, allowed
//! domains, webhooks, the shared secret (Administrators) and two-factor.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::{Admin, CurrentUser, Reader, SuperAdmin};
use super::error::{AppError, html, is_htmx};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use crate::clock::format_time;
use crate::crypto::SecretString;
use crate::error::Error;
use crate::services::key_types::{self, KeyType};
use crate::services::key_types::{self as type_service, TypeForm};
use crate::services::policies::{self, Policies, PoliciesForm};
use crate::services::shared_secret::{self, SecretInfo};
use crate::services::webhooks::{self, DeliveryRow, Webhook};
use crate::services::webhooks::{self as hooks, WebhookForm};
use crate::services::whitelist::{self, Whitelist, WhitelistForm};
use crate::state::AppState;

/// The settings' pages, in the order of their sub-navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    General,
    KeyTypes,
    Policies,
    Domains,
    Webhooks,
    Email,
    SharedSecret,
    TwoFactor,
}

impl Tab {
    const ALL: [Tab; 8] = [
        Tab::General,
        Tab::KeyTypes,
        Tab::Policies,
        Tab::Domains,
        Tab::Webhooks,
        Tab::Email,
        Tab::SharedSecret,
        Tab::TwoFactor,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Tab::General => "/settings",
            Tab::KeyTypes => "/settings/key-types",
            Tab::Policies => "/settings/policies",
            Tab::Domains => "/settings/domains",
            Tab::Webhooks => "/settings/webhooks",
            Tab::Email => "/settings/email",
            Tab::SharedSecret => "/settings/shared-secret",
            Tab::TwoFactor => "/settings/two-factor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tab::General => "General",
            Tab::KeyTypes => "Key types",
            Tab::Policies => "Key policies",
            Tab::Domains => "Allowed domains",
            Tab::Webhooks => "Webhooks",
            Tab::Email => "Email",
            Tab::SharedSecret => "Shared secret",
            Tab::TwoFactor => "Two-factor",
        }
    }
}

fn to(tab: Tab) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("location", tab.path())).finish()
}

#[derive(Template)]
#[template(path = "settings/index.html")]
struct SettingsPage {
    layout: Layout,
    tab: Tab,
    can_edit: bool,
    types: Vec<(KeyType, i64)>,
    /// The roles each restricted type's keys may hold, and every role to choose from.
    allowed: std::collections::HashMap<i64, Vec<i64>>,
    roles: Vec<crate::services::roles::Role>,
    /// The row whose form failed (None: the add form), its input and why.
    failed: Option<(Option<i64>, TypeForm, FieldError)>,
    whitelist: Whitelist,
    /// The domains as typed and why they were refused, when they were.
    domains_failed: Option<(String, FieldError)>,
    /// Administrators only.
    secret: Option<SecretBox>,
    policies: Policies,
    /// The policies as typed and why they were refused, when they were.
    policies_failed: Option<(PoliciesForm, FieldError)>,
    webhooks: Vec<Webhook>,
    deliveries: Vec<DeliveryRow>,
    /// Sign-in sessions: idle minutes and lifetime hours (instance flags).
    sessions: (i64, i64),
    webhook_failed: Option<(WebhookForm, FieldError)>,
    /// Everyone must sign in with two-factor.
    two_factor_required: bool,
    /// The email tab: the server, the outbox, and the last test's outcome.
    email: Option<crate::services::email::Overview>,
    email_test: Option<Result<(), String>>,
    super_admin: bool,
}

/// The shared secret's section: when it was made, the overlap, and the secret once the password
/// has been re-entered.
#[derive(Template)]
#[template(path = "settings/_shared_secret.html")]
struct SecretBox {
    csrf: String,
    info: SecretInfo,
    overlaps: &'static [(i64, &'static str)],
    secret: Option<SecretString>,
    regenerated: bool,
    error: Option<String>,
    /// The person has two-factor: the forms ask for a code too.
    two_factor: bool,
    /// Confirmed at the single sign-on provider instead of with a password.
    provider: Option<super::auth::ProviderConfirmation>,
}

impl SecretBox {
    fn made(&self) -> Option<String> {
        self.info.created_at.map(format_time)
    }

    fn until(&self, previous: &shared_secret::Previous) -> String {
        format_time(previous.retires_at)
    }
}

async fn secret_box(state: &AppState, user: &CurrentUser) -> Result<SecretBox, AppError> {
    let caller = user.caller();
    let info = state.run(move |s| shared_secret::info(s, &caller)).await?;
    Ok(SecretBox {
        csrf: user.csrf.clone(),
        info,
        overlaps: &shared_secret::OVERLAPS,
        secret: None,
        regenerated: false,
        error: None,
        two_factor: user.two_factor,
        provider: user.provider_confirmation(state, "/settings/shared-secret"),
    })
}

impl SettingsPage {
    /// The sub-navigation: the shared secret only for those who may see it.
    fn tabs(&self) -> Vec<Tab> {
        Tab::ALL.into_iter().filter(|t| *t != Tab::SharedSecret || self.secret.is_some()).collect()
    }

    fn current(&self, tab: &Tab) -> &'static str {
        if *tab == self.tab { "page" } else { "false" }
    }

    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        self.layout.when(t)
    }

    fn webhook_url(&self, id: &i64) -> &str {
        self.webhooks.iter().find(|w| w.id == *id).map_or("(deleted)", |w| w.url.as_str())
    }

    fn webhook_value(&self, field: &str) -> String {
        self.webhook_failed.as_ref().map_or_else(String::new, |(f, _)| match field {
            "url" => f.url.clone(),
            "format" => f.format.clone(),
            _ => f.description.clone(),
        })
    }

    fn webhook_formats(&self) -> &'static [(&'static str, &'static str)] {
        hooks::FORMATS
    }

    fn format_label(&self, code: &str) -> &'static str {
        hooks::FORMATS.iter().find(|(c, _)| *c == code).map_or("keyward JSON", |(_, label)| label)
    }

    fn webhook_error(&self) -> Option<&str> {
        self.webhook_failed.as_ref().and_then(|(_, e)| e.any())
    }

    fn policy_value(&self, field: &str) -> String {
        if let Some((form, _)) = &self.policies_failed {
            return match field {
                "reminder_days" => form.reminder_days.clone(),
                "rotation_days" => form.rotation_days.clone(),
                "stale_days" => form.stale_days.clone(),
                "max_lifetime_days" => form.max_lifetime_days.clone(),
                "session_idle_minutes" => form.session_idle_minutes.clone(),
                "session_lifetime_hours" => form.session_lifetime_hours.clone(),
                _ => form.recent_use_days.clone(),
            };
        }
        match field {
            "reminder_days" => self.policies.reminder_text(),
            "rotation_days" => self.policies.rotation_days.to_string(),
            "stale_days" => self.policies.stale_days.to_string(),
            "max_lifetime_days" => self.policies.max_lifetime_days.map(|d| d.to_string()).unwrap_or_default(),
            "session_idle_minutes" => self.policies.session_idle_minutes.map(|d| d.to_string()).unwrap_or_default(),
            "session_lifetime_hours" => self.policies.session_lifetime_hours.map(|d| d.to_string()).unwrap_or_default(),
            _ => self.policies.recent_use_days.to_string(),
        }
    }

    fn departed_choices(&self) -> [policies::DepartedKeys; 2] {
        policies::DepartedKeys::ALL
    }

    fn departed_selected(&self, choice: &policies::DepartedKeys) -> bool {
        match &self.policies_failed {
            Some((form, _)) => form.departed_keys == choice.code(),
            None => self.policies.departed_keys == *choice,
        }
    }

    fn policy_error(&self, field: &str) -> Option<&str> {
        self.policies_failed.as_ref().and_then(|(_, e)| e.get(field))
    }

    fn domains_text(&self) -> String {
        self.domains_failed.as_ref().map_or_else(|| self.whitelist.domains.join("\n"), |(text, _)| text.clone())
    }

    fn domains_error(&self) -> Option<&str> {
        self.domains_failed.as_ref().and_then(|(_, e)| e.any())
    }

    /// The message for `field` of the row `row` (0: the add form).
    fn error_for(&self, row: impl std::borrow::Borrow<i64>, field: &str) -> Option<&str> {
        let row = *row.borrow();
        self.failed.as_ref().filter(|(r, ..)| r.unwrap_or(0) == row).and_then(|(_, _, e)| e.get(field))
    }

    /// "Billing Access" or "any role".
    fn allowed_names(&self, type_id: &i64) -> String {
        match self.allowed.get(type_id) {
            None => "any role".to_owned(),
            Some(ids) => self
                .roles
                .iter()
                .filter(|r| ids.contains(&r.id))
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn role_allowed(&self, type_id: &i64, role_id: &i64) -> bool {
        self.allowed.get(type_id).is_some_and(|ids| ids.contains(role_id))
    }

    fn add_failed(&self) -> bool {
        self.failed.as_ref().is_some_and(|(row, ..)| row.is_none())
    }

    fn added_form(&self) -> TypeForm {
        self.failed.as_ref().filter(|(r, ..)| r.is_none()).map(|(_, f, _)| f.clone()).unwrap_or_default()
    }
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    tab: Tab,
    failed: Option<(Option<i64>, TypeForm, FieldError)>,
) -> Result<SettingsPage, AppError> {
    with_domains(state, user, tab, failed, None).await
}

async fn with_domains(
    state: &AppState,
    user: &CurrentUser,
    tab: Tab,
    failed: Option<(Option<i64>, TypeForm, FieldError)>,
    domains_failed: Option<(String, FieldError)>,
) -> Result<SettingsPage, AppError> {
    let ws = user.workspace_id;
    let caller = user.caller();
    let (types, allowed, roles) = state
        .run(move |s| {
            Ok((
                key_types::list(s, &caller)?,
                key_types::allowed_roles(s, &caller)?,
                crate::services::roles::names(s, &caller)?,
            ))
        })
        .await?;
    let secret = if user.role.can_administer() { Some(secret_box(state, user).await?) } else { None };
    let policies = state.run(move |s| policies::get(s, ws)).await?;
    let caller = user.caller();
    let (webhooks, deliveries) = state.run(move |s| webhooks::list(s, &caller)).await?;
    let (caller, super_admin) = (user.caller(), user.is_super_admin);
    let email = if tab == Tab::Email {
        Some(state.run(move |s| crate::services::email::overview(s, &caller, super_admin)).await?)
    } else {
        None
    };
    Ok(SettingsPage {
        email,
        email_test: None,
        super_admin,
        secret,
        policies,
        policies_failed: None,
        webhooks,
        deliveries,
        webhook_failed: None,
        sessions: (state.config.session_idle_secs / 60, state.config.session_lifetime_secs / 3600),
        layout: Layout::new(format!("{} · Settings", tab.label()), "settings", user),
        tab,
        can_edit: user.role.can_administer(),
        types,
        allowed,
        roles,
        failed,
        whitelist: state.run(move |s| whitelist::get(s, ws)).await?,
        domains_failed,
        two_factor_required: state.run(move |s| crate::services::two_factor::is_required(s, ws)).await?,
    })
}

async fn show(user: &CurrentUser, state: &AppState, tab: Tab) -> Result<HttpResponse, AppError> {
    Ok(html(StatusCode::OK, page(state, user, tab, None).await?.render()))
}

pub async fn general(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    show(&user, &state, Tab::General).await
}

pub async fn key_types(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    show(&user, &state, Tab::KeyTypes).await
}

pub async fn policies(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    show(&user, &state, Tab::Policies).await
}

pub async fn domains(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    show(&user, &state, Tab::Domains).await
}

pub async fn webhooks(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    show(&user, &state, Tab::Webhooks).await
}

pub async fn email(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    show(&user, &state, Tab::Email).await
}

/// Sends a test email to the super-administrator straight away and shows what the server said.
pub async fn test_email(SuperAdmin(user): SuperAdmin, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let outcome = crate::services::email::send_test(&state, &user.caller(), &user.email, &user.name).await?;
    let mut page = page(&state, &user, Tab::Email, None).await?;
    page.email_test = Some(outcome);
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn shared_secret(Admin(user): Admin, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    show(&user, &state, Tab::SharedSecret).await
}

pub async fn two_factor(Reader(user): Reader, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    show(&user, &state, Tab::TwoFactor).await
}

fn back() -> HttpResponse {
    to(Tab::KeyTypes)
}

async fn answer(
    state: &AppState,
    user: &CurrentUser,
    row: Option<i64>,
    form: TypeForm,
    result: crate::error::Result<()>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => Ok(back()),
        Err(Error::Invalid(invalid)) => {
            let page = page(state, user, Tab::KeyTypes, Some((row, form, invalid.into()))).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn add_type(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, TypeForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted) = (user.caller(), form.clone());
    let result = state.run(move |s| type_service::create(s, &caller, &submitted).map(drop)).await;
    answer(&state, &user, None, form, result).await
}

pub async fn update_type(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(Admin(user), form): Authed<Admin, TypeForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (caller, submitted) = (user.caller(), form.clone());
    let result = state.run(move |s| type_service::update(s, &caller, id, &submitted)).await;
    answer(&state, &user, Some(id), form, result).await
}

#[derive(Debug, serde::Deserialize)]
pub struct AllowedRolesForm {
    #[serde(default)]
    roles: Vec<i64>,
}

/// Restricts the roles a type's keys may hold (none chosen: any).
pub async fn restrict_type(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(Admin(user), form): Authed<Admin, AllowedRolesForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    state.run(move |s| type_service::set_allowed_roles(s, &caller, id, &form.roles)).await?;
    Ok(back())
}

pub async fn delete_type(
    Admin(user): Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    state.run(move |s| type_service::delete(s, &caller, id)).await?;
    Ok(back())
}

// ---- allowed domains ----

pub async fn save_domains(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, WhitelistForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted) = (user.caller(), form.clone());
    match state.run(move |s| whitelist::save(s, &caller, &submitted)).await {
        Ok(_) => Ok(to(Tab::Domains)),
        Err(Error::Invalid(invalid)) => {
            let page = with_domains(&state, &user, Tab::Domains, None, Some((form.domains, invalid.into()))).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "settings/matching.html")]
struct MatchingPage {
    layout: Layout,
    domains: Vec<String>,
    accounts: Vec<(i64, String)>,
}

pub async fn matching(Admin(user): Admin, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (caller, ws) = (user.caller(), user.workspace_id);
    let (accounts, list) = state.run(move |s| Ok((whitelist::matching(s, &caller)?, whitelist::get(s, ws)?))).await?;
    let layout = Layout::new("Add matching accounts", "settings", &user);
    Ok(html(StatusCode::OK, MatchingPage { layout, domains: list.domains, accounts }.render()))
}

#[derive(Debug, serde::Deserialize)]
pub struct MatchingForm {
    #[serde(default)]
    expected: String,
}

pub async fn add_matching(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, MatchingForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, expected) = (user.caller(), form.expected.parse().unwrap_or(usize::MAX));
    let added = state.run(move |s| whitelist::add_matching(s, &caller, expected)).await?;
    Ok(HttpResponse::SeeOther().insert_header(("location", format!("/users?joined={added}"))).finish())
}

// ---- shared secret ----

#[derive(Debug, serde::Deserialize)]
pub struct SecretForm {
    password: SecretString,
    #[serde(default)]
    code: String,
    #[serde(default)]
    overlap_secs: String,
}

/// Answers a reveal or regeneration: the section alone for htmx, otherwise the whole page.
async fn secret_answer(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    result: crate::error::Result<SecretString>,
    regenerated: bool,
) -> Result<HttpResponse, AppError> {
    let (status, secret, error) = match result {
        Ok(secret) => (StatusCode::OK, Some(secret), None),
        Err(Error::Invalid(invalid)) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(invalid.message)),
        Err(other) => return Err(other.into()),
    };
    let mut section = secret_box(state, user).await?;
    (section.secret, section.regenerated, section.error) = (secret, regenerated && status == StatusCode::OK, error);
    if is_htmx(req) {
        return Ok(html(status, section.render()));
    }
    let mut page = page(state, user, Tab::SharedSecret, None).await?;
    page.secret = Some(section);
    Ok(html(status, page.render()))
}

pub async fn reveal_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, SecretForm>,
) -> Result<HttpResponse, AppError> {
    let result = shared_secret::reveal(&state, &user.caller(), user.proof(&form.password, &form.code), user.ip).await;
    if result.is_ok() {
        tracing::info!("shared secret revealed");
    }
    secret_answer(&req, &state, &user, result, false).await
}

pub async fn regenerate_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, SecretForm>,
) -> Result<HttpResponse, AppError> {
    let result = match shared_secret::parse_overlap(&form.overlap_secs) {
        Ok(overlap) => {
            shared_secret::regenerate(&state, &user.caller(), user.proof(&form.password, &form.code), overlap, user.ip)
                .await
        }
        Err(e) => Err(e),
    };
    if result.is_ok() {
        tracing::info!("shared secret regenerated");
    }
    secret_answer(&req, &state, &user, result, true).await
}

pub async fn end_secret_overlap(Admin(user): Admin, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    state.run(move |s| shared_secret::end_overlap(s, &caller)).await?;
    Ok(to(Tab::SharedSecret))
}

// ---- policies ----

pub async fn save_policies(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, PoliciesForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted) = (user.caller(), form.clone());
    match state.run(move |s| policies::save(s, &caller, &submitted)).await {
        Ok(_) => Ok(to(Tab::Policies)),
        Err(Error::Invalid(invalid)) => {
            let mut page = page(&state, &user, Tab::Policies, None).await?;
            page.policies_failed = Some((form, invalid.into()));
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

// ---- webhooks ----

fn to_webhooks() -> HttpResponse {
    to(Tab::Webhooks)
}

pub async fn add_webhook(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, WebhookForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted) = (user.caller(), form.clone());
    match state.run(move |s| hooks::add(s, &caller, &submitted)).await {
        Ok(()) => Ok(to_webhooks()),
        Err(Error::Invalid(invalid)) => {
            let mut page = page(&state, &user, Tab::Webhooks, None).await?;
            page.webhook_failed = Some((form, invalid.into()));
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct EnabledForm {
    #[serde(default)]
    enabled: String,
}

pub async fn webhook_action(
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    Authed(Admin(user), form): Authed<Admin, EnabledForm>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let caller = user.caller();
    let enabled = form.enabled == "1";
    state
        .run(move |s| match action.as_str() {
            "enabled" => hooks::set_enabled(s, &caller, id, enabled),
            "delete" => hooks::delete(s, &caller, id),
            "test" => hooks::send_test(s, &caller, id),
            _ => Err(Error::NotFound),
        })
        .await?;
    Ok(to_webhooks())
}
