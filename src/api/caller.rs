//! Who calls the management API: the presented key, acting for its owner and never with more than
//! the owner's console role.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{Method, StatusCode};
use actix_web::{FromRequest, HttpRequest, web};

use super::error::ApiError;
use super::verify::presented_key;
use crate::domain::audit::Actor;
use crate::domain::role::ConsoleRole;
use crate::domain::verdict::Code;
use crate::http::client_ip;
use crate::services::Caller;
use crate::services::accounts::Origin;
use crate::services::verify::{UseContext, serve};
use crate::services::workspaces;
use crate::state::AppState;

/// A management-API request's caller: the presenting key, acting for its owner.
#[derive(Debug)]
pub struct ApiCaller(pub Caller);

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(ApiCaller) })
    }
}

/// The caller and the JSON body it sends, read in that order: a caller without a good key hears 401 (or 403
/// for a READONLY key's write) before anything about the body is weighed.
#[derive(Debug)]
pub struct ApiBody<T>(pub Caller, pub T);

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for ApiBody<T> {
    /// An `ApiError`, or what `api::json_config` made of an unreadable body (400, 413, 415).
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<T>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(&req).await?;
            Ok(ApiBody(caller, body.await?.into_inner()))
        })
    }
}

fn refuse(status: StatusCode, code: &'static str, message: &str) -> ApiError {
    ApiError::new(status, code, message)
}

async fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error."))?
        .clone();
    let Some(presented) = presented_key(req) else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send a keyward key: Authorization: Bearer <key>.",
        ));
    };
    let ip = client_ip(req, &state).to_string();
    let context = UseContext { ip: Some(ip.clone()), path: Some(req.path().to_owned()), ..UseContext::default() };
    let verdict = serve(&state, presented, context).await?;
    match verdict.code {
        Code::Valid => {}
        Code::IpNotAllowed => {
            return Err(refuse(StatusCode::FORBIDDEN, "ip_not_allowed", "The key may not be used from this address."));
        }
        Code::RateLimited => {
            return Err(refuse(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "The key's rate limit is reached."));
        }
        _ => return Err(refuse(StatusCode::UNAUTHORIZED, "unauthorized", "The key is not valid.")),
    }
    let key = verdict.key.ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "unauthorized", "The key is not valid."))?;
    let writes = key.profile.roles.iter().any(|r| r == "ADMIN");
    if !writes && !key.profile.roles.iter().any(|r| r == "READONLY") {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The management API needs a key with the ADMIN or READONLY role.",
        ));
    }
    if !writes && req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(refuse(StatusCode::FORBIDDEN, "forbidden", "A READONLY key can only read."));
    }
    let (ws, owner) = (key.profile.workspace_id, key.profile.owner_id);
    let owner_role = state.run(move |s| workspaces::role_of(s, ws, owner)).await?.ok_or_else(|| {
        refuse(StatusCode::UNAUTHORIZED, "unauthorized", "The key's owner is not a member of its workspace.")
    })?;
    // Never more than the owner's console role; a READONLY key reads as an Auditor would, at most.
    let role = match (writes, owner_role) {
        (true, role) => role,
        (false, ConsoleRole::Administrator | ConsoleRole::Auditor) => ConsoleRole::Auditor,
        (false, ConsoleRole::Member) => ConsoleRole::Member,
    };
    Ok(Caller {
        workspace_id: ws,
        account_id: Some(owner),
        role,
        origin: Origin { actor: Actor::Key { id: key.key_id, name: key.name.clone() }, ip: Some(ip) },
    })
}
