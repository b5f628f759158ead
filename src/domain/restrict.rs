//! Per-key restrictions: where a key may be used from (an IP allow-list of CIDR blocks, v4 and v6)
//! and how often (a number of requests per window, counted on each instance).

use std::net::IpAddr;

use ipnet::IpNet;

use super::Invalid;

/// Most entries one allow-list holds.
pub const MAX_NETWORKS: usize = 100;

/// The networks a key may be used from; empty means anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowList(Vec<IpNet>, Closed);

/// Set when a stored list no longer parses: it then allows nothing rather than everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Closed(bool);

impl IpAllowList {
    /// CIDR blocks or single addresses, separated by commas, spaces or lines.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let mut networks = Vec::new();
        for word in input.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()) {
            let network = word.parse::<IpNet>().or_else(|_| word.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                Invalid::new(
                    "ip_allow",
                    format!("\u{201c}{word}\u{201d} is not an address or CIDR block like 10.0.0.0/8 or 2001:db8::/32."),
                )
            })?;
            let network = network.trunc();
            if !networks.contains(&network) {
                networks.push(network);
            }
        }
        if networks.len() > MAX_NETWORKS {
            return Err(Invalid::new("ip_allow", format!("An allow-list holds at most {MAX_NETWORKS} entries.")));
        }
        Ok(Self(networks, Closed(false)))
    }

    /// A list that allows nothing: what a stored list that no longer parses becomes (fail closed).
    pub fn closed() -> Self {
        Self(Vec::new(), Closed(true))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty() && !self.1.0
    }

    /// Whether `ip` may use the key. An IPv4 address seen as IPv6 (`::ffff:a.b.c.d`) counts as IPv4.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        !self.1.0 && (self.0.is_empty() || self.0.iter().any(|n| n.contains(&ip)))
    }

    /// One entry per line, as stored.
    pub fn to_text(&self) -> String {
        self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    }
}

/// At most `limit` requests per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: i64,
    pub window_secs: i64,
}

pub const WINDOWS: [(&str, i64); 3] = [("second", 1), ("minute", 60), ("hour", 3600)];

impl RateLimit {
    /// A limit from the form's two fields: empty limit means none.
    pub fn parse(limit: &str, window: &str) -> Result<Option<Self>, Invalid> {
        let limit = limit.trim();
        if limit.is_empty() {
            return Ok(None);
        }
        let limit: i64 = limit.parse().ok().filter(|n| (1..=1_000_000_000).contains(n)).ok_or_else(|| {
            Invalid::new("rate_limit", "A rate limit is a whole number of requests from 1 to 1,000,000,000.")
        })?;
        let window_secs = WINDOWS
            .iter()
            .find(|(name, secs)| *name == window.trim() || secs.to_string() == window.trim())
            .map(|(_, secs)| *secs)
            .ok_or_else(|| Invalid::new("rate_limit", "Choose a window: per second, minute or hour."))?;
        Ok(Some(Self { limit, window_secs }))
    }

    pub fn window_name(self) -> &'static str {
        WINDOWS.iter().find(|(_, s)| *s == self.window_secs).map_or("window", |(n, _)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn allow_lists_take_blocks_and_single_addresses_of_both_families() {
        let list = IpAllowList::parse("10.1.2.3/8, 192.168.1.7\n2001:db8::/32").expect("list");
        assert_eq!(list.to_text(), "10.0.0.0/8\n192.168.1.7/32\n2001:db8::/32");
        assert!(list.allows(ip("10.200.0.1")) && list.allows(ip("192.168.1.7")) && list.allows(ip("2001:db8::1")));
        assert!(list.allows(ip("::ffff:10.0.0.9")), "v4-mapped v6 counts as v4");
        assert!(!list.allows(ip("192.168.1.8")) && !list.allows(ip("2001:db9::1")) && !list.allows(ip("11.0.0.1")));
        assert!(IpAllowList::parse("").expect("empty").allows(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "300.1.1.1", "example.com", "10.0.0.0/8/8"] {
            assert!(IpAllowList::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rate_limits_need_a_number_and_a_window() {
        assert_eq!(RateLimit::parse("", "minute"), Ok(None));
        assert_eq!(RateLimit::parse("100", "minute"), Ok(Some(RateLimit { limit: 100, window_secs: 60 })));
        assert_eq!(RateLimit::parse("5", "1").map(|r| r.map(|r| r.window_name())), Ok(Some("second")));
        for (limit, window) in [("0", "minute"), ("-1", "second"), ("lots", "hour"), ("10", "day")] {
            assert!(RateLimit::parse(limit, window).is_err(), "{limit}/{window}");
        }
    }

    proptest! {
        #[test]
        fn no_input_panics(text in "\\PC{0,80}", a in any::<[u8; 4]>()) {
            if let Ok(list) = IpAllowList::parse(&text) {
                let _ = list.allows(IpAddr::from(a));
            }
            let _ = RateLimit::parse(&text, &text);
        }
    }
}
