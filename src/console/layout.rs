//! What the base template needs on every page: the title, the navigation the role may use, the CSRF
//! token for forms and htmx.

use super::auth::CurrentUser;
use super::moment::{MaybeMoment, Moment};

#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// The navigation entry to mark as current.
    pub section: &'static str,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    /// The request's time: relative times are counted from it.
    pub now: i64,
}

impl Layout {
    pub fn new(title: impl Into<String>, section: &'static str, user: &CurrentUser) -> Self {
        Self { title: title.into(), section, csrf: user.csrf.clone(), now: user.now, user: Some(user.clone()) }
    }

    pub fn bell_icon(&self) -> &'static str {
        super::notifications::BELL_ICON
    }

    /// For pages seen before signing in; `csrf` is the anonymous session's token.
    pub fn public(title: impl Into<String>, csrf: String) -> Self {
        Self { title: title.into(), section: "", user: None, csrf, now: crate::clock::Clock::System.now() }
    }

    /// For error pages, which carry no form.
    pub fn anonymous(title: impl Into<String>) -> Self {
        Self::public(title, String::new())
    }

    pub fn asset(&self, name: &str) -> String {
        super::assets::url(name)
    }

    pub fn can_administer(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.can_administer())
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

    /// "3 days ago", with the exact time on hover.
    pub fn when(&self, at: &i64) -> Moment {
        Moment::new(*at, self.now)
    }

    /// A time that may be absent: `absent` ("Never") stands in for it.
    pub fn when_or(&self, at: &Option<i64>, absent: &'static str) -> MaybeMoment {
        MaybeMoment::new(*at, self.now, absent)
    }

    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section { "page" } else { "false" }
    }
}
