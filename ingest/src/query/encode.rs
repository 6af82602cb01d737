//! Writing an [`Answer`]: JSON `{"columns", "rows", "row_count", "truncated"}` (rows as
//! arrays in column order, values as arrow-json writes them: numbers, strings, RFC 3339
//! timestamps, maps and lists as JSON) or an Arrow IPC stream.

use super::exec::Answer;
use arrow::array::ArrayRef;
use arrow::datatypes::{Field, Schema};
use arrow::error::ArrowError;
use arrow::json::writer::{JsonArray, WriterBuilder};
use arrow::record_batch::RecordBatch;
use serde_json::Value;
use std::sync::Arc;

pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// Zoned timestamps (both tables' are UTC) keep their offset: RFC 3339.
const TIMESTAMP_TZ: &str = "%Y-%m-%dT%H:%M:%S%.f%:z";

/// One column's values as JSON (nulls explicit).
fn column_values(field: &Field, array: &ArrayRef) -> Result<Vec<Value>, ArrowError> {
    let f = Field::new("v", field.data_type().clone(), true);
    let batch = RecordBatch::try_new(Arc::new(Schema::new(vec![f])), vec![array.clone()])?;
    let mut w = WriterBuilder::new()
        .with_explicit_nulls(true)
        .with_timestamp_tz_format(TIMESTAMP_TZ.to_string())
        .build::<_, JsonArray>(Vec::new());
    w.write(&batch)?;
    w.finish()?;
    let text = w.into_inner();
    let rows: Vec<serde_json::Map<String, Value>> = if text.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(&text).map_err(|e| ArrowError::JsonError(e.to_string()))?
    };
    Ok(rows
        .into_iter()
        .map(|mut m| m.remove("v").unwrap_or(Value::Null))
        .collect())
}

pub fn json(answer: &Answer) -> Result<Vec<u8>, ArrowError> {
    let columns: Vec<&str> = answer
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(answer.rows);
    for batch in &answer.batches {
        let mut cols = Vec::with_capacity(batch.num_columns());
        for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
            cols.push(column_values(field, array)?.into_iter());
        }
        for _ in 0..batch.num_rows() {
            rows.push(
                cols.iter_mut()
                    .map(|c| c.next().unwrap_or(Value::Null))
                    .collect(),
            );
        }
    }
    let body = serde_json::json!({
        "columns": columns,
        "rows": rows,
        "row_count": answer.rows,
        "truncated": answer.truncated,
    });
    serde_json::to_vec(&body).map_err(|e| ArrowError::JsonError(e.to_string()))
}

pub fn arrow_ipc(answer: &Answer) -> Result<Vec<u8>, ArrowError> {
    let mut w = arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &answer.schema)?;
    for b in &answer.batches {
        w.write(b)?;
    }
    w.finish()?;
    w.into_inner()
}
