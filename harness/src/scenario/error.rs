//! Errors of scenario and thresholds files, each naming the file, the line and column when
//! known, and the field (a dotted path such as `load.steps[1].multiplier`).

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Invalid),
    #[error(
        "no scenario named {name:?}: looked for {}; known scenarios: {}",
        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        if known.is_empty() { "none".to_string() } else { known.join(", ") }
    )]
    NotFound {
        name: String,
        looked: Vec<PathBuf>,
        known: Vec<String>,
    },
}

/// A value or shape the file gets wrong.
#[derive(Debug)]
pub struct Invalid {
    pub file: PathBuf,
    /// 1-based line and column.
    pub at: Option<(usize, usize)>,
    /// Dotted path of the field; empty for the top level.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.at {
            write!(f, ":{line}:{col}")?;
        }
        let field = if self.field.is_empty() {
            "(top level)"
        } else {
            &self.field
        };
        write!(f, ": field `{field}`: {}", self.message)
    }
}

impl ScenarioError {
    pub fn invalid(
        file: &Path,
        text: &str,
        span: Option<std::ops::Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ScenarioError::Invalid(Invalid {
            file: file.to_path_buf(),
            at: span
                .filter(|s| s.end > 0 || s.start > 0)
                .map(|s| line_col(text, s.start)),
            field: field.into(),
            message: message.into(),
        })
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Parses `text` as `T`, turning toml's error (with its span) and serde's path into an
/// error naming file, line:col and field.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<T, ScenarioError> {
    let de = toml::Deserializer::parse(text)
        .map_err(|e| ScenarioError::invalid(file, text, e.span(), "", e.message()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        // `toml::Spanned` shows up in serde's path as a private field name: drop it.
        let field = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "");
        let field = if field == "." { String::new() } else { field };
        let inner = e.into_inner();
        ScenarioError::invalid(file, text, inner.span(), field, inner.message())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 4));
        assert_eq!(line_col(text, 999), (3, 1));
    }
}
