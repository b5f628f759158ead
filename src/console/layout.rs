//! What the base template needs on every page: the title, the navigation the role may use, the CSRF
//! token for forms and htmx.

use super::auth::CurrentUser;

#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// The navigation entry to mark as current.
    pub section: &'static str,
    pub user: Option<CurrentUser>,
    pub csrf: String,
}

impl Layout {
    pub fn new(title: impl Into<String>, section: &'static str, user: &CurrentUser) -> Self {
        Self { title: title.into(), section, csrf: user.csrf.clone(), user: Some(user.clone()) }
    }

    pub fn bell_icon(&self) -> &'static str {
        super::notifications::BELL_ICON
    }

    /// For pages seen before signing in; `csrf` is the anonymous session's token.
    pub fn public(title: impl Into<String>, csrf: String) -> Self {
        Self { title: title.into(), section: "", user: None, csrf }
    }

    /// For error pages, which carry no form.
    pub fn anonymous(title: impl Into<String>) -> Self {
        Self::public(title, String::new())
    }

    pub fn asset(&self, name: &str) -> String {
        super::assets::url(name)
    }

    pub fn can_read_all(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.can_read_all())
    }

    /// The workspaces to offer in the switcher: only for members of more than one.
    pub fn switchable(&self) -> &[crate::services::sessions::Workspace] {
        match &self.user {
            Some(u) if u.workspaces.len() > 1 => &u.workspaces,
            _ => &[],
        }
    }

    pub fn is_super_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_super_admin)
    }

    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section { "page" } else { "false" }
    }
}
