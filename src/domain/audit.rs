//! Audit events and their hash chain. Each event's hash covers its content and the previous event's
//! hash, so editing or deleting a stored event breaks every link after it.

use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Account {
        id: i64,
        email: String,
    },
    Key {
        id: i64,
        name: String,
    },
    /// The command line, the scheduler, first-run setup.
    System(&'static str),
    /// A sign-in attempt for an address that has no account.
    Anonymous(String),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Account { email, .. } => email.clone(),
            Actor::Key { name, .. } => format!("key {name}"),
            Actor::System(what) => (*what).to_owned(),
            Actor::Anonymous(email) => email.clone(),
        }
    }
}

/// What it was done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static str,
    pub id: i64,
    pub label: String,
}

/// An event before it is stored. `before` and `after` must never hold a secret.
#[derive(Debug, Clone)]
pub struct Event {
    pub workspace_id: Option<i64>,
    pub actor: Actor,
    pub source_ip: Option<String>,
    pub action: &'static str,
    pub target: Option<Target>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Event {
    pub fn new(action: &'static str, actor: Actor) -> Self {
        Self { workspace_id: None, actor, source_ip: None, action, target: None, before: None, after: None }
    }

    pub fn in_workspace(mut self, id: i64) -> Self {
        self.workspace_id = Some(id);
        self
    }

    pub fn from_ip(mut self, ip: impl Into<String>) -> Self {
        self.source_ip = Some(ip.into());
        self
    }

    pub fn on(mut self, kind: &'static str, id: i64, label: impl Into<String>) -> Self {
        self.target = Some(Target { kind, id, label: label.into() });
        self
    }

    pub fn change(mut self, before: Option<serde_json::Value>, after: Option<serde_json::Value>) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// The stored columns of an event that its hash covers.
#[derive(Debug, Serialize)]
pub struct HashedContent<'a> {
    pub workspace_id: Option<i64>,
    pub occurred_at: i64,
    pub actor_account_id: Option<i64>,
    pub actor_key_id: Option<i64>,
    pub actor_label: &'a str,
    pub source_ip: Option<&'a str>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<i64>,
    pub target_label: Option<&'a str>,
    pub before_json: Option<&'a str>,
    pub after_json: Option<&'a str>,
}

pub fn chain_hash(prev: Option<&[u8]>, content: &HashedContent<'_>) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev.unwrap_or(&[]));
    // serde_json writes struct fields in declaration order, so the encoding is stable.
    hasher.update(serde_json::to_vec(content).unwrap_or_default());
    hasher.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(label: &str) -> HashedContent<'_> {
        HashedContent {
            workspace_id: Some(1),
            occurred_at: 10,
            actor_account_id: Some(2),
            actor_key_id: None,
            actor_label: label,
            source_ip: None,
            action: "account.sign_in",
            target_type: None,
            target_id: None,
            target_label: None,
            before_json: None,
            after_json: None,
        }
    }

    #[test]
    fn the_hash_depends_on_content_and_predecessor() {
        let a = chain_hash(None, &content("a@x.io"));
        assert_eq!(a, chain_hash(None, &content("a@x.io")));
        assert_ne!(a, chain_hash(None, &content("b@x.io")));
        assert_ne!(a, chain_hash(Some(&a), &content("a@x.io")));
    }
}
