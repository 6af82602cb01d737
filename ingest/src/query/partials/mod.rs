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
//! The key of an object's state names the tenant, the aggregation, every node down to
//! the scan, the columns read, the object (key, size, byte range) and the filter's
//! conjuncts — minus those the object's commit statistics prove true for all its rows
//! ([`implied`]): a 12 h range moving with `now()` covers most objects whole, and those
//! objects' states are reused; the few objects the range cuts are computed again.
//!
//! Not rewritten (planned as DataFusion plans it): aggregations with a row limit or an
//! input order, volatile expressions (`random()`), dynamic filters, row-level filter
//! pushdown into the scan, scans with a limit, objects without commit statistics.

pub mod cache;
mod exec;
mod implied;

pub use cache::{PartialsCache, PartialsMetrics};

use crate::query::catalog::DataObject;
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::datasource::physical_plan::{FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{Column, DynamicFilterPhysicalExpr};
use datafusion::physical_expr::utils::{reassign_expr_columns, split_conjunction};
use datafusion::physical_expr_common::physical_expr::is_volatile;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{ExecutionPlan, InputOrderMode, displayable};
use exec::{KeyedFile, PartialsExec, Template};
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

/// Whether an expression's value may differ between two evaluations over the same rows.
fn unstable(e: &Arc<dyn PhysicalExpr>) -> bool {
    let mut dynamic = false;
    let _ = e.apply(|n| {
        dynamic = n.downcast_ref::<DynamicFilterPhysicalExpr>().is_some();
        Ok(if dynamic {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    dynamic || is_volatile(e)
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
        let mut exprs: Vec<Arc<dyn PhysicalExpr>> = agg
            .group_expr()
            .expr()
            .iter()
            .map(|(e, _)| e.clone())
            .collect();
        exprs.extend(agg.aggr_expr().iter().flat_map(|a| a.expressions()));
        exprs.extend(agg.filter_expr().iter().flatten().cloned());
        if exprs.iter().any(unstable) {
            return Ok(None);
        }
        // The nodes from the aggregation down to the scan, and their stable key parts.
        let mut chain = vec![node.clone()];
        let mut key = format!("{}|{}", self.tenant, one_line(node));
        for f in agg.filter_expr().iter().flatten() {
            key.push_str(&format!("|agg filter {f}"));
        }
        let mut bottom_filter: Option<Arc<dyn ExecutionPlan>> = None;
        let mut cur = agg.input().clone();
        loop {
            if cur.fetch().is_some() {
                return Ok(None);
            }
            if let Some(f) = cur.downcast_ref::<FilterExec>() {
                if unstable(f.predicate()) {
                    return Ok(None);
                }
                let next = f.input().clone();
                if next.downcast_ref::<DataSourceExec>().is_some() {
                    bottom_filter = Some(cur.clone());
                    key.push_str(&format!("|filter proj={:?}", f.projection()));
                } else {
                    key.push_str(&format!("|{}", one_line(&cur)));
                }
                chain.push(cur.clone());
                cur = next;
            } else if let Some(p) = cur.downcast_ref::<ProjectionExec>() {
                if p.expr().iter().any(|e| unstable(&e.expr)) {
                    return Ok(None);
                }
                key.push_str(&format!("|{}", one_line(&cur)));
                chain.push(cur.clone());
                cur = p.input().clone();
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
        key.push_str(&format!("|scan {}", columns.join(",")));
        let conjuncts: Vec<Arc<dyn PhysicalExpr>> = match &bottom_filter {
            Some(f) => match f.downcast_ref::<FilterExec>() {
                Some(f) => split_conjunction(f.predicate())
                    .into_iter()
                    .cloned()
                    .collect(),
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        // The per-object scans prune row groups and pages by the filter right above them
        // (which the key holds) and by nothing else.
        let mut fresh = ParquetSource::new(source.table_schema().clone())
            .with_table_parquet_options(source.table_parquet_options().clone());
        if let Some(f) = &bottom_filter
            && let Some(f) = f.downcast_ref::<FilterExec>()
        {
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
                for c in &conjuncts {
                    if !implied::implied(c, &column_name, object) {
                        k.push_str(&format!("|where {c}"));
                    }
                }
                k.push_str(&format!(
                    "|object {} {} {:?}",
                    file.object_meta.location, file.object_meta.size, file.range
                ));
                files.push(KeyedFile {
                    file: file.clone(),
                    key: k,
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

fn one_line(plan: &Arc<dyn ExecutionPlan>) -> String {
    displayable(plan.as_ref()).one_line().to_string()
}
