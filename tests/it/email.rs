//! Email against a real SMTP server (`mail::Mailbox`, aiosmtpd): every notification kind reaches its
//! recipient once, with a link that works and no secret; preferences and the daily digest; invitations,
//! "Forgot your password?" and sign-up confirmation; an SMTP server that is down; two instances sending
//! each email once; Settings' state and test email; chat-ready webhooks.

use reqwest::StatusCode;

use crate::helpers::{Backend, PASSWORD, TestApp};
use crate::keys::create_key;
use crate::mail::{Mailbox, deliver, sending_to};

const DAY: i64 = 86_400;

/// Runs `$name(backend)` on SQLite and on PostgreSQL (where available).
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(crate::helpers::Backend::Postgres).await;
            }
        }
    )*};
}

on_both!(
    every_kind_of_notification_is_emailed_once_with_a_working_link_and_no_secret,
    people_choose_which_notifications_they_get_and_a_daily_digest,
    an_invitation_link_works_once_and_can_be_sent_again,
    forgot_password_answers_alike_and_emails_only_a_real_account,
    sign_up_needs_the_emailed_link_and_is_closed_without_email,
    an_email_that_cannot_be_sent_is_retried_and_delivered_later,
);

/// A server sending to a fresh mailbox, or `None` where the test is skipped (reason printed).
async fn app_with_mail(backend: Backend) -> Option<(TestApp, Mailbox)> {
    let mailbox = Mailbox::start()?;
    let app = TestApp::spawn_with_if_available(backend, sending_to(&mailbox)).await?;
    Some((app, mailbox))
}

fn reminders(app: &TestApp) {
    keyward::services::reminders::run(&app.state).expect("reminders");
}

async fn every_kind_of_notification_is_emailed_once_with_a_working_link_and_no_secret(backend: Backend) {
    let Some((app, mailbox)) = app_with_mail(backend).await else { return };
    let admin = app.admin().await;
    app.user(&admin, "ann@example.com", "member").await;
    admin.get("/settings/policies").await;
    admin
        .post(
            "/settings/policies",
            &[("reminder_days", "7"), ("rotation_days", "40"), ("recent_use_days", "3"), ("stale_days", "30")],
        )
        .await;
    let mut secrets = Vec::new();

    // Expiring, expired, rotation due, overlap ended: the reminder job's four kinds.
    let (expiring, secret) = create_key(&admin, &[("name", "Nightly export"), ("expiry", "30")]).await;
    secrets.push(secret);
    let (rotating, secret) = create_key(&admin, &[("name", "Partner feed"), ("expiry", "never")]).await;
    secrets.push(secret);
    app.clock.advance(23 * DAY + DAY / 2);
    reminders(&app);
    app.clock.advance(7 * DAY);
    reminders(&app);
    app.clock.advance(11 * DAY);
    reminders(&app);
    admin.sign_in("admin@example.com", PASSWORD).await;
    admin.get(&format!("/keys/{rotating}/rotate")).await;
    let rotated = admin.post(&format!("/keys/{rotating}/rotate"), &[("overlap", "3600")]).await;
    assert!(rotated.status.is_success(), "{}", rotated.status);
    app.clock.advance(2 * 3600);
    reminders(&app);
    reminders(&app);

    // Reassigned to Ann; a custom role her key held deleted; a departing colleague's keys to the admin.
    let admin = app.browser();
    assert_eq!(admin.sign_in("admin@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let ann = app.browser();
    assert_eq!(ann.sign_in("ann@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER);
    admin.get("/roles").await;
    let made = admin.post("/roles", &[("name", "Temporary")]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (_, secret) =
        create_key(&ann, &[("name", "Ann's tool"), ("role_name", "READONLY"), ("role_name", "Temporary")]).await;
    secrets.push(secret);
    let (moved, secret) = create_key(&admin, &[("name", "Handed over")]).await;
    secrets.push(secret);
    let ann_id = app.account_id("ann@example.com").to_string();
    let reassigned =
        admin.post("/keys/reassign", &[("ids", &moved), ("owner", &ann_id), ("comment", "yours now")]).await;
    assert_eq!(reassigned.status, StatusCode::SEE_OTHER, "{}", reassigned.body);
    let roles = admin.get("/roles").await.body;
    let role = roles
        .split("href=\"/roles/")
        .filter_map(|s| s.split('"').next())
        .find(|id| roles.contains(&format!("href=\"/roles/{id}\" class=\"cell-main\">Temporary")))
        .expect("role")
        .to_owned();
    assert_eq!(admin.post(&format!("/roles/{role}/delete"), &[]).await.status, StatusCode::SEE_OTHER);
    let bob = app.user(&admin, "bob@example.com", "member").await;
    let (_, secret) = create_key(&bob, &[("name", "Bob's job")]).await;
    secrets.push(secret);
    let bob_id = app.account_id("bob@example.com");
    assert_eq!(admin.post(&format!("/users/{bob_id}/delete"), &[]).await.status, StatusCode::SEE_OTHER);

    let (sent, failed) = deliver(&app.state).await;
    assert_eq!(failed, 0);
    let to_admin: Vec<String> = mailbox.to("admin@example.com").iter().map(|m| m.subject.clone()).collect();
    let to_ann: Vec<String> = mailbox.to("ann@example.com").iter().map(|m| m.subject.clone()).collect();
    for subject in [
        "Key “Nightly export” expires in 7 days",
        "Key “Nightly export” has expired",
        "Key “Partner feed” is due for rotation",
        "The overlap of key “Partner feed” has ended",
        "1 key of bob@example.com is now yours",
    ] {
        assert_eq!(to_admin.iter().filter(|s| *s == subject).count(), 1, "{subject} once, in {to_admin:?}");
    }
    for subject in ["The key “Handed over” was reassigned to you", "The role “Temporary” was deleted"] {
        assert_eq!(to_ann.iter().filter(|s| *s == subject).count(), 1, "{subject} once, in {to_ann:?}");
    }
    assert_eq!(sent, mailbox.messages().len());
    assert_eq!(deliver(&app.state).await, (0, 0), "nothing is sent twice");
    reminders(&app);
    assert_eq!(deliver(&app.state).await, (0, 0), "a reminder already sent is not emailed again");

    let all = mailbox.messages();
    let mut ids: Vec<&str> = all.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "a Message-ID of its own for each email");
    for message in &all {
        assert!(message.message_id.ends_with("@example.com>"), "{}", message.message_id);
        assert!(!message.html.is_empty() && !message.text.is_empty(), "both parts: {}", message.subject);
        for secret in &secrets {
            assert!(!message.raw.contains(secret.as_str()), "no key in {}", message.subject);
        }
        assert!(!message.raw.contains(PASSWORD), "no password in {}", message.subject);
    }
    // The expiry reminder links to the key's edit form, which opens for its owner.
    let reminder = all.iter().find(|m| m.subject.contains("expires in 7 days")).expect("reminder");
    let link = reminder.link(&app.base);
    assert_eq!(link, format!("{}/keys/{expiring}/edit", app.base));
    assert_eq!(admin.get(&link[app.base.len()..]).await.status, StatusCode::OK);
    assert!(reminder.html.contains(&format!("href=\"{link}\"")), "{}", reminder.html);

    // Settings shows what went out, to Administrators.
    let settings = admin.get("/settings/email").await.body;
    assert!(settings.contains("127.0.0.1") && settings.contains("Keyward &#60;keyward@example.com&#62;"), "{settings}");
    assert!(
        settings.contains("data-status=\"sent\"") && settings.contains("The key “Handed over” was reassigned to you")
    );
}

async fn people_choose_which_notifications_they_get_and_a_daily_digest(backend: Backend) {
    let Some((app, mailbox)) = app_with_mail(backend).await else { return };
    let admin = app.admin().await;
    let ann = app.user(&admin, "ann@example.com", "member").await;
    let ann_id = app.account_id("ann@example.com").to_string();
    let give = |name: &'static str| {
        let admin = &admin;
        let ann_id = ann_id.clone();
        async move {
            let (id, _) = create_key(admin, &[("name", name)]).await;
            let moved = admin.post("/keys/reassign", &[("ids", &id), ("owner", &ann_id)]).await;
            assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
        }
    };

    // Reassignments muted: the bell still has it, no email.
    let profile = ann.get("/profile").await.body;
    assert!(profile.contains("id=\"email-key_reassigned\"") && profile.contains("checked"), "all kinds on by default");
    let kinds: Vec<(&str, &str)> = vec![("kind", "key_expiring"), ("kind", "key_expired"), ("delivery", "each")];
    assert_eq!(ann.post("/profile/email", &kinds).await.status, StatusCode::SEE_OTHER);
    give("Muted one").await;
    assert_eq!(deliver(&app.state).await, (0, 0));
    assert!(mailbox.to("ann@example.com").is_empty());
    assert_eq!(app.notices("ann@example.com"), vec!["The key “Muted one” was reassigned to you"]);
    let profile = ann.get("/profile").await.body;
    assert!(
        !profile.contains("id=\"email-key_reassigned\" name=\"kind\" value=\"key_reassigned\" checked"),
        "{profile}"
    );

    // A digest: nothing for a day, then one email with everything since.
    let digest: Vec<(&str, &str)> = vec![("kind", "key_reassigned"), ("delivery", "digest")];
    assert_eq!(ann.post("/profile/email", &digest).await.status, StatusCode::SEE_OTHER);
    give("First of the day").await;
    give("Second of the day").await;
    assert_eq!(deliver(&app.state).await, (0, 0), "held for the digest");
    app.clock.advance(DAY - 60);
    assert_eq!(deliver(&app.state).await, (0, 0), "not a day yet");
    app.clock.advance(60);
    assert_eq!(deliver(&app.state).await, (1, 0));
    let mail = mailbox.to("ann@example.com");
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].subject, "Your keyward digest: 2 notifications");
    assert!(mail[0].text.contains("The key “First of the day” was reassigned to you"), "{}", mail[0].text);
    assert!(mail[0].text.contains("The key “Second of the day” was reassigned to you"));
    assert!(!mail[0].text.contains("Muted one"), "a muted kind stays out of the digest too");
    assert_eq!(deliver(&app.state).await, (0, 0), "the digest went once");
    app.clock.advance(DAY);
    assert_eq!(deliver(&app.state).await, (0, 0), "no digest without news");
}

async fn an_invitation_link_works_once_and_can_be_sent_again(backend: Backend) {
    let Some((app, mailbox)) = app_with_mail(backend).await else { return };
    let admin = app.admin().await;
    assert!(admin.get("/users").await.body.contains("id=\"new-invite\""), "the add form offers an invitation");
    let added = admin
        .post("/users", &[("email", "cleo@example.com"), ("name", "Cleo Ng"), ("role", "member"), ("invite", "true")])
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert!(added.body.contains("emailed them an invitation"), "{}", added.body);
    deliver(&app.state).await;
    let invitation = mailbox.to("cleo@example.com").pop().expect("an invitation");
    assert_eq!(invitation.subject, "You are invited to Acme in keyward");
    assert!(invitation.text.contains("admin@example.com added you to the workspace Acme"), "{}", invitation.text);
    let link = invitation.link(&format!("{}/password?token=", app.base));
    let path = &link[app.base.len()..];

    // Sent again from the person's page: a new link; the first stops working.
    let cleo = app.account_id("cleo@example.com");
    let page = admin.get(&format!("/users/{cleo}")).await.body;
    assert!(page.contains("Email the invitation again"), "{page}");
    let again = admin.post(&format!("/users/{cleo}/invite"), &[]).await;
    assert_eq!(again.location(), format!("/users/{cleo}?emailed=1"));
    assert!(admin.get(again.location()).await.body.contains("id=\"invitation-emailed\""));
    deliver(&app.state).await;
    let second = mailbox.to("cleo@example.com").pop().expect("a second invitation");
    let fresh = second.link(&format!("{}/password?token=", app.base));
    assert_ne!(fresh, link);
    let person = app.browser();
    assert_eq!(person.get(path).await.status, StatusCode::GONE, "the first link was retired");
    let fresh_path = &fresh[app.base.len()..];
    assert!(person.get(fresh_path).await.body.contains("cleo@example.com"));
    let fresh_token = fresh_path.split("token=").nth(1).expect("token");
    let set = person.post("/password", &[("token", fresh_token), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
    assert_eq!(set.location(), "/login?password_set=1");
    assert_eq!(person.sign_in("cleo@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let reused = app.browser();
    reused.get("/login").await;
    let twice =
        reused.post("/password", &[("token", fresh_token), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
    assert_ne!(twice.status, StatusCode::SEE_OTHER, "the link works once");

    // Import: the preview says who is emailed; applying sends each one invitation.
    let csv = "email,name,role,permissions\ndan@example.com,Dan,member,\neve@example.com,Eve,member,\n";
    admin.get("/users/import").await;
    let preview = admin.upload("/users/import", "people.csv", csv.as_bytes().to_vec()).await.body;
    assert!(preview.contains("Send email: <span id=\"import-email-summary\">2 people to create get an invitation with a link to choose their password (valid 72 hours)</span>"), "{preview}");
    assert!(preview.contains("Apply: create 2</button>"), "only what applying does: {preview}");
    let held = preview.split("name=\"token\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("token");
    let applied = admin
        .post(
            "/users/import/apply",
            &[("token", held), ("creates", "2"), ("invites", "0"), ("updates", "0"), ("email", "true")],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    deliver(&app.state).await;
    for who in ["dan@example.com", "eve@example.com"] {
        let mail = mailbox.to(who);
        assert_eq!(mail.len(), 1, "{who}");
        assert!(mail[0].text.contains("/password?token="));
    }

    // The management API invites too.
    let (_, key) = create_key(&admin, &[("name", "Automation"), ("role_name", "ADMIN")]).await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/api/v1/accounts", app.base))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "email": "fay@example.com", "name": "Fay", "role": "member", "invite": true }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    deliver(&app.state).await;
    assert_eq!(mailbox.to("fay@example.com").len(), 1);
}

async fn forgot_password_answers_alike_and_emails_only_a_real_account(backend: Backend) {
    let Some((app, mailbox)) = app_with_mail(backend).await else { return };
    let admin = app.admin().await;
    app.user(&admin, "ann@example.com", "member").await;
    let visitor = app.browser();
    assert!(visitor.get("/login").await.body.contains("href=\"/login/forgot\""));
    visitor.get("/login/forgot").await;
    let known = visitor.post("/login/forgot", &[("email", "Ann@Example.com")]).await;
    let unknown = visitor.post("/login/forgot", &[("email", "nobody@example.com")]).await;
    assert_eq!((known.status, unknown.status), (StatusCode::OK, StatusCode::OK));
    let words =
        |body: &str| body.split("id=\"reset-sent\"").nth(1).map(|s| s.split("</p>").next().unwrap_or("").to_owned());
    assert_eq!(
        words(&known.body).map(|w| w.replace("ann@example.com", "X")),
        words(&unknown.body).map(|w| w.replace("nobody@example.com", "X")),
        "the same answer"
    );
    deliver(&app.state).await;
    assert!(mailbox.to("nobody@example.com").is_empty());
    let mail = mailbox.to("ann@example.com");
    let reset = mail.iter().find(|m| m.subject == "Reset your keyward password").expect("a reset email");
    let link = reset.link(&format!("{}/password?token=", app.base));
    let token = link.split("token=").nth(1).expect("token");
    let page = visitor.get(&link[app.base.len()..]).await;
    assert!(page.body.contains("ann@example.com"), "{}", page.body);
    let new_password = "another long passphrase";
    let set =
        visitor.post("/password", &[("token", token), ("password", new_password), ("confirm", new_password)]).await;
    assert_eq!(set.location(), "/login?password_set=1");
    assert_eq!(app.browser().sign_in("ann@example.com", new_password).await.status, StatusCode::SEE_OTHER);
    let audit = admin.get("/audit?action=account.password_reset_requested").await.body;
    assert!(audit.contains("ann@example.com"), "audited");

    // An address asked for too often gets the same answer and nothing more; a client, a wait.
    let before = mailbox.to("ann@example.com").len();
    for _ in 0..4 {
        let again = visitor.post("/login/forgot", &[("email", "ann@example.com")]).await;
        assert_eq!(again.status, StatusCode::OK);
    }
    deliver(&app.state).await;
    assert_eq!(mailbox.to("ann@example.com").len(), before + 2, "three per address and hour");
    let mut last = StatusCode::OK;
    for i in 0..6 {
        last = visitor.post("/login/forgot", &[("email", &format!("someone{i}@example.com"))]).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "ten per client and hour");
}

async fn sign_up_needs_the_emailed_link_and_is_closed_without_email(backend: Backend) {
    // Without email, sign-up stays closed even where a workspace allows it.
    let Some(quiet) = TestApp::spawn_if_available(backend).await else { return };
    let admin = quiet.admin().await;
    admin.get("/settings/domains").await;
    admin.post("/settings/domains", &[("domains", "example.org"), ("self_signup", "1")]).await;
    assert_eq!(quiet.browser().get("/signup").await.status, StatusCode::NOT_FOUND);
    assert!(admin.get("/settings/email").await.body.contains("keyward sends no email"));

    let Some((app, mailbox)) = app_with_mail(backend).await else { return };
    let admin = app.admin().await;
    admin.get("/settings/domains").await;
    admin.post("/settings/domains", &[("domains", "example.org"), ("self_signup", "1")]).await;
    let visitor = app.browser();
    assert!(visitor.get("/login").await.body.contains("Create an account"));
    assert_eq!(visitor.get("/signup").await.status, StatusCode::OK);
    let fields = |email: &'static str, password: &'static str| {
        [("email", email), ("name", "Someone"), ("password", password), ("confirm", password)]
    };
    let wrong = visitor.post("/signup", &fields("mallory@evil.example", PASSWORD)).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("Sign-up is not open for this email"));
    let taken = visitor.post("/signup", &fields("admin@example.com", PASSWORD)).await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY, "not this domain, and never saying the account exists");
    let short = visitor.post("/signup", &fields("bo@example.org", "short")).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let signed_up = visitor
        .post(
            "/signup",
            &[("email", "gil@example.org"), ("name", "Gil"), ("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(signed_up.location(), "/login?signed_up=1");
    assert!(visitor.get("/login?signed_up=1").await.body.contains("we emailed you a link"));
    let refused = visitor.sign_in("gil@example.org", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("Confirm your email first"), "{}", refused.body);
    deliver(&app.state).await;
    let mail = mailbox.to("gil@example.org");
    assert_eq!(mail.len(), 1, "the sign-up's email; the refused sign-in within minutes sends no second one");
    let link = mail[0].link(&format!("{}/verify-email?token=", app.base));
    let token = link.split("token=").nth(1).expect("token");
    let page = visitor.get(&link[app.base.len()..]).await;
    assert!(page.body.contains("gil@example.org") && page.body.contains("Confirm my email"), "{}", page.body);
    let confirmed = visitor.post("/verify-email", &[("token", token)]).await;
    assert_eq!(confirmed.location(), "/login?verified=1");
    assert_eq!(visitor.sign_in("gil@example.org", PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(visitor.get("/users").await.status, StatusCode::FORBIDDEN, "a Member");
    let activity = admin.get("/audit").await.body;
    assert!(activity.contains("account.signed_up") && activity.contains("account.email_verified"), "{activity}");
    let other = app.browser();
    other.get("/login").await;
    assert_eq!(other.post("/verify-email", &[("token", token)]).await.status, StatusCode::GONE, "once");
}

async fn an_email_that_cannot_be_sent_is_retried_and_delivered_later(backend: Backend) {
    let Some(mut mailbox) = Mailbox::stopped() else { return };
    let Some(app) = TestApp::spawn_with_if_available(backend, sending_to(&mailbox)).await else { return };
    let admin = app.admin().await;
    app.user(&admin, "ann@example.com", "member").await;
    let ann = app.account_id("ann@example.com");
    admin.post(&format!("/users/{ann}/invite"), &[]).await;
    assert_eq!(deliver(&app.state).await, (0, 1), "the server is down");
    let settings = admin.get("/settings/email").await.body;
    assert!(
        settings.contains("data-status=\"pending\"") && settings.contains("could not talk to 127.0.0.1"),
        "{settings}"
    );
    assert!(settings.contains("<dd data-pending>1</dd>"), "{settings}");
    assert_eq!(deliver(&app.state).await, (0, 0), "not before its retry time");

    mailbox.resume();
    app.clock.advance(31);
    assert_eq!(deliver(&app.state).await, (1, 0));
    let mail = mailbox.to("ann@example.com");
    assert_eq!(mail.len(), 1);
    let (stored, body): (String, String) = app
        .state
        .db
        .read(|c| {
            use diesel::prelude::*;
            use keyward::db::schema::email_outbox as outbox;
            outbox::table.select((outbox::message_id, outbox::text_body)).first(c)
        })
        .expect("stored Message-ID");
    assert_eq!(mail[0].message_id, stored, "the Message-ID it was queued with");
    assert!(mail[0].text.contains("/password?token="));
    assert_eq!(body, "", "once sent, the one-time link is no longer kept in the outbox");
    let settings = admin.get("/settings/email").await.body;
    assert!(settings.contains("data-status=\"sent\"") && settings.contains("<dd data-pending>0</dd>"), "{settings}");
    // A month on, the next email sent takes the old one away with it.
    app.clock.advance(31 * DAY);
    let admin = app.browser();
    admin.sign_in("admin@example.com", PASSWORD).await;
    admin.get(&format!("/users/{ann}")).await;
    admin.post(&format!("/users/{ann}/invite"), &[]).await;
    assert_eq!(deliver(&app.state).await, (1, 0));
    let left: Vec<String> = app
        .state
        .db
        .read(|c| {
            use diesel::prelude::*;
            use keyward::db::schema::email_outbox as outbox;
            outbox::table.select(outbox::message_id).load(c)
        })
        .expect("rows");
    assert_eq!(left.len(), 1, "sent emails are forgotten after 30 days");
    assert_ne!(left[0], stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_send_each_email_once() {
    let Some(mailbox) = Mailbox::start() else { return };
    let Some(app) = TestApp::spawn_with_if_available(Backend::Postgres, sending_to(&mailbox)).await else { return };
    let peer = app.beside_with(sending_to(&mailbox)).await;
    let admin = app.admin().await;
    app.user(&admin, "ann@example.com", "member").await;
    let ann = app.account_id("ann@example.com").to_string();
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(create_key(&admin, &[("name", &format!("Key {i}"))]).await.0);
    }
    let fields: Vec<(&str, &str)> =
        ids.iter().map(|id| ("ids", id.as_str())).chain([("owner", ann.as_str())]).collect();
    assert_eq!(admin.post("/keys/reassign", &fields).await.status, StatusCode::SEE_OTHER);
    let (a, b) = tokio::join!(deliver(&app.state), deliver(&peer.state));
    assert_eq!(a.0 + b.0, 12, "every email sent, by one instance or the other: {a:?} {b:?}");
    let mail = mailbox.to("ann@example.com");
    let mut message_ids: Vec<&str> = mail.iter().map(|m| m.message_id.as_str()).collect();
    message_ids.sort_unstable();
    message_ids.dedup();
    assert_eq!((mail.len(), message_ids.len()), (12, 12), "each once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_say_whether_email_is_on_and_send_a_test_email() {
    let Some((app, mailbox)) = app_with_mail(Backend::Sqlite).await else { return };
    let admin = app.admin().await;
    let page = admin.get("/settings/email").await.body;
    assert!(page.contains("state-on") && page.contains("127.0.0.1:") && page.contains("no encryption"), "{page}");
    let tested = admin.post("/settings/email/test", &[]).await;
    assert_eq!(tested.status, StatusCode::OK);
    assert!(tested.body.contains("The server accepted the test email to admin@example.com"), "{}", tested.body);
    let mail = mailbox.to("admin@example.com");
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].subject, "A test email from keyward");
    let auditor = app.user(&admin, "aud@example.com", "auditor").await;
    assert_eq!(auditor.post("/settings/email/test", &[]).await.status, StatusCode::FORBIDDEN);
    assert!(!auditor.get("/settings/email").await.body.contains("Send a test email"));
}

/// In Chromium: an Administrator invites Cleo from Add user; Cleo chooses her password from the emailed
/// link, forgets it, asks "Forgot your password?" on the sign-in page, and signs in with the new one.
#[tokio::test]
async fn an_invitation_and_a_forgotten_password_in_chromium() {
    let Some(chrome) = crate::browser::Chrome::start().await else { return };
    let Some((app, mailbox)) = app_with_mail(Backend::Sqlite).await else { return };
    app.admin().await;
    chrome.sign_in(&app.base, "admin@example.com").await;
    chrome.goto(&format!("{}/users", app.base)).await;
    chrome.click("#users-section details > summary").await;
    chrome.fill("#new-email", "cleo@example.com").await;
    chrome.fill("#new-name", "Cleo Ng").await;
    let ticked = chrome.eval("document.getElementById('new-invite').checked").await;
    assert_eq!(ticked, serde_json::json!(true), "inviting is the default while email is on");
    let password_shown = "document.getElementById('new-password').offsetParent !== null";
    assert_eq!(chrome.eval(password_shown).await, serde_json::json!(false), "no password to type for an invitee");
    chrome.click("#new-invite ~ label").await;
    assert_eq!(chrome.eval(password_shown).await, serde_json::json!(true), "unticked: an initial password");
    chrome.click("#new-invite ~ label").await;
    assert_eq!(chrome.eval(password_shown).await, serde_json::json!(false), "ticked again: none");
    chrome.click("form[action='/users'] button.btn-primary").await;
    chrome.wait_for_text("emailed them an invitation").await;
    chrome.screenshot("email-invited").await;
    deliver(&app.state).await;
    let invitation = mailbox.to("cleo@example.com").pop().expect("an invitation");

    let cleo = crate::browser::Chrome::start().await.expect("a second browser");
    cleo.goto(&invitation.link(&format!("{}/password?token=", app.base))).await;
    cleo.wait_for_text("cleo@example.com").await;
    cleo.fill("#password", PASSWORD).await;
    cleo.fill("#confirm", PASSWORD).await;
    cleo.click("main button[type=submit]").await;
    cleo.wait_for_text("Your password is set").await;

    cleo.click("a[href='/login/forgot']").await;
    cleo.wait_for_text("Email me a link").await;
    cleo.fill("#email", "cleo@example.com").await;
    cleo.click("main button[type=submit]").await;
    cleo.wait_for_text("id=\"reset-sent\"").await;
    cleo.screenshot("email-forgot-sent").await;
    deliver(&app.state).await;
    let reset = mailbox.to("cleo@example.com").into_iter().find(|m| m.subject == "Reset your keyward password");
    let reset = reset.expect("a reset email");
    let fresh = "a brand new passphrase";
    cleo.goto(&reset.link(&format!("{}/password?token=", app.base))).await;
    cleo.fill("#password", fresh).await;
    cleo.fill("#confirm", fresh).await;
    cleo.click("main button[type=submit]").await;
    cleo.wait_for_text("Your password is set").await;
    cleo.fill("#email", "cleo@example.com").await;
    cleo.fill("#password", fresh).await;
    cleo.click("main button[type=submit]").await;
    cleo.wait_for_text("<h1>Dashboard</h1>").await;
}
