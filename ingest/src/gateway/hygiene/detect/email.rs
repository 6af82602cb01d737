//! Email detector: `local@domain.tld` (any case, unicode local part, spaces around
//! `@`), and the obfuscated spellings `name [at] domain [dot] com`, `name(at)domain.com`,
//! `name AT domain DOT com`. URL-encoded (`%40`), HTML-entity (`&#64;`) and fullwidth
//! (`＠`) forms reach it already decoded (see `detect::normalize`).
//!
//! Not detected on purpose: `name at domain.com` with a plain ` at ` and a real dot
//! (`respawned at base.alpha` is ordinary event text).

use regex::Regex;

const PLAIN: &str = r#"(?i)[^\s@<>()\[\]{},;:'"`/\\=&?|]+[ \t]?@[ \t]?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,24}(?-u:\b)"#;

const BRACKETED: &str = r"(?i)[a-z0-9._%+-]+\s*[\[({<]\s*at\s*[\])}>]\s*[a-z0-9-]+(?:\s*(?:[\[({<]\s*(?:dot|\.)\s*[\])}>]|\.|\s+dot\s+)\s*[a-z0-9-]+)*\s*(?:[\[({<]\s*(?:dot|\.)\s*[\])}>]|\.|\s+dot\s+)\s*[a-z]{2,24}(?-u:\b)";

const WORDS: &str = r"(?i)(?-u:\b)[a-z0-9._%+-]+\s+at\s+[a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)*\s+dot\s+[a-z]{2,24}(?-u:\b)";

pub(crate) struct Email {
    plain: Regex,
    bracketed: Regex,
    words: Regex,
}

impl Email {
    pub(crate) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            plain: Regex::new(PLAIN)?,
            bracketed: Regex::new(BRACKETED)?,
            words: Regex::new(WORDS)?,
        })
    }

    /// `at_sign`: the text has `@`; `at_word`: it has the letters `at` (any case).
    pub(crate) fn found(&self, text: &str, at_sign: bool, at_word: bool) -> bool {
        (at_sign && self.plain.is_match(text))
            || (at_word && (self.bracketed.is_match(text) || self.words.is_match(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(e: &Email, s: &str) -> bool {
        e.found(s, s.contains('@'), s.to_ascii_lowercase().contains("at"))
    }

    #[test]
    fn emails_in_plain_and_obfuscated_spellings() {
        let e = Email::new().unwrap();
        for s in [
            "jane.doe@example.com",
            "Jane.Doe+ranked@Example.CO.UK",
            "contact=<ana_p@mail.studio-games.io>",
            "mailto:x@y.gg",
            "josé@correo.es",
            "jane @ example.com",
            "jane [at] example [dot] com",
            "jane(at)example(dot)com",
            "jane (AT) example.com",
            "jane{at}mail{dot}example{dot}org",
            "jane AT example DOT com",
            "jane at example dot com",
            "write to jane[at]example.com please",
        ] {
            assert!(hit(&e, s), "{s}");
        }
        for s in [
            "image@sha256:3f2a1c9e",
            "user@host",
            "@player",
            "created_at",
            "respawned at base.alpha",
            "match at 14:05",
            "ranked-5v5",
            "v1.4.0+g3f2a1c9",
            "a@b.c",
        ] {
            assert!(!hit(&e, s), "{s}");
        }
    }
}
