//! PII detection over one string: a single cheap pass counts what the text holds
//! (digits, `@`, colons, dots, a standalone `at`), and only the detectors that could
//! match run. Text with `%`, `&#` or a fullwidth `＠` is also judged once decoded, so
//! URL-encoded and entity-encoded spellings are caught.

mod digits;
mod email;
mod ip;

use super::{HygieneConfigError, PiiKind};
use crate::gateway::config::HygieneConfig;
use regex::RegexSet;
use std::borrow::Cow;

/// What one pass over the bytes found.
#[derive(Default)]
struct Features {
    digits: usize,
    at_sign: bool,
    at_word: bool,
    colons: usize,
    dots: usize,
    dashes: usize,
    encoded: bool,
}

impl Features {
    fn scan(t: &[u8]) -> Self {
        let mut f = Features::default();
        for (i, &b) in t.iter().enumerate() {
            match b {
                b'0'..=b'9' => f.digits += 1,
                b'@' => f.at_sign = true,
                b':' => f.colons += 1,
                b'.' => f.dots += 1,
                b'-' => f.dashes += 1,
                b'%' | b'&' | 0xEF => f.encoded = true,
                b'a' | b'A'
                    if t.get(i + 1).is_some_and(|c| c.eq_ignore_ascii_case(&b't'))
                        && (i == 0 || !t[i - 1].is_ascii_alphabetic())
                        && t.get(i + 2).is_none_or(|c| !c.is_ascii_alphabetic()) =>
                {
                    f.at_word = true;
                }
                _ => {}
            }
        }
        f
    }
}

pub(crate) struct Detectors {
    email: Option<email::Email>,
    phone: bool,
    ip: bool,
    card: bool,
    deny: Option<RegexSet>,
}

impl Detectors {
    pub(crate) fn new(cfg: &HygieneConfig) -> Result<Self, HygieneConfigError> {
        for (i, p) in cfg.deny_patterns.iter().enumerate() {
            if let Err(e) = regex::Regex::new(p) {
                return Err(HygieneConfigError(format!(
                    "deny_patterns[{i}] `{p}` is not a valid regular expression: {e}"
                )));
            }
        }
        let deny = if cfg.deny_patterns.is_empty() {
            None
        } else {
            Some(
                RegexSet::new(&cfg.deny_patterns)
                    .map_err(|e| HygieneConfigError(format!("deny_patterns: {e}")))?,
            )
        };
        let email = if cfg.detect_email {
            Some(
                email::Email::new()
                    .map_err(|e| HygieneConfigError(format!("email detector: {e}")))?,
            )
        } else {
            None
        };
        Ok(Self {
            email,
            phone: cfg.detect_phone,
            ip: cfg.detect_ip,
            card: cfg.detect_card,
            deny,
        })
    }

    pub(crate) fn check(&self, text: &str) -> Option<PiiKind> {
        let f = Features::scan(text.as_bytes());
        if let Some(k) = self.check_with(text, &f) {
            return Some(k);
        }
        if f.encoded
            && let Cow::Owned(decoded) = normalize(text)
        {
            let g = Features::scan(decoded.as_bytes());
            return self.check_with(&decoded, &g);
        }
        None
    }

    fn check_with(&self, text: &str, f: &Features) -> Option<PiiKind> {
        let t = text.as_bytes();
        if let Some(e) = &self.email
            && (f.at_sign || f.at_word)
            && e.found(text, f.at_sign, f.at_word)
        {
            return Some(PiiKind::Email);
        }
        if self.ip && f.colons >= 2 && ip::has_ipv6(t) {
            return Some(PiiKind::Ipv6);
        }
        if self.ip && f.dots >= 3 && f.digits >= 4 && ip::has_ipv4(t) {
            return Some(PiiKind::Ipv4);
        }
        if (self.card || self.phone) && f.digits >= 7 {
            let masked = if f.dashes >= 4 {
                mask_uuids(t)
            } else {
                Cow::Borrowed(t)
            };
            match digits::scan(&masked, self.card, self.phone) {
                Some(digits::DigitPii::Card) => return Some(PiiKind::Card),
                Some(digits::DigitPii::Phone) => return Some(PiiKind::Phone),
                None => {}
            }
        }
        if let Some(d) = &self.deny
            && d.is_match(text)
        {
            return Some(PiiKind::DenyPattern);
        }
        None
    }

    /// A JSON number that looks like a card or a phone number.
    pub(crate) fn check_number(&self, n: &serde_json::Number) -> Option<PiiKind> {
        let v = n.as_u64()?;
        match digits::judge_integer(v, self.card, self.phone)? {
            digits::DigitPii::Card => Some(PiiKind::Card),
            digits::DigitPii::Phone => Some(PiiKind::Phone),
        }
    }
}

/// Decodes `%XX`, `&#64;`/`&#x40;`/`&commat;`, `&#46;` and the fullwidth `＠`.
fn normalize(text: &str) -> Cow<'_, str> {
    let mut s = Cow::Borrowed(text);
    if s.contains('%') {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && let (Some(h), Some(l)) = (
                    b.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                    b.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
                )
            {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            out.push(b[i]);
            i += 1;
        }
        if out.len() != b.len() {
            s = Cow::Owned(String::from_utf8_lossy(&out).into_owned());
        }
    }
    for (from, to) in [
        ("&#64;", "@"),
        ("&#x40;", "@"),
        ("&commat;", "@"),
        ("&#46;", "."),
        ("\u{FF20}", "@"),
    ] {
        if s.contains(from) {
            s = Cow::Owned(s.replace(from, to));
        }
    }
    s
}

/// Replaces every UUID (`8-4-4-4-12` hex) by `x`s, so its all-digit groups are not
/// read as phone or card numbers.
fn mask_uuids(t: &[u8]) -> Cow<'_, [u8]> {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i + 36 <= t.len() {
        let mut j = i;
        let mut ok = i == 0 || !t[i - 1].is_ascii_alphanumeric();
        for (k, len) in SHAPE.iter().enumerate() {
            if !ok {
                break;
            }
            ok = t[j..j + len].iter().all(u8::is_ascii_hexdigit);
            j += len;
            if k < 4 {
                ok = ok && t[j] == b'-';
                j += 1;
            }
        }
        if ok && t.get(j).is_none_or(|b| !b.is_ascii_alphanumeric()) {
            let o = out.get_or_insert_with(|| t.to_vec());
            o[i..j].fill(b'x');
            i = j;
        } else {
            i += 1;
        }
    }
    match out {
        Some(o) => Cow::Owned(o),
        None => Cow::Borrowed(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_on() -> Detectors {
        Detectors::new(&HygieneConfig {
            deny_patterns: vec![r"(?i)gamertag:\s*\S+".into()],
            ..HygieneConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn encoded_spellings_are_decoded() {
        let d = all_on();
        assert_eq!(d.check("jane%40example.com"), Some(PiiKind::Email));
        assert_eq!(d.check("jane%40example%2Ecom"), Some(PiiKind::Email));
        assert_eq!(d.check("jane&#64;example.com"), Some(PiiKind::Email));
        assert_eq!(d.check("jane＠example.com"), Some(PiiKind::Email));
        assert_eq!(d.check("%2B14155552671"), Some(PiiKind::Phone));
        assert_eq!(d.check("2001%3Adb8%3A%3A1"), Some(PiiKind::Ipv6));
        assert_eq!(d.check("100%"), None);
        assert_eq!(d.check("a%zz"), None);
    }

    #[test]
    fn deny_patterns_and_switches() {
        let d = all_on();
        assert_eq!(d.check("GamerTag: xXSlayerXx"), Some(PiiKind::DenyPattern));
        let off = Detectors::new(&HygieneConfig {
            detect_email: false,
            detect_phone: false,
            detect_ip: false,
            detect_card: false,
            ..HygieneConfig::default()
        })
        .unwrap();
        for s in [
            "a@b.com",
            "+14155552671",
            "10.1.2.3",
            "::1",
            "4111111111111111",
        ] {
            assert_eq!(off.check(s), None, "{s}");
            assert!(all_on().check(s).is_some(), "{s}");
        }
    }

    #[test]
    fn bad_deny_pattern_is_named() {
        let e = Detectors::new(&HygieneConfig {
            deny_patterns: vec!["ok".into(), "(unclosed".into()],
            ..HygieneConfig::default()
        })
        .err()
        .unwrap();
        assert!(
            e.0.contains("deny_patterns[1]") && e.0.contains("(unclosed"),
            "{e}"
        );
    }

    #[test]
    fn uuids_are_not_phone_numbers() {
        let d = all_on();
        assert_eq!(d.check("01234567-0123-4123-8123-abcdefabcdef"), None);
        assert_eq!(d.check("550e8400-e29b-41d4-a716-446655440000"), None);
    }
}
