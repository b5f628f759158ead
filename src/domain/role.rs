/// What an account may do in a workspace's console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsoleRole {
    /// Everything: users, roles, keys, settings; may reveal keys after re-authentication.
    Administrator,
    /// Reads everything but secrets; changes nothing.
    Auditor,
    /// Sees and manages only the keys they own.
    Member,
}

impl ConsoleRole {
    pub const ALL: [ConsoleRole; 3] = [ConsoleRole::Administrator, ConsoleRole::Auditor, ConsoleRole::Member];

    /// The value stored in the database and sent by forms.
    pub fn code(self) -> &'static str {
        match self {
            ConsoleRole::Administrator => "admin",
            ConsoleRole::Auditor => "auditor",
            ConsoleRole::Member => "member",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConsoleRole::Administrator => "Administrator",
            ConsoleRole::Auditor => "Auditor",
            ConsoleRole::Member => "Member",
        }
    }

    /// Accepts the code or the label, in any case ("admin", "Administrator", "AUDITOR").
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        Self::ALL.into_iter().find(|r| r.code().eq_ignore_ascii_case(input) || r.label().eq_ignore_ascii_case(input))
    }

    pub fn can_read_all(self) -> bool {
        matches!(self, ConsoleRole::Administrator | ConsoleRole::Auditor)
    }

    /// Holds keys of its own and changes them: Administrators and Members, not Auditors.
    pub fn can_change_keys(self) -> bool {
        matches!(self, ConsoleRole::Administrator | ConsoleRole::Member)
    }

    pub fn can_administer(self) -> bool {
        self == ConsoleRole::Administrator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_labels_round_trip() {
        for role in ConsoleRole::ALL {
            assert_eq!(ConsoleRole::parse(role.code()), Some(role));
            assert_eq!(ConsoleRole::parse(&role.label().to_uppercase()), Some(role));
        }
        assert_eq!(ConsoleRole::parse("root"), None);
    }
}
