//! Health checks, static assets, configuration errors and the migration folders.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends! {
    async fn health_and_readiness_answer(app) {
        let b = app.browser();
        let health = b.get("/healthz").await;
        assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, "ok"));
        assert_eq!(b.get("/readyz").await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn static_assets_are_served_with_their_content_types() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let b = app.browser();
    for (path, content_type) in [
        ("/static/vendor/htmx-2.0.11.min.js", "javascript"),
        ("/static/vendor/tabler-1.6.1.min.css", "text/css"),
        ("/static/app.css", "text/css"),
        ("/static/app.js", "javascript"),
        ("/static/theme.js", "javascript"),
        ("/static/favicon.svg", "image/svg+xml"),
    ] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.header("content-type").contains(content_type), "{path}: {}", page.header("content-type"));
        assert!(!page.header("etag").is_empty());
    }
    // Text assets go gzipped to clients that ask (browsers do), as is to those that do not.
    let raw = reqwest::Client::new();
    let css = format!("{}/static/vendor/tabler-1.6.1.min.css", app.base);
    let zipped = raw.get(&css).header("accept-encoding", "gzip, br").send().await.expect("css");
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "Accept-Encoding");
    let zipped = zipped.bytes().await.expect("body");
    let plain = raw.get(&css).send().await.expect("css");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.expect("body");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut unzipped).expect("gzip");
    assert_eq!(unzipped, plain.to_vec());
    assert!(zipped.len() * 5 < plain.len(), "{} gzipped bytes for {}", zipped.len(), plain.len());

    let icon = b.get("/favicon.ico").await;
    assert_eq!(icon.status, StatusCode::MOVED_PERMANENTLY);
    assert!(icon.location().starts_with("/static/favicon.svg?v="));
    assert_eq!(b.get("/static/../Cargo.toml").await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get("/static/nope.js").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_database_url_with_an_unknown_scheme_is_refused_clearly() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for url in ["mysql://root:hunter2@localhost/keyward", "./keyward.db", "sqlite:keyward.db"] {
        let (ok, _, stderr) = app.command(&["migrate"], &[("KEYWARD_DATABASE_URL", url)]);
        assert!(!ok, "{url} was accepted");
        assert!(stderr.contains("sqlite://") && stderr.contains("postgres://"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "the password is not echoed: {stderr}");
    }
    let (ok, _, stderr) = app.command(&["migrate"], &[]);
    assert!(ok, "{stderr}");
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |backend: &str| -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres must stay in lockstep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_and_database_files_are_readable_by_the_owner_alone() {
    use std::os::unix::fs::PermissionsExt as _;
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    app.admin().await;
    let mode = |name: &str| {
        let path = if name.is_empty() { app.data_dir.clone() } else { app.data_dir.join(name) };
        std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    for file in ["keyward.db", "keyward.db-wal", "keyward.db-shm", "master.key"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    // An installation made before this rule is narrowed when keyward next starts.
    let widen = |name: &str, to: u32| {
        let path = if name.is_empty() { app.data_dir.clone() } else { app.data_dir.join(name) };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(to)).expect("chmod");
    };
    widen("", 0o755);
    widen("keyward.db", 0o644);
    widen("keyward.db-wal", 0o644);
    let (ok, _, stderr) = app.command(&["report", "credentials"], &[]);
    assert!(ok, "{stderr}");
    assert_eq!(mode(""), 0o700, "the data directory");
    assert_eq!((mode("keyward.db"), mode("keyward.db-wal")), (0o600, 0o600));
}
