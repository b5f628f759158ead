//! Changing keys from the console: edit, (de)activate, regenerate, end an overlap, reassign, delete,
//! and the same in bulk from the table. Forms post and redirect, so every action works without JS.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::auth::{Admin, CurrentUser, KeyManager};
use super::error::{AppError, html};
use super::form::{Authed, FieldError};
use super::keys::AccessChoices;
use super::layout::Layout;
use super::see_other;
use crate::clock::format_time;
use crate::domain::Invalid;
use crate::domain::key::{KeyStatus, PlainKey};
use crate::domain::key_input::DAY;
use crate::error::Error;
use crate::services::key_forms::{self, EditChoices, Target, Targets};
use crate::services::key_list::ListParams;
use crate::services::keys::{self, DeleteForm, DeleteOutcome, EditForm, KeyRecord};
use crate::services::roles::Role;
use crate::state::AppState;

// ---- edit ----

#[derive(Template)]
#[template(path = "keys/edit.html")]
struct EditPage {
    layout: Layout,
    key: KeyRecord,
    form: EditForm,
    roles: Vec<Role>,
    catalogue: Vec<crate::domain::access::Permission>,
    errors: FieldError,
}

impl AccessChoices for EditPage {
    const DEFAULT_EXPIRY: &'static str = "keep";

    fn chosen(&self) -> (&[i64], &[i64], &str) {
        (&self.form.roles, &self.form.permissions, &self.form.expiry)
    }

    fn kept_expiry(&self) -> Option<String> {
        Some(self.key.expires_at.map_or_else(|| "never".to_owned(), format_time))
    }
}

async fn edit_page(
    state: &AppState,
    user: &CurrentUser,
    key_id: i64,
    form: Option<EditForm>,
    errors: FieldError,
) -> Result<EditPage, AppError> {
    let caller = user.caller();
    let EditChoices { key, roles, catalogue, role_ids: current_roles, permission_ids: granted } =
        state.run(move |s| key_forms::edit(s, &caller, key_id)).await?;
    let form = form.unwrap_or_else(|| EditForm {
        description: key.description.clone(),
        roles: current_roles,
        permissions: granted,
        status: key.status.to_string(),
        expiry: "keep".into(),
        act_as_owner: key.act_as_owner.then(|| "1".to_owned()),
        limits: crate::services::keys::Restrictions {
            ip_allow: key.ip_allow.clone().unwrap_or_default(),
            rate_limit: key.rate_limit.map(|n| n.to_string()).unwrap_or_default(),
            rate_window: crate::domain::restrict::WINDOWS
                .iter()
                .find(|(_, secs)| Some(*secs) == key.rate_window_secs)
                .map_or("minute", |(name, _)| name)
                .to_owned(),
        },
        ..EditForm::default()
    });
    Ok(EditPage {
        layout: Layout::new(format!("Edit {}", key.name), "keys", user),
        key,
        form,
        roles,
        catalogue,
        errors,
    })
}

pub async fn edit(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(html(StatusCode::OK, edit_page(&state, &user, path.into_inner(), None, FieldError::default()).await?.render()))
}

pub async fn update(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(KeyManager(user), form): Authed<KeyManager, EditForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (caller, submitted) = (user.caller(), form.clone());
    match state.run(move |s| keys::update(s, &caller, id, &submitted)).await {
        Ok(()) => Ok(see_other(format!("/keys/{id}"))),
        Err(Error::Invalid(invalid)) => {
            let page = edit_page(&state, &user, id, Some(form), invalid.into()).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

// ---- status and overlap ----

#[derive(Debug, serde::Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

pub async fn set_status(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(KeyManager(user), form): Authed<KeyManager, StatusForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let active = KeyStatus::parse(&form.status).map(KeyStatus::is_active);
    let caller = user.caller();
    state
        .run(move |s| match active {
            Some(active) => keys::set_active(s, &caller, &[id], active),
            // Whoever may not change the key hears that first, not what is wrong with the form.
            None => keys::managed_key(s, &caller, id)
                .and_then(|_| Err(Invalid::new("status", "Choose active or inactive.").into())),
        })
        .await?;
    Ok(see_other(format!("/keys/{id}")))
}

pub async fn end_overlap(
    KeyManager(user): KeyManager,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let caller = user.caller();
    state.run(move |s| keys::end_overlap(s, &caller, id)).await?;
    Ok(see_other(format!("/keys/{id}")))
}

// ---- regenerate ----

#[derive(Template)]
#[template(path = "keys/rotate.html")]
struct RotatePage {
    layout: Layout,
    key: KeyRecord,
    errors: FieldError,
}

#[derive(Template)]
#[template(path = "keys/rotated.html")]
struct RotatedPage {
    layout: Layout,
    key: KeyRecord,
    secret: PlainKey,
    overlap_until: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    overlap: String,
    #[serde(default)]
    custom_hours: String,
}

pub async fn rotate_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id) = (user.caller(), path.into_inner());
    let key = state.run(move |s| keys::get_managed(s, &caller, id)).await?;
    let page = RotatePage {
        layout: Layout::new(format!("Regenerate {}", key.name), "keys", &user),
        key,
        errors: FieldError::default(),
    };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn rotate(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authed(KeyManager(user), form): Authed<KeyManager, RotateForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let caller = user.caller();
    let key = state
        .run({
            let caller = caller.clone();
            move |s| keys::get_managed(s, &caller, id)
        })
        .await?;
    let overlap = match keys::overlap_secs(&form.overlap, &form.custom_hours) {
        Ok(secs) => secs,
        Err(invalid) => {
            let page = RotatePage {
                layout: Layout::new(format!("Regenerate {}", key.name), "keys", &user),
                key,
                errors: invalid.into(),
            };
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()));
        }
    };
    let secret = state.run(move |s| keys::rotate(s, &caller, id, overlap)).await?;
    tracing::info!(key_id = id, overlap, "key regenerated");
    let overlap_until = (overlap > 0).then(|| format_time(state.now() + overlap));
    let page = RotatedPage { layout: Layout::new("New secret", "keys", &user), key, secret, overlap_until };
    Ok(html(StatusCode::OK, page.render()))
}

// ---- reassign and delete, single and bulk ----

/// The confirmation page for deleting or reassigning one or more keys. Everything a person needs to
/// decide is on the first screen: each key's last use and its uses in the recent-use window, and for
/// recently used keys "Deactivate instead" beside Delete.
#[derive(Template)]
#[template(path = "keys/confirm.html")]
struct ConfirmPage {
    layout: Layout,
    action: &'static str,
    targets: Targets,
    phrase: String,
    errors: FieldError,
    /// What was typed into the confirmation field, kept when the page comes back with an error.
    typed: String,
    /// Keys used within the recent-use window: name, last use, uses in the window.
    recent: Vec<(String, i64, i64)>,
    comment: String,
}

impl ConfirmPage {
    fn last_use(&self, t: &Target) -> String {
        match &t.last_used {
            None => "Never used".to_owned(),
            Some(u) => format!(
                "Last used {} from {} on {} ({} uses in all)",
                format_time(u.at),
                u.ip.as_deref().unwrap_or("an unknown address"),
                u.path.as_deref().unwrap_or("an unknown path"),
                u.count
            ),
        }
    }

    fn at(&self, t: &i64) -> String {
        format_time(*t)
    }

    fn ids(&self) -> Vec<i64> {
        self.targets.keys.iter().map(|t| t.key.id).collect()
    }

    fn count(&self) -> usize {
        self.targets.keys.len()
    }

    /// The keys named one by one (a selection of all matching keys may hold thousands); the rest are counted.
    fn listed(&self) -> &[Target] {
        &self.targets.keys[..self.count().min(LISTED)]
    }

    fn unlisted(&self) -> usize {
        self.count().saturating_sub(LISTED)
    }

    fn recent_listed(&self) -> &[(String, i64, i64)] {
        &self.recent[..self.recent.len().min(LISTED)]
    }
}

/// How many keys a confirmation names one by one.
const LISTED: usize = 20;

/// What a confirmation page is answering: a first visit, or a submission that came back.
#[derive(Default)]
struct Submitted {
    errors: FieldError,
    typed: String,
    comment: String,
}

async fn confirm_page(
    state: &AppState,
    user: &CurrentUser,
    action: &'static str,
    ids: Vec<i64>,
    submitted: Submitted,
) -> Result<ConfirmPage, AppError> {
    if ids.is_empty() {
        return Err(Error::from(Invalid::new("ids", "Choose at least one key.")).into());
    }
    let caller = user.caller();
    let want_owners = action == "reassign";
    let targets = state.run(move |s| key_forms::targets(s, &caller, &ids, want_owners)).await?;
    let phrase = match targets.keys.as_slice() {
        [one] => keys::delete_phrase(&one.key).to_owned(),
        many => many.len().to_string(),
    };
    let since = state.now() - targets.recent_days * DAY;
    let recent = targets
        .keys
        .iter()
        .filter_map(|t| {
            t.last_used.as_ref().filter(|u| u.at >= since).map(|u| (t.key.name.clone(), u.at, t.recent_uses))
        })
        .collect();
    let title = if action == "delete" { "Delete keys" } else { "Reassign keys" };
    Ok(ConfirmPage {
        layout: Layout::new(title, "keys", user),
        action,
        targets,
        phrase,
        errors: submitted.errors,
        typed: submitted.typed,
        recent,
        comment: submitted.comment,
    })
}

pub async fn confirm_delete(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let page = confirm_page(&state, &user, "delete", vec![path.into_inner()], Submitted::default()).await?;
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn confirm_reassign(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    if !user.role.can_administer() {
        return Err(Error::Forbidden.into());
    }
    let page = confirm_page(&state, &user, "reassign", vec![path.into_inner()], Submitted::default()).await?;
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn delete(
    state: web::Data<AppState>,
    Authed(KeyManager(user), form): Authed<KeyManager, DeleteForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, submitted) = (user.caller(), form.clone());
    let (errors, status) = match state.run(move |s| keys::delete(s, &caller, &submitted)).await {
        Ok(DeleteOutcome::Deleted(n)) => {
            tracing::info!(count = n, "keys deleted");
            return Ok(see_other(format!("/keys?deleted={n}")));
        }
        Ok(DeleteOutcome::UsedRecently { .. }) => {
            let message = "Tick the box to delete keys that were used recently, or deactivate them instead.";
            (Invalid::new("recent_ok", message).into(), StatusCode::CONFLICT)
        }
        Err(Error::Invalid(invalid)) => (invalid.into(), StatusCode::UNPROCESSABLE_ENTITY),
        Err(other) => return Err(other.into()),
    };
    let submitted = Submitted { errors, typed: form.confirm, comment: String::new() };
    let page = confirm_page(&state, &user, "delete", form.ids, submitted).await?;
    Ok(html(status, page.render()))
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReassignForm {
    #[serde(default)]
    ids: Vec<i64>,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    comment: String,
}

pub async fn reassign(
    state: web::Data<AppState>,
    Authed(Admin(user), form): Authed<Admin, ReassignForm>,
) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    let submitted = form.clone();
    let result = state
        .run(move |s| {
            let owner =
                submitted.owner.trim().parse::<i64>().map_err(|_| Invalid::new("owner", "Choose the new owner."))?;
            keys::reassign(s, &caller, &submitted.ids, owner, &submitted.comment)
        })
        .await;
    match result {
        Ok(n) => Ok(see_other(&match form.ids.as_slice() {
            [one] if n <= 1 => format!("/keys/{one}"),
            _ => format!("/keys?reassigned={n}"),
        })),
        Err(Error::Invalid(invalid)) => {
            let submitted = Submitted { errors: invalid.into(), typed: String::new(), comment: form.comment };
            let page = confirm_page(&state, &user, "reassign", form.ids, submitted).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct BulkForm {
    #[serde(default)]
    ids: Vec<i64>,
    #[serde(default)]
    action: String,
    /// "Select all matching": `?` and the table's filter and search; the keys are those that match now.
    #[serde(default)]
    matching: String,
}

/// The table's bulk actions: (de)activation applies at once; delete and reassign ask first.
pub async fn bulk(
    state: web::Data<AppState>,
    Authed(KeyManager(user), mut form): Authed<KeyManager, BulkForm>,
) -> Result<HttpResponse, AppError> {
    if let Some(query) = form.matching.strip_prefix('?') {
        let params: ListParams = serde_html_form::from_str(query).unwrap_or_default();
        let caller = user.caller();
        form.ids = state.run(move |s| keys::matching_ids(s, &caller, params.query())).await?;
    }
    // Nothing chosen: back to the list, which says what is missing (with scripts, Apply waits for both).
    if form.ids.is_empty() {
        return Ok(see_other("/keys?missing=keys"));
    }
    if form.action.is_empty() {
        return Ok(see_other("/keys?missing=action"));
    }
    match form.action.as_str() {
        "activate" | "deactivate" => {
            let active = form.action == "activate";
            let caller = user.caller();
            let n = state.run(move |s| keys::set_active(s, &caller, &form.ids, active)).await?;
            Ok(see_other(format!("/keys?{}={n}", if active { "activated" } else { "deactivated" })))
        }
        "delete" => {
            let page = confirm_page(&state, &user, "delete", form.ids, Submitted::default()).await?;
            Ok(html(StatusCode::OK, page.render()))
        }
        "reassign" if user.role.can_administer() => {
            let page = confirm_page(&state, &user, "reassign", form.ids, Submitted::default()).await?;
            Ok(html(StatusCode::OK, page.render()))
        }
        "reassign" => Err(Error::Forbidden.into()),
        _ => Err(Error::from(Invalid::new("action", "Choose what to do with the chosen keys.")).into()),
    }
}
