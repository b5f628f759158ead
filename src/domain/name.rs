//! What every name people type (keys, people, workspaces, key types, roles) shares: no invisible
//! characters, and uniqueness judged on the name as it looks. Without these a second key named
//! `Billing<U+200B>` or `<U+202E>gnilliB` would look like the first one in every list.

use unicode_normalization::UnicodeNormalization as _;

/// Control characters and Unicode format characters (category Cf: zero-width spaces and joiners,
/// direction overrides and isolates, the byte-order mark, invisible operators, tags…).
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(u32::from(c),
            0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E | 0x200B..=0x200F
            | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD
            | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// Whether the name holds an invisible character; `what` starts the message ("A key name").
pub fn refuse_invisible(field: &'static str, what: &str, name: &str) -> Result<(), super::Invalid> {
    match name.chars().find(|c| is_invisible(*c)) {
        Some(c) => Err(super::Invalid::new(
            field,
            format!("{what} cannot contain invisible or control characters (it holds U+{:04X}).", u32::from(c)),
        )),
        None => Ok(()),
    }
}

/// The form names are compared in for uniqueness: compatibility-normalised (NFKC: full-width letters,
/// ligatures and the like become plain ones), lower-cased, every run of spaces one space.
pub fn comparable(name: &str) -> String {
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_refused_with_their_code() {
        for bad in ["Billing\u{200B}", "\u{202E}gnilliB", "\u{FEFF}Billing", "Bil\u{2066}ling", "a\u{7}"] {
            let refused = refuse_invisible("name", "A key name", bad);
            assert!(refused.is_err(), "{bad:?}");
        }
        assert!(refuse_invisible("name", "A key name", "Billing sync – EU (ü)").is_ok());
        assert_eq!(
            refuse_invisible("name", "A key name", "x\u{202E}").map_err(|e| e.message),
            Err("A key name cannot contain invisible or control characters (it holds U+202E).".to_owned())
        );
    }

    #[test]
    fn names_that_look_alike_compare_equal() {
        assert_eq!(comparable("Billing  Sync"), comparable("billing sync"));
        assert_eq!(comparable("Ｂｉｌｌｉｎｇ"), comparable("billing"));
        assert_eq!(comparable("Billing\u{00A0}Sync"), comparable("billing sync"));
        assert_ne!(comparable("Billing"), comparable("Bi11ing"));
    }
}
