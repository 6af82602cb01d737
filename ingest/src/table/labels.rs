//! How a sample's label set is stored: the [`PROMOTED_LABELS`] (the gateway's allowlist) in
//! their own dictionary columns, every other label in the `labels` map. [`PromotedBuilder`]
//! is the writer's side (delivery's rows); [`PromotedColumns`] the reader's side, rejoining
//! a row's promoted labels with its map entries (the ledger's audit, tests).

use super::schema::PROMOTED_LABELS;
use arrow::array::{Array, ArrayRef, StringArray, StringDictionaryBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int32Type};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// Index of `name` in [`PROMOTED_LABELS`], if it is promoted.
pub fn promoted_index(name: &str) -> Option<usize> {
    PROMOTED_LABELS.iter().position(|p| *p == name)
}

/// Builds the promoted label columns of a batch, one row at a time.
pub struct PromotedBuilder {
    cols: Vec<StringDictionaryBuilder<Int32Type>>,
    set: [bool; PROMOTED_LABELS.len()],
}

impl Default for PromotedBuilder {
    fn default() -> Self {
        Self {
            cols: PROMOTED_LABELS
                .iter()
                .map(|_| StringDictionaryBuilder::new())
                .collect(),
            set: [false; PROMOTED_LABELS.len()],
        }
    }
}

impl PromotedBuilder {
    /// Takes `name = value` into its column if the label is promoted (then `true`; the
    /// caller puts the others in the map).
    pub fn offer(&mut self, name: &str, value: &str) -> bool {
        let Some(i) = promoted_index(name) else {
            return false;
        };
        if !self.set[i] {
            self.cols[i].append_value(value);
            self.set[i] = true;
        }
        true
    }

    /// Ends the current row: labels it did not carry are null.
    pub fn end_row(&mut self) {
        for (col, set) in self.cols.iter_mut().zip(self.set.iter_mut()) {
            if !*set {
                col.append_null();
            }
            *set = false;
        }
    }

    /// The columns, in [`PROMOTED_LABELS`] order.
    pub fn finish(mut self, cols: &mut Vec<ArrayRef>) {
        for c in &mut self.cols {
            cols.push(Arc::new(c.finish()));
        }
    }
}

/// The promoted label columns of a stored `metrics` batch, as strings. Columns absent from
/// the batch (objects written before labels were promoted) read as all-null.
pub struct PromotedColumns {
    cols: Vec<(&'static str, StringArray)>,
}

impl PromotedColumns {
    pub fn from_batch(batch: &RecordBatch) -> Result<Self, ArrowError> {
        let mut cols = Vec::new();
        for name in PROMOTED_LABELS {
            let Some(c) = batch.column_by_name(name) else {
                continue;
            };
            let strings = cast(c, &DataType::Utf8)?;
            let s = strings
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| ArrowError::CastError(format!("{name} is not text")))?;
            cols.push((name, s));
        }
        Ok(Self { cols })
    }

    /// Appends row `i`'s promoted labels (name, value) to `out`.
    pub fn push<'a>(&'a self, i: usize, out: &mut Vec<(&'a str, &'a str)>) {
        for (name, col) in &self.cols {
            if col.is_valid(i) {
                out.push((name, col.value(i)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::schema::promoted_type;

    #[test]
    fn builder_fills_nulls_and_reader_rejoins() {
        let mut b = PromotedBuilder::default();
        assert!(b.offer("region", "eu-west-1"));
        assert!(!b.offer("game_mode", "ranked"));
        b.end_row();
        assert!(b.offer("az", "b"));
        b.end_row();
        let mut cols = Vec::new();
        b.finish(&mut cols);
        assert_eq!(cols.len(), PROMOTED_LABELS.len());
        assert_eq!(cols[0].data_type(), &promoted_type());
        let fields: Vec<_> = PROMOTED_LABELS
            .iter()
            .map(|n| arrow::datatypes::Field::new(*n, promoted_type(), true))
            .collect();
        let schema = Arc::new(arrow::datatypes::Schema::new(fields));
        let batch = RecordBatch::try_new(schema, cols).unwrap();
        let p = PromotedColumns::from_batch(&batch).unwrap();
        let mut row = Vec::new();
        p.push(0, &mut row);
        assert_eq!(row, vec![("region", "eu-west-1")]);
        row.clear();
        p.push(1, &mut row);
        assert_eq!(row, vec![("az", "b")]);
    }
}
