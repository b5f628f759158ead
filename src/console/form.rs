//! `HtmlForm<T>`: an urlencoded form body decoded like a browser sends it, repeated fields
//! (`roles=1&roles=2`) included, which `web::Form` cannot do.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::error::AppError;
use crate::domain::Invalid;

const LIMIT: usize = 256 * 1024;

#[derive(Debug)]
pub struct HtmlForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for HtmlForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = bytes.await.map_err(|_| AppError::TooLarge)?;
            if body.len() > LIMIT {
                return Err(AppError::TooLarge);
            }
            serde_html_form::from_bytes::<T>(&body).map(HtmlForm).map_err(|e| {
                tracing::debug!(path = req.path(), error = %e, "unreadable form");
                AppError::Service(
                    Invalid::new("form", "The form could not be read. Reload the page and try again.").into(),
                )
            })
        })
    }
}

/// A guard (`CurrentUser`, `Admin`, `Reader`, …) and the form it sends, read in that order: whoever may not
/// make the change hears so (sign in, 403) before anything about the form is weighed. Handlers take this
/// instead of a guard and a form side by side, whose extractors would race.
#[derive(Debug)]
pub struct Authed<G, T>(pub G, pub T);

impl<G, T> FromRequest for Authed<G, T>
where
    G: FromRequest<Error = AppError> + 'static,
    T: DeserializeOwned + 'static,
{
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let guard = G::from_request(req, &mut Payload::None);
        let form = HtmlForm::<T>::from_request(req, payload);
        Box::pin(async move {
            let guard = guard.await?;
            let HtmlForm(form) = form.await?;
            Ok(Authed(guard, form))
        })
    }
}

/// The one field a form submission was refused for, and why; templates ask `errors.get("field")`.
#[derive(Debug, Clone, Default)]
pub struct FieldError(Option<Invalid>);

impl FieldError {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.as_ref().filter(|e| e.field == field).map(|e| e.message.as_str())
    }

    pub fn any(&self) -> Option<&str> {
        self.0.as_ref().map(|e| e.message.as_str())
    }

    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }
}

impl From<Invalid> for FieldError {
    fn from(invalid: Invalid) -> Self {
        Self(Some(invalid))
    }
}
