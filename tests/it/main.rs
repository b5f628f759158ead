//! The one integration-test binary: every file here drives a real keyward server over HTTP.

mod helpers;

mod access;
mod access_review;
mod audit;
mod authz_matrix;
mod browser;
mod crash;
mod first_run;
mod import;
mod instances;
mod isolation;
mod key_lifecycle;
mod key_test;
mod key_type_roles;
mod keys;
mod layering;
mod management_api;
mod openapi;
mod operations;
mod permissions;
mod reminders;
mod roles;
mod screens;
mod secrets;
mod security;
mod settings;
mod shared_secret;
mod sign_in;
mod sso;
mod two_factor;
mod verify_api;
mod webhooks;
mod whitelist;
mod workspaces;
