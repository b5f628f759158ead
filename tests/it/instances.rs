//! Two instances on one PostgreSQL database, as behind a load balancer: every change of access made on
//! one reaches the other's verification cache within a second; a notice that is lost (the watcher's
//! connection killed, or a change that sent none) within the documented hard bound; a console session
//! works on either.

use std::time::{Duration, Instant};

use diesel::{Connection as _, RunQueryDsl as _};
use keyward::db::changes::HARD_BOUND;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, Peer, TestApp};
use crate::key_lifecycle::secret_in;
use crate::keys::create_key;

/// What the target of SPEC §5 allows another instance.
const WITHIN: Duration = Duration::from_secs(1);

async fn code_at(base: &str, body: &Value) -> String {
    let response =
        reqwest::Client::new().post(format!("{base}/api/v1/keys/verify")).json(body).send().await.expect("verify");
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.expect("json");
    answer["code"].as_str().unwrap_or_default().to_owned()
}

/// Asks `peer` until it answers `want`, failing once `within` has passed; returns how long it took.
async fn until(peer: &Peer, body: &Value, want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let code = code_at(&peer.base, body).await;
        if code == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "the other instance still answers {code} after {within:?}, not {want}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Makes sure `peer` has the key's answer cached (asked twice: the second is a hit).
async fn warm(peer: &Peer, body: &Value, want: &str) {
    for _ in 0..2 {
        assert_eq!(code_at(&peer.base, body).await, want);
    }
}

fn pg(app: &TestApp) -> diesel::PgConnection {
    diesel::PgConnection::establish(&app.database_url).expect("connect to the test database")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_on_one_instance_reach_the_other_within_a_second() {
    let Some(a) = TestApp::spawn_if_available(Backend::Postgres).await else { return };
    let b = a.beside().await;
    let admin = a.admin().await;

    // One session, either instance: the cookie key is shared.
    let on_b = admin.at(&b.base);
    let page = on_b.get("/keys").await;
    assert_eq!(page.status, StatusCode::OK, "a session made on A works on B");
    assert!(page.body.contains("API keys"), "{}", page.body);

    let (lock, view) = crate::verify_api::catalogue(&a, &admin).await;

    // Created on A, known on B at once (B never cached it as unknown... and if it had, the notice clears it).
    let (id, key) = create_key(&admin, &[("name", "Shared"), ("permissions", &lock)]).await;
    let want = json!({ "key": key, "permission": "device.lock" });
    until(&b, &want, "VALID", WITHIN).await;
    let mut took = Vec::new();

    // Deactivate and reactivate.
    warm(&b, &want, "VALID").await;
    admin.get(&format!("/keys/{id}")).await;
    assert_eq!(
        admin.post(&format!("/keys/{id}/status"), &[("status", "inactive")]).await.status,
        StatusCode::SEE_OTHER
    );
    took.push(until(&b, &want, "INACTIVE", WITHIN).await);
    admin.post(&format!("/keys/{id}/status"), &[("status", "active")]).await;
    took.push(until(&b, &want, "VALID", WITHIN).await);

    // A role given, then taken away.
    admin.get("/roles/new").await;
    admin.post("/roles", &[("name", "Viewers"), ("permissions", &view)]).await;
    let roles = admin.get("/roles").await.body;
    let role = roles[..roles.find(">Viewers</a>").expect("role")]
        .rsplit("href=\"/roles/")
        .next()
        .and_then(|s| s.split('"').next())
        .expect("role id")
        .to_owned();
    let edit = |with_role: bool| {
        let mut fields = vec![("status", "active"), ("expiry", "keep"), ("permissions", lock.as_str())];
        if with_role {
            fields.push(("roles", role.as_str()));
        }
        fields
    };
    admin.get(&format!("/keys/{id}/edit")).await;
    admin.post(&format!("/keys/{id}/edit"), &edit(true)).await;
    let viewing = json!({ "key": key, "permission": "device.view" });
    took.push(until(&b, &viewing, "VALID", WITHIN).await);
    warm(&b, &viewing, "VALID").await;
    admin.get(&format!("/keys/{id}/edit")).await;
    admin.post(&format!("/keys/{id}/edit"), &edit(false)).await;
    took.push(until(&b, &viewing, "FORBIDDEN", WITHIN).await);

    // Regenerated without overlap: the old secret stops, the new one works.
    warm(&b, &want, "VALID").await;
    admin.get(&format!("/keys/{id}/rotate")).await;
    let rotated = secret_in(&admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "0")]).await.body);
    took.push(until(&b, &want, "NOT_FOUND", WITHIN).await);
    let want = json!({ "key": rotated, "permission": "device.lock" });
    until(&b, &want, "VALID", WITHIN).await;

    // The owner is disabled: their keys stop.
    let ops = a.user(&admin, "ops@example.com", "member").await;
    let (_, ops_key) = create_key(&ops, &[("name", "Ops key")]).await;
    let ops_want = json!({ "key": ops_key });
    until(&b, &ops_want, "VALID", WITHIN).await;
    warm(&b, &ops_want, "VALID").await;
    let ops_id = a.account_id("ops@example.com");
    admin.get(&format!("/users/{ops_id}")).await;
    admin.post(&format!("/users/{ops_id}/disable"), &[]).await;
    took.push(until(&b, &ops_want, "INACTIVE", WITHIN).await);

    // Revoked (deleted).
    warm(&b, &want, "VALID").await;
    admin.get("/keys").await;
    admin.post("/keys/delete", &[("ids", &id), ("confirm", "Shared"), ("recent_ok", "1")]).await;
    took.push(until(&b, &want, "NOT_FOUND", WITHIN).await);

    eprintln!("changes reached the other instance after {took:?}");
    let metrics = reqwest::get(format!("{}/metrics", b.base)).await.expect("metrics").text().await.expect("text");
    let notices = metrics.lines().find_map(|l| l.strip_prefix("keyward_change_notices_total ")).unwrap_or("0");
    assert!(notices.parse::<u64>().is_ok_and(|n| n >= 7), "B heard A's notices: {notices}");
    assert!(metrics.contains("keyward_cache_trusted 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_notices_still_take_effect_within_the_hard_bound() {
    let Some(a) = TestApp::spawn_if_available(Backend::Postgres).await else { return };
    let b = a.beside().await;
    let admin = a.admin().await;
    let (first, first_key) = create_key(&admin, &[("name", "First")]).await;
    let (second, second_key) = create_key(&admin, &[("name", "Second")]).await;
    let (first_want, second_want) = (json!({ "key": first_key }), json!({ "key": second_key }));
    until(&b, &first_want, "VALID", WITHIN).await;
    until(&b, &second_want, "VALID", WITHIN).await;
    warm(&b, &first_want, "VALID").await;
    warm(&b, &second_want, "VALID").await;

    // B's watcher loses its connection, and the notice of a deletion made meanwhile with it.
    let watcher = format!("keyward-watch-{}", b.state.db.changes().instance());
    let database = a.database_url.clone();
    let killed: i64 = tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&database).expect("connect");
        diesel::sql_query(format!(
            "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = '{watcher}'"
        ))
        .get_result::<Count>(&mut conn)
        .expect("terminate")
        .n
    })
    .await
    .expect("join");
    assert_eq!(killed, 1, "B has one watcher connection");
    admin.get("/keys").await;
    admin.post("/keys/delete", &[("ids", &first), ("confirm", "First"), ("recent_ok", "1")]).await;
    let took = until(&b, &first_want, "NOT_FOUND", HARD_BOUND).await;
    eprintln!("with the watcher's connection killed, the deletion reached B after {took:?}");
    let start = Instant::now();
    while b.state.db.changes().reconnects.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "the watcher reconnects");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A change committed with no notice at all (as if it were lost on the way): the epoch carries it.
    until(&b, &second_want, "VALID", WITHIN).await;
    warm(&b, &second_want, "VALID").await;
    let mut conn = pg(&a);
    conn.transaction(|c| {
        diesel::sql_query(format!("UPDATE api_keys SET status = 'inactive' WHERE id = {second}")).execute(c)?;
        diesel::sql_query("UPDATE change_epoch SET epoch = epoch + 1").execute(c)
    })
    .expect("a silent change");
    let took = until(&b, &second_want, "INACTIVE", HARD_BOUND).await;
    eprintln!("a change without a notice reached B after {took:?}");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
