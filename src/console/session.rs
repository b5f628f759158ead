//! The console session, typed. Stored in an encrypted, signed cookie (actix-session); revocation works
//! through the account's session epoch, which every request compares with the database.

use actix_session::Session;

use crate::crypto;
use crate::services::auth::SignedIn;

const CSRF: &str = "csrf";
const ACCOUNT: &str = "uid";
const EPOCH: &str = "epoch";
const WORKSPACE: &str = "ws";
const ISSUED: &str = "iat";
const SEEN: &str = "seen";
/// The token naming this session's row on the server (`services::sessions`).
const SID: &str = "sid";
/// A password accepted, the second factor awaited: (account, epoch, when, where to go next).
const AWAITING_CODE: &str = "mfa";
/// A single sign-on on its way through the provider.
const SSO: &str = "sso";
/// When the person last signed in again at the single sign-on provider, to reveal a secret.
const SSO_CONFIRMED: &str = "sso_at";
/// How long the second step may take.
const AWAITING_CODE_SECS: i64 = 300;

/// A signed-in session read back from the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFacts {
    pub signed_in: SignedIn,
    pub issued_at: i64,
    pub last_seen: i64,
}

pub struct ConsoleSession(pub Session);

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleSession(…)")
    }
}

impl ConsoleSession {
    /// The session's CSRF token, created on first use.
    pub fn csrf_token(&self) -> String {
        if let Ok(Some(token)) = self.0.get::<String>(CSRF) {
            return token;
        }
        let token = crypto::random_token();
        let _ = self.0.insert(CSRF, &token);
        token
    }

    pub fn stored_csrf_token(&self) -> Option<String> {
        self.0.get::<String>(CSRF).ok().flatten()
    }

    /// Starts a fresh session (new cookie, new CSRF token) for a signed-in account, named on the server by
    /// `token`. Handlers use `begin`, which makes the server's record first.
    fn sign_in(&self, who: SignedIn, now: i64, token: &str) {
        // `clear` + `renew`, not `purge`: a purged session cannot be renewed and would drop the cookie.
        self.0.clear();
        self.0.renew();
        let _ = self.0.insert(ACCOUNT, who.account_id);
        let _ = self.0.insert(EPOCH, who.session_epoch);
        let _ = self.0.insert(WORKSPACE, who.workspace_id);
        let _ = self.0.insert(ISSUED, now);
        let _ = self.0.insert(SEEN, now);
        let _ = self.0.insert(SID, token);
        let _ = self.0.insert(CSRF, crypto::random_token());
    }

    /// The token of the server's record of this session.
    pub fn token(&self) -> Option<String> {
        self.0.get::<String>(SID).ok().flatten()
    }

    /// Remembers a sign-in whose password was accepted until its second factor is given; the session
    /// is not signed in meanwhile.
    pub fn await_second_factor(&self, account_id: i64, session_epoch: i64, now: i64, next: &str) {
        self.0.clear();
        self.0.renew();
        let _ = self.0.insert(AWAITING_CODE, (account_id, session_epoch, now, next));
        let _ = self.0.insert(CSRF, crypto::random_token());
    }

    /// The sign-in waiting for its second factor, if it is recent: (account, epoch, next).
    pub fn awaiting_second_factor(&self, now: i64) -> Option<(i64, i64, String)> {
        let (account, epoch, at, next) = self.0.get::<(i64, i64, i64, String)>(AWAITING_CODE).ok().flatten()?;
        (now - at < AWAITING_CODE_SECS).then_some((account, epoch, next))
    }

    /// Keeps a single sign-on's state, nonce and PKCE verifier until the provider sends the browser back.
    pub fn begin_sso(&self, pending: &crate::services::sso::Pending) {
        let _ = self.0.insert(SSO, pending);
    }

    /// Remembers a re-authentication at the provider (`services::sso::confirm`) for this session.
    pub fn sso_confirmed(&self, at: i64) {
        let _ = self.0.insert(SSO_CONFIRMED, at);
    }

    /// When this session last re-authenticated at the provider.
    pub fn sso_confirmed_at(&self) -> Option<i64> {
        self.0.get::<i64>(SSO_CONFIRMED).ok().flatten()
    }

    /// The single sign-on in progress, taken: a callback is answered once.
    pub fn take_sso(&self) -> Option<crate::services::sso::Pending> {
        self.0.remove_as::<crate::services::sso::Pending>(SSO).and_then(Result::ok)
    }

    pub fn facts(&self) -> Option<SessionFacts> {
        let get = |k| self.0.get::<i64>(k).ok().flatten();
        Some(SessionFacts {
            signed_in: SignedIn {
                account_id: get(ACCOUNT)?,
                session_epoch: get(EPOCH)?,
                workspace_id: get(WORKSPACE)?,
            },
            issued_at: get(ISSUED)?,
            last_seen: get(SEEN)?,
        })
    }

    pub fn touch(&self, now: i64) {
        let _ = self.0.insert(SEEN, now);
    }

    /// Keeps this session alive after the account's epoch moved (own password change).
    pub fn set_epoch(&self, epoch: i64, now: i64) {
        self.0.renew();
        let _ = self.0.insert(EPOCH, epoch);
        let _ = self.0.insert(ISSUED, now);
        let _ = self.0.insert(CSRF, crypto::random_token());
    }

    /// Moves this session to another workspace of the same account (the caller checked membership).
    pub fn switch_workspace(&self, workspace_id: i64) {
        let _ = self.0.insert(WORKSPACE, workspace_id);
    }

    pub fn sign_out(&self) {
        self.0.purge();
    }
}

/// Signs the browser in: records the session on the server (with the browser and address it came from),
/// then starts the cookie that names it.
pub async fn begin(
    state: &crate::state::AppState,
    req: &actix_web::HttpRequest,
    session: &ConsoleSession,
    who: SignedIn,
) -> Result<(), super::error::AppError> {
    let ip = crate::http::client_ip(req, state).to_string();
    let agent = req.headers().get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let token = state.run(move |s| crate::services::sessions::start(s, who.account_id, &ip, &agent)).await?;
    session.sign_in(who, state.now(), &token);
    Ok(())
}
