//! Email: what keyward sends and the job that sends it. Every email is composed when it is queued, in
//! the transaction that made what it tells (a notification, an invitation, a one-time link), as a plain
//! text and an HTML part with the same content, a link to the page that acts on it, and never a key or a
//! password. The job claims each queued email for a lease before sending it, so several instances send
//! each once; one that dies mid-send leaves it to be sent again after the lease, with the same
//! Message-ID (at least once). Failures are retried with backoff and shown to administrators in Settings.
//! While no SMTP server is configured nothing is queued: turning email on later sends no backlog.

use askama::Template;

pub use crate::db::email::Sent;
use crate::db::email::{self as outbox, NewEmail};
use crate::db::notifications::NewNotification;
use crate::db::{DbConn, audit, workspaces};
use crate::domain::key_input::DAY;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

/// Attempts before a queued email is given up on (the last about 4 hours after the first).
pub const MAX_ATTEMPTS: i64 = 10;
/// The first retry waits this long; each later one twice as long.
pub const FIRST_RETRY_SECS: i64 = 30;
/// How long a claimed email is reserved for the instance sending it.
const LEASE_SECS: i64 = 120;
/// How long an invitation's (or an Administrator's) one-time link works.
pub const LINK_VALID_SECS: i64 = 72 * 3600;
/// The purposes of one-time links (`services::password_links`).
pub const PASSWORD_LINK: &str = "password";
pub const VERIFY_LINK: &str = "verify";

/// Sent and given-up emails are kept this long for Settings, then forgotten.
pub const KEEP_SECS: i64 = 30 * DAY;

/// A digest gathers what happened since the last one, a day before.
pub const DIGEST_EVERY: i64 = DAY;

/// The notifications a person can get by email, with what Profile calls them.
pub const KINDS: &[(&str, &str)] = &[
    ("key_expiring", "A key of mine expires soon"),
    ("key_expired", "A key of mine has expired"),
    ("rotation_due", "A key of mine is due for rotation"),
    ("overlap_ended", "A replaced secret of mine stopped working"),
    ("key_reassigned", "A key was reassigned to me"),
    ("deleted_user_keys", "A departing colleague's keys are now mine"),
    ("role_deleted", "A custom role my keys held was deleted"),
];

/// What composing an email needs from the instance: where links point, and whether email is on.
#[derive(Debug, Clone, Copy)]
pub struct Post<'a> {
    pub public_url: &'a str,
    /// The sender's domain, for Message-IDs; `None` while email is off.
    domain: Option<&'a str>,
}

impl<'a> Post<'a> {
    pub fn of(state: &'a AppState) -> Self {
        Self { public_url: &state.config.public_url, domain: state.smtp.as_deref().map(crate::mail::Smtp::domain) }
    }

    pub fn is_on(&self) -> bool {
        self.domain.is_some()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// A Message-ID of its own for each queued email, kept across its retries.
    fn message_id(&self, tag: &str) -> String {
        let random = hex::encode(crate::crypto::random_bytes::<9>());
        format!("<{tag}.{random}@{}>", self.domain.unwrap_or("keyward.invalid"))
    }
}

/// One line of a letter: a notice and where to act on it.
#[derive(Debug, Clone)]
pub struct Item {
    pub title: String,
    pub body: String,
    pub link: Option<String>,
}

/// Every email keyward sends has this shape, as text and as HTML.
#[derive(Debug, Clone)]
pub struct Letter {
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    pub items: Vec<Item>,
    /// The button: (label, absolute URL).
    pub action: Option<(String, String)>,
    pub footer: String,
}

#[derive(Template)]
#[template(path = "email/letter.txt")]
struct TextPart<'a> {
    greeting: &'a str,
    paragraphs: &'a [String],
    items: &'a [Item],
    action: &'a Option<(String, String)>,
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "email/letter.html")]
struct HtmlPart<'a> {
    subject: &'a str,
    greeting: &'a str,
    paragraphs: &'a [String],
    items: &'a [Item],
    action: &'a Option<(String, String)>,
    footer: &'a str,
}

impl Letter {
    /// (text, HTML): the same content twice.
    pub fn render(&self) -> Result<(String, String)> {
        let (greeting, paragraphs, items, action, footer) =
            (&self.greeting, &self.paragraphs, &self.items, &self.action, &self.footer);
        let text = TextPart { greeting, paragraphs, items, action, footer }.render();
        let html = HtmlPart { subject: &self.subject, greeting, paragraphs, items, action, footer }.render();
        match (text, html) {
            (Ok(text), Ok(html)) => Ok((text, html)),
            (Err(e), _) | (_, Err(e)) => Err(Error::Internal(format!("an email could not be composed: {e}"))),
        }
    }

    /// Queues the letter to `to` (inside the caller's transaction).
    pub fn queue(&self, c: &mut DbConn, post: &Post<'_>, to: Addressee<'_>, kind: &str, now: i64) -> Result<()> {
        let (text, html) = self.render()?;
        let message_id = post.message_id(kind);
        let email = NewEmail {
            workspace_id: to.workspace_id,
            account_id: to.account_id,
            recipient: to.email,
            kind,
            subject: &self.subject,
            text_body: &text,
            html_body: &html,
            message_id: &message_id,
        };
        outbox::enqueue(c, &email, now)?;
        Ok(())
    }
}

/// Who an email goes to, and whose Settings list it.
#[derive(Debug, Clone, Copy)]
pub struct Addressee<'a> {
    pub email: &'a str,
    pub account_id: Option<i64>,
    pub workspace_id: Option<i64>,
}

fn hello(name: &str) -> String {
    if name.trim().is_empty() { "Hello,".to_owned() } else { format!("Hello {},", name.trim()) }
}

fn footer(post: &Post<'_>, workspace: Option<&str>) -> String {
    let place = workspace.map(|w| format!(" in the workspace {w}")).unwrap_or_default();
    format!(
        "Sent by keyward at {}{place}. Choose which emails you get on your profile: {}",
        post.public_url,
        post.url("/profile#email")
    )
}

/// Emails a notification just stored (`id`) to its recipient, in the same transaction — unless email is
/// off, the person is disabled or muted this kind, or wants a daily digest (then it waits for that).
pub(crate) fn notification(c: &mut DbConn, post: &Post<'_>, n: &NewNotification<'_>, id: i64, now: i64) -> Result<()> {
    if !post.is_on() {
        return Ok(());
    }
    let Some(person) = outbox::recipient(c, n.account_id)? else { return Ok(()) };
    if person.disabled_at.is_some() || outbox::is_muted(c, person.id, n.kind)? {
        return Ok(());
    }
    if person.email_digest {
        outbox::hold_for_digest(c, id)?;
        return Ok(());
    }
    let workspace = workspaces::find(c, n.workspace_id)?.map(|w| w.name);
    let letter = Letter {
        subject: n.title.to_owned(),
        greeting: hello(&person.display_name),
        paragraphs: [n.title, n.body].iter().filter(|p| !p.is_empty()).map(|p| (*p).to_owned()).collect(),
        items: Vec::new(),
        action: n.link.map(|link| ("Open in keyward".to_owned(), post.url(link))),
        footer: footer(post, workspace.as_deref()),
    };
    let to = Addressee { email: &person.email, account_id: Some(person.id), workspace_id: Some(n.workspace_id) };
    letter.queue(c, post, to, n.kind, now)
}

fn workspace_name(c: &mut DbConn, id: i64) -> Result<String> {
    Ok(workspaces::find(c, id)?.map(|w| w.name).unwrap_or_default())
}

/// Stores a new one-time link for the account and purpose, retiring the one it had, in the caller's
/// transaction; returns its token (only its digest is stored).
pub(crate) fn issue_link(
    c: &mut DbConn,
    account_id: i64,
    purpose: &str,
    by: Option<i64>,
    valid: i64,
    now: i64,
) -> Result<String> {
    let token = crate::crypto::random_token();
    let digest = crate::crypto::token_digest(&token);
    crate::db::password_links::replace(c, (account_id, purpose), &digest, by, now, now + valid)?;
    Ok(token)
}

/// Issues a password link and emails it as an invitation to the caller's workspace.
pub(crate) fn invite_with_link(
    c: &mut DbConn,
    post: &Post<'_>,
    caller: &Caller,
    account: (i64, &str, &str),
    now: i64,
) -> Result<()> {
    let token = issue_link(c, account.0, PASSWORD_LINK, caller.account_id, LINK_VALID_SECS, now)?;
    invitation(c, post, caller, account, &token, now)
}

/// The invitation of a new account to the caller's workspace, with its one-time password link.
fn invitation(
    c: &mut DbConn,
    post: &Post<'_>,
    caller: &Caller,
    (account_id, email, name): (i64, &str, &str),
    token: &str,
    now: i64,
) -> Result<()> {
    let workspace = workspace_name(c, caller.workspace_id)?;
    let inviter = caller.origin.actor.label();
    let letter = Letter {
        subject: format!("You are invited to {workspace} in keyward"),
        greeting: hello(name),
        paragraphs: vec![
            format!(
                "{inviter} added you to the workspace {workspace} in keyward, where your team manages its API keys."
            ),
            format!(
                "Choose your password to sign in as {email}. The link works once, within 72 hours; after that, ask {inviter} for a new invitation."
            ),
        ],
        items: Vec::new(),
        action: Some(("Choose your password".to_owned(), post.url(&format!("/password?token={token}")))),
        footer: format!(
            "Sent by keyward at {}. If you did not expect this, ignore it: nothing happens until the link is used.",
            post.public_url
        ),
    };
    let to = Addressee { email, account_id: Some(account_id), workspace_id: Some(caller.workspace_id) };
    letter.queue(c, post, to, "invitation", now)
}

/// Someone with an account elsewhere was invited to, or added to, the caller's workspace.
pub(crate) fn joined(
    c: &mut DbConn,
    post: &Post<'_>,
    caller: &Caller,
    (account_id, email): (i64, &str),
    must_accept: bool,
    now: i64,
) -> Result<()> {
    if !post.is_on() {
        return Ok(());
    }
    let Some(person) = outbox::recipient(c, account_id)?.filter(|p| p.disabled_at.is_none()) else { return Ok(()) };
    let workspace = workspace_name(c, caller.workspace_id)?;
    let inviter = caller.origin.actor.label();
    let (subject, paragraph, action) = if must_accept {
        (
            format!("You are invited to {workspace} in keyward"),
            format!("{inviter} invited you to the workspace {workspace}. Sign in as {email} to accept or decline."),
            ("Answer the invitation", post.url("/notifications")),
        )
    } else {
        (
            format!("You were added to {workspace} in keyward"),
            format!(
                "{inviter} added you to the workspace {workspace}; it is on your workspace menu when you sign in as {email}."
            ),
            ("Sign in", post.url("/login")),
        )
    };
    let letter = Letter {
        subject,
        greeting: hello(&person.display_name),
        paragraphs: vec![paragraph],
        items: Vec::new(),
        action: Some((action.0.to_owned(), action.1)),
        footer: footer(post, Some(&workspace)),
    };
    let to = Addressee { email, account_id: Some(account_id), workspace_id: Some(caller.workspace_id) };
    letter.queue(c, post, to, if must_accept { "workspace_invitation" } else { "workspace_added" }, now)
}

/// What a one-time link's email says: its subject, two paragraphs, and the button to the link.
struct LinkLetter<'a> {
    kind: &'a str,
    subject: &'a str,
    paragraphs: [String; 2],
    button: &'a str,
    path: String,
}

/// Queues a one-time link's email to an account, with no workspace (super-administrators see it).
fn link_letter(
    c: &mut DbConn,
    post: &Post<'_>,
    (account_id, email, name): (i64, &str, &str),
    what: LinkLetter<'_>,
    now: i64,
) -> Result<()> {
    let letter = Letter {
        subject: what.subject.to_owned(),
        greeting: hello(name),
        paragraphs: what.paragraphs.to_vec(),
        items: Vec::new(),
        action: Some((what.button.to_owned(), post.url(&what.path))),
        footer: format!("Sent by keyward at {}.", post.public_url),
    };
    letter.queue(c, post, Addressee { email, account_id: Some(account_id), workspace_id: None }, what.kind, now)
}

/// The answer to "Forgot your password?": a link valid for an hour.
pub(crate) fn password_reset(
    c: &mut DbConn,
    post: &Post<'_>,
    account: (i64, &str, &str),
    token: &str,
    now: i64,
) -> Result<()> {
    let email = account.1;
    let what = LinkLetter {
        kind: "password_reset",
        subject: "Reset your keyward password",
        paragraphs: [
            format!(
                "Someone asked to reset the password of {email} in keyward. If it was you, choose a new password: the link works once, within an hour."
            ),
            "If it was not you, ignore this email: your password stays as it is.".to_owned(),
        ],
        button: "Choose a new password",
        path: format!("/password?token={token}"),
    };
    link_letter(c, post, account, what, now)
}

/// The link a signed-up account follows to prove its email before it can sign in.
pub(crate) fn verification(
    c: &mut DbConn,
    post: &Post<'_>,
    account: (i64, &str, &str),
    token: &str,
    now: i64,
) -> Result<()> {
    let email = account.1;
    let what = LinkLetter {
        kind: "verification",
        subject: "Confirm your email for keyward",
        paragraphs: [
            format!(
                "Confirm that {email} is yours to finish signing up to keyward. The link works once, within 72 hours."
            ),
            "If you did not sign up, ignore this email: the account stays unusable.".to_owned(),
        ],
        button: "Confirm my email",
        path: format!("/verify-email?token={token}"),
    };
    link_letter(c, post, account, what, now)
}

/// When the `attempts`-th failed attempt is retried, or `None` to give up.
pub fn retry_at(attempts: i64, now: i64) -> Option<i64> {
    (attempts < MAX_ATTEMPTS).then(|| now + FIRST_RETRY_SECS * (1_i64 << (attempts - 1).clamp(0, 20)))
}

/// Sends every queued email that is due; returns (sent, failed attempts). Nothing while email is off.
pub async fn deliver_due(state: &AppState) -> Result<(usize, usize)> {
    let Some(smtp) = state.smtp.clone() else { return Ok((0, 0)) };
    let now = state.now();
    let due = state.run(move |s| s.db.read(|c| outbox::due(c, now, 50).map_err(Error::from))).await?;
    if due.is_empty() {
        // An idle tick writes nothing (on SQLite every write takes the write gate).
        return Ok((0, 0));
    }
    let (mut sent, mut failed) = (0, 0);
    for email in due {
        let id = email.id;
        let claimed = state
            .run(move |s| s.db.write_counters(|c| outbox::claim(c, id, now, now + LEASE_SECS).map_err(Error::from)))
            .await?;
        if !claimed {
            continue;
        }
        let attempts = email.attempts + 1;
        let letter = crate::mail::Letter {
            to: &email.recipient,
            subject: &email.subject,
            text: &email.text_body,
            html: &email.html_body,
            message_id: &email.message_id,
        };
        let outcome = smtp.send(&letter).await;
        match &outcome {
            Ok(()) => sent += 1,
            Err(error) => {
                failed += 1;
                tracing::warn!(email = id, attempts, error = %error, "email not sent");
            }
        }
        let now = state.now();
        state
            .run(move |s| {
                s.db.write_counters(|c| {
                    match &outcome {
                        Ok(()) => outbox::sent(c, id, attempts, now),
                        Err(error) => outbox::attempt_failed(c, id, attempts, error, retry_at(attempts, now)),
                    }
                    .map_err(Error::from)
                })
            })
            .await?;
    }
    state.metrics.email_sent(sent, failed);
    // What was sent or given up on a while ago goes, once per busy tick.
    state.run(move |s| s.db.write_counters(|c| outbox::prune(c, now - KEEP_SECS).map_err(Error::from))).await?;
    Ok((sent, failed))
}

/// Sends the digests that are due: for each person who chose one, what waited since their last, in one
/// email. Returns how many went into the outbox.
pub fn send_digests(state: &AppState) -> Result<usize> {
    let post = Post::of(state);
    if !post.is_on() {
        return Ok(0);
    }
    let now = state.now();
    let due = state.db.read(|c| outbox::digests_due(c, now, DIGEST_EVERY))?;
    let mut queued = 0;
    for (account, last) in due {
        let done = state.db.write_counters(|c| {
            if !outbox::claim_digest(c, account, last, now)? {
                return Ok::<_, Error>(false);
            }
            let Some(person) = outbox::recipient(c, account)? else { return Ok(false) };
            let held = outbox::take_held(c, account)?;
            if held.is_empty() || person.disabled_at.is_some() {
                return Ok(false);
            }
            let items = held
                .iter()
                .map(|(_, _, _, title, body, link, _)| Item {
                    title: title.clone(),
                    body: body.clone(),
                    link: link.as_deref().map(|l| post.url(l)),
                })
                .collect::<Vec<_>>();
            let since = last.map_or_else(String::new, |t| format!(" since {}", crate::clock::format_time(t)));
            let letter = Letter {
                subject: match items.len() {
                    1 => "Your keyward digest: 1 notification".to_owned(),
                    n => format!("Your keyward digest: {n} notifications"),
                },
                greeting: hello(&person.display_name),
                paragraphs: vec![format!("Here is what happened to your keys{since}.")],
                items,
                action: Some(("Open your notifications".to_owned(), post.url("/notifications"))),
                footer: footer(&post, None),
            };
            let workspace = held.iter().find_map(|h| h.1);
            let to = Addressee { email: &person.email, account_id: Some(person.id), workspace_id: workspace };
            letter.queue(c, &post, to, "digest", now)?;
            Ok(true)
        })?;
        queued += usize::from(done);
    }
    Ok(queued)
}

/// The email state as Settings shows it.
#[derive(Debug)]
pub struct Overview {
    /// "smtp.example.com:587 (STARTTLS)"; `None` while email is off.
    pub server: Option<String>,
    pub from: Option<String>,
    pub pending: i64,
    /// Administrators only: the workspace's emails (every email for a super-administrator).
    pub recent: Vec<Sent>,
}

pub fn overview(state: &AppState, caller: &Caller, super_admin: bool) -> Result<Overview> {
    let scope = if super_admin { None } else { Some(caller.workspace_id) };
    let (pending, recent) = state.db.read(|c| {
        let recent =
            if caller.role.can_administer() || super_admin { outbox::recent(c, scope, 25)? } else { Vec::new() };
        Ok::<_, diesel::result::Error>((outbox::pending_count(c)?, recent))
    })?;
    Ok(Overview {
        server: state.smtp.as_ref().map(|s| s.server.describe()),
        from: state.smtp.as_ref().map(|s| s.from.to_string()),
        pending,
        recent,
    })
}

/// Sends a test email to the super-administrator at once (not through the outbox), so Settings can say
/// straight away whether the server takes it; audited either way.
pub async fn send_test(
    state: &AppState,
    caller: &Caller,
    email: &str,
    name: &str,
) -> Result<std::result::Result<(), String>> {
    let smtp = state
        .smtp
        .clone()
        .ok_or_else(|| Error::Conflict("Email is off: set KEYWARD_SMTP_URL and KEYWARD_SMTP_FROM.".into()))?;
    let post = Post::of(state);
    let letter = Letter {
        subject: "A test email from keyward".to_owned(),
        greeting: hello(name),
        paragraphs: vec![format!(
            "This is the test email you asked for. keyward sends its email through {} as {}.",
            smtp.server.describe(),
            smtp.from
        )],
        items: Vec::new(),
        action: Some(("Open keyward".to_owned(), post.url("/settings/email"))),
        footer: footer(&post, None),
    };
    let (text, html) = letter.render()?;
    let message_id = post.message_id("test");
    let outcome = smtp
        .send(&crate::mail::Letter {
            to: email,
            subject: &letter.subject,
            text: &text,
            html: &html,
            message_id: &message_id,
        })
        .await;
    let after = match &outcome {
        Ok(()) => serde_json::json!({ "to": email, "sent": true }),
        Err(e) => serde_json::json!({ "to": email, "sent": false, "error": e }),
    };
    let event = caller.event("settings.email_tested").change(None, Some(after));
    let now = state.now();
    state.run(move |s| s.db.write(|c| Ok::<_, Error>(audit::record(c, now, &event)?))).await?;
    Ok(outcome)
}

/// A person's email choices.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// The kinds emailed (the others are muted).
    pub emailed: Vec<&'static str>,
    pub digest: bool,
}

pub fn choices(state: &AppState, account_id: i64) -> Result<Choices> {
    let (muted, person) = state
        .db
        .read(|c| Ok::<_, diesel::result::Error>((outbox::muted(c, account_id)?, outbox::recipient(c, account_id)?)))?;
    Ok(Choices {
        emailed: KINDS.iter().map(|(k, _)| *k).filter(|k| !muted.iter().any(|m| m == k)).collect(),
        digest: person.is_some_and(|p| p.email_digest),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ChoicesForm {
    /// The kinds ticked.
    #[serde(default)]
    pub kind: Vec<String>,
    /// "digest" or "each".
    #[serde(default)]
    pub delivery: String,
}

/// Saves the person's choices: the kinds not ticked are muted.
pub fn set_choices(state: &AppState, caller: &Caller, form: &ChoicesForm) -> Result<()> {
    let me = caller.account_id.ok_or(Error::Forbidden)?;
    let muted: Vec<&str> = KINDS.iter().map(|(k, _)| *k).filter(|k| !form.kind.iter().any(|t| t == k)).collect();
    let digest = form.delivery == "digest";
    let now = state.now();
    let after = serde_json::json!({ "muted": muted, "digest": digest });
    let event = caller.event("account.email_choices_changed").change(None, Some(after));
    state.db.write_counters(|c| {
        outbox::set_choices(c, me, &muted, digest, now)?;
        audit::record(c, now, &event)?;
        Ok::<_, Error>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stop() {
        assert_eq!(retry_at(1, 0), Some(30));
        assert_eq!(retry_at(2, 0), Some(60));
        assert_eq!(retry_at(MAX_ATTEMPTS - 1, 0), Some(30 * 256));
        assert_eq!(retry_at(MAX_ATTEMPTS, 0), None);
    }

    #[test]
    fn both_parts_say_the_same_and_html_is_escaped() {
        let letter = Letter {
            subject: "Key “<b>” expires".into(),
            greeting: hello("Ann"),
            paragraphs: vec!["It stops <soon>.".into()],
            items: vec![Item {
                title: "One & two".into(),
                body: String::new(),
                link: Some("https://k.example/keys/1".into()),
            }],
            action: Some(("Open in keyward".into(), "https://k.example/keys/1/edit".into())),
            footer: "Sent by keyward".into(),
        };
        let (text, html) = letter.render().expect("renders");
        assert!(text.contains("Hello Ann,") && text.contains("It stops <soon>.") && text.contains("* One & two"));
        assert!(text.contains("Open in keyward: https://k.example/keys/1/edit"), "{text}");
        assert!(html.contains("It stops &#60;soon&#62;.") && html.contains("One &#38; two"), "{html}");
        assert!(html.contains("href=\"https://k.example/keys/1/edit\""), "{html}");
    }
}
