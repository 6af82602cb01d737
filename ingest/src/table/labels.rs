//! How a sample's label set is stored: the [`PROMOTED_LABELS`] (the gateway's allowlist) in
//! their own dictionary columns, every other label in the `labels` map. Delivery's rows
//! write them (`delivery::rows::series`); [`PromotedColumns`] is the reader's side,
//! rejoining a row's promoted labels with its map entries (the ledger's audit, tests).

use super::schema::PROMOTED_LABELS;
use arrow::array::{Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// Index of `name` in [`PROMOTED_LABELS`], if it is promoted.
pub fn promoted_index(name: &str) -> Option<usize> {
    PROMOTED_LABELS.iter().position(|p| *p == name)
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
    fn reader_rejoins_the_promoted_labels_a_row_carries() {
        use arrow::array::{ArrayRef, StringDictionaryBuilder};
        use arrow::datatypes::Int32Type;
        use std::sync::Arc;
        let mut cols: Vec<ArrayRef> = Vec::new();
        for name in PROMOTED_LABELS {
            let mut b = StringDictionaryBuilder::<Int32Type>::new();
            b.append_option((name == "region").then_some("eu-west-1"));
            b.append_option((name == "az").then_some("b"));
            cols.push(Arc::new(b.finish()));
        }
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
