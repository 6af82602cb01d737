//! [`PartialsExec`]: stands where a partial aggregation over a scan of committed objects
//! was, with the same output partitions and schema. Each partition walks its objects in
//! turn: an object whose partial state is cached is answered from the cache; otherwise
//! the original partial aggregation (and the filters and projections under it) runs over
//! that object alone — its scan pruning pages by the filter above it and by nothing else
//! (not by dynamic filters or predicates pushed down from above the aggregation), so the
//! state is exactly "this aggregation over these filtered rows of this object", what its
//! key says — and the state is cached. The final aggregation above merges states as it always does.

use super::cache::PartialsCache;
use arrow::record_batch::RecordBatch;
use datafusion::common::Result;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    FileGroup, FileScanConfig, FileScanConfigBuilder, FileSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::coop::make_cooperative;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
    displayable,
};
use futures::{Stream, StreamExt};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// One object of one output partition and the key of its partial state.
#[derive(Debug, Clone)]
pub struct KeyedFile {
    pub file: PartitionedFile,
    pub key: String,
}

/// What every object's plan is rebuilt from.
pub struct Template {
    /// The partial aggregation, then the nodes between it and the scan (top down).
    pub chain: Vec<Arc<dyn ExecutionPlan>>,
    /// The original scan's configuration (its file groups are replaced per object).
    pub scan: FileScanConfig,
    /// The scan's file source, pruning by the filter over the scan only.
    pub source: Arc<dyn FileSource>,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("chain", &self.chain.len())
            .finish()
    }
}

impl Template {
    /// The chain over `file` alone.
    fn plan_for(&self, file: PartitionedFile) -> Result<Arc<dyn ExecutionPlan>> {
        let config = FileScanConfigBuilder::from(self.scan.clone())
            .with_source(self.source.clone())
            .with_file_groups(vec![FileGroup::new(vec![file])])
            .build();
        let mut plan: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(config);
        for node in self.chain.iter().rev() {
            plan = replace_children_if_necessary(node.clone(), vec![plan])?;
        }
        Ok(plan)
    }
}

#[derive(Debug)]
pub struct PartialsExec {
    template: Arc<Template>,
    groups: Vec<Vec<KeyedFile>>,
    cache: Arc<PartialsCache>,
    props: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl PartialsExec {
    /// `agg` is the partial aggregation replaced (its schema and partitioning are kept).
    pub fn new(
        agg: &Arc<dyn ExecutionPlan>,
        template: Template,
        groups: Vec<Vec<KeyedFile>>,
        cache: Arc<PartialsCache>,
    ) -> Self {
        let props = PlanProperties::new(
            EquivalenceProperties::new(agg.schema()),
            agg.properties().output_partitioning().clone(),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Self {
            template: Arc::new(template),
            groups,
            cache,
            props: Arc::new(props),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for PartialsExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let files: usize = self.groups.iter().map(Vec::len).sum();
        match t {
            DisplayFormatType::TreeRender => write!(f, "objects={files}"),
            _ => match self.template.chain.first() {
                Some(agg) => write!(
                    f,
                    "PartialsExec: per-object cached partial states of {} objects for [{}]",
                    files,
                    displayable(agg.as_ref()).one_line().to_string().trim_end()
                ),
                None => write!(f, "PartialsExec: {files} objects"),
            },
        }
    }
}

impl ExecutionPlan for PartialsExec {
    fn name(&self) -> &str {
        "PartialsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let files = self.groups.get(partition).cloned().unwrap_or_default();
        let hits = MetricBuilder::new(&self.metrics).counter("partials_cached", partition);
        let misses = MetricBuilder::new(&self.metrics).counter("partials_computed", partition);
        let (template, cache) = (self.template.clone(), self.cache.clone());
        // Objects one after the other, each opened when the previous one is done.
        let stream = futures::stream::iter(files)
            .map(move |f| match cache.get(&f.key) {
                Some(p) => {
                    hits.add(1);
                    futures::stream::iter((0..p.len()).map(move |i| Ok(p[i].clone()))).boxed()
                }
                None => {
                    misses.add(1);
                    let opened = template
                        .plan_for(f.file)
                        .and_then(|plan| plan.execute(0, context.clone()));
                    match opened {
                        Ok(s) => Tee::new(s, f.key, cache.clone(), &context).boxed(),
                        Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
                    }
                }
            })
            .flatten();
        Ok(make_cooperative(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            stream,
        ))))
    }
}

/// Passes one object's partial state on as it is computed and keeps a copy (accounted in
/// the query's memory pool while it is built) for the cache, given up when it grows past
/// the cache's entry limit or the pool refuses; cached only when the object's stream
/// ended without error.
struct Tee {
    inner: SendableRecordBatchStream,
    kept: Option<Vec<RecordBatch>>,
    bytes: u64,
    key: String,
    cache: Arc<PartialsCache>,
    reservation: MemoryReservation,
}

impl Tee {
    fn new(
        inner: SendableRecordBatchStream,
        key: String,
        cache: Arc<PartialsCache>,
        ctx: &Arc<TaskContext>,
    ) -> Self {
        let reservation = MemoryConsumer::new("PartialsExec").register(ctx.memory_pool());
        Self {
            inner,
            kept: Some(Vec::new()),
            bytes: 0,
            key,
            cache,
            reservation,
        }
    }

    fn keep(&mut self, b: &RecordBatch) {
        let Some(kept) = &mut self.kept else {
            return;
        };
        let size = b.get_array_memory_size() as u64;
        if self.bytes + size > self.cache.entry_limit()
            || self.reservation.try_grow(size as usize).is_err()
        {
            self.kept = None;
            self.reservation.free();
            self.cache.note_oversize();
            return;
        }
        self.bytes += size;
        kept.push(b.clone());
    }
}

impl Stream for Tee {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let polled = this.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(b))) => this.keep(b),
            Poll::Ready(Some(Err(_))) => this.kept = None,
            Poll::Ready(None) => {
                if let Some(kept) = this.kept.take() {
                    this.cache
                        .insert(std::mem::take(&mut this.key), Arc::new(kept));
                }
                this.reservation.free();
            }
            Poll::Pending => {}
        }
        polled
    }
}
