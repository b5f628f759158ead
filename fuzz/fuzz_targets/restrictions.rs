//! Key restrictions from the form: IP allow lists (addresses and CIDR blocks) and rate limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use keyward::domain::restrict::{IpAllowList, RateLimit};

fuzz_target!(|input: (&str, &str, [u8; 16])| {
    let (text, window, ip) = input;
    if let Ok(list) = IpAllowList::parse(text) {
        let again = IpAllowList::parse(&list.to_text()).expect("a printed list parses");
        assert_eq!(again.to_text(), list.to_text());
        let v6 = std::net::IpAddr::from(ip);
        let v4 = std::net::IpAddr::from([ip[0], ip[1], ip[2], ip[3]]);
        assert_eq!(list.allows(v6), again.allows(v6));
        assert_eq!(list.allows(v4), again.allows(v4));
    }
    let _ = RateLimit::parse(text, window);
});
