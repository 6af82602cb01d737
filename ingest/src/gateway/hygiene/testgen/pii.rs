//! PII in many spellings and placements. Every case carries its kind and the name of
//! its spelling, so a test can fail naming exactly which class/spelling was missed.
//!
//! Spellings: emails plain, any case, spaced, bracketed/parenthesised/braced/word
//! obfuscations, URL-encoded, HTML-entity, fullwidth `＠`, `mailto:`; phones in E.164
//! and national formats of several countries, `00` international, bare national;
//! IPv4 with port, CIDR, brackets; IPv6 full, upper case, unpadded, compressed,
//! IPv4-mapped, zone id, bracketed with port, URL-encoded, loopback; card numbers of
//! the major brands contiguous (≤ 16 digits) and grouped with spaces or dashes; a
//! configured deny pattern ([`DENY_PATTERN`]). Placements: bare, with realistic
//! prefixes/suffixes, JSON string values, object keys, nested arrays and objects,
//! JSON integers (cards and North American numbers with their `1`), label values.

use crate::gateway::hygiene::PiiKind;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};
use std::net::Ipv6Addr;

/// The deny pattern the PII generators assume is configured.
pub const DENY_PATTERN: &str = r"(?i)\bgamertag\s*[:=]\s*\S+";

#[derive(Debug, Clone)]
pub struct PiiCase {
    pub kind: PiiKind,
    pub spelling: &'static str,
    /// The PII as it is spelled, before placement.
    pub value: String,
}

const FIRST: &[&str] = &[
    "jane", "Ana", "li", "mohammed", "Sven", "o'brien", "zoë", "kai",
];
const LAST: &[&str] = &["doe", "Silva", "wang", "al-sayed", "Larsson", "kowalski"];
const DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "example.co.uk",
    "studio-games.io",
    "mail.example.org",
    "yahoo.fr",
    "proton.me",
    "web.de",
    "riotgames.gg",
];

fn mix_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if (mask >> (i % 64)) & 1 == 1 {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

pub fn email() -> impl Strategy<Value = PiiCase> {
    (
        select(FIRST),
        select(LAST),
        select(&[".", "_", "", "-"][..]),
        proptest::option::of(0..100u32),
        proptest::option::of(select(&["ranked", "games", "spam"][..])),
        select(DOMAINS),
        0..15u8,
        any::<u64>(),
    )
        .prop_map(|(f, l, sep, n, tag, dom, spelling, mask)| {
            let mut local = format!("{f}{sep}{l}");
            if let Some(n) = n {
                local.push_str(&n.to_string());
            }
            if let Some(t) = tag {
                local = format!("{local}+{t}");
            }
            let (name, tld) = dom.rsplit_once('.').unwrap_or((dom, "com"));
            let words = |at: &str, dot: &str| format!("{local}{at}{}", dom.replace('.', dot));
            let (spelling, value) = match spelling {
                0 => ("plain", format!("{local}@{dom}")),
                1 => ("upper", format!("{local}@{dom}").to_uppercase()),
                2 => ("mixed case", mix_case(&format!("{local}@{dom}"), mask)),
                3 => ("spaced @", format!("{local} @ {dom}")),
                4 => ("[at] [dot]", words(" [at] ", " [dot] ")),
                5 => ("(at)(dot)", words("(at)", "(dot)")),
                6 => ("{at} real dots", words("{at}", ".")),
                7 => ("AT DOT words", words(" AT ", " DOT ")),
                8 => (
                    "at dot words",
                    mix_case(&words(" at ", " dot "), mask & 0x5),
                ),
                9 => ("%40", format!("{local}%40{dom}")),
                10 => ("%40 %2E", format!("{local}%40{name}%2E{tld}")),
                11 => ("&#64;", format!("{local}&#64;{dom}")),
                12 => ("fullwidth ＠", format!("{local}＠{dom}")),
                13 => ("mailto:", format!("mailto:{local}@{dom}")),
                _ => ("<angle>", format!("<{local}@{dom}>")),
            };
            PiiCase {
                kind: PiiKind::Email,
                spelling,
                value,
            }
        })
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0..10u8, n)
        .prop_map(|v| v.into_iter().map(|d| char::from(b'0' + d)).collect())
}

pub fn phone() -> impl Strategy<Value = PiiCase> {
    (
        (200..1000u32, 200..1000u32, digits(4)),
        (digits(4), digits(4), digits(8), digits(6), 1..10u8),
        select(&[44u32, 49, 33, 34, 39, 61, 81, 82, 55, 91][..]),
        digits(10),
        0..26u8,
    )
        .prop_map(|((a, e, l), (p4, q4, d8, d6, fr), cc, d10, spelling)| {
            let f = |i: usize| &d8[i * 2..i * 2 + 2];
            let (spelling, value) = match spelling {
                0 => ("E.164", format!("+1{a}{e}{l}")),
                1 => ("+1 spaced", format!("+1 {a} {e} {l}")),
                2 => ("+1 (area)", format!("+1 ({a}) {e}-{l}")),
                3 => ("+1 dashes", format!("+1-{a}-{e}-{l}")),
                4 => ("+1 dots", format!("+1.{a}.{e}.{l}")),
                5 => ("(area) exch-line", format!("({a}) {e}-{l}")),
                6 => ("dashes", format!("{a}-{e}-{l}")),
                7 => ("dots", format!("{a}.{e}.{l}")),
                8 => ("spaces", format!("{a} {e} {l}")),
                9 => ("1-area-exch-line", format!("1-{a}-{e}-{l}")),
                10 => ("1 (area)", format!("1 ({a}) {e}-{l}")),
                11 => ("UK +44 London", format!("+44 20 {p4} {q4}")),
                12 => ("UK +44 mobile", format!("+44 7700 {d6}")),
                13 => ("UK national", format!("020 {p4} {q4}")),
                14 => ("UK mobile national", format!("07700 {d6}")),
                15 => (
                    "FR +33",
                    format!("+33 {fr} {} {} {} {}", f(0), f(1), f(2), f(3)),
                ),
                16 => (
                    "FR spaced",
                    format!("0{fr} {} {} {} {}", f(0), f(1), f(2), f(3)),
                ),
                17 => (
                    "FR dotted",
                    format!("0{fr}.{}.{}.{}.{}", f(0), f(1), f(2), f(3)),
                ),
                18 => ("FR bare", format!("0{fr}{d8}")),
                19 => ("DE national", format!("030 {d8}")),
                20 => ("DE mobile +49", format!("+49 151 {d8}")),
                21 => ("JP national", format!("03-{p4}-{q4}")),
                22 => ("00 international", format!("00 44 20 {p4} {q4}")),
                23 => ("0049 international", format!("0049 30 {d8}")),
                24 => ("bare 1+10", format!("1{a}{e}{l}")),
                _ => (
                    "E.164 other",
                    format!("+{cc}{}", &d10[..if cc == 39 { 10 } else { 9 }]),
                ),
            };
            PiiCase {
                kind: PiiKind::Phone,
                spelling,
                value,
            }
        })
}

pub fn ipv4() -> impl Strategy<Value = PiiCase> {
    (any::<[u8; 4]>(), 1..65_535u16, 8..32u8, 0..5u8).prop_map(|(o, port, bits, s)| {
        let ip = format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]);
        let (spelling, value) = match s {
            0 => ("plain", ip),
            1 => ("with port", format!("{ip}:{port}")),
            2 => ("CIDR", format!("{ip}/{bits}")),
            3 => ("bracketed", format!("[{ip}]")),
            _ => ("end of sentence", format!("{ip}.")),
        };
        PiiCase {
            kind: PiiKind::Ipv4,
            spelling,
            value,
        }
    })
}

pub fn ipv6() -> impl Strategy<Value = PiiCase> {
    (
        select(&[0x2001u16, 0x2a00, 0x2600, 0x2a02, 0xfe80, 0xfd12, 0x2406][..]),
        any::<[u16; 7]>(),
        1..6usize,
        1..6usize,
        any::<[u8; 4]>(),
        0..10u8,
    )
        .prop_map(|(first, rest, zs, zl, v4, s)| {
            let mut seg = [0u16; 8];
            seg[0] = first;
            seg[1..].copy_from_slice(&rest);
            let full = |upper: bool, pad: bool| {
                seg.iter()
                    .map(|g| match (upper, pad) {
                        (true, _) => format!("{g:04X}"),
                        (false, true) => format!("{g:04x}"),
                        (false, false) => format!("{g:x}"),
                    })
                    .collect::<Vec<_>>()
                    .join(":")
            };
            let mut z = seg;
            let end = (zs + zl).min(8);
            z[zs..end].fill(0);
            if end - zs < 2 && zs < 7 {
                z[zs + 1] = 0;
            }
            let compressed = Ipv6Addr::from(z).to_string();
            let mapped = format!("::ffff:{}.{}.{}.{}", v4[0], v4[1], v4[2], v4[3]);
            let (spelling, value) = match s {
                0 => ("full", full(false, true)),
                1 => ("full upper", full(true, true)),
                2 => ("unpadded", full(false, false)),
                3 => ("compressed", compressed),
                4 => ("compressed upper", compressed.to_uppercase()),
                5 => ("IPv4-mapped", mapped),
                6 => (
                    "zone id",
                    format!("fe80::{:x}:{:x}%eth0", rest[0], rest[1] | 1),
                ),
                7 => ("bracketed with port", format!("[{compressed}]:443")),
                8 => ("URL-encoded", compressed.replace(':', "%3A")),
                _ => ("loopback", "::1".to_string()),
            };
            PiiCase {
                kind: PiiKind::Ipv6,
                spelling,
                value,
            }
        })
}

/// Appends the Luhn check digit.
pub fn with_luhn(body: &str) -> String {
    let mut sum = 0u32;
    for (i, b) in body.bytes().rev().enumerate() {
        let mut v = u32::from(b - b'0');
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn group(d: &str, sizes: &[usize], sep: &str) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    for s in sizes {
        out.push(&d[i..(i + s).min(d.len())]);
        i += s;
    }
    out.join(sep)
}

/// (brand, prefix, length)
const BRANDS: &[(&str, &str, usize)] = &[
    ("visa", "4", 16),
    ("visa 13", "4", 13),
    ("visa 19", "4", 19),
    ("mastercard", "5", 16),
    ("mastercard 2-series", "2", 16),
    ("amex", "3", 15),
    ("discover", "6011", 16),
    ("jcb", "35", 16),
    ("diners", "36", 14),
    ("unionpay", "62", 16),
    ("unionpay 19", "62", 19),
];

pub fn card() -> impl Strategy<Value = PiiCase> {
    (select(BRANDS), digits(18), 1..6u8, 0..3u8, 28..90u8, 0..6u8).prop_map(
        |((brand, prefix, len), rnd, mc, amex, jcb, fmt)| {
            let prefix = match brand {
                "mastercard" => format!("5{mc}"),
                "mastercard 2-series" => format!("2{}", 221 + u32::from(mc) * 90),
                "amex" => {
                    if amex == 0 {
                        "34".into()
                    } else {
                        "37".into()
                    }
                }
                "jcb" => format!("35{jcb}"),
                _ => prefix.to_string(),
            };
            let body = format!("{prefix}{}", &rnd[..len - 1 - prefix.len()]);
            let d = with_luhn(&body);
            let sizes: &[usize] = match len {
                15 => &[4, 6, 5],
                14 => &[4, 6, 4],
                13 => &[4, 4, 5],
                19 => &[4, 4, 4, 4, 3],
                _ => &[4, 4, 4, 4],
            };
            let fmt = if len > 16 && fmt < 2 { 2 + fmt } else { fmt };
            let (spelling, value) = match fmt {
                0 | 1 => ("contiguous", d),
                2 | 3 => ("grouped spaces", group(&d, sizes, " ")),
                _ => ("grouped dashes", group(&d, sizes, "-")),
            };
            PiiCase {
                kind: PiiKind::Card,
                spelling,
                value,
            }
        },
    )
}

pub fn deny() -> impl Strategy<Value = PiiCase> {
    (
        select(&["gamertag", "GamerTag", "GAMERTAG"][..]),
        select(&[": ", ":", "=", " = "][..]),
        select(&["xXSlayerXx", "pro_gamer_77", "NoScope", "kai-the-great"][..]),
    )
        .prop_map(|(k, s, v)| PiiCase {
            kind: PiiKind::DenyPattern,
            spelling: "gamertag",
            value: format!("{k}{s}{v}"),
        })
}

/// Any kind of PII, each kind equally likely.
pub fn any_pii() -> impl Strategy<Value = PiiCase> {
    prop_oneof![email(), phone(), ipv4(), ipv6(), card(), deny()]
}

/// The PII inside realistic surrounding text; returns the placement name and the text.
pub fn in_text(case: PiiCase) -> impl Strategy<Value = (PiiCase, &'static str, String)> {
    (
        select(
            &[
                "",
                "contact: ",
                "user=",
                "from ",
                "note (",
                "\"",
                "reported by ",
            ][..],
        ),
        select(&["", " ok", ";", ")", ", thanks", "\n", " at 14:05"][..]),
    )
        .prop_map(move |(pre, post)| {
            let placement = match (pre.is_empty(), post.is_empty()) {
                (true, true) => "bare",
                (false, true) => "prefixed",
                (true, false) => "suffixed",
                (false, false) => "in a sentence",
            };
            let text = format!("{pre}{}{post}", case.value);
            (case.clone(), placement, text)
        })
}

/// The PII inside event data: string values, keys, nested arrays/objects, integers.
pub fn in_json(case: PiiCase) -> impl Strategy<Value = (PiiCase, &'static str, Value)> {
    (0..6u8, in_text(case)).prop_map(|(p, (case, _, text))| {
        let numeric: Option<u64> = match (case.kind, case.spelling) {
            (PiiKind::Phone, "bare 1+10") | (PiiKind::Card, "contiguous") => {
                case.value.parse().ok()
            }
            _ => None,
        };
        let (placement, v) = match (p, numeric) {
            (0, Some(n)) => ("integer value", json!({"match_id": "m-1", "ref": n})),
            (0 | 1, _) => ("string value", json!({"match_id": "m-1", "note": text})),
            (2, _) => ("object key", json!({"players": {text: {"score": 12}}})),
            (3, _) => ("nested arrays", json!({"chat": [[1, 2], ["gg", text]]})),
            (4, _) => ("deep object", json!({"a": {"b": [1, {"c": {"d": text}}]}})),
            _ => ("top-level array", json!(["start", {"k": 1}, text])),
        };
        (case, placement, v)
    })
}
