//! The API Keys table's state — filter, search, sort, page — as the URL carries it, read the same way
//! by the console and the management API.

use crate::db::keys::{Filter, ListQuery, Sort};
use crate::domain::key_input::DAY;

/// Rows per page.
pub const PAGE_SIZE: i64 = 50;

/// The table's filters by URL code (`""`: all keys); `expiring` and `unused` also read `days`.
const FILTERS: [&str; 7] = ["", "active", "inactive", "expired", "expiring", "unused", "rotation"];

/// The table's sorts by URL code: one table for reading the URL and for marking the sorted column.
const SORTS: [(&str, Sort); 7] = [
    ("name", Sort::Name),
    ("type", Sort::Type),
    ("owner", Sort::Owner),
    ("status", Sort::Status),
    ("expires", Sort::Expires),
    ("last_used", Sort::LastUsed),
    ("created", Sort::Created),
];

/// The table's state, all of it in the URL so reload, back and links work (the API reads the same).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `active`, `inactive`, `expired`, `expiring` (within `days`), `unused` (for `days`); empty: all.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub filter: String,
    /// For `expiring` and `unused`: 1–3650, default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    /// Matches name, description, identifier, owner and type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub q: String,
    /// `name`, `type`, `owner`, `status`, `expires`, `last_used` or `created` (the default).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub sort: String,
    /// `asc` or `desc`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub dir: String,
    /// The previous page's `next`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(required = false)]
    pub after: String,
}

impl ListParams {
    pub fn days(&self) -> i64 {
        self.days.filter(|d| (1..=3650).contains(d)).unwrap_or(30)
    }

    /// The filter's URL code, `""` for all keys (and for anything unknown).
    pub fn filter_code(&self) -> &'static str {
        FILTERS.into_iter().find(|f| *f == self.filter).unwrap_or("")
    }

    pub fn filter(&self) -> Filter {
        match self.filter_code() {
            "active" => Filter::Active,
            "inactive" => Filter::Inactive,
            "expired" => Filter::Expired,
            "expiring" => Filter::ExpiringWithin(self.days() * DAY),
            "unused" => Filter::UnusedFor(self.days() * DAY),
            "rotation" => Filter::RotationDue(self.days() * DAY),
            _ => Filter::All,
        }
    }

    pub fn sort(&self) -> Sort {
        SORTS.into_iter().find(|(code, _)| *code == self.sort).map(|(_, sort)| sort).unwrap_or(
            // Keys about to expire, or just expired, read best by their expiry.
            if matches!(self.filter_code(), "expiring" | "expired") { Sort::Expires } else { Sort::Created },
        )
    }

    pub fn sort_code(&self) -> &'static str {
        let sort = self.sort();
        SORTS.into_iter().find(|(_, s)| *s == sort).map_or("created", |(code, _)| code)
    }

    pub fn descending(&self) -> bool {
        match self.dir.as_str() {
            "asc" => false,
            "desc" => true,
            _ => self.sort() == Sort::Created || self.filter_code() == "expired",
        }
    }

    pub fn query(&self) -> ListQuery {
        ListQuery {
            filter: self.filter(),
            search: Some(self.q.clone()).filter(|q| !q.trim().is_empty()),
            sort: self.sort(),
            descending: self.descending(),
            after: self.after.split_once(':').and_then(|(id, v)| Some((v.to_owned(), id.parse().ok()?))),
            limit: PAGE_SIZE,
            ..ListQuery::default()
        }
    }

    pub fn url(&self) -> String {
        let query = serde_urlencoded::to_string(self).unwrap_or_default();
        if query.is_empty() { "/keys".to_owned() } else { format!("/keys?{query}") }
    }

    /// The URL of the same view with another filter, from the first page.
    pub fn with_filter(&self, filter: &str) -> String {
        Self { filter: filter.to_owned(), after: String::new(), ..self.clone() }.url()
    }

    /// The URL sorted by `column`, toggling the direction when it is already the sort column.
    pub fn with_sort(&self, column: &str) -> String {
        let dir = if self.sort_code() == column && !self.descending() { "desc" } else { "asc" };
        Self { sort: column.to_owned(), dir: dir.to_owned(), after: String::new(), ..self.clone() }.url()
    }

    pub fn sort_mark(&self, column: &str) -> &'static str {
        match (self.sort_code() == column, self.descending()) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        }
    }

    pub fn is(&self, filter: &str) -> bool {
        self.filter_code() == filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(filter: &str, sort: &str, dir: &str) -> ListParams {
        ListParams { filter: filter.into(), sort: sort.into(), dir: dir.into(), ..ListParams::default() }
    }

    #[test]
    fn unknown_codes_fall_back_to_the_defaults() {
        let p = params("bogus", "bogus", "");
        assert!(p.is(""));
        assert_eq!((p.sort(), p.descending()), (Sort::Created, true));
        assert_eq!(p.sort_mark("created"), "descending");
    }

    #[test]
    fn expiry_views_sort_by_expiry_and_its_header_toggles() {
        let expiring = params("expiring", "", "");
        assert_eq!((expiring.sort(), expiring.descending()), (Sort::Expires, false));
        assert_eq!(expiring.sort_mark("expires"), "ascending");
        assert!(expiring.with_sort("expires").contains("dir=desc"), "clicking the sorted column reverses it");
        assert_eq!(params("expired", "", "").sort_mark("expires"), "descending");
        assert!(params("", "name", "asc").with_sort("owner").contains("sort=owner&dir=asc"));
    }
}
