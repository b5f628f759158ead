//! The first run: the one-time setup link printed at start, and the first workspace with its first
//! Administrator (a super-administrator), created once.

use std::net::IpAddr;

use crate::crypto::{self, SecretString};
use crate::db::{accounts, audit, workspaces};
use crate::domain::account::{DisplayName, workspace_name};
use crate::domain::audit::{Actor, Event};
use crate::domain::email::Email;
use crate::domain::password::NewPassword;
use crate::domain::role::ConsoleRole;
use crate::error::{Error, Result};
use crate::services::accounts::{Newcomer, enrol};
use crate::services::auth::SignedIn;
use crate::state::AppState;

/// The first-run form's fields (a missing one is empty, and refused as such).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SetupForm {
    pub token: String,
    pub workspace: String,
    pub name: String,
    pub email: String,
    pub password: SecretString,
    pub confirm: SecretString,
}

/// Whether `token` is the live one-time setup token.
pub fn token_matches(state: &AppState, token: &str) -> bool {
    let live = state.setup_token.lock().unwrap_or_else(|p| p.into_inner());
    live.as_deref().is_some_and(|t| crypto::constant_time_eq(t.as_bytes(), token.as_bytes()))
}

/// Creates the first workspace and its first Administrator (a super-administrator), once.
pub async fn complete(state: &AppState, form: SetupForm, ip: IpAddr) -> Result<SignedIn> {
    if !token_matches(state, &form.token) {
        return Err(Error::Conflict("This setup link is no longer valid. Sign in instead.".into()));
    }
    let workspace = workspace_name(&form.workspace)?;
    let name = DisplayName::parse(&form.name)?;
    let email = Email::parse(&form.email)?;
    let password = NewPassword::parse(form.password.expose(), form.confirm.expose(), email.as_str())?;
    let hash = state.passwords.hash(password.expose().to_owned()).await?;
    let now = state.now();
    let signed_in = state
        .run(move |s| {
            s.db.write(|c| {
                if accounts::count(c)? > 0 {
                    return Err(Error::Conflict("keyward is already set up. Sign in instead.".into()));
                }
                let account_id = create_with_membership(c, &workspace, &name, &email, &hash, now)?;
                let event = Event::new("setup.completed", Actor::System("first-run setup"))
                    .in_workspace(account_id.workspace_id)
                    .from_ip(ip.to_string())
                    .on("account", account_id.account_id, email.as_str())
                    .change(None, Some(serde_json::json!({ "workspace": workspace, "role": "admin" })));
                audit::record(c, now, &event)?;
                Ok(account_id)
            })
        })
        .await?;
    state.setup_token.lock().unwrap_or_else(|p| p.into_inner()).take();
    state.run(crate::services::shared_secret::ensure_all).await?;
    Ok(signed_in)
}

/// Creates a workspace and its first administrator in the caller's transaction.
fn create_with_membership(
    c: &mut crate::db::DbConn,
    workspace: &str,
    name: &DisplayName,
    email: &Email,
    hash: &str,
    now: i64,
) -> Result<SignedIn> {
    let workspace_id = workspaces::create(c, workspace, now)?;
    let newcomer = Newcomer {
        email,
        name: name.as_str(),
        password_hash: Some(hash),
        workspace_id,
        role: ConsoleRole::Administrator,
        super_admin: true,
        permissions: &[],
        email_unverified: false,
        oidc_subject: None,
    };
    let account_id = enrol(c, &newcomer, now)?;
    Ok(SignedIn { account_id, session_epoch: 0, workspace_id })
}
