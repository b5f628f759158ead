//! The console: server-rendered HTML with htmx, for people signed in with a cookie session (`session`,
//! `auth`), every change guarded by `csrf`. Routes are declared here, in one place.

pub mod assets;
pub mod audit;
pub mod auth;
pub mod csrf;
pub mod dashboard;
pub mod error;
pub mod form;
pub mod import;
pub mod key_actions;
pub mod key_test;
pub mod keys;
pub mod layout;
pub mod notifications;
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

crate::http::declare_routes! {
    /// The console's routes: pages, forms and their htmx fragments.
    ROUTES, routes {
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

/// "See other": where a browser goes after a form (and htmx, through `HX-Redirect`).
pub fn see_other(location: impl Into<String>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther().insert_header(("location", location.into())).finish()
}
