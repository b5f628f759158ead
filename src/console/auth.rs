//! Who is asking: the signed-in account, its workspace and console role, checked on every request.
//! `CurrentUser` admits any signed-in account, `Reader` Administrators and Auditors, `Admin`
//! Administrators only, `SuperAdmin` super-administrators (workspace management); a route's extractor is its
//! authorization.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_session::SessionExt as _;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::error::AppError;
use super::session::ConsoleSession;
use crate::domain::audit::Actor;
use crate::domain::role::ConsoleRole;
use crate::error::Error;
use crate::http::client_ip;
use crate::services::Caller;
use crate::services::accounts::Origin;
use crate::services::sessions::{Resumed, Workspace};
use crate::state::AppState;

/// Where someone the workspace requires two-factor of may go before setting it up.
const ENROLMENT_PATHS: [&str; 3] = ["/profile/two-factor", "/logout", "/notifications/bell"];

/// Refresh the cookie's last-seen time at most this often, not on every request.
const TOUCH_EVERY_SECS: i64 = 60;

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub is_super_admin: bool,
    /// Signs in with a second factor: reveals ask for a code too.
    pub two_factor: bool,
    /// Has a password (people who only sign in with single sign-on confirm reveals at the provider).
    pub password: bool,
    /// When this session last signed in again at the single sign-on provider.
    pub sso_confirmed_at: Option<i64>,
    pub workspace_id: i64,
    pub workspace_name: String,
    pub role: ConsoleRole,
    /// The workspaces the account may switch to (its active memberships), this one included.
    pub workspaces: Vec<Workspace>,
    pub csrf: String,
    pub ip: IpAddr,
    /// The server's record of this session (`services::sessions`).
    pub session_id: i64,
    /// The time of this request (the state's clock), for pages that say "3 days ago".
    pub now: i64,
}

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor::Account { id: self.id, email: self.email.clone() }
    }

    pub fn caller(&self) -> Caller {
        Caller { workspace_id: self.workspace_id, account_id: Some(self.id), role: self.role, origin: self.origin() }
    }

    pub fn origin(&self) -> Origin {
        Origin { actor: self.actor(), ip: Some(self.ip.to_string()) }
    }

    /// What the person offers before a secret is shown: the password and code they entered, or a recent
    /// sign-in again at the single sign-on provider.
    pub fn proof<'a>(
        &self,
        password: &'a crate::crypto::SecretString,
        code: &'a str,
    ) -> crate::services::auth::Proof<'a> {
        crate::services::auth::Proof { password, code, sso_at: self.sso_confirmed_at }
    }

    /// For someone who signs in with single sign-on only: how a reveal is confirmed at the provider, and
    /// whether this session did so recently enough. `None` for people with a password.
    pub fn provider_confirmation(&self, state: &AppState, back_to: &str) -> Option<ProviderConfirmation> {
        let label = state.config.oidc.as_ref().filter(|_| !self.password)?.label.clone();
        let query = serde_urlencoded::to_string([("again", "1"), ("next", back_to)]).unwrap_or_default();
        Some(ProviderConfirmation {
            label,
            href: format!("/login/oidc?{query}"),
            confirmed: self
                .sso_confirmed_at
                .is_some_and(|at| self.now - at <= crate::services::auth::REAUTHENTICATED_SECS),
        })
    }

    /// This account acting on workspaces; the service checks it is a super-administrator.
    pub fn super_admin(&self) -> crate::services::workspaces::Super {
        crate::services::workspaces::Super { account_id: self.id, origin: self.origin() }
    }
}

/// A reveal confirmed by signing in again at the single sign-on provider (see `provider_confirmation`).
#[derive(Debug, Clone)]
pub struct ProviderConfirmation {
    pub label: String,
    /// Where the "Confirm with …" link goes: the provider, and back to the page.
    pub href: String,
    /// Signed in again there within the last few minutes: the secret may be shown without more.
    pub confirmed: bool,
}

pub fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Service(Error::Internal("application state missing".into())))
}

/// Where to come back to after signing in: the path and query of a GET, else the dashboard.
fn return_path(req: &HttpRequest) -> String {
    if req.method() == actix_web::http::Method::GET && !req.headers().contains_key("hx-request") {
        req.uri().path_and_query().map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned())
    } else {
        "/".to_owned()
    }
}

async fn load(req: HttpRequest) -> Result<CurrentUser, AppError> {
    let state = app_state(&req)?;
    let session = ConsoleSession(req.get_session());
    let next = return_path(&req);
    let (Some(facts), Some(token)) = (session.facts(), session.token()) else {
        return Err(AppError::SignInRequired { next });
    };
    let now = state.now();
    let defaults = (state.config.session_idle_secs, state.config.session_lifetime_secs);
    let who = facts.signed_in;
    let found = state
        .run(move |s| crate::services::sessions::resume(s, &token, who.account_id, who.workspace_id, defaults))
        .await?;
    let Some(Resumed { member, workspace, limits: (idle, lifetime), workspaces: mine, must_enrol, session_id }) = found
    else {
        session.sign_out();
        return Err(AppError::SignInRequired { next });
    };
    if now - facts.issued_at >= lifetime || now - facts.last_seen >= idle {
        session.sign_out();
        return Err(AppError::SessionExpired { next });
    }
    let account = member.account;
    let two_factor = account.has_two_factor();
    if !account.is_active() || account.session_epoch != who.session_epoch {
        session.sign_out();
        return Err(AppError::SessionExpired { next });
    }
    let ip = client_ip(&req, &state);
    if now - facts.last_seen >= TOUCH_EVERY_SECS {
        session.touch(now);
        let seen_from = ip.to_string();
        state.run(move |s| crate::services::sessions::touch(s, session_id, &seen_from)).await?;
    }
    if must_enrol && !ENROLMENT_PATHS.iter().any(|p| req.path().starts_with(p)) {
        return Err(AppError::TwoFactorRequired);
    }
    Ok(CurrentUser {
        id: account.id,
        email: account.email,
        name: account.display_name,
        is_super_admin: account.is_super_admin,
        two_factor,
        password: account.password_hash.is_some(),
        sso_confirmed_at: session.sso_confirmed_at(),
        workspace_id: workspace.id,
        workspace_name: workspace.name,
        role: member.role,
        workspaces: mine,
        csrf: session.csrf_token(),
        ip,
        session_id,
        now,
    })
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load(req.clone()))
    }
}

/// An Administrator of the current workspace.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

/// A super-administrator: manages workspaces and who belongs to them.
#[derive(Debug, Clone)]
pub struct SuperAdmin(pub CurrentUser);

/// An Administrator or Auditor: may read everything in the workspace but secrets.
#[derive(Debug, Clone)]
pub struct Reader(pub CurrentUser);

/// An Administrator or Member: may create and change keys (which ones is the service's to say).
#[derive(Debug, Clone)]
pub struct KeyManager(pub CurrentUser);

macro_rules! role_guard {
    ($name:ident, $allowed:expr) => {
        impl FromRequest for $name {
            type Error = AppError;
            type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move {
                    let user = load(req).await?;
                    let allowed: fn(&CurrentUser) -> bool = $allowed;
                    if allowed(&user) { Ok($name(user)) } else { Err(Error::Forbidden.into()) }
                })
            }
        }
    };
}

role_guard!(Admin, |u| u.role.can_administer());
role_guard!(Reader, |u| u.role.can_read_all());
role_guard!(KeyManager, |u| u.role.can_change_keys());
role_guard!(SuperAdmin, |u| u.is_super_admin);
