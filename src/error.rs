//! The error of the service layer: what went wrong in terms a person can act on. The web edge
//! (`web::error`) decides status codes and rendering from it in one place.

use crate::db::DbError;
use crate::domain::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that breaks a rule; names the field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The change clashes with existing data (a duplicate name, a used setup link).
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("not allowed")]
    Forbidden,
    /// Not allowed, with the reason the person is told.
    #[error("{0}")]
    Refused(String),
    /// Too many attempts: wait this many seconds.
    #[error("too many attempts; try again in {0} seconds")]
    Throttled(i64),
    #[error("this account is locked after too many failed attempts; an administrator can unlock it")]
    Locked,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::Db(DbError::Query(e))
    }
}

impl From<crate::crypto::password::HashError> for Error {
    fn from(e: crate::crypto::password::HashError) -> Self {
        Error::Internal(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
