//! IP addresses as `u128`: IPv6 as is, IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`),
//! so one column holds both and IPv4 addresses print in dotted form.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const V4_MAPPED_PREFIX: u128 = 0xffff_u128 << 32;
const V4_MAPPED_MASK: u128 = !0xffff_ffff_u128;

/// The `u128` of an address.
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => V4_MAPPED_PREFIX | u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address of a `u128`; IPv4-mapped values come back as IPv4.
pub fn from_u128(v: u128) -> IpAddr {
    if v & V4_MAPPED_MASK == V4_MAPPED_PREFIX {
        IpAddr::V4(Ipv4Addr::from(v as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

/// Parses an IPv4 or IPv6 address.
pub fn parse(s: &str) -> Option<u128> {
    s.parse::<IpAddr>().ok().map(to_u128)
}

/// Formats an address stored as `u128`.
pub fn format(v: u128) -> String {
    from_u128(v).to_string()
}

/// Parses `net/bits` (IPv4 or IPv6) into the network and mask over the u128 form.
pub fn parse_cidr(s: &str) -> std::result::Result<(u128, u128), String> {
    let bad = || format!("invalid CIDR '{s}': expected address/bits, e.g. 10.0.0.0/8");
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (s.trim(), None),
    };
    let ip = parse(addr).ok_or_else(bad)?;
    let v4 = addr.contains('.') && !addr.contains(':');
    let max = if v4 { 32 } else { 128 };
    let bits: u32 = match bits {
        Some(b) => b.parse().map_err(|_| bad())?,
        None => max,
    };
    if bits > max {
        return Err(bad());
    }
    let bits = if v4 { bits + 96 } else { bits };
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    Ok((ip & mask, mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_and_v6_round_trip() {
        for s in ["83.149.9.216", "::1", "2001:db8::ff00:42:8329", "0.0.0.0"] {
            assert_eq!(super::format(super::parse(s).unwrap()), s);
        }
    }

    #[test]
    fn cidr_networks_and_masks() {
        let (net, mask) = parse_cidr("10.0.0.0/8").unwrap();
        let ip = parse("10.2.3.4").unwrap();
        assert_eq!(ip & mask, net);
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("nope/8").is_err());
    }
}
