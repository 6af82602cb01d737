//! Record batch → Parquet bytes (Snappy), one row group per flushed buffer. Encoding is
//! deterministic for the same rows, so a retried flush writes identical bytes.
//!
//! Dictionary encoding stays on where values repeat (tenant, metric, labels, types,
//! timestamps, provenance strings) and is off for the columns whose values are (nearly)
//! unique per row or per record, where building the dictionary only costs hashing before
//! the writer falls back to plain anyway: `kinesis_seq` and `value`. Statistics are
//! the writer's defaults for every column (readers prune row groups and pages with them).

use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

/// Columns written without a dictionary.
const NO_DICTIONARY: [&str; 2] = ["kinesis_seq", "value"];

pub fn properties() -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by("gameday-delivery".into());
    for c in NO_DICTIONARY {
        b = b.set_column_dictionary_enabled(ColumnPath::from(c), false);
    }
    b.build()
}

pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, ParquetError> {
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(properties()))?;
    w.write(batch)?;
    w.close()?;
    Ok(out)
}
