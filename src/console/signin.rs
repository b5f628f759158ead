//! Signing in and out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{FromRequest as _, HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::{AppError, html};
use super::layout::Layout;
use super::see_other;
use super::session::ConsoleSession;
use crate::crypto::SecretString;
use crate::error::Error;
use crate::http::client_ip;
use crate::services::auth::{self, PasswordAccepted, SignInError};
use crate::services::sso;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    notice: Option<&'static str>,
    error: Option<String>,
    signup_open: bool,
    /// "Sign in with …", when single sign-on is configured.
    sso_label: Option<String>,
    /// Email is on: "Forgot your password?" can send a link.
    email_on: bool,
}

impl LoginPage {
    /// The sign-in form again, saying why the attempt was refused.
    fn refused(state: &AppState, session: &ConsoleSession, email: String, next: String, error: String) -> Self {
        LoginPage {
            layout: Layout::public("Sign in", session.csrf_token()),
            email,
            next,
            notice: None,
            error: Some(error),
            signup_open: false,
            sso_label: sso_label(state),
            email_on: state.smtp.is_some(),
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    signed_up: Option<String>,
    #[serde(default)]
    password_set: Option<String>,
    #[serde(default)]
    verified: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: SecretString,
    #[serde(default)]
    next: String,
}

/// What a refused attempt shows: a wait, or a lock; anything else is an error page.
fn refusal(e: Error) -> Result<(StatusCode, String), AppError> {
    match e {
        Error::Throttled(secs) => {
            Ok((StatusCode::TOO_MANY_REQUESTS, format!("Too many failed attempts. Wait {secs} seconds and try again.")))
        }
        Error::Locked => Ok((
            StatusCode::FORBIDDEN,
            Error::Locked.to_string().replace("this account is locked", "This account is locked"),
        )),
        other => Err(other.into()),
    }
}

/// Only a path of this site may follow sign-in; anything else goes to the dashboard. The value is read
/// the way a browser reads a `Location`: resolved against this origin by a URL parser (which drops tabs
/// and newlines and reads `\` as `/`, so `/<TAB>/evil.example` is `//evil.example`), and refused unless
/// it stays on this origin. What comes back is the parser's own serialisation of path and query, so it
/// holds no control character or space and a header can always carry it.
fn safe_next(next: &str) -> String {
    const BASE: &str = "http://keyward.invalid/";
    let local = || {
        if !next.starts_with('/') || next.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
            return None;
        }
        let base = url::Url::parse(BASE).ok()?;
        let url = base.join(next).ok()?;
        let path = url.path();
        if url.origin() != base.origin() || path.starts_with("//") || path.starts_with("/login") {
            return None;
        }
        Some(url.query().map_or_else(|| path.to_owned(), |q| format!("{path}?{q}")))
    };
    local().unwrap_or_else(|| "/".to_owned())
}

pub async fn show(state: web::Data<AppState>, session: Session, query: web::Query<LoginQuery>) -> HttpResponse {
    let session = ConsoleSession(session);
    if session.facts().is_some() && query.expired.is_none() {
        return see_other(safe_next(&query.next));
    }
    let notice = if query.expired.is_some() {
        Some("Your session has ended. Sign in again.")
    } else if query.signed_out.is_some() {
        Some("You have signed out.")
    } else if query.signed_up.is_some() {
        Some("Almost done: we emailed you a link. Follow it to confirm your address, then sign in.")
    } else if query.verified.is_some() {
        Some("Your email is confirmed. Sign in.")
    } else if query.password_set.is_some() {
        Some("Your password is set. Sign in with it.")
    } else {
        None
    };
    let signup_open = state.run(crate::services::whitelist::signup_open).await.unwrap_or(false);
    let setup_pending = state.setup_token.lock().map(|t| t.is_some()).unwrap_or(false);
    let page = LoginPage {
        layout: Layout::public("Sign in", session.csrf_token()),
        email: String::new(),
        next: safe_next(&query.next),
        notice: notice.or(setup_pending.then_some(
            "No account exists yet: open the setup link printed in the server's log to create the first administrator.",
        )),
        error: None,
        signup_open,
        sso_label: sso_label(&state),
        email_on: state.smtp.is_some(),
    };
    html(StatusCode::OK, page.render())
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let session = ConsoleSession(session);
    let ip = client_ip(&req, &state);
    let (status, error) = match auth::sign_in(&state, &form.email, &form.password, ip).await {
        Ok(PasswordAccepted::SignedIn(signed_in)) => {
            super::session::begin(&state, &req, &session, signed_in).await?;
            return Ok(see_other(safe_next(&form.next)));
        }
        Ok(PasswordAccepted::NeedsCode { account_id, session_epoch }) => {
            session.await_second_factor(account_id, session_epoch, state.now(), &safe_next(&form.next));
            return Ok(see_other("/login/two-factor"));
        }
        Err(SignInError::Refused(e)) => refusal(e)?,
        Err(refused) => (StatusCode::UNAUTHORIZED, refused.to_string()),
    };
    Ok(html(status, LoginPage::refused(&state, &session, form.email, safe_next(&form.next), error).render()))
}

fn sso_label(state: &AppState) -> Option<String> {
    state.config.oidc.as_ref().map(|o| o.label.clone())
}

fn sso_callback_url(state: &AppState) -> String {
    format!("{}/login/oidc/callback", state.config.public_url)
}

#[derive(Debug, serde::Deserialize)]
pub struct SsoStart {
    #[serde(default)]
    next: String,
    /// A signed-in person confirming it is them before a reveal (`?again=1`).
    #[serde(default)]
    again: Option<String>,
}

/// Single sign-on, first leg: off to the provider with a fresh state, nonce and PKCE challenge. With
/// `again`, a signed-in person signs in at the provider once more (it must ask them: `prompt=login`) to
/// confirm a reveal, and comes back to `next`.
pub async fn sso_start(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<SsoStart>,
) -> Result<HttpResponse, AppError> {
    if state.config.oidc.is_none() {
        return Err(Error::NotFound.into());
    }
    let again = match query.again {
        Some(_) => Some(super::auth::CurrentUser::extract(&req).await?.id),
        None => None,
    };
    let session = ConsoleSession(session);
    match sso::start(&state, &sso_callback_url(&state), &safe_next(&query.next), again).await {
        Ok((url, pending)) => {
            session.begin_sso(&pending);
            Ok(see_other(url))
        }
        Err(e) => sso_refused(&state, &session, e, client_ip(&req, &state)).await,
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct SsoCallback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Single sign-on, second leg: the provider sends the browser back with a code for this session's state.
pub async fn sso_callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<SsoCallback>,
) -> Result<HttpResponse, AppError> {
    if state.config.oidc.is_none() {
        return Err(Error::NotFound.into());
    }
    let session = ConsoleSession(session);
    let ip = client_ip(&req, &state);
    let pending = session.take_sso();
    let next = pending.as_ref().map_or_else(|| "/".to_owned(), |p| p.next.clone());
    let again = pending.as_ref().and_then(|p| p.reauthenticating.map(|account| (account, p.at())));
    if let Some(error) = &query.error {
        let said = query.error_description.clone().unwrap_or_else(|| error.clone());
        return sso_refused(&state, &session, sso::SsoError::Provider(said), ip).await;
    }
    let identity = match sso::finish(&state, &sso_callback_url(&state), pending, &query.code, &query.state).await {
        Ok(identity) => identity,
        Err(e) => return sso_refused(&state, &session, e, ip).await,
    };
    if let Some((account_id, started)) = again {
        // Still this session's person, and the provider asked them again.
        let user = super::auth::CurrentUser::extract(&req).await?;
        if user.id != account_id {
            return Err(Error::Forbidden.into());
        }
        let who = (account_id, user.workspace_id);
        return match state.run(move |s| Ok(sso::confirm(s, who, started, &identity, ip))).await? {
            Ok(at) => {
                session.sso_confirmed(at);
                Ok(see_other(next))
            }
            Err(sso::SsoError::Service(internal)) => Err(internal.into()),
            Err(e) => Err(Error::Refused(format!("Confirming with the provider did not work: {e}.")).into()),
        };
    }
    match state.run(move |s| Ok(sso::sign_in(s, &identity, ip))).await? {
        Ok(signed_in) => {
            super::session::begin(&state, &req, &session, signed_in).await?;
            Ok(see_other(next))
        }
        Err(e) => sso_refused(&state, &session, e, ip).await,
    }
}

/// The sign-in page again, saying why single sign-on did not work; recorded in the audit log.
async fn sso_refused(
    state: &AppState,
    session: &ConsoleSession,
    e: sso::SsoError,
    ip: std::net::IpAddr,
) -> Result<HttpResponse, AppError> {
    if let sso::SsoError::Service(internal) = e {
        // Our own failure (the database, say): the error page and the log, never its details on the page.
        return Err(internal.into());
    }
    let reason = e.to_string();
    tracing::info!(reason = %reason, "single sign-on refused");
    let recorded = reason.clone();
    state.run(move |s| sso::record_refusal(s, &recorded, ip)).await?;
    let error = format!("Single sign-on did not work: {reason}.");
    Ok(html(StatusCode::UNAUTHORIZED, LoginPage::refused(state, session, String::new(), "/".into(), error).render()))
}

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
struct SecondFactorPage {
    layout: Layout,
    error: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct SecondFactorForm {
    #[serde(default)]
    code: String,
}

fn back_to_sign_in() -> HttpResponse {
    see_other("/login?expired=1")
}

/// The second step of signing in, for accounts with two-factor: only after the password was accepted.
pub async fn show_second_factor(state: web::Data<AppState>, session: Session) -> HttpResponse {
    let session = ConsoleSession(session);
    if session.awaiting_second_factor(state.now()).is_none() {
        return back_to_sign_in();
    }
    let page = SecondFactorPage { layout: Layout::public("Two-factor sign-in", session.csrf_token()), error: None };
    html(StatusCode::OK, page.render())
}

pub async fn submit_second_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<SecondFactorForm>,
) -> Result<HttpResponse, AppError> {
    let session = ConsoleSession(session);
    let Some((account_id, epoch, next)) = session.awaiting_second_factor(state.now()) else {
        return Ok(back_to_sign_in());
    };
    let ip = client_ip(&req, &state);
    let (status, error) = match auth::complete_second_factor(&state, account_id, epoch, &form.code, ip).await {
        Ok(signed_in) => {
            super::session::begin(&state, &req, &session, signed_in).await?;
            return Ok(see_other(next));
        }
        Err(SignInError::Refused(Error::Invalid(invalid))) => (StatusCode::UNAUTHORIZED, invalid.message),
        Err(SignInError::Refused(e)) => {
            if matches!(e, Error::Locked) {
                session.sign_out();
            }
            refusal(e)?
        }
        Err(_) => {
            session.sign_out();
            return Ok(back_to_sign_in());
        }
    };
    let page =
        SecondFactorPage { layout: Layout::public("Two-factor sign-in", session.csrf_token()), error: Some(error) };
    Ok(html(status, page.render()))
}

#[derive(Template)]
#[template(path = "auth/logout.html")]
struct LogoutPage {
    layout: Layout,
}

/// A confirmation page, so that signing out is a POST like every other change.
pub async fn confirm(user: super::auth::CurrentUser) -> HttpResponse {
    html(StatusCode::OK, LogoutPage { layout: Layout::new("Sign out", "", &user) }.render())
}

/// Signs out: the server's record ends first, so the cookie stops working everywhere, copies included.
pub async fn logout(session: Session, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let session = ConsoleSession(session);
    if let Some(token) = session.token() {
        state.run(move |s| crate::services::sessions::end_by_token(s, &token)).await?;
    }
    session.sign_out();
    Ok(see_other("/login?signed_out=1"))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_follow_sign_in() {
        assert_eq!(safe_next("/users?q=a"), "/users?q=a");
        assert_eq!(safe_next("/keys/7?tab=usage&q=a%20b"), "/keys/7?tab=usage&q=a%20b");
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/login",
            "users",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/%09/evil.example\t",
            "\t//evil.example",
            "/\u{0}x",
            "/x\u{7f}",
            "/ /evil.example",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Whatever comes in, what goes out is a path of this origin that a header can carry.
        #[test]
        fn nothing_leads_off_site(next in "[/\\\\\t\n %a-z.:?#@0-9]{0,24}") {
            let out = safe_next(&next);
            proptest::prop_assert!(out.starts_with('/') && !out.starts_with("//"), "{next:?} → {out:?}");
            proptest::prop_assert!(out.bytes().all(|b| b.is_ascii_graphic()), "{next:?} → {out:?}");
            let base = url::Url::parse("http://keyward.invalid/").expect("base");
            proptest::prop_assert_eq!(base.join(&out).expect("joins").origin(), base.origin());
            proptest::prop_assert!(actix_web::http::header::HeaderValue::from_str(&out).is_ok());
        }
    }
}
