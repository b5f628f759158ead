use super::Invalid;

/// An email address as accounts are keyed: trimmed and lower-cased, so lookups are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let email = input.trim().to_lowercase();
        let invalid = |msg: &str| Err(Invalid::new("email", msg));
        if email.is_empty() {
            return invalid("Enter an email address.");
        }
        if email.len() > 254 {
            return invalid("An email address has at most 254 characters.");
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return invalid("Enter an email address like name@example.com.");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty() && local.len() <= 64 && !local.chars().any(|c| c.is_whitespace() || c == '@');
        if !domain_ok || !local_ok || email.chars().any(char::is_control) {
            return invalid("Enter an email address like name@example.com.");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

/// Most allowed domains a workspace lists.
pub const MAX_DOMAINS: usize = 100;

/// A list of email domains (`example.com`, `@example.com`), separated by commas, spaces or lines;
/// lower-cased, de-duplicated, in the given order.
pub fn parse_domains(input: &str) -> Result<Vec<String>, Invalid> {
    let mut domains: Vec<String> = Vec::new();
    for word in input.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).filter(|w| !w.is_empty()) {
        let domain = word.trim_start_matches('@').to_lowercase();
        if Email::parse(&format!("x@{domain}")).is_err() || domain.len() > 253 {
            return Err(Invalid::new("domains", format!("\u{201c}{word}\u{201d} is not a domain like example.com.")));
        }
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    if domains.len() > MAX_DOMAINS {
        return Err(Invalid::new("domains", format!("List at most {MAX_DOMAINS} domains.")));
    }
    Ok(domains)
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domain_lists_are_normalised_and_checked() {
        assert_eq!(
            parse_domains("Example.com, @corp.example.org\nexample.com"),
            Ok(vec!["example.com".to_owned(), "corp.example.org".to_owned()])
        );
        assert_eq!(parse_domains("  "), Ok(Vec::new()));
        for bad in ["localhost", "exa mple", "a@b.com", "bad..com", "-"] {
            assert!(parse_domains(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ada@Example.COM ").map(|e| e.0), Ok("ada@example.com".to_owned()));
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in
            ["", "ada", "ada@", "@example.com", "ada@example", "ada@.com", "a da@example.com", "ada@exa mple.com"]
        {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,300}") {
            let _ = Email::parse(&s);
        }
    }
}
