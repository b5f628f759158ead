//! The machine-facing HTTP API: probes and metrics (`ops`), key verification and forward-auth (`verify`),
//! the management API (`keys`, `read`, `write`, `secret`) with its caller (`caller`) and error shape
//! (`error`), and the OpenAPI document. JSON in and out; it authenticates with keys, never cookies.

pub mod caller;
pub mod error;
pub mod keys;
pub mod openapi;
pub mod ops;
pub mod read;
pub mod secret;
pub mod verify;
pub mod write;

crate::http::declare_routes! {
    /// The machine-facing routes: probes, metrics, verification, forward-auth and the management API.
    ROUTES, routes {
        get "/healthz" => ops::healthz;
        get "/readyz" => ops::readyz;
        get "/metrics" => ops::metrics;
        post "/api/v1/keys/verify" => verify::verify_key;
        route "/api/v1/authorize{tail:.*}" => verify::authorize;
        route "/api/v1/workspaces/{workspace}/authorize{tail:.*}" => verify::authorize_in;
        get "/api/v1/keys" => keys::list;
        post "/api/v1/keys" => keys::create;
        get "/api/v1/keys/{id}" => keys::get;
        delete "/api/v1/keys/{id}" => keys::delete;
        patch "/api/v1/keys/{id}" => keys::patch;
        post "/api/v1/keys/{id}/rotate" => keys::rotate;
        post "/api/v1/keys/{id}/reassign" => keys::reassign;
        get "/api/v1/accounts" => read::accounts;
        post "/api/v1/accounts" => write::create_account;
        get "/api/v1/accounts/{id}" => read::account;
        patch "/api/v1/accounts/{id}" => write::update_account;
        delete "/api/v1/accounts/{id}" => write::delete_account;
        put "/api/v1/accounts/{id}/grants" => write::set_grants;
        get "/api/v1/roles" => read::role_list;
        post "/api/v1/roles" => write::create_role;
        get "/api/v1/roles/{id}" => read::role;
        patch "/api/v1/roles/{id}" => write::update_role;
        delete "/api/v1/roles/{id}" => write::delete_role;
        get "/api/v1/permissions" => read::permission_list;
        post "/api/v1/permissions" => write::create_permission;
        get "/api/v1/permissions/{id}" => read::permission;
        patch "/api/v1/permissions/{id}" => write::update_permission;
        delete "/api/v1/permissions/{id}" => write::delete_permission;
        get "/api/v1/shared-secret" => secret::show;
        post "/api/v1/shared-secret/reveal" => secret::reveal;
        post "/api/v1/shared-secret/regenerate" => secret::regenerate;
        get "/api/v1/audit" => read::audit_events;
        get "/api/v1/notifications" => read::notification_list;
        post "/api/v1/notifications/read" => write::mark_all_read;
        post "/api/v1/notifications/{id}/read" => write::mark_read;
        get "/api/openapi.json" => openapi::openapi_json;
    }
}
