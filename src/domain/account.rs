use super::Invalid;

/// A person's display name: trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        if name.is_empty() {
            return Err(Invalid::new("name", "Enter a name."));
        }
        if name.chars().count() > 100 {
            return Err(Invalid::new("name", "A name has at most 100 characters."));
        }
        super::name::refuse_invisible("name", "A name", name)?;
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A workspace name: the same rules as a display name.
pub fn workspace_name(input: &str) -> Result<String, Invalid> {
    DisplayName::parse(input)
        .map(|n| n.0)
        .map_err(|e| Invalid::new("workspace", e.message.replace("A name", "A workspace name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada Lovelace ").map(|n| n.0), Ok("Ada Lovelace".to_owned()));
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
    }
}
