//! Single sign-on with an OpenID Connect provider: the authorization code flow with PKCE, `state` and
//! `nonce`, the ID token's signature and claims checked by `openidconnect`. People are matched by the
//! provider's subject, else by a verified email; someone new is created when an active workspace allows
//! their email's domain, with a console role from the provider's `groups` claim.

use std::net::IpAddr;

use base64::Engine as _;
use openidconnect::core::{CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse as _,
};
use serde::{Deserialize, Serialize};

use crate::config::OidcConfig;
use crate::crypto::constant_time_eq;
use crate::db::{accounts, audit};
use crate::domain::audit::{Actor, Event};
use crate::domain::email::Email;
use crate::domain::role::ConsoleRole;
use crate::error::{Error, Result};
use crate::services::accounts::{Newcomer, enrol};
use crate::services::auth::{self, SignedIn};
use crate::state::AppState;

/// A sign-in on its way through the provider, kept in the person's session until the callback.
#[derive(Clone, Serialize, Deserialize)]
pub struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    pub next: String,
    at: i64,
    /// A re-authentication of this signed-in account (before a reveal), not a sign-in.
    #[serde(default)]
    pub reauthenticating: Option<i64>,
}

impl Pending {
    /// When the round trip began.
    pub fn at(&self) -> i64 {
        self.at
    }
}

impl std::fmt::Debug for Pending {
    /// Leaves out the state, nonce and PKCE verifier.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("next", &self.next).field("at", &self.at).finish_non_exhaustive()
    }
}

/// How long the round trip through the provider may take.
const PENDING_SECS: i64 = 600;
/// Clock difference allowed between the provider and this server when comparing `auth_time`.
const SKEW_SECS: i64 = 30;

/// Who the provider says signed in, after every check.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub groups: Vec<String>,
    /// When the person last authenticated at the provider (`auth_time`), when it says.
    pub auth_time: Option<i64>,
}

/// Why a single sign-on was refused. The person sees the message; the audit log records it.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("single sign-on is not configured")]
    Off,
    #[error("the sign-in took too long or was started elsewhere; start again")]
    NoPending,
    #[error("the answer does not belong to this sign-in (state mismatch)")]
    State,
    #[error("the provider refused: {0}")]
    Provider(String),
    #[error("the provider's identity token did not check out: {0}")]
    Token(String),
    #[error("{0}")]
    Account(String),
    #[error(transparent)]
    Service(#[from] Error),
}

fn http() -> Result<openidconnect::reqwest::Client, SsoError> {
    // No redirects: following them from a provider's endpoints opens server-side request forgery.
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| SsoError::Provider(e.to_string()))
}

async fn metadata(state: &AppState, config: &OidcConfig) -> Result<CoreProviderMetadata, SsoError> {
    let found = state
        .sso
        .document
        .get_or_try_init(|| async {
            let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| SsoError::Provider(e.to_string()))?;
            CoreProviderMetadata::discover_async(issuer, &http()?)
                .await
                .map_err(|e| SsoError::Provider(format!("discovery failed: {e}")))
        })
        .await?;
    Ok(found.clone())
}

fn config(state: &AppState) -> Result<&OidcConfig, SsoError> {
    state.config.oidc.as_ref().ok_or(SsoError::Off)
}

/// Starts a sign-in — or, for `reauthenticating` (a signed-in account), a fresh authentication at the
/// provider (`prompt=login`, `max_age=0`: an existing session there is not enough): where to send the
/// browser, and what to keep until it comes back.
pub async fn start(
    state: &AppState,
    redirect: &str,
    next: &str,
    reauthenticating: Option<i64>,
) -> Result<(String, Pending), SsoError> {
    let config = config(state)?;
    let client = CoreClient::from_provider_metadata(
        metadata(state, config).await?,
        ClientId::new(config.client_id.clone()),
        config.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).map_err(|e| SsoError::Provider(e.to_string()))?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("groups".into()))
        .set_pkce_challenge(challenge);
    if reauthenticating.is_some() {
        request = request.add_prompt(CoreAuthPrompt::Login).set_max_age(std::time::Duration::ZERO);
    }
    let (url, csrf, nonce) = request.url();
    let pending = Pending {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next: next.to_owned(),
        at: state.now(),
        reauthenticating,
    };
    Ok((url.to_string(), pending))
}

/// Finishes a sign-in at the callback: the state must be this session's, the code is exchanged with the
/// PKCE verifier, and the ID token's signature, issuer, audience, expiry and nonce are checked.
pub async fn finish(
    state: &AppState,
    redirect: &str,
    pending: Option<Pending>,
    code: &str,
    returned_state: &str,
) -> Result<Identity, SsoError> {
    let config = config(state)?;
    let pending = pending.filter(|p| state.now() - p.at < PENDING_SECS).ok_or(SsoError::NoPending)?;
    if !constant_time_eq(pending.state.as_bytes(), returned_state.as_bytes()) {
        return Err(SsoError::State);
    }
    let client = CoreClient::from_provider_metadata(
        metadata(state, config).await?,
        ClientId::new(config.client_id.clone()),
        config.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).map_err(|e| SsoError::Provider(e.to_string()))?);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| SsoError::Provider(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&http()?)
        .await
        .map_err(|e| SsoError::Provider(format!("the code was not accepted: {e}")))?;
    let id_token = tokens.id_token().ok_or_else(|| SsoError::Token("no ID token in the answer".into()))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
        .map_err(|e| SsoError::Token(e.to_string()))?;
    Ok(Identity {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified().unwrap_or(false),
        groups: groups_of(&id_token.to_string()),
        auth_time: claims.auth_time().map(|t| t.timestamp()),
    })
}

/// Checks a re-authentication that came back for `account_id` (working in `workspace_id`), started at
/// `started`: the provider must name the same person (subject) and say they authenticated after it began
/// (`auth_time`). Audited either way. The time it stands from.
pub fn confirm(
    state: &AppState,
    (account_id, workspace_id): (i64, i64),
    started: i64,
    identity: &Identity,
    ip: IpAddr,
) -> Result<i64, SsoError> {
    let now = state.now();
    let account = state.db.read(|c| accounts::find(c, account_id))?.ok_or(Error::NotFound)?;
    let refusal = if account.oidc_subject.as_deref() != Some(identity.subject.as_str()) {
        Some("the provider signed in someone else")
    } else if identity.auth_time.is_none_or(|t| t < started - SKEW_SECS) {
        Some("the provider did not ask for the sign-in again")
    } else {
        None
    };
    let outcome = if refusal.is_some() { "account.reauthentication_refused" } else { "account.reauthenticated" };
    let event = Event::new(outcome, Actor::Account { id: account.id, email: account.email.clone() })
        .in_workspace(workspace_id)
        .from_ip(ip.to_string())
        .on("account", account.id, &account.email)
        .change(None, refusal.map(|r| serde_json::json!({ "reason": r })));
    state.db.write_counters(|c| Ok::<_, Error>(audit::record(c, now, &event)?))?;
    match refusal {
        Some(reason) => Err(SsoError::Account(reason.to_owned())),
        None => Ok(now),
    }
}

/// The `groups` claim of an ID token whose signature was already checked.
fn groups_of(jwt: &str) -> Vec<String> {
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else { return Vec::new() };
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    value["groups"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect())
}

/// The account for a verified identity: linked by subject, else by verified email, else created in the
/// first active workspace that allows the email's domain. Records the sign-in.
pub fn sign_in(state: &AppState, identity: &Identity, ip: IpAddr) -> Result<SignedIn, SsoError> {
    let config = config(state)?;
    let now = state.now();
    let email = identity
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(|_| SsoError::Account("the provider gave an email address keyward cannot read".into()))?;
    let verified_email = email.filter(|_| identity.email_verified);
    let role = config.group_roles.role_for(&identity.groups).unwrap_or(ConsoleRole::Member);
    let signed_in = state.db.write(|c| {
        let account = match accounts::find_by_oidc_subject(c, &identity.subject)? {
            Some(account) => account,
            None => {
                let Some(email) = &verified_email else {
                    return Ok(Err("the provider did not give a verified email address".to_owned()));
                };
                match accounts::find_by_email(c, email)? {
                    Some(account) => {
                        accounts::set_oidc_subject(c, account.id, &identity.subject)?;
                        if accounts::drop_unverified_password(c, account.id, now)? {
                            let event =
                                Event::new("account.unverified_password_dropped", Actor::System("single sign-on"))
                                    .from_ip(ip.to_string())
                                    .on("account", account.id, &account.email);
                            audit::record(c, now, &event)?;
                            // Re-read: the epoch moved and the password is gone.
                            accounts::find(c, account.id)?.ok_or(Error::NotFound)?
                        } else {
                            account
                        }
                    }
                    None => {
                        let Some(ws) = crate::services::whitelist::workspace_allowing(c, email)? else {
                            return Ok(Err(format!(
                                "no account has the email {email} and its domain is not allowed; ask an administrator"
                            )));
                        };
                        let newcomer = Newcomer {
                            email,
                            name: email.as_str(),
                            password_hash: None,
                            workspace_id: ws,
                            role,
                            super_admin: false,
                            permissions: &[],
                            email_unverified: false,
                            oidc_subject: Some(&identity.subject),
                        };
                        let id = enrol(c, &newcomer, now)?;
                        let event = Event::new("account.created", Actor::System("single sign-on"))
                            .in_workspace(ws)
                            .from_ip(ip.to_string())
                            .on("account", id, email.as_str())
                            .change(None, Some(serde_json::json!({ "role": role.code(), "groups": identity.groups })));
                        audit::record(c, now, &event)?;
                        accounts::find(c, id)?.ok_or(Error::NotFound)?
                    }
                }
            }
        };
        if !account.is_active() {
            return Ok(Err("this account is disabled".to_owned()));
        }
        Ok::<_, Error>(
            auth::record_sign_in(c, &account, None, ip, now, "single sign-on")?
                .ok_or_else(|| "this account is not a member of any workspace".to_owned()),
        )
    })?;
    signed_in.map_err(SsoError::Account)
}

/// Records a refused single sign-on in the audit log (no workspace: nobody is known yet).
pub fn record_refusal(state: &AppState, reason: &str, ip: IpAddr) -> Result<()> {
    let event = Event::new("account.sso_failed", Actor::Anonymous("single sign-on".into()))
        .from_ip(ip.to_string())
        .change(None, Some(serde_json::json!({ "reason": reason })));
    let now = state.now();
    state.db.write_counters(|c| Ok::<_, Error>(audit::record(c, now, &event)?))
}
