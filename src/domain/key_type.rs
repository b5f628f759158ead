//! Kinds of API key. Each has its own prefix, an optional identifying field (e.g. the Application EUI
//! an Application key belongs to), and whether its keys may be edited after creation.

/// A key type as seeded into every new workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedKeyType {
    pub name: &'static str,
    pub prefix: &'static str,
    pub id_field_label: Option<&'static str>,
    pub editable: bool,
    pub one_per_account: bool,
}

pub const SEEDED: [SeedKeyType; 4] = [
    SeedKeyType {
        name: "Application",
        prefix: "kwa",
        id_field_label: Some("Application EUI"),
        editable: false,
        one_per_account: false,
    },
    SeedKeyType {
        name: "Customer",
        prefix: "kwc",
        id_field_label: Some("Customer ID"),
        editable: false,
        one_per_account: false,
    },
    SeedKeyType { name: "Integration", prefix: "kwi", id_field_label: None, editable: true, one_per_account: false },
    SeedKeyType { name: "Personal", prefix: "kwp", id_field_label: None, editable: true, one_per_account: true },
];

/// The built-in roles of every workspace: they cannot be edited or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    /// Everything, including writes through the management API.
    Admin,
    /// Reads through the management API, and every permission with no write effect.
    ReadOnly,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 2] = [BuiltinRole::Admin, BuiltinRole::ReadOnly];

    pub fn code(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "admin",
            BuiltinRole::ReadOnly => "readonly",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "ADMIN",
            BuiltinRole::ReadOnly => "READONLY",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "Everything, including write access to the management API.",
            BuiltinRole::ReadOnly => {
                "Read-only access to the management API and every permission with no write effect."
            }
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_prefixes_are_valid_and_distinct() {
        for (i, t) in SEEDED.iter().enumerate() {
            assert!(super::super::key::parse_prefix(t.prefix).is_ok(), "{}", t.prefix);
            assert!(SEEDED[i + 1..].iter().all(|o| o.prefix != t.prefix && o.name != t.name));
        }
    }
}
