//! What an instance keeps in memory between requests: stores the services fill and read, below them
//! so that `AppState` can hold them without naming a service. Nothing here is the truth: each store
//! can be rebuilt from the database (or, for throttles and uploads, may be forgotten on restart).

pub mod discovery;
pub mod lookups;
pub mod signing;
pub mod throttle;
pub mod uploads;
pub mod usage;
pub mod verify_cache;
