//! Secrets in configuration: given inline, from an environment variable or from a file,
//! and never printed (`Debug` shows `<redacted>`).

use serde::Deserialize;
use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SecretSource {
    Inline(String),
    Env { env: String },
    File { file: String },
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match SecretSource::deserialize(d)? {
            SecretSource::Inline(s) => Ok(Secret(s)),
            SecretSource::Env { env } => std::env::var(&env)
                .map(Secret)
                .map_err(|_| D::Error::custom(format!("environment variable {env} is not set"))),
            SecretSource::File { file } => std::fs::read_to_string(&file)
                .map(|s| Secret(s.trim_end().to_string()))
                .map_err(|e| D::Error::custom(format!("reading secret file {file}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct C {
        a: Secret,
        b: Secret,
    }

    #[test]
    fn inline_env_and_file_never_printed() {
        // SAFETY: single-threaded test setting a variable no other test reads.
        unsafe { std::env::set_var("GAMEDAY_TEST_SECRET", "from-env") };
        let c: C = toml::from_str("a = \"inline\"\nb = { env = \"GAMEDAY_TEST_SECRET\" }").unwrap();
        assert_eq!(c.a.expose(), "inline");
        assert_eq!(c.b.expose(), "from-env");
        assert!(!format!("{c:?}").contains("inline"));
        let e = toml::from_str::<C>("a = \"x\"\nb = { env = \"GAMEDAY_NOT_SET_ANYWHERE\" }")
            .unwrap_err();
        assert!(e.to_string().contains("GAMEDAY_NOT_SET_ANYWHERE"));
    }
}
