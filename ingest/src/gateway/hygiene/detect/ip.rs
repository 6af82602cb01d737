//! IP address detectors: IPv4 dotted quads (also inside longer strings such as
//! `client=10.1.2.3:443`) and IPv6 (full, `::`-compressed, IPv4-mapped, with zone id).
//!
//! Choices: a dotted quad led by `v`/`V` is a version (`v1.2.3.4`), and one that
//! continues with `.digit` is an OID or a longer version, not an address. A bare
//! four-part version whose parts are all ≤ 255 (`1.0.0.0`, `10.0.0.1`) *is* a valid
//! IPv4 address and is rejected: text alone cannot tell them apart.

use std::net::Ipv6Addr;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Reads one octet (1–3 digits, ≤ 255) at `i`; returns the index after it.
fn octet(t: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    let mut v = 0u32;
    while j < t.len() && t[j].is_ascii_digit() && j - i < 3 {
        v = v * 10 + u32::from(t[j] - b'0');
        j += 1;
    }
    (j > i && v <= 255 && t.get(j).is_none_or(|b| !b.is_ascii_digit())).then_some(j)
}

pub(crate) fn has_ipv4(t: &[u8]) -> bool {
    let n = t.len();
    let mut i = 0;
    while i < n {
        if !t[i].is_ascii_digit() || (i > 0 && (t[i - 1].is_ascii_digit() || t[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        if i > 0 && matches!(t[i - 1], b'v' | b'V') {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut ok = true;
        for k in 0..4 {
            match octet(t, j) {
                Some(after) => j = after,
                None => {
                    ok = false;
                    break;
                }
            }
            if k < 3 {
                if t.get(j) == Some(&b'.') {
                    j += 1;
                } else {
                    ok = false;
                    break;
                }
            }
        }
        let trailing_dot_digit =
            t.get(j) == Some(&b'.') && t.get(j + 1).is_some_and(u8::is_ascii_digit);
        if ok && !trailing_dot_digit {
            return true;
        }
        i += 1;
    }
    false
}

fn is_v6_char(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

pub(crate) fn has_ipv6(t: &[u8]) -> bool {
    let n = t.len();
    let mut i = 0;
    while i < n {
        if !is_v6_char(t[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && is_v6_char(t[i]) {
            i += 1;
        }
        let before_ok = start == 0 || !is_word(t[start - 1]);
        let after_ok = i == n || !is_word(t[i]);
        if before_ok && after_ok && looks_v6(&t[start..i]) {
            return true;
        }
    }
    false
}

fn looks_v6(tok: &[u8]) -> bool {
    // Sentence punctuation after an address: `... from 2001:db8::1.`
    let mut tok = tok;
    while let [rest @ .., b'.'] = tok {
        tok = rest;
    }
    let colons = tok.iter().filter(|b| **b == b':').count();
    if colons < 2 {
        return false;
    }
    let compressed = tok.windows(2).any(|w| w == b"::");
    if !compressed && colons < 7 {
        return false;
    }
    let Ok(s) = std::str::from_utf8(tok) else {
        return false;
    };
    let parsed = s.parse::<Ipv6Addr>().is_ok()
        || s.strip_suffix(':')
            .is_some_and(|s| !s.ends_with(':') && s.parse::<Ipv6Addr>().is_ok());
    if !parsed || s == "::" {
        return false;
    }
    // `dead::beef`-like words are not addresses; real ones carry a digit or 3+ groups.
    let groups = s.split(':').filter(|g| !g.is_empty()).count();
    tok.iter().any(u8::is_ascii_digit) || groups >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_positive_and_negative() {
        for s in [
            "10.1.2.3",
            "client=10.1.2.3:443",
            "from 192.168.0.1, via 172.16.5.4",
            "[8.8.8.8]",
            "10.0.0.0/8",
            "1.0.0.0",
            "ip 255.255.255.255.",
        ] {
            assert!(has_ipv4(s.as_bytes()), "{s}");
        }
        for s in [
            "1.24.3",
            "v1.2.3.4",
            "V10.0.0.1",
            "10.0.19045.3803",
            "256.1.1.1",
            "1.3.6.1.4.1.2021",
            "2026.11.3-b1847",
            "1.2.3",
            "0.005",
        ] {
            assert!(!has_ipv4(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn ipv6_positive_and_negative() {
        for s in [
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "2001:DB8:85A3::8A2E:370:7334",
            "2001:db8::1",
            "::1",
            "fe80::1ff:fe23:4567:890a%eth0",
            "::ffff:192.0.2.128",
            "[2001:db8::1]:443",
            "addr=2001:db8::1;",
            "from 2001:db8::1.",
            "fdab:cdef:abcd::ab",
        ] {
            assert!(has_ipv6(s.as_bytes()), "{s}");
        }
        for s in [
            "12:30:45",
            "00:1a:2b:3c:4d:5e",
            "std::f64",
            "Foo::a1",
            "dead::beef",
            "::",
            "2026-11-03T14:05:09+01:00",
            "a:b:c",
        ] {
            assert!(!has_ipv6(s.as_bytes()), "{s}");
        }
    }
}
