//! The decision on a presented key, in the order the checks run. Format and checksum come first
//! (`domain::key::parse`), so a malformed key never reaches the database.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    Valid,
    Malformed,
    NotFound,
    Inactive,
    Expired,
    Forbidden,
    IpNotAllowed,
    RateLimited,
}

impl Code {
    pub const ALL: [Code; 8] = [
        Code::Valid,
        Code::Malformed,
        Code::NotFound,
        Code::Inactive,
        Code::Expired,
        Code::Forbidden,
        Code::IpNotAllowed,
        Code::RateLimited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::Valid => "VALID",
            Code::Malformed => "MALFORMED",
            Code::NotFound => "NOT_FOUND",
            Code::Inactive => "INACTIVE",
            Code::Expired => "EXPIRED",
            Code::Forbidden => "FORBIDDEN",
            Code::IpNotAllowed => "IP_NOT_ALLOWED",
            Code::RateLimited => "RATE_LIMITED",
        }
    }
}

/// What the lookup found for a well-formed key's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub key_active: bool,
    pub owner_active: bool,
    pub expires_at: Option<i64>,
    /// Set on the previous secret during a rotation overlap.
    pub secret_retires_at: Option<i64>,
}

/// Status checks, in order: a retired secret is unknown; then the key and its owner must be active;
/// then unexpired.
pub fn status(found: &Found, now: i64) -> Code {
    if found.secret_retires_at.is_some_and(|t| t <= now) {
        Code::NotFound
    } else if !found.key_active || !found.owner_active {
        Code::Inactive
    } else if found.expires_at.is_some_and(|t| t <= now) {
        Code::Expired
    } else {
        Code::Valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: Found = Found { key_active: true, owner_active: true, expires_at: None, secret_retires_at: None };

    #[test]
    fn the_checks_run_in_order() {
        assert_eq!(status(&LIVE, 100), Code::Valid);
        assert_eq!(status(&Found { expires_at: Some(100), ..LIVE }, 100), Code::Expired);
        assert_eq!(status(&Found { expires_at: Some(101), ..LIVE }, 100), Code::Valid);
        assert_eq!(status(&Found { key_active: false, expires_at: Some(1), ..LIVE }, 100), Code::Inactive);
        assert_eq!(status(&Found { owner_active: false, ..LIVE }, 100), Code::Inactive);
        assert_eq!(status(&Found { secret_retires_at: Some(100), key_active: false, ..LIVE }, 100), Code::NotFound);
        assert_eq!(status(&Found { secret_retires_at: Some(200), ..LIVE }, 100), Code::Valid);
    }

    #[test]
    fn codes_serialise_as_documented() {
        assert_eq!(serde_json::to_string(&Code::IpNotAllowed).ok().as_deref(), Some("\"IP_NOT_ALLOWED\""));
        assert_eq!(Code::NotFound.as_str(), "NOT_FOUND");
    }
}
