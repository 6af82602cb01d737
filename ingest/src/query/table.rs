//! [`CommittedTable`]: a DataFusion table over an explicit list of committed Parquet
//! objects (a catalog snapshot of one tenant and one table) — never a bucket listing.
//! Besides the stored columns it has the Hive-style partition columns `dt` and `hour`
//! (from the object's key). Before reading, objects are pruned with DataFusion's
//! `PruningPredicate` against per-object statistics the commits carry: `ingest_time`
//! min/max, `dt`, `hour` (and row counts); everything the predicate cannot decide is read.

use super::catalog::{DataObject, Objects};
use super::metrics::Metrics;
use arrow::array::{ArrayRef, StringArray, TimestampMillisecondArray, UInt64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::Result;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use std::collections::HashSet;
use std::sync::Arc;

pub const INGEST_TIME: &str = "ingest_time";
pub const DT: &str = "dt";
pub const HOUR: &str = "hour";

fn partition_fields() -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(DT, DataType::Utf8, false)),
        Arc::new(Field::new(HOUR, DataType::Utf8, false)),
    ]
}

/// `schema` with its `Utf8` columns read as `Utf8View`: the Parquet reader then points
/// into the decoded dictionary pages instead of copying every row's string, and
/// group-bys compare inlined prefixes (DataFusion's own default for Parquet).
fn string_views(schema: &Schema) -> SchemaRef {
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View)),
            _ => f.clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

#[derive(Debug)]
pub struct CommittedTable {
    file_schema: SchemaRef,
    schema: SchemaRef,
    objects: Objects,
    store_url: ObjectStoreUrl,
    metrics: Arc<Metrics>,
}

impl CommittedTable {
    pub fn new(
        file_schema: SchemaRef,
        objects: Objects,
        store_url: ObjectStoreUrl,
        metrics: Arc<Metrics>,
    ) -> Self {
        let file_schema = string_views(&file_schema);
        let mut fields: Vec<FieldRef> = file_schema.fields().iter().cloned().collect();
        fields.extend(partition_fields());
        let schema = Arc::new(Schema::new(fields));
        Self {
            file_schema,
            schema,
            objects,
            store_url,
            metrics,
        }
    }

    /// Which objects `filters` may match (all when they cannot be judged).
    fn keep(&self, state: &dyn Session, filters: &[Expr]) -> Vec<bool> {
        let all = vec![true; self.objects.len()];
        let Some(expr) = conjunction(filters.iter().cloned()) else {
            return all;
        };
        let pruned = (|| {
            let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
            let physical = state.create_physical_expr(expr, &df_schema)?;
            let predicate = PruningPredicateBuilder::new()
                .with_file_schema(self.schema.clone())
                .try_build(physical)?;
            predicate.prune(&Stats(&self.objects))
        })();
        match pruned {
            Ok(keep) if keep.len() == all.len() => keep,
            Ok(_) => all,
            Err(e) => {
                tracing::debug!(error = %e, "pruning not possible; reading every object");
                all
            }
        }
    }
}

/// Per-object statistics for pruning: one container per data object.
struct Stats<'a>(&'a [Arc<DataObject>]);

impl Stats<'_> {
    fn strings(&self, f: impl Fn(&DataObject) -> &str) -> ArrayRef {
        Arc::new(StringArray::from_iter_values(self.0.iter().map(|o| f(o))))
    }

    fn times(&self, f: impl Fn(&DataObject) -> i64) -> ArrayRef {
        Arc::new(
            TimestampMillisecondArray::from_iter_values(self.0.iter().map(|o| f(o)))
                .with_timezone("UTC"),
        )
    }
}

impl PruningStatistics for Stats<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        match column.name() {
            INGEST_TIME => Some(self.times(|o| o.min_ingest_ms)),
            DT => Some(self.strings(|o| &o.dt)),
            HOUR => Some(self.strings(|o| &o.hour)),
            _ => None,
        }
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        match column.name() {
            INGEST_TIME => Some(self.times(|o| o.max_ingest_ms)),
            DT => Some(self.strings(|o| &o.dt)),
            HOUR => Some(self.strings(|o| &o.hour)),
            _ => None,
        }
    }

    fn num_containers(&self) -> usize {
        self.0.len()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        match column.name() {
            INGEST_TIME | DT | HOUR => Some(Arc::new(UInt64Array::from(vec![0; self.0.len()]))),
            _ => None,
        }
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        Some(Arc::new(UInt64Array::from_iter_values(
            self.0.iter().map(|o| o.rows),
        )))
    }

    fn contained(
        &self,
        _column: &Column,
        _values: &HashSet<ScalarValue>,
    ) -> Option<arrow::array::BooleanArray> {
        None
    }
}

#[async_trait]
impl TableProvider for CommittedTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Pruning is by object; rows are still filtered after the scan.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let keep = self.keep(state, filters);
        let files: Vec<PartitionedFile> = self
            .objects
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(o, _)| {
                let mut f =
                    PartitionedFile::new(o.key.clone(), o.bytes).with_partition_values(vec![
                        ScalarValue::Utf8(Some(o.dt.clone())),
                        ScalarValue::Utf8(Some(o.hour.clone())),
                    ]);
                // The commit's statistics, for the per-object partials cache.
                f.extensions.insert_arc(o.clone());
                f
            })
            .collect();
        let pruned = (self.objects.len() - files.len()) as u64;
        self.metrics.objects_pruned.inc_by(pruned);
        self.metrics.objects_scanned.inc_by(files.len() as u64);
        if files.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let groups_n = state.config().target_partitions().max(1).min(files.len());
        let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); groups_n];
        for (i, f) in files.into_iter().enumerate() {
            groups[i % groups_n].push(f);
        }
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let table_schema = TableSchema::builder(self.file_schema.clone())
            .with_table_partition_cols(partition_fields())
            .build();
        let source = format.file_source(table_schema);
        let config = FileScanConfigBuilder::new(self.store_url.clone(), source)
            .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        format.create_physical_plan(state, config).await
    }
}
