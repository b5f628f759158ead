//! Static files embedded in the binary. URLs carry a content hash (`?v=`), so responses may be cached
//! for a year; a changed file gets a new URL.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Files;

fn versions() -> &'static HashMap<String, String> {
    static VERSIONS: OnceLock<HashMap<String, String>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        Files::iter()
            .filter_map(|name| {
                let file = Files::get(&name)?;
                Some((name.to_string(), hex::encode(&file.metadata.sha256_hash()[..6])))
            })
            .collect()
    })
}

/// `/static/<name>?v=<hash>` for a file that exists; templates call this through `Layout::asset`.
pub fn url(name: &str) -> String {
    match versions().get(name) {
        Some(v) => format!("/static/{name}?v={v}"),
        None => format!("/static/{name}"),
    }
}

/// Browsers ask for /favicon.ico whatever the page says; send them to the real icon.
pub async fn favicon() -> HttpResponse {
    HttpResponse::MovedPermanently().insert_header((header::LOCATION, url("favicon.svg"))).finish()
}

/// The gzipped body of a text file, made once per file and kept (the files never change while running).
fn gzipped(name: &str, data: &[u8]) -> Option<Arc<[u8]>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<[u8]>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok()?.get(name) {
        return Some(hit.clone());
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).ok()?;
    let body: Arc<[u8]> = encoder.finish().ok()?.into();
    cache.lock().ok()?.insert(name.to_owned(), body.clone());
    Some(body)
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")))
}

pub async fn serve(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    let Some(file) = Files::get(&name) else {
        return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("Not found");
    };
    let mime = file.metadata.mimetype();
    let compressible = mime.starts_with("text/") || mime.contains("javascript") || mime.contains("svg");
    let gzip = (compressible && accepts_gzip(&req)).then(|| gzipped(&name, &file.data)).flatten();
    let hash = hex::encode(&file.metadata.sha256_hash()[..8]);
    let etag = if gzip.is_some() { format!("\"{hash}-gz\"") } else { format!("\"{hash}\"") };
    if req.headers().get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        return HttpResponse::NotModified().finish();
    }
    let versioned = req.query_string().starts_with("v=");
    let cache = if versioned { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    let mut response = HttpResponse::Ok();
    response
        .content_type(mime)
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, etag))
        .insert_header((header::VARY, "Accept-Encoding"));
    match gzip {
        Some(body) => response.insert_header((header::CONTENT_ENCODING, "gzip")).body(body.to_vec()),
        None => response.body(file.data.into_owned()),
    }
}
