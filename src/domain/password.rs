use super::Invalid;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A new password that satisfies the policy. Its `Debug` never prints the text.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(input: &str, confirmation: &str, email: &str) -> Result<Self, Invalid> {
        let invalid = |msg: String| Err(Invalid::new("password", msg));
        if input.chars().count() < MIN_PASSWORD_CHARS {
            return invalid(format!("Use at least {MIN_PASSWORD_CHARS} characters."));
        }
        if input.len() > MAX_PASSWORD_BYTES {
            return invalid(format!("Use at most {MAX_PASSWORD_BYTES} bytes."));
        }
        if input.trim().is_empty() || input.eq_ignore_ascii_case(email) {
            return invalid("Choose a password that is not your email address.".into());
        }
        if input.chars().all(|c| input.starts_with(c)) {
            return invalid("Choose a password that is not one repeated character.".into());
        }
        if input != confirmation {
            return Err(Invalid::new("confirm", "The two passwords differ."));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused() {
        assert!(NewPassword::parse("short", "short", "a@b.c").is_err());
    }

    #[test]
    fn the_confirmation_must_match() {
        let err = NewPassword::parse("correct horse battery", "correct horse batterx", "a@b.c").err();
        assert_eq!(err.map(|e| e.field), Some("confirm"));
    }

    #[test]
    fn the_email_and_repeated_characters_are_refused() {
        assert!(NewPassword::parse("ada@example.com", "ada@example.com", "ada@example.com").is_err());
        assert!(NewPassword::parse("aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", "a@b.c").is_err());
    }

    #[test]
    fn debug_hides_the_text() {
        let pw = NewPassword::parse("correct horse battery", "correct horse battery", "a@b.c");
        assert!(pw.is_ok_and(|p| !format!("{p:?}").contains("horse")));
    }
}
