//! keyward: a self-hosted API key management console and key verification service.
//!
//! Layout (see ARCHITECTURE.md): `domain` holds pure rules, `db` the queries, `services` the use cases,
//! `web` the console; `startup` builds the server for `main` and the tests alike.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod memory;
pub mod metrics;
pub mod services;
pub mod startup;
pub mod state;

/// Hands glibc's free heap pages back to the system. A usage flush frees a window's worth of small
/// allocations at once; glibc keeps such pages unless asked, and under sustained load that was a quarter
/// of the server's resident memory. `jobs` calls it after each flush.
#[cfg_attr(
    all(target_os = "linux", target_env = "gnu"),
    expect(unsafe_code, reason = "malloc_trim has no safe wrapper")
)]
pub(crate) fn trim_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps glibc's malloc at two arenas unless `MALLOC_ARENA_MAX` says otherwise. By default glibc gives
/// each thread that allocates under contention its own arena (up to eight per core) and seldom returns
/// their freed pages, so under sustained load (actix workers, the blocking pool, the database threads) a
/// server's resident memory crept up by ~0.2 MB/s; with two arenas it stays flat, and it is lower than
/// mimalloc's at rest and under load (see README, Performance). `startup::Application::build` calls it
/// first, before the server's threads start, so the binary, the tests and the benchmarks all run with it.
#[cfg_attr(all(target_os = "linux", target_env = "gnu"), expect(unsafe_code, reason = "mallopt has no safe wrapper"))]
pub(crate) fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes glibc's tuning; M_ARENA_MAX applies to arenas created afterwards.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
