//! The product's use cases, shared by the console, the API and the command line. Each parses its
//! input into domain types, applies the rules, and writes through `db` in one transaction.

pub mod accounts;
pub mod auth;
pub mod throttle;
