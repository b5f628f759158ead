//! URI rules of a permission: an HTTP method (or `*` for any) and a path pattern in which `*` matches
//! exactly one segment and a final `**` matches the rest (zero or more segments).
//!
//! Matching is deliberately strict: a request path with `.` or `..` segments, or with a query, never
//! matches — a proxy must send the normalised path.

use super::Invalid;

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
pub const MAX_PATTERN_LEN: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriRule {
    /// Upper-case method, or `*`.
    method: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

impl UriRule {
    pub fn parse(method: &str, pattern: &str) -> Result<Self, Invalid> {
        let method = method.trim().to_ascii_uppercase();
        if method != "*" && !METHODS.contains(&method.as_str()) {
            return Err(Invalid::new(
                "method",
                format!("{method:?} is not an HTTP method; use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or *."),
            ));
        }
        let pattern = pattern.trim();
        let bad = |m: &str| Err(Invalid::new("pattern", format!("{pattern:?}: {m}")));
        if pattern.len() > MAX_PATTERN_LEN {
            return bad("a path pattern has at most 500 characters.");
        }
        let Some(rest) = pattern.strip_prefix('/') else {
            return bad("a path pattern starts with /.");
        };
        if pattern.contains(['?', '#']) || pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("a path pattern has no query, fragment or spaces.");
        }
        let parts: Vec<&str> = if rest.is_empty() { Vec::new() } else { rest.split('/').collect() };
        let mut segments = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let segment = match *part {
                "" => return bad("empty segments (//) are not allowed."),
                "." | ".." => return bad(". and .. segments are not allowed."),
                "**" if i + 1 == parts.len() => Segment::Rest,
                "**" => return bad("** may only end a pattern."),
                "*" => Segment::One,
                p if p.contains('*') => return bad("* stands alone in a segment (like /devices/*/lock)."),
                p => Segment::Literal(p.to_owned()),
            };
            segments.push(segment);
        }
        Ok(Self { method, segments })
    }

    pub fn method(&self) -> &str {
        &self.method
    }

    pub fn pattern(&self) -> String {
        let parts: Vec<&str> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => l.as_str(),
                Segment::One => "*",
                Segment::Rest => "**",
            })
            .collect();
        format!("/{}", parts.join("/"))
    }

    /// Whether a request with this method and path is covered by the rule.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self.method != "*" && !self.method.eq_ignore_ascii_case(method.trim()) {
            return false;
        }
        let Some(rest) = path.strip_prefix('/') else { return false };
        if path.contains(['?', '#']) {
            return false;
        }
        // A single trailing slash is the same resource; anything stranger never matches.
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let parts: Vec<&str> = if rest.is_empty() { Vec::new() } else { rest.split('/').collect() };
        if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
            return false;
        }
        let mut i = 0;
        for segment in &self.segments {
            match segment {
                Segment::Rest => return true,
                Segment::One if i < parts.len() => i += 1,
                Segment::Literal(l) if parts.get(i) == Some(&l.as_str()) => i += 1,
                _ => return false,
            }
        }
        i == parts.len()
    }
}

impl std::fmt::Display for UriRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.pattern())
    }
}

/// Parses a rule written as `METHOD /path` (one per line in the catalogue form).
pub fn parse_line(line: &str) -> Result<UriRule, Invalid> {
    let line = line.trim();
    let (method, pattern) = line.split_once(char::is_whitespace).unwrap_or(("", line));
    if method.is_empty() {
        return Err(Invalid::new(
            "rules",
            format!("{line:?}: write a rule as METHOD /path, e.g. POST /integration/device/lock."),
        ));
    }
    UriRule::parse(method, pattern)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(method: &str, pattern: &str) -> UriRule {
        UriRule::parse(method, pattern).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn literal_paths_match_exactly_and_methods_must_agree() {
        let r = rule("post", "/integration/device/sendmsg");
        assert_eq!(r.to_string(), "POST /integration/device/sendmsg");
        assert!(r.matches("POST", "/integration/device/sendmsg"));
        assert!(r.matches("post", "/integration/device/sendmsg/"), "one trailing slash is the same resource");
        assert!(!r.matches("GET", "/integration/device/sendmsg"));
        assert!(!r.matches("POST", "/integration/device/sendmsg/x"));
        assert!(!r.matches("POST", "/integration/device"));
        assert!(!r.matches("POST", "/Integration/device/sendmsg"), "paths are case-sensitive");
    }

    #[test]
    fn a_star_is_exactly_one_segment() {
        let r = rule("*", "/devices/*/lock");
        assert!(r.matches("PUT", "/devices/42/lock"));
        assert!(!r.matches("PUT", "/devices/lock"));
        assert!(!r.matches("PUT", "/devices/42/43/lock"));
        assert!(!r.matches("PUT", "/devices//lock"));
    }

    #[test]
    fn a_double_star_is_the_rest_including_nothing() {
        let r = rule("GET", "/devices/**");
        assert!(r.matches("GET", "/devices"));
        assert!(r.matches("GET", "/devices/1"));
        assert!(r.matches("GET", "/devices/1/location/history"));
        assert!(!r.matches("GET", "/device"));
        assert!(rule("*", "/**").matches("DELETE", "/anything/at/all"));
        assert!(rule("GET", "/").matches("GET", "/"));
        assert!(!rule("GET", "/").matches("GET", "/x"));
    }

    #[test]
    fn dot_segments_and_queries_never_match() {
        let r = rule("*", "/public/**");
        assert!(!r.matches("GET", "/public/../admin"));
        assert!(!r.matches("GET", "/public/./x"));
        assert!(!r.matches("GET", "/public/x?y=1"));
        assert!(!r.matches("GET", "public/x"));
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        for (method, pattern) in [
            ("FETCH", "/a"),
            ("GET", "a/b"),
            ("GET", "/a//b"),
            ("GET", "/a/**/b"),
            ("GET", "/a/b*"),
            ("GET", "/a/../b"),
            ("GET", "/a?b"),
            ("GET", "/a b"),
        ] {
            assert!(UriRule::parse(method, pattern).is_err(), "{method} {pattern}");
        }
        assert!(UriRule::parse("GET", &format!("/{}", "a".repeat(600))).is_err());
    }

    #[test]
    fn rule_lines_read_method_then_path() {
        assert_eq!(
            parse_line(" POST  /integration/device/lock ").map(|r| r.to_string()),
            Ok("POST /integration/device/lock".into())
        );
        assert!(parse_line("/integration/device/lock").is_err());
    }

    proptest! {
        #[test]
        fn no_pattern_or_path_makes_the_matcher_panic(method in "[A-Za-z*]{0,8}", pattern in "\\PC{0,60}", path in "\\PC{0,60}") {
            if let Ok(r) = UriRule::parse(&method, &pattern) {
                let _ = r.matches(&method, &path);
                prop_assert_eq!(UriRule::parse(r.method(), &r.pattern()), Ok(r.clone()));
            }
        }

        #[test]
        fn a_literal_pattern_matches_itself(parts in proptest::collection::vec("[a-z0-9_-]{1,8}", 0..6)) {
            let path = format!("/{}", parts.join("/"));
            prop_assert!(rule("GET", &path).matches("GET", &path));
            prop_assert!(rule("GET", "/**").matches("GET", &path));
        }
    }
}
