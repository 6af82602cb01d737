//! Digit-run detectors: card numbers (brand prefix + length + Luhn) and phone numbers
//! (E.164 with `+`, `00` international, North American, trunk-`0` national formats).
//!
//! The text is cut into *runs*: digit groups joined by single separators (space, `-`,
//! `.`, parentheses), optionally led by `+` or `(`. A run must not touch a word character
//! (`[A-Za-z0-9_]`) on either side, so digits inside identifiers (`r12345`, `b1847`,
//! `EUW1_6543210987`, hex ids) never count. Every window of consecutive groups is then
//! judged against the card and phone shapes below.
//!
//! Deliberate limits (each would reject realistic clean telemetry):
//! - a bare digit run is a card only at 13–16 digits (longer bare runs collide with
//!   random 64-bit ids and seeds); 17–19-digit cards are found when grouped;
//! - a bare digit run is a phone only as trunk-`0` national (`0612345678`) or as an
//!   11-digit North American number with its `1` (`14155552671`); a bare 10-digit
//!   number is indistinguishable from an epoch second or a game id and passes;
//! - a bare digit run glued to an identifier by a hyphen (`pl-0612345678`,
//!   `match-14155552671`) is that identifier's suffix, not a phone (grouped phones
//!   after a hyphen, `tel-06 12 34 56 78`, are still found).

const MAX_GROUPS: usize = 16;

#[derive(Clone, Copy, Default)]
struct Group {
    start: usize,
    end: usize,
    /// Separator before this group: its kind (` `, `-`, `.`, or 0 for none) and
    /// whether it holds a parenthesis.
    sep: u8,
    paren: bool,
}

impl Group {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// What a run of digits looks like, if it is PII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigitPii {
    Card,
    Phone,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Scans `text` (masked: bytes inside UUIDs already replaced by `x`) for a card or a
/// phone number. Cards win when both would match.
pub(crate) fn scan(text: &[u8], card: bool, phone: bool) -> Option<DigitPii> {
    let n = text.len();
    let mut i = 0;
    while i < n {
        let b = text[i];
        let starts = b.is_ascii_digit()
            || (b == b'+'
                && text
                    .get(i + 1)
                    .is_some_and(|c| c.is_ascii_digit() || *c == b'('))
            || (b == b'(' && text.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !starts {
            i += 1;
            continue;
        }
        if i > 0 && is_word(text[i - 1]) {
            // Inside an identifier: skip the rest of it.
            i += 1;
            while i < n && is_word(text[i]) {
                i += 1;
            }
            continue;
        }
        let glued = i > 1 && text[i - 1] == b'-' && is_word(text[i - 2]);
        let (groups, count, plus, end) = parse_run(text, i);
        if let Some(found) = judge_run(text, &groups[..count], plus, glued, end, card, phone) {
            return Some(found);
        }
        i = end.max(i + 1);
    }
    None
}

/// Parses the run starting at `i`; returns its groups, their count, whether it starts
/// with `+`, and the index just after its last digit.
fn parse_run(text: &[u8], mut i: usize) -> ([Group; MAX_GROUPS], usize, bool, usize) {
    let n = text.len();
    let mut groups = [Group::default(); MAX_GROUPS];
    let mut count = 0;
    let plus = text[i] == b'+';
    if plus {
        i += 1;
    }
    let mut paren = false;
    if i < n && text[i] == b'(' {
        paren = true;
        i += 1;
    }
    let mut sep = 0u8;
    let mut end = i;
    while count < MAX_GROUPS {
        let start = i;
        while i < n && text[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            break;
        }
        groups[count] = Group {
            start,
            end: i,
            sep,
            paren,
        };
        count += 1;
        end = i;
        // Separator: `)`? then one of ` -.`? then `(`?
        let mut k = i;
        paren = false;
        sep = 0;
        if k < n && text[k] == b')' {
            paren = true;
            k += 1;
        }
        if k < n && matches!(text[k], b' ' | b'-' | b'.') {
            sep = text[k];
            k += 1;
        }
        if k < n && text[k] == b'(' {
            paren = true;
            k += 1;
        }
        if k == i || k >= n || !text[k].is_ascii_digit() {
            break;
        }
        if sep == 0 {
            sep = b' ';
        }
        i = k;
    }
    (groups, count, plus, end)
}

fn judge_run(
    text: &[u8],
    groups: &[Group],
    plus: bool,
    glued: bool,
    end: usize,
    card: bool,
    phone: bool,
) -> Option<DigitPii> {
    let mut found_phone = false;
    for s in 0..groups.len() {
        let mut digits = 0;
        for e in s..groups.len() {
            digits += groups[e].len();
            if digits > 19 {
                break;
            }
            let w = &groups[s..=e];
            let right_ok = e + 1 < groups.len() || text.get(end).is_none_or(|b| !is_word(*b));
            if !right_ok {
                continue;
            }
            let mut buf = [0u8; 19];
            let mut k = 0;
            for g in w {
                buf[k..k + g.len()].copy_from_slice(&text[g.start..g.end]);
                k += g.len();
            }
            let d = &buf[..k];
            if card && is_card(w, d) {
                return Some(DigitPii::Card);
            }
            let id_suffix = glued && s == 0 && w.len() == 1;
            if phone && !found_phone && !id_suffix && is_phone(w, d, plus && s == 0) {
                found_phone = true;
            }
        }
    }
    found_phone.then_some(DigitPii::Phone)
}

fn is_card(w: &[Group], d: &[u8]) -> bool {
    if !(13..=19).contains(&d.len()) {
        return false;
    }
    if w.len() == 1 {
        if d.len() > 16 {
            return false;
        }
    } else {
        let sep = w[1].sep;
        let shaped = w[0].len() == 4
            && w[1..]
                .iter()
                .all(|g| g.sep == sep && !g.paren && (3..=7).contains(&g.len()))
            && matches!(sep, b' ' | b'-');
        if !shaped {
            return false;
        }
    }
    card_brand_fits(d) && luhn(d)
}

fn prefix(d: &[u8], n: usize) -> u32 {
    d.iter()
        .take(n)
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
}

/// Issuer prefix and length of the major card brands (Visa, Mastercard, Amex,
/// Discover, UnionPay, JCB, Diners, Maestro, Mir).
fn card_brand_fits(d: &[u8]) -> bool {
    let len = d.len();
    let (p2, p3, p4) = (prefix(d, 2), prefix(d, 3), prefix(d, 4));
    match d.first() {
        Some(b'4') => matches!(len, 13 | 16 | 19),
        _ if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => len == 16,
        _ if p2 == 34 || p2 == 37 => len == 15,
        _ if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || p2 == 62 => {
            (16..=19).contains(&len)
        }
        _ if (3528..=3589).contains(&p4) || (2200..=2204).contains(&p4) => (16..=19).contains(&len),
        _ if (300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) || p4 == 3095 => {
            (14..=19).contains(&len)
        }
        _ if p2 == 50 || (56..=69).contains(&p2) => (13..=19).contains(&len),
        _ => false,
    }
}

fn luhn(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, b) in d.iter().rev().enumerate() {
        let mut v = u32::from(b - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// North American: area code and exchange start with 2–9.
fn nanp(d: &[u8]) -> bool {
    d.len() == 10 && d[0] >= b'2' && d[3] >= b'2'
}

fn is_phone(w: &[Group], d: &[u8], plus: bool) -> bool {
    let len = d.len();
    if plus {
        return (7..=15).contains(&len) && d[0] != b'0';
    }
    if w.len() == 1 {
        return (len == 11 && d[0] == b'1' && nanp(&d[1..]))
            || ((10..=11).contains(&len) && d[0] == b'0' && d[1] != b'0');
    }
    let lens = |i: usize| w[i].len();
    // (415) 555-2671, 415.555.2671, 1-415-555-2671
    let shape = |want: &[usize]| w.len() == want.len() && (0..w.len()).all(|i| lens(i) == want[i]);
    if shape(&[3, 3, 4]) && nanp(d) {
        return true;
    }
    if shape(&[1, 3, 3, 4]) && d[0] == b'1' && nanp(&d[1..]) {
        return true;
    }
    let sep = w[1].sep;
    let consistent = w[1..].iter().all(|g| g.sep == sep) && w[2..].iter().all(|g| !g.paren);
    if !consistent {
        return false;
    }
    // 00 44 20 7946 0958, 0049-30-12345678
    if lens(0) >= 2 && d.starts_with(b"00") && d.get(2).is_some_and(|c| *c != b'0') {
        return (7..=15).contains(&(len - 2)) && w.len() >= 2;
    }
    // 020 7946 0958, 06 12 34 56 78, (030) 12345678, 07700 900123
    d[0] == b'0'
        && d[1] != b'0'
        && (2..=5).contains(&lens(0))
        && (1..w.len()).all(|i| (2..=8).contains(&lens(i)))
        && (9..=12).contains(&len)
}

/// A JSON number that looks like a card (13–16 digits, brand, Luhn) or a North
/// American phone number with its country code.
pub(crate) fn judge_integer(v: u64, card: bool, phone: bool) -> Option<DigitPii> {
    let s = v.to_string();
    let d = s.as_bytes();
    if card && (13..=16).contains(&d.len()) && card_brand_fits(d) && luhn(d) {
        return Some(DigitPii::Card);
    }
    if phone && d.len() == 11 && d[0] == b'1' && nanp(&d[1..]) {
        return Some(DigitPii::Phone);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Option<DigitPii> {
        scan(s.as_bytes(), true, true)
    }

    #[test]
    fn cards_need_brand_length_and_luhn() {
        for c in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5555555555554444",
            "378282246310005",
            "3782 822463 10005",
            "6011111111111117",
            "3530111333300000",
            "30569309025904",
            "4222222222222",
            "card=4242 4242 4242 4242 exp 12/27",
            "6250941006528599",
            "4111 1111 1111 1111 003",
        ] {
            assert_eq!(found(c), Some(DigitPii::Card), "{c}");
        }
        for c in [
            "4111111111111112",    // Luhn fails
            "1234567812345670",    // Luhn ok, no brand starts with 1
            "9111111111111111",    // no brand
            "1767225600123",       // epoch millis
            "76561198012345678",   // SteamID64
            "1312345678901234567", // snowflake
            "ab4111111111111111",  // inside an identifier
            "4111111111111111ab",
            "12345678901234567890",
        ] {
            assert_ne!(found(c), Some(DigitPii::Card), "{c}");
        }
    }

    #[test]
    fn phones_in_international_and_national_formats() {
        for p in [
            "+14155552671",
            "+1 415 555 2671",
            "+1 (415) 555-2671",
            "+44 20 7946 0958",
            "+33 6 12 34 56 78",
            "tel:+4930123456",
            "(415) 555-2671",
            "415-555-2671",
            "415.555.2671",
            "415 555 2671",
            "1-415-555-2671",
            "020 7946 0958",
            "(020) 7946 0958",
            "07700 900123",
            "06 12 34 56 78",
            "06.12.34.56.78",
            "0612345678",
            "14155552671",
            "00 44 20 7946 0958",
            "call me at 415-555-2671.",
            "tel-06 12 34 56 78",
            "user=0612345678",
        ] {
            assert_eq!(found(p), Some(DigitPii::Phone), "{p}");
        }
        for p in [
            "42",
            "1234567",
            "1.24.3",
            "2026.11.3-b1847",
            "v1.4.0+g3f2a1c9",
            "1.0.0+20261103",
            "r12345",
            "asn-64512",
            "1767225600",
            "4155552671",
            "2026-11-03",
            "2026-11-03 14:05:09",
            "2026-11-03T14:05:09.123456789+01:00",
            "03.11.2026",
            "10.0.19045.3803",
            "192.168.100.200",
            "+Inf",
            "1e+06",
            "EUW1_6543210987",
            "0000012345",
            "0.0.55802.4541",
            "0.0.8673.3303",
            "pl-0612345678",
            "match-14155552671",
        ] {
            assert_eq!(found(p), None, "{p}");
        }
    }

    #[test]
    fn json_integers() {
        assert_eq!(
            judge_integer(4111111111111111, true, true),
            Some(DigitPii::Card)
        );
        assert_eq!(
            judge_integer(14155552671, true, true),
            Some(DigitPii::Phone)
        );
        assert_eq!(judge_integer(1767225600123, true, true), None);
        assert_eq!(judge_integer(4155552671, true, true), None);
        assert_eq!(judge_integer(u64::MAX, true, true), None);
        assert_eq!(judge_integer(4111111111111111, false, true), None);
    }
}
