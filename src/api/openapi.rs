//! The OpenAPI 3.1 description of every machine-facing route (`GET /api/openapi.json`), generated from
//! the handlers' `#[utoipa::path]` annotations and the request and response types. Responses every
//! management route can give (an unusable key, a role that does not allow it, a rate limit, an
//! unreadable body) are added here once rather than on each handler.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::{keys, ops, read, secret, verify, write};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "keyward",
        description = "API key verification, forward-auth for reverse proxies, and management of keys, people, \
                       roles and permissions. Management routes take a keyward key whose role is ADMIN (read and \
                       write) or READONLY (read), as `Authorization: Bearer <key>` or `X-API-Key`."
    ),
    paths(
        verify::verify_key, verify::authorize, verify::authorize_in, ops::metrics, ops::healthz, ops::readyz,
        keys::list, keys::create, keys::get, keys::patch, keys::delete, keys::rotate,
        keys::reassign,
        read::accounts, read::account, write::create_account, write::update_account,
        write::delete_account, write::set_grants,
        read::role_list, read::role, write::create_role, write::update_role, write::delete_role,
        read::permission_list, read::permission, write::create_permission, write::update_permission,
        write::delete_permission,
        secret::show, secret::reveal, secret::regenerate,
        read::audit_events, read::notification_list, write::mark_read, write::mark_all_read,
        openapi_json,
    ),
    modifiers(&Conventions),
    security(("bearer" = []), ("api_key" = [])),
)]
pub struct ApiDoc;

/// Security schemes, and the responses shared by every management route.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
        let error = |description: &str| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let management = path.starts_with("/api/v1/")
                && !path.starts_with("/api/v1/keys/verify")
                && !path.starts_with("/api/v1/authorize")
                && !path.ends_with("/authorize");
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                if management {
                    for (status, description) in [
                        ("401", "No key, or the key is not usable."),
                        ("403", "The key's role, or its owner's console role, does not allow this."),
                        ("429", "The key's rate limit is reached."),
                    ] {
                        responses.entry(status.to_owned()).or_insert_with(|| error(description));
                    }
                }
                if operation.request_body.is_some() {
                    for (status, description) in [
                        ("400", "The body is not the expected JSON."),
                        ("413", "The body is larger than 64 KiB."),
                        ("415", "The body is not application/json."),
                    ] {
                        responses.entry(status.to_owned()).or_insert_with(|| error(description));
                    }
                }
                let queried = operation.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Query);
                if queried {
                    responses.entry("400".to_owned()).or_insert_with(|| {
                        error("A query parameter is not valid (an unknown value, or out of range).")
                    });
                }
                if path.contains("{id}") {
                    responses
                        .entry("404".to_owned())
                        .or_insert_with(|| error("No such resource in the key's workspace."));
                }
            }
        }
    }
}

static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")));

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 description.", content_type = "application/json")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(DOCUMENT.as_str())
}
