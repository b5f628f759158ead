//! Liveness and readiness for orchestrators and load balancers.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// Liveness: the process answers. Touches nothing else.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

/// Readiness: the database answers a round trip.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 503, content_type = "text/plain", body = String)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let check = state.run(crate::services::health::ready).await;
    match check {
        Ok(()) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().content_type("text/plain; charset=utf-8").body("database unavailable")
        }
    }
}

/// Prometheus metrics: verifications by endpoint and code, latency, cache and pool.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let body = crate::services::health::metrics(&state);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(body)
}
