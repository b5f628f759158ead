//! The console: server-rendered HTML with htmx. Routes are declared here, in one place.

pub mod api;
pub mod api_keys;
pub mod api_read;
pub mod api_secret;
pub mod api_write;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod csrf;
pub mod dashboard;
pub mod error;
pub mod form;
pub mod headers;
pub mod import;
pub mod key_actions;
pub mod key_test;
pub mod keys;
pub mod layout;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod permissions;
pub mod profile;
pub mod roles;
pub mod session;
pub mod settings;
pub mod setup;
pub mod signin;
pub mod signup;
pub mod two_factor;
pub mod users;
pub mod workspaces;

use actix_web::web;

/// Declares a set of routes once: registered by the generated function and listed, as (method, path), in
/// the generated constant, which the OpenAPI and authorization-matrix tests walk, so a new route cannot go
/// undocumented or untested. `route` is any method.
macro_rules! declare_routes {
    ($(#[doc = $doc:literal])* $list:ident, $register:ident {
        $($method:ident $path:literal => $handler:path;)*
    }) => {
        $(#[doc = $doc])*
        pub const $list: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn $register(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

declare_routes! {
    /// The machine-facing routes: probes, metrics, verification, forward-auth and the management API.
    MACHINE_ROUTES, machine_routes {
        get "/healthz" => ops::healthz;
        get "/readyz" => ops::readyz;
        get "/metrics" => api::metrics;
        post "/api/v1/keys/verify" => api::verify_key;
        route "/api/v1/authorize{tail:.*}" => api::authorize;
        route "/api/v1/workspaces/{workspace}/authorize{tail:.*}" => api::authorize_in;
        get "/api/v1/keys" => api_keys::list;
        post "/api/v1/keys" => api_keys::create;
        get "/api/v1/keys/{id}" => api_keys::get;
        delete "/api/v1/keys/{id}" => api_keys::delete;
        patch "/api/v1/keys/{id}" => api_keys::patch;
        post "/api/v1/keys/{id}/rotate" => api_keys::rotate;
        post "/api/v1/keys/{id}/reassign" => api_keys::reassign;
        get "/api/v1/accounts" => api_read::accounts;
        post "/api/v1/accounts" => api_write::create_account;
        get "/api/v1/accounts/{id}" => api_read::account;
        patch "/api/v1/accounts/{id}" => api_write::update_account;
        delete "/api/v1/accounts/{id}" => api_write::delete_account;
        put "/api/v1/accounts/{id}/grants" => api_write::set_grants;
        get "/api/v1/roles" => api_read::role_list;
        post "/api/v1/roles" => api_write::create_role;
        get "/api/v1/roles/{id}" => api_read::role;
        patch "/api/v1/roles/{id}" => api_write::update_role;
        delete "/api/v1/roles/{id}" => api_write::delete_role;
        get "/api/v1/permissions" => api_read::permission_list;
        post "/api/v1/permissions" => api_write::create_permission;
        get "/api/v1/permissions/{id}" => api_read::permission;
        patch "/api/v1/permissions/{id}" => api_write::update_permission;
        delete "/api/v1/permissions/{id}" => api_write::delete_permission;
        get "/api/v1/shared-secret" => api_secret::show;
        post "/api/v1/shared-secret/reveal" => api_secret::reveal;
        post "/api/v1/shared-secret/regenerate" => api_secret::regenerate;
        get "/api/v1/audit" => api_read::audit_events;
        get "/api/v1/notifications" => api_read::notification_list;
        post "/api/v1/notifications/read" => api_write::mark_all_read;
        post "/api/v1/notifications/{id}/read" => api_write::mark_read;
        get "/api/openapi.json" => openapi::openapi_json;
    }
}

declare_routes! {
    /// The console's routes: pages, forms and their htmx fragments.
    CONSOLE_ROUTES, console_routes {
        get "/static/{path:.*}" => assets::serve;
        get "/favicon.ico" => assets::favicon;
        get "/setup" => setup::show;
        post "/setup" => setup::submit;
        get "/login" => signin::show;
        post "/login" => signin::submit;
        get "/login/oidc" => signin::sso_start;
        get "/login/oidc/callback" => signin::sso_callback;
        get "/login/two-factor" => signin::show_second_factor;
        post "/login/two-factor" => signin::submit_second_factor;
        get "/signup" => signup::show_signup;
        post "/signup" => signup::signup;
        get "/password" => signup::show_password;
        post "/password" => signup::set_password;
        get "/logout" => signin::confirm;
        post "/logout" => signin::logout;
        get "/" => dashboard::show;
        get "/profile" => profile::show;
        post "/profile/password" => profile::change_password;
        post "/profile/key" => profile::generate_key;
        post "/profile/sessions/end-others" => profile::end_other_sessions;
        post "/profile/sessions/{id}/end" => profile::end_session;
        get "/profile/two-factor" => two_factor::show;
        post "/profile/two-factor" => two_factor::begin;
        post "/profile/two-factor/confirm" => two_factor::confirm;
        post "/profile/two-factor/disable" => two_factor::disable;
        get "/keys" => keys::list;
        post "/keys" => keys::create;
        get "/keys/new" => keys::new;
        get "/keys/report.csv" => keys::report;
        post "/keys/bulk" => key_actions::bulk;
        post "/keys/delete" => key_actions::delete;
        post "/keys/reassign" => key_actions::reassign;
        get "/keys/{id}" => keys::show;
        post "/keys/{id}/reveal" => keys::reveal;
        get "/keys/{id}/edit" => key_actions::edit;
        post "/keys/{id}/edit" => key_actions::update;
        post "/keys/{id}/status" => key_actions::set_status;
        get "/keys/{id}/rotate" => key_actions::rotate_form;
        post "/keys/{id}/rotate" => key_actions::rotate;
        post "/keys/{id}/end-overlap" => key_actions::end_overlap;
        get "/keys/{id}/reassign" => key_actions::confirm_reassign;
        get "/keys/{id}/delete" => key_actions::confirm_delete;
        get "/permissions" => permissions::list;
        post "/permissions" => permissions::create;
        get "/permissions/{id}" => permissions::edit;
        post "/permissions/{id}" => permissions::update;
        post "/permissions/{id}/delete" => permissions::delete;
        get "/roles" => roles::list;
        post "/roles" => roles::create;
        get "/roles/new" => roles::new;
        get "/roles/preview" => roles::preview;
        get "/roles/{id}" => roles::show;
        post "/roles/{id}" => roles::update;
        get "/roles/{id}/delete" => roles::confirm_delete;
        post "/roles/{id}/delete" => roles::delete;
        get "/test-key" => key_test::show;
        post "/test-key" => key_test::run;
        get "/notifications" => notifications::list;
        get "/notifications/bell" => notifications::bell;
        post "/notifications/read" => notifications::mark_all_read;
        post "/notifications/{id}/read" => notifications::mark_read;
        post "/invitations/{id}/{answer}" => notifications::answer_invitation;
        get "/audit" => audit::show;
        get "/audit.csv" => audit::export;
        post "/audit/verify" => audit::verify_chain;
        get "/settings" => settings::show;
        post "/settings/domains" => settings::save_domains;
        post "/settings/policies" => settings::save_policies;
        post "/settings/webhooks" => settings::add_webhook;
        post "/settings/webhooks/{id}/{action}" => settings::webhook_action;
        get "/settings/domains/matching" => settings::matching;
        post "/settings/domains/matching" => settings::add_matching;
        post "/settings/shared-secret/reveal" => settings::reveal_secret;
        post "/settings/shared-secret/regenerate" => settings::regenerate_secret;
        post "/settings/shared-secret/end-overlap" => settings::end_secret_overlap;
        post "/settings/two-factor" => two_factor::require;
        post "/settings/key-types" => settings::add_type;
        post "/settings/key-types/{id}" => settings::update_type;
        post "/settings/key-types/{id}/delete" => settings::delete_type;
        get "/users" => users::list;
        post "/users" => users::create;
        get "/users/import" => import::show;
        post "/users/import" => import::upload;
        post "/users/import/apply" => import::apply;
        get "/users/import/template.csv" => import::template;
        get "/users/grant-all" => users::confirm_grant_all;
        post "/users/grant-all" => users::grant_all;
        get "/users/{id}" => users::show;
        post "/users/{id}/grants" => users::set_grants;
        post "/users/{id}/role" => users::change_role;
        post "/users/{id}/password-link" => users::create_password_link;
        post "/users/{id}/two-factor/reset" => two_factor::reset;
        get "/users/{id}/delete" => users::confirm_delete;
        post "/users/{id}/delete" => users::delete;
        post "/users/{id}/remove" => users::remove;
        post "/users/{id}/sessions/end" => users::end_sessions;
        post "/users/invitations/{id}/cancel" => users::cancel_invitation;
        post "/users/{id}/{action}" => users::row_action;
        post "/workspace" => workspaces::switch;
        get "/workspaces" => workspaces::list;
        post "/workspaces" => workspaces::create;
        get "/workspaces/{id}" => workspaces::show;
        post "/workspaces/{id}" => workspaces::rename;
        post "/workspaces/{id}/archive" => workspaces::archive;
        post "/workspaces/{id}/restore" => workspaces::restore;
        post "/workspaces/{id}/members" => workspaces::add_member;
        post "/workspaces/{id}/members/{account}/role" => workspaces::change_role;
        post "/workspaces/{id}/members/{account}/remove" => workspaces::remove_member;
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    machine_routes(cfg);
    console_routes(cfg);
}

/// "See other": where a browser goes after a form (and htmx, through `HX-Redirect`).
pub fn see_other(location: impl Into<String>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther().insert_header(("location", location.into())).finish()
}

/// Anything else is a 404 page (or a toast, for htmx).
pub async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, actix_web::Error> {
    if req.path().starts_with("/api/") {
        return Err(api::not_found_error().into());
    }
    Err(error::AppError::from(crate::error::Error::NotFound).into())
}
