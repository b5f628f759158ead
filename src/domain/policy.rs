//! Who may do what to a key. Handlers and the API ask these; rows a caller may not see answer 404.

use super::role::ConsoleRole;

/// Sees the key's metadata: Administrators and Auditors see every key of the workspace, Members their own.
pub fn may_view_key(role: ConsoleRole, is_owner: bool) -> bool {
    role.can_read_all() || is_owner
}

/// Edits, rotates, (de)activates, reassigns or deletes it: Administrators any key, Members their own,
/// Auditors none.
pub fn may_manage_key(role: ConsoleRole, is_owner: bool) -> bool {
    // The same rule as the console's `KeyManager` guard, plus the row: one definition of who changes keys.
    role.can_change_keys() && (role.can_administer() || is_owner)
}

/// Reveals the secret after re-authentication: Administrators any key, Members their own, Auditors never.
pub fn may_reveal_key(role: ConsoleRole, is_owner: bool) -> bool {
    may_manage_key(role, is_owner)
}

/// Receives keys from someone else (reassignment, a departing owner's hand-over): Administrators and
/// Members. Auditors change nothing, so a key handed to one could be neither rotated nor revoked by its
/// owner. (An Administrator may still create a key for an Auditor's own read access, and stays in charge of it.)
pub fn may_take_over_keys(role: ConsoleRole) -> bool {
    role.can_change_keys()
}

/// Creates a key owned by someone else: Administrators only.
pub fn may_create_for_others(role: ConsoleRole) -> bool {
    role.can_administer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsoleRole::{Administrator, Auditor, Member};

    #[test]
    fn the_key_matrix() {
        // (role, owner?) → (view, manage, reveal)
        let cases = [
            (Administrator, false, (true, true, true)),
            (Administrator, true, (true, true, true)),
            (Auditor, false, (true, false, false)),
            (Auditor, true, (true, false, false)),
            (Member, true, (true, true, true)),
            (Member, false, (false, false, false)),
        ];
        for (role, owner, expected) in cases {
            let got = (may_view_key(role, owner), may_manage_key(role, owner), may_reveal_key(role, owner));
            assert_eq!(got, expected, "{role:?} owner={owner}");
        }
        assert!(may_create_for_others(Administrator));
        assert!(!may_create_for_others(Member) && !may_create_for_others(Auditor));
    }
}
