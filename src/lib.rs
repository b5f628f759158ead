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

/// mimalloc instead of the system allocator. glibc's malloc gives each thread that allocates its own arena
/// and seldom returns their freed pages, so under sustained load (actix workers, the blocking pool, the
/// database threads) a server's resident memory crept up by ~0.2 MB/s; mimalloc's per-thread heaps return
/// freed pages and keep it flat. Declared in the library so that the benchmarks and tests, which run the
/// server in-process, measure the allocator that `keyward` ships with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
