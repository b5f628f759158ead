//! What a caller or a reverse proxy tells keyward in headers: the presented key (`Authorization: Bearer`
//! or `X-API-Key`) and, for forward-auth, the original request (nginx `X-Original-*`, Traefik and Caddy
//! `X-Forwarded-*`, or Envoy's path appended to `/api/v1/authorize`). Raw header bytes in, owned strings
//! out: a value that is not visible ASCII counts as absent.

/// Request headers by lower-case name.
pub trait Headers {
    fn get(&self, name: &str) -> Option<&[u8]>;
}

/// The first of `names` present with a non-blank, readable value, trimmed.
fn first<'a>(headers: &'a impl Headers, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| headers.get(n).and_then(|v| std::str::from_utf8(v).ok()).filter(|v| v.is_ascii()))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The presented key: `Authorization: Bearer <key>` or `X-API-Key: <key>`.
pub fn presented_key(headers: &impl Headers) -> Option<String> {
    let bearer = first(headers, &["authorization"])
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    bearer.or_else(|| first(headers, &["x-api-key"])).filter(|k| !k.is_empty()).map(str::to_owned)
}

/// The request a proxy asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// Upper case.
    pub method: String,
    /// The path alone: no query, no fragment; `/` when empty.
    pub path: String,
}

/// The original request: from the proxy's headers, else this request's own method and the `tail` after
/// `/api/v1/authorize`. `None` when the tail is not a path (`/api/v1/authorizeXYZ`).
pub fn original_request(headers: &impl Headers, own_method: &str, tail: &str) -> Option<Original> {
    if !(tail.is_empty() || tail.starts_with('/')) {
        return None;
    }
    let method = first(headers, &["x-original-method", "x-forwarded-method"]).unwrap_or(own_method).to_uppercase();
    let uri = first(headers, &["x-original-uri", "x-forwarded-uri"]).unwrap_or(tail);
    Some(Original { method, path: strip_query(uri) })
}

/// The path of a URI: what comes before `?` or `#`, and `/` when that is empty.
pub fn strip_query(uri: &str) -> String {
    let path = uri.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() { "/".to_owned() } else { path.to_owned() }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    struct List(Vec<(String, Vec<u8>)>);

    impl Headers for List {
        fn get(&self, name: &str) -> Option<&[u8]> {
            self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
        }
    }

    fn list(pairs: &[(&str, &str)]) -> List {
        List(pairs.iter().map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec())).collect())
    }

    #[test]
    fn keys_come_from_a_bearer_token_or_x_api_key() {
        assert_eq!(presented_key(&list(&[("authorization", "Bearer  kwi_abc ")])).as_deref(), Some("kwi_abc"));
        assert_eq!(
            presented_key(&list(&[("authorization", "Basic eDp5"), ("x-api-key", "kwi_x")])).as_deref(),
            Some("kwi_x")
        );
        assert_eq!(presented_key(&list(&[("authorization", "Bearer   ")])), None);
        assert_eq!(presented_key(&List(vec![("x-api-key".into(), vec![0xff, 0xfe])])), None);
        assert_eq!(presented_key(&list(&[])), None);
    }

    #[test]
    fn the_original_request_comes_from_the_proxy_or_the_tail() {
        let nginx = list(&[("x-original-method", "post"), ("x-original-uri", "/d/1/lock?now=1")]);
        assert_eq!(
            original_request(&nginx, "GET", ""),
            Some(Original { method: "POST".into(), path: "/d/1/lock".into() })
        );
        let traefik = list(&[("x-forwarded-method", "DELETE"), ("x-forwarded-uri", "#top")]);
        assert_eq!(original_request(&traefik, "GET", ""), Some(Original { method: "DELETE".into(), path: "/".into() }));
        let envoy = original_request(&list(&[]), "put", "/v1/items/7?x");
        assert_eq!(envoy, Some(Original { method: "PUT".into(), path: "/v1/items/7".into() }));
        assert_eq!(original_request(&list(&[]), "GET", "XYZ"), None);
    }

    proptest! {
        #[test]
        fn no_headers_make_the_parsers_panic(
            headers in proptest::collection::vec(
                (prop_oneof!["authorization", "x-api-key", "x-original-method", "x-original-uri", "x-forwarded-method",
                    "x-forwarded-uri"], proptest::collection::vec(any::<u8>(), 0..40)),
                0..6,
            ),
            method in "\\PC{0,8}",
            tail in "\\PC{0,40}",
        ) {
            let headers = List(headers.into_iter().map(|(n, v)| (n.to_owned(), v)).collect());
            if let Some(key) = presented_key(&headers) {
                prop_assert!(!key.is_empty() && key.trim() == key);
            }
            if let Some(original) = original_request(&headers, &method, &tail) {
                prop_assert!(!original.path.is_empty() && !original.path.contains(['?', '#']));
                prop_assert_eq!(original.method.to_uppercase(), original.method);
            }
        }
    }
}
