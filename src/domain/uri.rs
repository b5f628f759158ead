//! URI rules of a permission: an HTTP method (or `*` for any) and a path pattern in which `*` matches
//! exactly one segment and a final `**` matches the rest (zero or more segments).
//!
//! A request path is normalised once, by `normalise_path`, before any rule sees it, whichever way it came
//! (forward-auth headers, Envoy's path tail, the verify API, the test-key page). Matching itself stays
//! strict: a path with `.` or `..` segments, or with a query, never matches.

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

/// Why a request path is refused before any rule is tried: one server behind a proxy could read it as one
/// path and another as a different one, so it cannot be judged safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ambiguous {
    /// `%2F`, `%5C` or a raw `\`: a separator to some servers, part of a name to others.
    Separator,
    /// `%2E`: a dot segment to servers that decode before resolving dots, a name to others.
    EncodedDot,
    /// `%25` before two hex digits: a second decoding would read another path.
    DoubleEncoded,
    /// A control character or NUL, raw or encoded.
    Control,
    /// `%` not followed by two hex digits, or bytes that are not UTF-8 once decoded.
    BadEncoding,
    /// A dot segment with `;` parameters (`..;`): `..` to servers that drop parameters, a name to others.
    DotWithParameters,
    /// An empty segment (`//`) before `..`: where `..` lands depends on whether the server collapses `//`.
    EmptyWithDots,
    /// `..` climbing above the root.
    AboveRoot,
    /// Not a path: it does not start with `/`.
    NotAPath,
}

impl std::fmt::Display for Ambiguous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ambiguous::Separator => "it holds a backslash or an encoded slash",
            Ambiguous::EncodedDot => "it holds an encoded dot",
            Ambiguous::DoubleEncoded => "it is percent-encoded twice",
            Ambiguous::Control => "it holds a control character",
            Ambiguous::BadEncoding => "its percent-encoding is not valid UTF-8",
            Ambiguous::DotWithParameters => "a dot segment carries ; parameters",
            Ambiguous::EmptyWithDots => "an empty segment (//) comes before ..",
            Ambiguous::AboveRoot => "its .. segments climb above the root",
            Ambiguous::NotAPath => "it does not start with /",
        })
    }
}

/// The path as the rules see it: percent-decoded once, `.` and empty segments dropped, `..` resolved, a
/// trailing slash kept. `;` parameters stay part of their segment (so `/public;x` is not `/public`), and
/// case is kept: rules match exactly, so a server that drops parameters or ignores case can only be
/// refused more, never allowed more. Whatever servers could read as different paths is refused.
pub fn normalise_path(raw: &str) -> Result<String, Ambiguous> {
    if !raw.starts_with('/') {
        return Err(Ambiguous::NotAPath);
    }
    let bytes = raw.as_bytes();
    let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = match bytes[i] {
            b'%' => {
                let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else { return Err(Ambiguous::BadEncoding) };
                i += 2;
                match u8::try_from(hi * 16 + lo).map_err(|_| Ambiguous::BadEncoding)? {
                    b'/' | b'\\' => return Err(Ambiguous::Separator),
                    b'.' => return Err(Ambiguous::EncodedDot),
                    b'%' if hex(i + 1).is_some() && hex(i + 2).is_some() => return Err(Ambiguous::DoubleEncoded),
                    b => b,
                }
            }
            b'\\' => return Err(Ambiguous::Separator),
            b => b,
        };
        if byte < 0x20 || byte == 0x7f {
            return Err(Ambiguous::Control);
        }
        decoded.push(byte);
        i += 1;
    }
    let decoded = String::from_utf8(decoded).map_err(|_| Ambiguous::BadEncoding)?;
    let segments: Vec<&str> = decoded[1..].split('/').collect();
    let inner_empty = segments.iter().rev().skip(1).any(|s| s.is_empty());
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for segment in &segments {
        match *segment {
            "" | "." => {}
            ".." if inner_empty => return Err(Ambiguous::EmptyWithDots),
            ".." => {
                kept.pop().ok_or(Ambiguous::AboveRoot)?;
            }
            s if matches!(s.split(';').next(), Some("." | "..")) => return Err(Ambiguous::DotWithParameters),
            name => kept.push(name),
        }
    }
    let trailing = decoded.len() > 1 && decoded.ends_with('/') && !kept.is_empty();
    Ok(format!("/{}{}", kept.join("/"), if trailing { "/" } else { "" }))
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

    #[test]
    fn paths_are_normalised_once_and_ambiguous_ones_refused() {
        for (raw, normal) in [
            ("/public/x", "/public/x"),
            ("/public/./x/", "/public/x/"),
            ("/public//x", "/public/x"),
            ("/admin/../public/x", "/public/x"),
            ("/pub%6cic/a%20b", "/public/a b"),
            ("/public/x;jsessionid=1", "/public/x;jsessionid=1"),
            ("/", "/"),
            ("/public/..", "/"),
        ] {
            assert_eq!(normalise_path(raw).as_deref(), Ok(normal), "{raw}");
        }
        for (raw, why) in [
            ("/public/%2e%2e/admin/x", Ambiguous::EncodedDot),
            ("/public/%2E%2E%2Fadmin/x", Ambiguous::EncodedDot),
            ("/public/..%2fadmin/x", Ambiguous::Separator),
            ("/public/..;/admin/x", Ambiguous::DotWithParameters),
            ("/public/.;x/admin", Ambiguous::DotWithParameters),
            ("/public\\..\\admin", Ambiguous::Separator),
            ("/public/%5c../admin", Ambiguous::Separator),
            ("/public/%252e%252e/admin", Ambiguous::DoubleEncoded),
            ("/public/%00/x", Ambiguous::Control),
            ("/public/\u{1}", Ambiguous::Control),
            ("/public/%zz", Ambiguous::BadEncoding),
            ("/public/%ff", Ambiguous::BadEncoding),
            ("/x//../public/y", Ambiguous::EmptyWithDots),
            ("/../public", Ambiguous::AboveRoot),
            ("public", Ambiguous::NotAPath),
        ] {
            assert_eq!(normalise_path(raw), Err(why), "{raw}");
        }
    }

    /// Where a server behind the proxy could land for `raw`: reading `\\` as `/` or not, decoding before or
    /// after resolving dots, dropping `;` parameters or not, collapsing `//` or not. `None` when it would
    /// refuse the path.
    fn served(
        raw: &str,
        (backslash, decode_first, drop_parameters, collapse): (bool, bool, bool, bool),
    ) -> Option<String> {
        let raw = if backslash { raw.replace('\\', "/") } else { raw.to_owned() };
        fn decode(s: &str) -> String {
            let b = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                let hex = |at: usize| b.get(at).and_then(|c| char::from(*c).to_digit(16));
                match (b[i], hex(i + 1), hex(i + 2)) {
                    (b'%', Some(h), Some(l)) => {
                        out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                        i += 3;
                    }
                    (c, _, _) => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        }
        let text = if decode_first { decode(&raw) } else { raw.clone() };
        let mut kept: Vec<String> = Vec::new();
        let mut parts = text.split('/').skip(1).peekable();
        while let Some(part) = parts.next() {
            let part = if drop_parameters { part.split(';').next().unwrap_or("") } else { part };
            match part {
                "." => {}
                "" if collapse || parts.peek().is_none() => {}
                ".." => {
                    kept.pop()?;
                }
                name => kept.push(if decode_first { name.to_owned() } else { decode(name) }),
            }
        }
        // An empty segment left standing names nothing of its own; it only mattered to where `..` landed.
        Some(format!("/{}", kept.iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join("/")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        /// No path is allowed by `GET /public/**` after normalising unless every way a server could read it
        /// stays inside `/public`; and plain paths under `/public` stay allowed.
        #[test]
        fn nothing_outside_a_rule_is_ever_allowed(
            parts in proptest::collection::vec(prop_oneof![
                4 => Just("public"), 2 => Just("x"), 4 => Just(".."), 1 => Just("."), 2 => Just(""), 2 => Just("%2e%2e"),
                2 => Just("..;"), 1 => Just(".;a"), 1 => Just("x;a"), 1 => Just("%2f"), 1 => Just("%5c"), 1 => Just("%2e"),
                1 => Just("pub%6cic"), 1 => Just("%252e"), 1 => Just("%00"), 1 => Just("..%2f"), 1 => Just("\\.."),
                1 => Just("x\\..\\public"),
            ], 1..6),
        ) {
            let raw = format!("/{}", parts.join("/"));
            let public = rule("GET", "/public/**");
            let Ok(normal) = normalise_path(&raw) else { return Ok(()) };
            if public.matches("GET", &normal) {
                for reading in 0..16_u8 {
                    let bit = |b: u8| reading & (1 << b) != 0;
                    if let Some(at) = served(&raw, (bit(0), bit(1), bit(2), bit(3))) {
                        prop_assert!(at == "/public" || at.starts_with("/public/"),
                            "{raw:?} → {normal:?} allowed, but a server could serve {at:?}");
                    }
                }
            }
        }

        #[test]
        fn plain_paths_under_a_rule_stay_allowed(names in proptest::collection::vec("[a-z0-9_-][a-z0-9_;=-]{0,7}", 0..5)) {
            let raw = format!("/public/{}", names.join("/"));
            let normal = normalise_path(&raw).map_err(|e| TestCaseError::fail(format!("{raw}: {e}")))?;
            prop_assert!(rule("GET", "/public/**").matches("GET", &normal), "{raw} → {normal}");
        }
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
