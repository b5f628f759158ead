//! Which network addresses a request that a workspace can steer (a webhook) may reach: only public
//! ones. Loopback, private, shared (carrier-grade NAT), link-local, unique-local, multicast,
//! unspecified, broadcast, reserved and documentation ranges are refused, IPv4 addresses written inside
//! IPv6 (mapped, compatible, NAT64) as the IPv4 address they carry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether a request may go to this address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0                                   // "this network", 0.0.0.0 included
        || a == 10                                         // private
        || a == 127                                        // loopback
        || (a == 100 && (64..128).contains(&b))            // shared address space (CGNAT)
        || (a == 169 && b == 254)                          // link-local (cloud metadata lives here)
        || (a == 172 && (16..32).contains(&b))             // private
        || (a == 192 && b == 0 && c == 0)                  // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                  // documentation
        || (a == 192 && b == 168)                          // private
        || (a == 198 && (18..20).contains(&b))             // benchmarking
        || (a == 198 && b == 51 && c == 100)               // documentation
        || (a == 203 && b == 0 && c == 113)                // documentation
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00                        // unique local
        || (s[0] & 0xffc0) == 0xfe80                        // link-local
        || (s[0] & 0xffc0) == 0xfec0                        // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00                        // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8)               // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // discard-only
    !refused
}

/// The IPv4 address an IPv6 address carries: mapped (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`) or
/// well-known NAT64 (`64:ff9b::a.b.c.d`). Such addresses reach the IPv4 host, so they are judged as it.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback();
    let nat64 = s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0; 4];
    (compatible || nat64).then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().expect("an address"))
    }

    #[test]
    fn internal_addresses_are_refused_in_every_spelling() {
        for refused in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.7",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "fec0::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::ffff:169.254.169.254",
        ] {
            assert!(!public(refused), "{refused}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for allowed in
            ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "1.1.1.1"]
        {
            assert!(public(allowed), "{allowed}");
        }
    }

    proptest::proptest! {
        /// An IPv4 address and every IPv6 form that carries it get the same answer.
        #[test]
        fn an_ipv4_address_is_judged_the_same_inside_ipv6(bits in proptest::prelude::any::<u32>()) {
            let v4 = Ipv4Addr::from(bits);
            let expected = is_public(IpAddr::V4(v4));
            proptest::prop_assert_eq!(is_public(IpAddr::V6(v4.to_ipv6_mapped())), expected);
            let [a, b, c, d] = v4.octets();
            let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
            proptest::prop_assert_eq!(is_public(IpAddr::V6(nat64)), expected);
        }
    }
}
