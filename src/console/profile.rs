//! The signed-in person's own account: details and password change.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::auth::CurrentUser;
use super::error::{AppError, html, is_htmx};
use super::form::{Authed, FieldError};
use super::layout::Layout;
use super::session::ConsoleSession;
use crate::crypto::SecretString;
use crate::domain::policy;
use crate::error::Error;
use crate::services::keys::KeyRecord;
use crate::services::{auth, keys};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "profile/index.html")]
struct ProfilePage {
    layout: Layout,
    form: PasswordForm,
    personal: PersonalKey,
    sessions: Vec<crate::services::sessions::ConsoleSessionRow>,
    /// This browser's session, marked in the list.
    this_session: i64,
    /// Whether this keyward sends email, and the person's choices.
    email_on: bool,
    email: crate::services::email::Choices,
}

impl ProfilePage {
    /// (kind, label, emailed) for each notification kind.
    fn email_kinds(&self) -> Vec<(&'static str, &'static str, bool)> {
        crate::services::email::KINDS.iter().map(|(k, label)| (*k, *label, self.email.emailed.contains(k))).collect()
    }

    fn when(&self, t: &i64) -> crate::console::moment::Moment {
        self.layout.when(t)
    }

    /// The browser, in the words of its user agent: enough to tell one's sessions apart.
    fn browser(&self, agent: &str) -> String {
        let name = ["Edg/", "Firefox/", "Chrome/", "Safari/", "curl/"].iter().find(|n| agent.contains(*n)).map_or(
            "A browser",
            |n| match *n {
                "Edg/" => "Edge",
                "Firefox/" => "Firefox",
                "Chrome/" => "Chrome",
                "Safari/" => "Safari",
                _ => "curl",
            },
        );
        let system = ["Windows", "Mac OS X", "Android", "iPhone", "Linux"]
            .iter()
            .find(|s| agent.contains(*s))
            .map_or(String::new(), |s| format!(" on {}", if *s == "Mac OS X" { "macOS" } else { s }));
        format!("{name}{system}")
    }
}

/// The personal key section: generate one, or regenerate the one there is.
#[derive(Template, Default)]
#[template(path = "profile/_personal_key.html")]
struct PersonalKey {
    csrf: String,
    may_have: bool,
    key: Option<KeyRecord>,
    own: Vec<keys::Listed>,
    errors: FieldError,
}

impl PersonalKey {
    fn expires(&self) -> String {
        self.key.as_ref().and_then(|k| k.expires_at).map_or_else(|| "never".to_owned(), crate::clock::format_time)
    }
}

async fn personal_section(state: &AppState, user: &CurrentUser, errors: FieldError) -> Result<PersonalKey, AppError> {
    let caller = user.caller();
    let (own, key) = state.run(move |s| keys::mine(s, &caller)).await?;
    Ok(PersonalKey { csrf: user.csrf.clone(), may_have: policy::may_manage_key(user.role, true), key, own, errors })
}

#[derive(Template, Default)]
#[template(path = "profile/_password_form.html")]
struct PasswordForm {
    csrf: String,
    errors: FieldError,
    done: bool,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    form: PasswordForm,
    personal: PersonalKey,
) -> Result<ProfilePage, AppError> {
    let me = user.id;
    let (sessions, email) = state
        .run(move |s| Ok((crate::services::sessions::list(s, me)?, crate::services::email::choices(s, me)?)))
        .await?;
    let layout = Layout::new("Profile", "profile", user);
    let email_on = state.smtp.is_some();
    Ok(ProfilePage { layout, form, personal, sessions, this_session: user.session_id, email_on, email })
}

pub async fn show(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let form = PasswordForm { csrf: user.csrf.clone(), ..PasswordForm::default() };
    let personal = personal_section(&state, &user, FieldError::default()).await?;
    Ok(html(StatusCode::OK, page(&state, &user, form, personal).await?.render()))
}

/// Signs out one of one's other sessions.
pub async fn end_session(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (caller, id, current) = (user.caller(), path.into_inner(), user.session_id);
    state.run(move |s| crate::services::sessions::end_own(s, &caller, Some(id), current)).await?;
    Ok(super::see_other("/profile#sessions"))
}

/// Signs out every session of one's own but this one.
pub async fn end_other_sessions(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (caller, current) = (user.caller(), user.session_id);
    state.run(move |s| crate::services::sessions::end_own(s, &caller, None, current)).await?;
    Ok(super::see_other("/profile#sessions"))
}

#[derive(Debug, serde::Deserialize)]
pub struct PersonalKeyForm {
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    expires_on: String,
}

/// Generates the signed-in person's personal key, shown once.
pub async fn generate_key(
    state: web::Data<AppState>,
    Authed(user, form): Authed<CurrentUser, PersonalKeyForm>,
) -> Result<HttpResponse, AppError> {
    let (caller, me) = (user.caller(), user.id);
    let (expiry, on) = (form.expiry.clone(), form.expires_on.clone());
    match state.run(move |s| keys::create_personal(s, &caller, me, &expiry, &on)).await {
        Ok(created) => Ok(super::keys::CreatedPage::response(Layout::new("Personal key", "profile", &user), created)),
        Err(Error::Invalid(invalid)) => {
            let personal = personal_section(&state, &user, invalid.into()).await?;
            let form = PasswordForm { csrf: user.csrf.clone(), ..PasswordForm::default() };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page(&state, &user, form, personal).await?.render()))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ChangePassword {
    current_password: SecretString,
    new_password: SecretString,
    confirm: SecretString,
}

pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    Authed(user, form): Authed<CurrentUser, ChangePassword>,
) -> Result<HttpResponse, AppError> {
    let result =
        auth::change_password(&state, user.id, &form.current_password, &form.new_password, &form.confirm, user.ip)
            .await;
    let session = ConsoleSession(session);
    let (status, form) = match result {
        Ok(epoch) => {
            session.set_epoch(epoch, state.now());
            // The new epoch already refuses the other sessions; their records end too, so lists agree.
            let (caller, current) = (user.caller(), user.session_id);
            state.run(move |s| crate::services::sessions::end_own(s, &caller, None, current)).await?;
            (StatusCode::OK, PasswordForm { csrf: session.csrf_token(), errors: FieldError::default(), done: true })
        }
        Err(Error::Invalid(invalid)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            PasswordForm { csrf: user.csrf.clone(), errors: invalid.into(), done: false },
        ),
        Err(other) => return Err(other.into()),
    };
    if is_htmx(&req) {
        let mut response = html(status, form.render());
        if form.done {
            // The CSRF token changed with the session; the page's htmx header must follow.
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("hx-refresh"),
                actix_web::http::header::HeaderValue::from_static("true"),
            );
        }
        return Ok(response);
    }
    // The session (and its CSRF token) may have been renewed: render with the current token.
    let user = CurrentUser { csrf: form.csrf.clone(), ..user };
    let personal = personal_section(&state, &user, FieldError::default()).await?;
    Ok(html(status, page(&state, &user, form, personal).await?.render()))
}

/// Saves which notifications the person gets by email, and whether as a daily digest.
pub async fn email_choices(
    state: web::Data<AppState>,
    Authed(user, form): Authed<CurrentUser, crate::services::email::ChoicesForm>,
) -> Result<HttpResponse, AppError> {
    let caller = user.caller();
    state.run(move |s| crate::services::email::set_choices(s, &caller, &form)).await?;
    Ok(super::see_other("/profile?email_saved=1#email"))
}
