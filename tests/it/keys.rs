//! API keys in the console: creation shown once, validation, reveal, visibility, the table.

use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp};
use crate::on_both_backends;

/// Ids of the key types and roles offered by the Add API key form, by their visible names.
pub async fn form_ids(b: &Browser) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let page = b.get("/keys/new").await;
    assert_eq!(page.status, StatusCode::OK);
    let options = |select: &str| -> Vec<(String, String)> {
        let start = page.body.find(&format!("name=\"{select}\"")).expect("select");
        let end = start + page.body[start..].find("</select>").expect("end of select");
        page.body[start..end]
            .split("<option value=\"")
            .skip(1)
            .map(|o| {
                let (id, rest) = o.split_once('"').expect("value");
                let label = rest.split_once('>').map_or("", |(_, l)| l).split('<').next().unwrap_or("");
                (label.trim().to_owned(), id.to_owned())
            })
            .collect()
    };
    let roles = page
        .body
        .split("name=\"roles\" value=\"")
        .skip(1)
        .map(|r| {
            let (id, rest) = r.split_once('"').expect("value");
            let name = rest.split_once('>').map_or("", |(_, n)| n).split('<').next().unwrap_or("").trim().to_owned();
            (name, id.to_owned())
        })
        .collect();
    (options("key_type"), roles)
}

fn id_of<'a>(list: &'a [(String, String)], name: &str) -> &'a str {
    list.iter()
        .find(|(n, _)| n.starts_with(name))
        .map(|(_, id)| id.as_str())
        .unwrap_or_else(|| panic!("{name} in {list:?}"))
}

/// Creates a key through the form and returns (key id, secret).
pub async fn create_key(b: &Browser, fields: &[(&str, &str)]) -> (String, String) {
    let (types, roles) = form_ids(b).await;
    let mut all: Vec<(&str, &str)> = vec![("key_type", id_of(&types, "Integration")), ("expiry", "90")];
    all.extend_from_slice(fields);
    let resolved: Vec<(String, String)> = all
        .iter()
        .map(|(k, v)| match *k {
            "type_name" => ("key_type".to_owned(), id_of(&types, v).to_owned()),
            "role_name" => ("roles".to_owned(), id_of(&roles, v).to_owned()),
            _ => ((*k).to_owned(), (*v).to_owned()),
        })
        .collect();
    let mut deduped: Vec<(&str, &str)> = Vec::new();
    for (k, v) in &resolved {
        if k != "roles" {
            deduped.retain(|(dk, _)| dk != k);
        }
        deduped.push((k.as_str(), v.as_str()));
    }
    let page = b.post("/keys", &deduped).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    let secret = page.body.split("data-secret").next().and_then(|s| s.rsplit("value=\"").next()).expect("secret");
    let secret = secret.split('"').next().expect("secret").to_owned();
    let id = page.body.split("href=\"/keys/").nth(1).and_then(|s| s.split('"').next()).expect("key link").to_owned();
    (id, secret)
}

on_both_backends! {
    async fn a_new_key_is_shown_once_and_never_again_in_lists(app) {
        let admin = app.admin().await;
        let empty = admin.get("/keys").await;
        assert!(empty.body.contains("No API keys yet"));
        let (id, secret) = create_key(&admin, &[("name", "Billing sync"), ("description", "nightly export"), ("role_name", "READONLY")]).await;
        assert!(secret.starts_with("kwi_") && secret.len() == 53, "{secret}");

        let list = admin.get("/keys").await;
        assert!(list.body.contains("Billing sync") && list.body.contains("nightly export"));
        assert!(list.body.contains("READONLY"));
        assert!(list.body.contains(&format!("kwi_…{}", &secret[secret.len() - 4..])), "masked hint");
        assert!(list.body.contains("Never"), "unused keys say Never");
        assert!(!list.body.contains(&secret), "the list never shows a key");
        let page = admin.get(&format!("/keys/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Billing sync") && !page.body.contains(&secret));
        assert_eq!(page.header("cache-control"), "no-store");
        assert!(admin.get("/").await.body.contains("key.created"));
        assert_eq!(admin.get("/").await.count("keys-active"), Some(1));
    }
}

on_both_backends! {
    async fn bad_key_input_is_explained_and_creates_nothing(app) {
        let admin = app.admin().await;
        create_key(&admin, &[("name", "Payments")]).await;
        let (types, _) = form_ids(&admin).await;
        let integration = id_of(&types, "Integration").to_owned();
        let application = id_of(&types, "Application").to_owned();
        let cases: [(&str, &str, &str, &str, &str, &str); 5] = [
            ("PAYMENTS", &integration, "", "90", "", "already exists"),
            ("  ", &integration, "", "90", "", "Enter a name for the key."),
            ("Gateway", &application, "", "90", "", "Enter the Application EUI."),
            ("Gateway", &integration, "", "date", "2020-01-01", "The expiry date is in the past"),
            ("Gateway", "999999", "", "90", "", "Choose a key type."),
        ];
        for (name, key_type, identifier, expiry, on, message) in cases {
            let page = admin.post("/keys", &[("name", name), ("key_type", key_type), ("identifier", identifier),
                                             ("expiry", expiry), ("expires_on", on)]).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
            assert!(page.body.contains(message), "expected {message:?}");
            assert!(page.body.contains(&format!("value=\"{}\"", name.trim())) || name.trim().is_empty(), "the form keeps what was typed");
        }
        let list = admin.get("/keys").await;
        assert!(!list.body.contains("Gateway"));
        assert_eq!(admin.get("/").await.count("keys-active"), Some(1));
        let (_, secret) = create_key(&admin, &[("name", "Gateway"), ("type_name", "Application"), ("identifier", "70B3D57ED0001")]).await;
        assert!(secret.starts_with("kwa_"));
        assert!(admin.get("/keys").await.body.contains("title=\"Application EUI\">70B3D57ED0001<"));
    }
}

on_both_backends! {
    async fn revealing_a_key_needs_the_password_and_is_audited(app) {
        let admin = app.admin().await;
        let (id, secret) = create_key(&admin, &[("name", "Reveal me")]).await;
        admin.get(&format!("/keys/{id}")).await;
        let wrong = admin.htmx_post(&format!("/keys/{id}/reveal"), &[("password", "not my password")]).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains("not your current password") && !wrong.body.contains(&secret));
        let generation = app.state.db.generation();
        let right = admin.htmx_post(&format!("/keys/{id}/reveal"), &[("password", PASSWORD)]).await;
        assert_eq!(right.status, StatusCode::OK);
        assert_eq!(app.state.db.generation(), generation, "a reveal leaves every cached verification valid");
        assert!(right.body.contains(&secret), "the revealed key is the created one");
        assert_eq!(right.header("cache-control"), "no-store");
        let activity = admin.get("/").await.body;
        assert!(activity.contains("key.revealed") && activity.contains("key.reveal_refused"));
        assert!(!activity.contains(&secret), "the audit trail never holds a secret");
    }
}

on_both_backends! {
    async fn members_see_only_their_own_keys_and_auditors_cannot_reveal(app) {
        let admin = app.admin().await;
        let (admins_key, _) = create_key(&admin, &[("name", "Admin key")]).await;
        let member = app.user(&admin, "mia@example.com", "member").await;
        let auditor = app.user(&admin, "audrey@example.com", "auditor").await;

        let (own, own_secret) = create_key(&member, &[("name", "Mia key")]).await;
        let list = member.get("/keys").await;
        assert!(list.body.contains("Mia key") && !list.body.contains("Admin key"));
        assert_eq!(member.get(&format!("/keys/{admins_key}")).await.status, StatusCode::FORBIDDEN, "another's key is off limits");
        assert_eq!(member.post(&format!("/keys/{admins_key}/reveal"), &[("password", PASSWORD)]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(member.get("/keys/999999").await.status, StatusCode::NOT_FOUND, "an id that does not exist is not found");
        member.get(&format!("/keys/{own}")).await;
        let mine = member.htmx_post(&format!("/keys/{own}/reveal"), &[("password", PASSWORD)]).await;
        assert!(mine.body.contains(&own_secret));

        // A member cannot make a key for someone else.
        let (types, _) = form_ids(&member).await;
        let admin_id = app.state.db.read(|c| keyward::db::accounts::find_by_email(c, &keyward::domain::email::Email::parse("admin@example.com").expect("email")))
            .expect("query").expect("admin").id.to_string();
        let forged = member.post("/keys", &[("name", "Sneaky"), ("key_type", id_of(&types, "Integration")), ("expiry", "30"), ("owner", &admin_id)]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);

        let seen = auditor.get("/keys").await;
        assert!(seen.body.contains("Mia key") && seen.body.contains("Admin"));
        let page = auditor.get(&format!("/keys/{own}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("Show key"), "no reveal form for auditors");
        assert_eq!(auditor.post(&format!("/keys/{own}/reveal"), &[("password", PASSWORD)]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(auditor.get("/keys/new").await.status, StatusCode::FORBIDDEN);
        assert!(!seen.body.contains("Add API key"));
    }
}

/// Creates `n` keys directly through the service layer (setup for table tests).
pub async fn seed_keys(app: &TestApp, n: usize) {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let email = keyward::domain::email::Email::parse("admin@example.com").expect("email");
        let admin = state.db.read(|c| keyward::db::accounts::find_by_email(c, &email)).expect("query").expect("admin");
        let ws = state.db.read(|c| keyward::db::workspaces::home_of(c, admin.id)).expect("query").expect("workspace");
        let types = state.db.read(|c| keyward::db::key_types::list(c, ws.id)).expect("types");
        let caller = keyward::services::Caller {
            workspace_id: ws.id,
            account_id: Some(admin.id),
            role: keyward::domain::role::ConsoleRole::Administrator,
            origin: keyward::services::accounts::Origin {
                actor: keyward::domain::audit::Actor::System("test"),
                ip: None,
            },
        };
        for i in 0..n {
            let form = keyward::services::keys::KeyForm {
                name: format!("key {i:04}"),
                description: if i % 10 == 0 { format!("needle {i}") } else { String::new() },
                key_type: types[2].id.to_string(),
                expiry: if i % 2 == 0 { "30".into() } else { "365".into() },
                ..Default::default()
            };
            keyward::services::keys::create(&state, &caller, &form).expect("seed key");
        }
    })
    .await
    .expect("join");
}

fn names(body: &str) -> Vec<String> {
    body.split("<td class=\"nowrap\"><a href=\"/keys/")
        .skip(1)
        .filter_map(|s| s.split_once('>'))
        .map(|(_, rest)| rest.split('<').next().unwrap_or("").to_owned())
        .collect()
}

fn next_link(body: &str) -> Option<String> {
    let start = body.find("rel=\"next\"")?;
    let before = &body[..start];
    let href = before.rfind("href=\"")?;
    Some(before[href + 6..].split('"').next()?.replace("&amp;", "&").replace("&#38;", "&"))
}

on_both_backends! {
    async fn the_key_table_filters_searches_sorts_and_pages_through_500_keys(app) {
        let admin = app.admin().await;
        seed_keys(&app, 500).await;

        // Newest first, 50 a page; walking every page visits each key exactly once.
        let mut seen = Vec::new();
        let mut url = Some("/keys".to_owned());
        let mut pages = 0;
        while let Some(u) = url {
            let page = admin.get(&u).await;
            assert_eq!(page.status, StatusCode::OK, "{u}");
            let batch = names(&page.body);
            assert!(batch.len() <= 50);
            // Every page says where it is: "1–50 of 500", "51–100 of 500", …
            let range = format!("{}–{} of 500", pages * 50 + 1, pages * 50 + batch.len());
            assert!(page.body.contains(&range), "{range}");
            seen.extend(batch);
            url = next_link(&page.body);
            pages += 1;
        }
        assert_eq!(pages, 10);
        assert_eq!(seen.len(), 500);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 500, "no key twice, none skipped");

        let by_name = admin.get("/keys?sort=name&dir=asc").await;
        assert_eq!(names(&by_name.body).first().map(String::as_str), Some("key 0000"));
        let desc = admin.get("/keys?sort=name&dir=desc").await;
        assert_eq!(names(&desc.body).first().map(String::as_str), Some("key 0499"));
        let second_url = next_link(&by_name.body).expect("next");
        let second = admin.get(&second_url).await;
        assert_eq!(names(&second.body).first().map(String::as_str), Some("key 0050"));

        let search = admin.get("/keys?q=NEEDLE").await;
        assert_eq!(names(&search.body).len(), 50, "description search is case-insensitive");
        let one = admin.get("/keys?q=key%200123").await;
        assert_eq!(names(&one.body), vec!["key 0123".to_owned()]);
        let nothing = admin.get("/keys?q=%25").await;
        assert!(nothing.body.contains("No keys match"), "LIKE wildcards are literal");

        let expiring = admin.get("/keys?filter=expiring&days=31&sort=name&dir=asc").await;
        assert_eq!(names(&expiring.body).first().map(String::as_str), Some("key 0000"));
        assert!(names(&expiring.body).iter().all(|n| n[4..].parse::<u32>().is_ok_and(|i| i % 2 == 0)));
        app.clock.advance(31 * 86_400);
        admin.sign_in("admin@example.com", PASSWORD).await;
        let expired = admin.get("/keys?filter=expired&sort=expires").await;
        assert_eq!(names(&expired.body).len(), 50);
        assert!(names(&expired.body).iter().all(|n| n[4..].parse::<u32>().is_ok_and(|i| i % 2 == 0)));
        assert_eq!(admin.get("/").await.count("keys-expired"), Some(250));
        let fragment = admin.get_htmx("/keys?filter=active").await;
        assert!(fragment.body.starts_with("<section id=\"keys-table\""), "htmx gets the table alone");
        assert!(fragment.body.contains("aria-current=\"true\">Active"));
    }
}

on_both_backends! {
    async fn the_command_line_creates_a_key_and_prints_only_the_key(app) {
        app.admin().await;
        let (ok, stdout, stderr) = app.command(&["key", "create", "--owner", "admin@example.com", "--name", "ci-bootstrap", "--role", "ADMIN"], &[]);
        assert!(ok, "{stderr}");
        let key = stdout.trim();
        assert!(key.starts_with("kwi_") && key.len() == 53 && stdout.lines().count() == 1, "{stdout}");
        let admin = app.browser();
        admin.sign_in("admin@example.com", PASSWORD).await;
        let list = admin.get("/keys").await;
        assert!(list.body.contains("ci-bootstrap") && list.body.contains("ADMIN"));
        let (ok, stdout, stderr) = app.command(&["key", "create", "--owner", "admin@example.com", "--name", "x", "--role", "NOPE"], &[]);
        assert!(!ok && stdout.is_empty());
        assert!(stderr.contains("no role"), "{stderr}");
        let (ok, _, stderr) = app.command(&["key", "create", "--owner", "admin@example.com", "--name", "CI-BOOTSTRAP", "--role", "ADMIN"], &[]);
        assert!(!ok && stderr.contains("already exists"), "{stderr}");
    }
}

on_both_backends! {
    async fn rotating_the_master_key_reseals_every_secret(app) {
        let admin = app.admin().await;
        let (id, secret) = create_key(&admin, &[("name", "Sealed")]).await;
        let opened = |text: &str, key_id: i64| -> (i64, String) {
            let ring = keyward::crypto::Keyring::parse(text).expect("keyring");
            let (_, sealed, version) = app.state.db.read(|c| keyward::db::keys::current_sealed(c, key_id)).expect("q").expect("secret");
            let plain = ring.open(&sealed, version, format!("api_key:{key_id}").as_bytes()).expect("opens");
            (version, String::from_utf8(plain).expect("utf-8"))
        };
        let key_id: i64 = id.parse().expect("id");
        let file = app.data_dir.join("master.key");
        assert_eq!(opened(&std::fs::read_to_string(&file).expect("file"), key_id), (1, secret.clone()));

        let (ok, stdout, stderr) = app.command(&["master-key", "rotate"], &[]);
        assert!(ok && stdout.is_empty(), "{stderr}");
        assert!(stderr.contains("version 2 added; re-sealed 1 key secrets"), "{stderr}");
        let text = std::fs::read_to_string(&file).expect("file");
        assert_eq!(keyward::crypto::Keyring::parse(&text).expect("ring").versions(), vec![1, 2]);
        assert_eq!(opened(&text, key_id), (2, secret.clone()), "the same secret, sealed under version 2");

        let (ok, _, stderr) = app.command(&["master-key", "rotate", "--retire-old"], &[]);
        assert!(ok, "{stderr}");
        let text = std::fs::read_to_string(&file).expect("file");
        assert_eq!(keyward::crypto::Keyring::parse(&text).expect("ring").versions(), vec![2]);
        assert_eq!(opened(&text, key_id), (2, secret));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777, 0o600);
        }
    }
}

on_both_backends! {
    async fn bulk_actions_say_what_is_missing_and_when_nothing_changed(app) {
        let admin = app.admin().await;
        let (id, _) = create_key(&admin, &[("name", "Bulk one")]).await;
        admin.get("/keys").await;
        let none = admin.post("/keys/bulk", &[("action", "deactivate")]).await;
        assert_eq!((none.status, none.location()), (StatusCode::SEE_OTHER, "/keys?missing=keys"));
        assert!(admin.get("/keys?missing=keys").await.body.contains("Choose at least one key with its checkbox"));
        let no_action = admin.post("/keys/bulk", &[("ids", &id), ("action", "")]).await;
        assert_eq!(no_action.location(), "/keys?missing=action");
        assert!(admin.get("/keys?missing=action").await.body.contains("Choose what to do with the chosen keys"));
        let same = admin.post("/keys/bulk", &[("ids", &id), ("action", "activate")]).await;
        assert_eq!(same.location(), "/keys?activated=0", "the key was active already");
        let page = admin.get(same.location()).await.body;
        assert!(page.contains("Nothing changed: the chosen keys were already active."), "{page}");
        assert!(!page.contains("Activated 0 keys"));

        // "All matching" is the keys the search matches now, and for a Member only their own.
        let alice = app.user(&admin, "alice@example.com", "member").await;
        create_key(&alice, &[("name", "Bulk alice")]).await;
        create_key(&admin, &[("name", "Other")]).await;
        alice.get("/keys").await;
        let theirs = alice.post("/keys/bulk", &[("matching", "?q=bulk"), ("action", "deactivate")]).await;
        assert_eq!(theirs.location(), "/keys?deactivated=1", "Alice's one key, not the administrator's Bulk one");
        let all = admin.post("/keys/bulk", &[("matching", "?q=bulk"), ("action", "deactivate")]).await;
        assert_eq!(all.location(), "/keys?deactivated=1", "Bulk one; Bulk alice was already inactive; Other does not match");
    }
}
