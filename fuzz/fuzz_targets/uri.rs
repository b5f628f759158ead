//! URI rules (`METHOD /path/*/**`) and the matcher: any rule text and any request, never a panic; a rule
//! that parses prints as text that parses to the same rule.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, &str)| {
    let (line, method, path) = input;
    if let Ok(rule) = keyward::domain::uri::parse_line(line) {
        let again = keyward::domain::uri::parse_line(&rule.to_string()).expect("a printed rule parses");
        assert_eq!(again.to_string(), rule.to_string());
        let _ = rule.matches(method, path);
    }
});
