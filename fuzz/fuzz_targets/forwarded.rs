//! What forward-auth and the management API read from request headers: the presented key and the
//! original request a proxy asks about.
#![no_main]

use keyward::domain::forwarded::{self, Headers};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] =
    ["authorization", "x-api-key", "x-original-method", "x-original-uri", "x-forwarded-method", "x-forwarded-uri"];

struct Raw<'a>(Vec<(&'static str, &'a [u8])>);

impl Headers for Raw<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

fuzz_target!(|input: (Vec<(u8, &[u8])>, &str, &str)| {
    let (pairs, method, tail) = input;
    let headers = Raw(pairs.into_iter().map(|(n, v)| (NAMES[usize::from(n) % NAMES.len()], v)).collect());
    if let Some(key) = forwarded::presented_key(&headers) {
        assert!(!key.is_empty());
    }
    if let Some(original) = forwarded::original_request(&headers, method, tail) {
        assert!(!original.path.is_empty() && !original.path.contains(['?', '#']));
    }
});
