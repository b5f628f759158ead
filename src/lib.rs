//! keyward: a self-hosted API key management console and key verification service.
//!
//! Layout (see ARCHITECTURE.md): `domain` holds pure rules, `db` the queries, `services` the use cases,
//! `web` the console; `startup` builds the server for `main` and the tests alike.

pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod services;
pub mod startup;
pub mod state;
pub mod web;
