//! The product's use cases, shared by the console, the API and the command line. Each parses its
//! input into domain types, applies the rules, and writes through `db` in one transaction.

pub mod access_review;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod catalogues;
pub mod dashboard;
pub mod demo;
pub mod directory;
pub mod email;
pub mod grants;
pub mod health;
pub mod import;
pub mod invitations;
pub mod key_forms;
pub mod key_list;
pub mod key_page;
pub mod key_test;
pub mod key_types;
pub mod keys;
pub mod master_key;
pub mod notifications;
pub mod outbound;
pub mod password_links;
pub mod permissions;
pub mod policies;
pub mod reminders;
pub mod roles;
pub mod second_factor;
pub mod sessions;
pub mod setup;
pub mod shared_secret;
pub mod sheet;
pub mod sso;
pub mod two_factor;
pub mod verify;
pub mod webhooks;
pub mod whitelist;
pub mod workspaces;

use crate::domain::role::ConsoleRole;
use accounts::Origin;

/// Who is acting, where, and with which console role: the console's signed-in account, the command
/// line (acting as an Administrator), or later a management-API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub workspace_id: i64,
    /// `None` for the command line.
    pub account_id: Option<i64>,
    pub role: ConsoleRole,
    pub origin: Origin,
}

impl Caller {
    pub fn is(&self, account_id: i64) -> bool {
        self.account_id == Some(account_id)
    }

    /// An audit event by this caller in its workspace, from its address.
    pub fn event(&self, action: &'static str) -> crate::domain::audit::Event {
        let mut event =
            crate::domain::audit::Event::new(action, self.origin.actor.clone()).in_workspace(self.workspace_id);
        event.source_ip = self.origin.ip.clone();
        event
    }

    /// Administrators only.
    pub fn must_administer(&self) -> crate::error::Result<()> {
        if self.role.can_administer() { Ok(()) } else { Err(crate::error::Error::Forbidden) }
    }
}
