//! The key parser and its checksum: any text is a key or a refusal, never a panic, and a key that parses
//! keeps its text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(parsed) = keyward::domain::key::parse(text) {
        assert!(text.contains(parsed.key.expose()));
        let _ = parsed.key.hint();
        let _ = parsed.key.digest();
    }
    let _ = keyward::domain::key::parse_prefix(text);
});
