//! What every batch operation shares: 1–10 entries with distinct, well-formed ids,
//! and an answer that lists each entry as Successful or Failed.

use super::errors;
use crate::awsjson::JsonError;
use serde::Serialize;
use std::collections::HashSet;

pub(crate) const MAX_ENTRIES: usize = 10;

/// Checks the whole-request rules; `ids` are the entries' `Id`s in order.
pub(crate) fn check_entries<'a>(
    ids: impl ExactSizeIterator<Item = Option<&'a str>>,
) -> Result<(), JsonError> {
    match ids.len() {
        0 => return Err(errors::empty_batch()),
        n if n > MAX_ENTRIES => return Err(errors::too_many_entries(n)),
        _ => {}
    }
    let mut seen = HashSet::with_capacity(MAX_ENTRIES);
    for id in ids {
        let id = id.ok_or_else(|| errors::missing_parameter("Id"))?;
        let ok = (1..=80).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(errors::invalid_batch_entry_id(id));
        }
        if !seen.insert(id) {
            return Err(errors::ids_not_distinct(id));
        }
    }
    Ok(())
}

/// One `Failed` item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Failed {
    pub id: String,
    pub sender_fault: bool,
    pub code: String,
    pub message: String,
}

impl Failed {
    pub fn new(id: String, e: &JsonError) -> Self {
        Self {
            id,
            sender_fault: true,
            code: errors::entry_code(e).to_string(),
            message: e.message.clone(),
        }
    }
}

/// One `Successful` item of DeleteMessageBatch or ChangeMessageVisibilityBatch.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Done {
    pub id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BatchOut<T: Serialize> {
    pub successful: Vec<T>,
    pub failed: Vec<Failed>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_rules() {
        let code = |ids: &[Option<&str>]| {
            check_entries(ids.iter().copied())
                .err()
                .map(|e| e.code)
                .unwrap_or_default()
        };
        assert_eq!(code(&[]), "EmptyBatchRequest");
        assert_eq!(code(&[Some("a"); 11]), "TooManyEntriesInBatchRequest");
        assert_eq!(code(&[Some("a"), Some("a")]), "BatchEntryIdsNotDistinct");
        assert_eq!(code(&[Some("a b")]), "InvalidBatchEntryId");
        assert_eq!(code(&[Some("a"), Some("b-1_")]), "");
    }
}
