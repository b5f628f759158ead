//! Pure types and rules: no HTTP, no SQL. Input is parsed into these types at the door.

pub mod access;
pub mod account;
pub mod address;
pub mod audit;
pub mod chart;
pub mod email;
pub mod forwarded;
pub mod key;
pub mod key_input;
pub mod key_type;
pub mod lockout;
pub mod name;
pub mod password;
pub mod policy;
pub mod restrict;
pub mod role;
pub mod sheet;
pub mod two_factor;
pub mod uri;
pub mod verdict;

/// A message meant for the person who typed the input, naming the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}
