//! Headers on every response, and one log line per request with a request id (path only: query
//! strings can carry one-time tokens and are never logged).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument as _;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let is_asset = res.request().path().starts_with("/static/");
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if !is_asset {
        // Console pages are private and one URL may serve a page or an htmx fragment.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::VARY, HeaderValue::from_static("HX-Request, Cookie"));
    }
    Ok(res)
}

pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut id = String::with_capacity(16);
    crate::crypto::push_hex(&mut id, &crate::crypto::random_bytes::<8>());
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.path());
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| match &result {
        Ok(res) => tracing::info!(status = res.status().as_u16(), elapsed_ms, "served"),
        Err(e) => tracing::warn!(error = %e, elapsed_ms, "failed"),
    });
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// Bounds how long a request body may take to arrive, counted from when the request came in: a body
/// trickled a byte at a time would otherwise hold a connection and a worker's attention for ever. Late,
/// the body reads as an error and the request is answered 408. The timer exists only once a read has to
/// wait, so a body that arrives with its headers costs nothing more; a request that announces no body
/// (forward-auth, pages, probes) is not wrapped at all.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use std::future::Future as _;
    use std::task::Poll;

    use actix_web::HttpMessage as _;
    use futures_util::Stream as _;

    // No body announced (forward-auth, pages, probes): nothing to wait for, nothing to wrap.
    let headers = req.headers();
    let announced = headers.get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
        || headers.contains_key(header::TRANSFER_ENCODING);
    if !announced {
        return next.call(req).await;
    }
    let secs =
        req.app_data::<actix_web::web::Data<crate::state::AppState>>().map_or(30, |s| s.config.body_timeout_secs);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    let expired = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = expired.clone();
    let mut payload = req.take_payload();
    let mut timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    let late = futures_util::stream::poll_fn(move |cx| {
        if flag.get() {
            return Poll::Ready(None);
        }
        match std::pin::Pin::new(&mut payload).poll_next(cx) {
            Poll::Pending => {
                let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                flag.set(true);
                let error = std::io::Error::new(std::io::ErrorKind::TimedOut, "the request body took too long");
                Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(error))))
            }
            ready => ready,
        }
    });
    req.set_payload(actix_web::dev::Payload::Stream { payload: Box::pin(late) });
    let response = next.call(req).await;
    if expired.get() {
        return Err(actix_web::error::ErrorRequestTimeout("The request body took too long to arrive."));
    }
    response
}
