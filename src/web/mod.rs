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
pub mod users;

use actix_web::web;

/// Declares the machine-facing routes once: registered by `machine_routes`, listed in `MACHINE_ROUTES`
/// (which the OpenAPI and authorization tests walk, so a new route cannot go undocumented).
macro_rules! machine_routes {
    ($($method:ident $path:literal => $handler:path;)*) => {
        /// Every machine-facing route as (method, path); `route` is any method.
        pub const MACHINE_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn machine_routes(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

machine_routes! {
    get "/healthz" => ops::healthz;
    get "/readyz" => ops::readyz;
    get "/metrics" => api::metrics;
    post "/api/v1/keys/verify" => api::verify_key;
    route "/api/v1/authorize{tail:.*}" => api::authorize;
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

pub fn routes(cfg: &mut web::ServiceConfig) {
    machine_routes(cfg);
    cfg.route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/favicon.ico", web::get().to(assets::favicon))
        .route("/setup", web::get().to(setup::show))
        .route("/setup", web::post().to(setup::submit))
        .route("/login", web::get().to(signin::show))
        .route("/login", web::post().to(signin::submit))
        .route("/signup", web::get().to(signup::show_signup))
        .route("/signup", web::post().to(signup::signup))
        .route("/password", web::get().to(signup::show_password))
        .route("/password", web::post().to(signup::set_password))
        .route("/logout", web::get().to(signin::confirm))
        .route("/logout", web::post().to(signin::logout))
        .route("/", web::get().to(dashboard::show))
        .route("/profile", web::get().to(profile::show))
        .route("/profile/password", web::post().to(profile::change_password))
        .route("/profile/key", web::post().to(profile::generate_key))
        .route("/keys", web::get().to(keys::list))
        .route("/keys", web::post().to(keys::create))
        .route("/keys/new", web::get().to(keys::new))
        .route("/keys/report.csv", web::get().to(keys::report))
        .route("/keys/bulk", web::post().to(key_actions::bulk))
        .route("/keys/delete", web::post().to(key_actions::delete))
        .route("/keys/reassign", web::post().to(key_actions::reassign))
        .route("/keys/{id}", web::get().to(keys::show))
        .route("/keys/{id}/reveal", web::post().to(keys::reveal))
        .route("/keys/{id}/edit", web::get().to(key_actions::edit))
        .route("/keys/{id}/edit", web::post().to(key_actions::update))
        .route("/keys/{id}/status", web::post().to(key_actions::set_status))
        .route("/keys/{id}/rotate", web::get().to(key_actions::rotate_form))
        .route("/keys/{id}/rotate", web::post().to(key_actions::rotate))
        .route("/keys/{id}/end-overlap", web::post().to(key_actions::end_overlap))
        .route("/keys/{id}/reassign", web::get().to(key_actions::confirm_reassign))
        .route("/keys/{id}/delete", web::get().to(key_actions::confirm_delete))
        .route("/permissions", web::get().to(permissions::list))
        .route("/permissions", web::post().to(permissions::create))
        .route("/permissions/{id}", web::get().to(permissions::edit))
        .route("/permissions/{id}", web::post().to(permissions::update))
        .route("/permissions/{id}/delete", web::post().to(permissions::delete))
        .route("/roles", web::get().to(roles::list))
        .route("/roles", web::post().to(roles::create))
        .route("/roles/new", web::get().to(roles::new))
        .route("/roles/preview", web::get().to(roles::preview))
        .route("/roles/{id}", web::get().to(roles::show))
        .route("/roles/{id}", web::post().to(roles::update))
        .route("/roles/{id}/delete", web::get().to(roles::confirm_delete))
        .route("/roles/{id}/delete", web::post().to(roles::delete))
        .route("/test-key", web::get().to(key_test::show))
        .route("/test-key", web::post().to(key_test::run))
        .route("/notifications", web::get().to(notifications::list))
        .route("/notifications/bell", web::get().to(notifications::bell))
        .route("/notifications/read", web::post().to(notifications::mark_all_read))
        .route("/notifications/{id}/read", web::post().to(notifications::mark_read))
        .route("/audit", web::get().to(audit::show))
        .route("/audit.csv", web::get().to(audit::export))
        .route("/audit/verify", web::post().to(audit::verify_chain))
        .route("/settings", web::get().to(settings::show))
        .route("/settings/domains", web::post().to(settings::save_domains))
        .route("/settings/policies", web::post().to(settings::save_policies))
        .route("/settings/webhooks", web::post().to(settings::add_webhook))
        .route("/settings/webhooks/{id}/{action}", web::post().to(settings::webhook_action))
        .route("/settings/domains/matching", web::get().to(settings::matching))
        .route("/settings/domains/matching", web::post().to(settings::add_matching))
        .route("/settings/shared-secret/reveal", web::post().to(settings::reveal_secret))
        .route("/settings/shared-secret/regenerate", web::post().to(settings::regenerate_secret))
        .route("/settings/shared-secret/end-overlap", web::post().to(settings::end_secret_overlap))
        .route("/settings/key-types", web::post().to(settings::add_type))
        .route("/settings/key-types/{id}", web::post().to(settings::update_type))
        .route("/settings/key-types/{id}/delete", web::post().to(settings::delete_type))
        .route("/users", web::get().to(users::list))
        .route("/users", web::post().to(users::create))
        .route("/users/import", web::get().to(import::show))
        .route("/users/import", web::post().to(import::upload))
        .route("/users/import/apply", web::post().to(import::apply))
        .route("/users/import/template.csv", web::get().to(import::template))
        .route("/users/grant-all", web::get().to(users::confirm_grant_all))
        .route("/users/grant-all", web::post().to(users::grant_all))
        .route("/users/{id}", web::get().to(users::show))
        .route("/users/{id}/grants", web::post().to(users::set_grants))
        .route("/users/{id}/role", web::post().to(users::change_role))
        .route("/users/{id}/password-link", web::post().to(users::create_password_link))
        .route("/users/{id}/delete", web::get().to(users::confirm_delete))
        .route("/users/{id}/delete", web::post().to(users::delete))
        .route("/users/{id}/{action}", web::post().to(users::row_action));
}

/// Anything else is a 404 page (or a toast, for htmx).
pub async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, actix_web::Error> {
    if req.path().starts_with("/api/") {
        return Err(api::not_found_error().into());
    }
    Err(error::AppError::from(crate::error::Error::NotFound).into())
}
