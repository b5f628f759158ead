//! Effective access: what a key may do. A key's grants are its roles' permissions and its direct
//! permissions (or, acting as its owner, everything the owner holds); what it may actually use is
//! that intersected with its owner's grants, so a key never does more than the person who owns it.
//! The built-in ADMIN role grants every permission; READONLY every permission with no write effect.

use std::collections::BTreeSet;

use super::uri::UriRule;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub id: i64,
    pub name: String,
    pub label: String,
    pub high_risk: bool,
    /// False when using it changes nothing (READONLY grants these).
    pub writes: bool,
    pub rules: Vec<UriRule>,
}

/// What a key, or an account, is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Grants {
    /// Holds the ADMIN role.
    pub everything: bool,
    /// Holds the READONLY role.
    pub read_only: bool,
    /// Permission ids granted directly or through custom roles.
    pub permissions: BTreeSet<i64>,
    /// The roles these grants come through (what a change of one of them affects).
    pub roles: BTreeSet<i64>,
}

impl Grants {
    pub fn includes(&self, p: &Permission) -> bool {
        self.everything || (self.read_only && !p.writes) || self.permissions.contains(&p.id)
    }
}

/// A key's grants, its owner's, and the catalogue they refer to.
#[derive(Debug, Clone)]
pub struct Access<'a> {
    pub catalogue: &'a [Permission],
    pub key: &'a Grants,
    pub owner: &'a Grants,
    pub act_as_owner: bool,
}

/// What a caller wants the key checked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    Permission(String),
    Request { method: String, path: String },
}

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No permission of that name exists.
    UnknownPermission(String),
    /// No permission's URI rules cover the request.
    Uncovered { method: String, path: String },
    /// The request's path could be read as another path by the server behind the proxy.
    AmbiguousPath(super::uri::Ambiguous),
    /// These permissions would allow it, but the key is not granted any of them.
    KeyLacks(Vec<String>),
    /// The key is granted one of these, but its owner no longer holds it.
    OwnerLacks(Vec<String>),
}

impl Denial {
    /// The permission names a caller would need.
    pub fn missing(&self) -> Vec<String> {
        match self {
            Denial::UnknownPermission(name) => vec![name.clone()],
            Denial::Uncovered { .. } | Denial::AmbiguousPath(_) => Vec::new(),
            Denial::KeyLacks(names) | Denial::OwnerLacks(names) => names.clone(),
        }
    }
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denial::UnknownPermission(name) => write!(f, "no permission named {name} exists"),
            Denial::Uncovered { method, path } => write!(f, "no permission's URI rules cover {method} {path}"),
            Denial::AmbiguousPath(why) => write!(f, "the request path is refused: {why}"),
            Denial::KeyLacks(names) => write!(f, "the key is not granted {}", names.join(" or ")),
            Denial::OwnerLacks(names) => write!(f, "the key's owner no longer holds {}", names.join(" or ")),
        }
    }
}

impl Access<'_> {
    fn key_has(&self, p: &Permission) -> bool {
        self.act_as_owner || self.key.includes(p)
    }

    /// Every permission the key may use.
    pub fn effective(&self) -> Vec<&Permission> {
        self.catalogue.iter().filter(|p| self.key_has(p) && self.owner.includes(p)).collect()
    }

    /// Granted to the key but not to its owner: what the key would use if the owner held it, shown so
    /// the gap is visible.
    pub fn held_back(&self) -> Vec<&Permission> {
        self.catalogue.iter().filter(|p| self.key_has(p) && !self.owner.includes(p)).collect()
    }

    /// May the key use the named permission? Returns the permission that allows it.
    pub fn check_permission(&self, name: &str) -> Result<&Permission, Denial> {
        let p =
            self.catalogue.iter().find(|p| p.name == name).ok_or_else(|| Denial::UnknownPermission(name.to_owned()))?;
        self.decide(&[p])
    }

    /// May the key make this request? Any permission whose rules cover its normalised path will do.
    pub fn check_request(&self, method: &str, path: &str) -> Result<&Permission, Denial> {
        let path = super::uri::normalise_path(path).map_err(Denial::AmbiguousPath)?;
        let covering: Vec<&Permission> =
            self.catalogue.iter().filter(|p| p.rules.iter().any(|r| r.matches(method, &path))).collect();
        if covering.is_empty() {
            return Err(Denial::Uncovered { method: method.to_owned(), path });
        }
        self.decide(&covering)
    }

    pub fn check(&self, want: &Want) -> Result<&Permission, Denial> {
        match want {
            Want::Permission(name) => self.check_permission(name),
            Want::Request { method, path } => self.check_request(method, path),
        }
    }

    fn decide<'p>(&self, candidates: &[&'p Permission]) -> Result<&'p Permission, Denial> {
        if let Some(p) = candidates.iter().find(|p| self.key_has(p) && self.owner.includes(p)) {
            return Ok(p);
        }
        let names = |ps: Vec<&&Permission>| ps.into_iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        let granted: Vec<&&Permission> = candidates.iter().filter(|p| self.key_has(p)).collect();
        if granted.is_empty() {
            Err(Denial::KeyLacks(names(candidates.iter().collect())))
        } else {
            Err(Denial::OwnerLacks(names(granted)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(id: i64, name: &str, writes: bool, rules: &[(&str, &str)]) -> Permission {
        Permission {
            id,
            name: name.into(),
            label: name.into(),
            high_risk: false,
            writes,
            rules: rules.iter().map(|(m, p)| UriRule::parse(m, p).unwrap_or_else(|e| panic!("{e}"))).collect(),
        }
    }

    fn catalogue() -> Vec<Permission> {
        vec![
            perm(1, "device.location", false, &[("GET", "/integration/device/*/location")]),
            perm(2, "device.lock", true, &[("POST", "/integration/device/*/lock")]),
            perm(3, "device.wipe", true, &[("POST", "/integration/device/*/wipe")]),
        ]
    }

    fn grants(ids: &[i64]) -> Grants {
        Grants { permissions: ids.iter().copied().collect(), ..Grants::default() }
    }

    #[test]
    fn a_key_never_exceeds_its_owner() {
        let c = catalogue();
        let (key, owner) = (grants(&[1, 2]), grants(&[2, 3]));
        let access = Access { catalogue: &c, key: &key, owner: &owner, act_as_owner: false };
        assert_eq!(access.effective().iter().map(|p| p.id).collect::<Vec<_>>(), [2]);
        assert_eq!(access.check_permission("device.lock").map(|p| p.id), Ok(2));
        assert_eq!(access.check_permission("device.location"), Err(Denial::OwnerLacks(vec!["device.location".into()])));
        assert_eq!(access.check_permission("device.wipe"), Err(Denial::KeyLacks(vec!["device.wipe".into()])));
        assert_eq!(access.check_permission("nope").map_err(|d| d.missing()), Err(vec!["nope".to_owned()]));
    }

    #[test]
    fn requests_are_allowed_by_any_covering_permission() {
        let c = catalogue();
        let (key, owner) = (grants(&[2]), grants(&[1, 2, 3]));
        let access = Access { catalogue: &c, key: &key, owner: &owner, act_as_owner: false };
        assert_eq!(access.check_request("POST", "/integration/device/7/lock").map(|p| p.id), Ok(2));
        assert_eq!(
            access.check_request("POST", "/integration/device/7/wipe"),
            Err(Denial::KeyLacks(vec!["device.wipe".into()]))
        );
        assert!(matches!(access.check_request("GET", "/elsewhere"), Err(Denial::Uncovered { .. })));
        // Normalised once: dot segments resolve (and may land inside a rule), encoded dots are refused.
        assert_eq!(access.check_request("POST", "/integration/device/7/../9/lock").map(|p| p.id), Ok(2));
        assert!(access.check_request("POST", "/integration/device/7/%2e%2e/9/lock").is_err());
    }

    #[test]
    fn builtin_roles_and_acting_as_owner() {
        let c = catalogue();
        let everything = Grants { everything: true, ..Grants::default() };
        let read_only = Grants { read_only: true, ..Grants::default() };
        let none = Grants::default();
        let ids = |a: Access<'_>| a.effective().iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids(Access { catalogue: &c, key: &everything, owner: &everything, act_as_owner: false }), [1, 2, 3]);
        assert_eq!(ids(Access { catalogue: &c, key: &read_only, owner: &everything, act_as_owner: false }), [1]);
        assert_eq!(ids(Access { catalogue: &c, key: &none, owner: &grants(&[1, 3]), act_as_owner: true }), [1, 3]);
        assert!(ids(Access { catalogue: &c, key: &everything, owner: &none, act_as_owner: false }).is_empty());
    }

    #[test]
    fn denials_explain_themselves() {
        assert_eq!(
            Denial::OwnerLacks(vec!["a".into(), "b".into()]).to_string(),
            "the key's owner no longer holds a or b"
        );
        assert_eq!(Denial::Uncovered { method: "GET".into(), path: "/x".into() }.missing(), Vec::<String>::new());
    }
}
