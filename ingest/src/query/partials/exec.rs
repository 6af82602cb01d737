//! [`PartialsExec`]: stands where a partial aggregation over a scan of committed objects
//! was, with the same output partitions and schema. Each partition walks its objects in
//! turn: an object whose partial state is cached is answered from the cache; otherwise
//! the original partial aggregation (and the filters and projections under it) runs over
//! that object alone — its scan pruning pages by the filter above it and by nothing else
//! (not by dynamic filters or predicates pushed down from above the aggregation), so the
//! state is exactly "this aggregation over these filtered rows of this object", what its
//! key says — and the state is cached. The final aggregation above merges states as it always does.

use super::cache::{Partial, PartialsCache};
use datafusion::common::Result;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    FileGroup, FileScanConfig, FileScanConfigBuilder, FileSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
    collect, displayable,
};
use futures::{StreamExt, TryStreamExt};
use std::fmt;
use std::sync::Arc;

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
        let stream = futures::stream::iter(files)
            .then(move |f| {
                let (template, cache, ctx) = (template.clone(), cache.clone(), context.clone());
                let (hits, misses) = (hits.clone(), misses.clone());
                async move { one_object(&template, &cache, f, ctx, &hits, &misses).await }
            })
            .map_ok(|partial| {
                futures::stream::iter((0..partial.len()).map(move |i| Ok(partial[i].clone())))
            })
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            stream,
        )))
    }
}

async fn one_object(
    template: &Template,
    cache: &PartialsCache,
    f: KeyedFile,
    ctx: Arc<TaskContext>,
    hits: &Count,
    misses: &Count,
) -> Result<Partial> {
    if let Some(p) = cache.get(&f.key) {
        hits.add(1);
        return Ok(p);
    }
    misses.add(1);
    let batches = collect(template.plan_for(f.file)?, ctx).await?;
    let partial: Partial = Arc::new(batches);
    cache.insert(f.key, partial.clone());
    Ok(partial)
}
