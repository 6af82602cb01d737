//! Per-object partial aggregation states, cached: what makes a refreshing dashboard cheap.
//!
//! DataFusion aggregates in two phases: a partial aggregation per input partition, then a
//! final one merging the partial states. Committed objects never change, so the partial
//! state of one aggregation over one object is a pure function of (the aggregation, the
//! filters and projections under it, the object). [`PartialsRule`] — a physical optimizer
//! rule run after DataFusion's own — replaces a partial aggregation that reads a scan of
//! committed objects through filters and projections only with [`exec::PartialsExec`],
//! which computes that state object by object and keeps it in the service's
//! [`PartialsCache`] (Druid's per-segment result cache, for the same reason).
//!
//! The key of an object's state ([`key`]: a digest of structural renderings, never of
//! display strings) names the tenant, the aggregation (groupings, functions, arguments,
//! DISTINCT, FILTER, ORDER BY), every node down to the scan, the columns read, the object
//! (key, size, byte range) and the filter's conjuncts — minus those the object's commit
//! statistics prove true for all its rows ([`implied`]): a 12 h range moving with `now()`
//! covers most objects whole, and those objects' states are reused; the few objects the
//! range cuts are computed again.
//!
//! Not rewritten (planned as DataFusion plans it): aggregations with a row limit or an
//! input order; any expression outside the deterministic kinds [`key`] knows (scalar
//! subqueries, volatile functions, dynamic filters, …); nodes other than filters and
//! projections between the aggregation and the scan (windows, as in dedupe views; joins);
//! row-level filter pushdown into the scan; scans with a limit; objects without commit
//! statistics.

pub mod cache;
mod exec;
mod implied;
mod key;

pub use cache::{PartialsCache, PartialsMetrics};

use crate::query::catalog::DataObject;
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::datasource::physical_plan::{FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::utils::{reassign_expr_columns, split_conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{ExecutionPlan, InputOrderMode};
use exec::{KeyedFile, PartialsExec, Template};
use key::Key;
use std::sync::Arc;

/// The rule, for one tenant's session.
#[derive(Debug)]
pub struct PartialsRule {
    tenant: String,
    cache: Arc<PartialsCache>,
}

impl PartialsRule {
    pub fn new(tenant: &str, cache: Arc<PartialsCache>) -> Self {
        Self {
            tenant: tenant.to_string(),
            cache,
        }
    }
}

impl PhysicalOptimizerRule for PartialsRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !self.cache.enabled() || config.execution.parquet.pushdown_filters {
            return Ok(plan);
        }
        plan.transform_down(|node| match self.rewrite(&node)? {
            Some(new) => Ok(Transformed::new(new, true, TreeNodeRecursion::Jump)),
            None => Ok(Transformed::no(node)),
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "gameday_partials"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Structural key parts of the partial aggregation itself (`None`: not cacheable).
fn aggregation_parts(agg: &AggregateExec, key: &mut Key) -> Option<()> {
    let g = agg.group_expr();
    key.part(&format!(
        "group by {} {} {:?}",
        g.expr().len(),
        g.null_expr().len(),
        g.groups()
    ));
    for (e, alias) in g.expr().iter().chain(g.null_expr()) {
        key.part(&key::expr(e)?);
        key.part(alias);
    }
    for (a, filter) in agg.aggr_expr().iter().zip(agg.filter_expr()) {
        let args = a.expressions();
        key.part(&format!(
            "aggregate {:?} distinct={} ignore_nulls={} reversed={} -> {:?}; {} args, {} order",
            a.fun().name(),
            a.is_distinct(),
            a.ignore_nulls(),
            a.is_reversed(),
            a.field().data_type(),
            args.len(),
            a.order_bys().len()
        ));
        for e in &args {
            key.part(&key::expr(e)?);
        }
        for o in a.order_bys() {
            key.part(&key::expr(&o.expr)?);
            key.part(&format!("{:?}", o.options));
        }
        match filter {
            Some(f) => key.part(&format!("filter {}", key::expr(f)?)),
            None => key.part("no filter"),
        }
    }
    Some(())
}

impl PartialsRule {
    fn rewrite(&self, node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(agg) = node.downcast_ref::<AggregateExec>() else {
            return Ok(None);
        };
        if *agg.mode() != AggregateMode::Partial
            || agg.limit_options().is_some()
            || *agg.input_order_mode() != InputOrderMode::Linear
            || agg.properties().output_ordering().is_some()
        {
            return Ok(None);
        }
        let mut key = Key::default();
        key.part(&self.tenant);
        if aggregation_parts(agg, &mut key).is_none() {
            return Ok(None);
        }
        // The nodes from the aggregation down to the scan, and their key parts.
        let mut chain = vec![node.clone()];
        let mut bottom_filter: Option<&FilterExec> = None;
        let mut cur = agg.input();
        loop {
            if cur.fetch().is_some() {
                return Ok(None);
            }
            if let Some(f) = cur.downcast_ref::<FilterExec>() {
                key.part(&format!("filter projection={:?}", f.projection()));
                if f.input().downcast_ref::<DataSourceExec>().is_some() {
                    // Judged per object below.
                    bottom_filter = Some(f);
                } else {
                    let Some(p) = key::expr(f.predicate()) else {
                        return Ok(None);
                    };
                    key.part(&p);
                }
                chain.push(cur.clone());
                cur = f.input();
            } else if let Some(p) = cur.downcast_ref::<ProjectionExec>() {
                key.part(&format!("projection of {}", p.expr().len()));
                for e in p.expr() {
                    let Some(r) = key::expr(&e.expr) else {
                        return Ok(None);
                    };
                    key.part(&r);
                    key.part(&e.alias);
                }
                chain.push(cur.clone());
                cur = p.input();
            } else {
                break;
            }
        }
        let Some(scan) = cur.downcast_ref::<DataSourceExec>() else {
            return Ok(None);
        };
        let Some((config, source)) = scan.downcast_to_file_source::<ParquetSource>() else {
            return Ok(None);
        };
        if config.limit.is_some() {
            return Ok(None);
        }
        // The scan's output columns, each a stored (or partition) column by its own name.
        let columns: Vec<String> = match source.projection() {
            Some(p) => {
                let mut names = Vec::new();
                for e in p.iter() {
                    match e.expr.downcast_ref::<Column>() {
                        Some(c) if c.name() == e.alias => names.push(e.alias.clone()),
                        _ => return Ok(None),
                    }
                }
                names
            }
            None => cur
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
        };
        key.part(&format!("scan {:?}", columns));
        let mut conjuncts = Vec::new();
        if let Some(f) = bottom_filter {
            for c in split_conjunction(f.predicate()) {
                let Some(r) = key::expr(c) else {
                    return Ok(None);
                };
                conjuncts.push((c.clone(), r));
            }
        }
        // The per-object scans prune row groups and pages by the filter right above them
        // (which the key holds) and by nothing else.
        let mut fresh = ParquetSource::new(source.table_schema().clone())
            .with_table_parquet_options(source.table_parquet_options().clone());
        if let Some(f) = bottom_filter {
            let table = source.table_schema().table_schema();
            fresh = fresh.with_predicate(reassign_expr_columns(f.predicate().clone(), table)?);
        }
        if let Some(f) = source.parquet_file_reader_factory() {
            fresh = fresh.with_parquet_file_reader_factory(f.clone());
        }
        let fresh: Arc<dyn FileSource> = match source.projection() {
            Some(p) => match fresh.try_pushdown_projection(p)? {
                Some(s) => s,
                None => return Ok(None),
            },
            None => Arc::new(fresh),
        };
        let column_name = |i: usize| columns.get(i).cloned();
        let mut groups = Vec::with_capacity(config.file_groups.len());
        for group in &config.file_groups {
            let mut files = Vec::with_capacity(group.len());
            for file in group.iter() {
                let Some(object) = file.extensions.get::<DataObject>() else {
                    return Ok(None);
                };
                let mut k = key.clone();
                for (c, rendered) in &conjuncts {
                    if !implied::implied(c, &column_name, object) {
                        k.part(rendered);
                    }
                }
                k.part(&format!(
                    "object {:?} {} {:?}",
                    file.object_meta.location.as_ref(),
                    file.object_meta.size,
                    file.range
                ));
                files.push(KeyedFile {
                    file: file.clone(),
                    key: k.digest(),
                });
            }
            groups.push(files);
        }
        let template = Template {
            chain,
            scan: config.clone(),
            source: fresh,
        };
        Ok(Some(Arc::new(PartialsExec::new(
            node,
            template,
            groups,
            self.cache.clone(),
        ))))
    }
}
