//! Running one tenant's SQL: plan, refuse anything but queries, execute with a row cap
//! (one row more than allowed is fetched to tell whether the answer was cut), and turn
//! every failure into a reason code and an HTTP status ([`QueryFailure`]).

use super::session::{Sessions, sql_options};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use axum::response::{IntoResponse, Response};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use futures::StreamExt;
use http::{HeaderValue, StatusCode, header};

/// A query's result, already cut to the row limit.
pub struct Answer {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    pub truncated: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryFailure {
    /// DDL, DML or a statement (`CREATE EXTERNAL TABLE`, `COPY`, `SET`, …), or a read
    /// outside the tenant's data.
    #[error("{0}")]
    Refused(String),
    /// Not valid SQL, or it names unknown tables, columns or functions.
    #[error("{0}")]
    Invalid(String),
    /// Valid, but failed while running (a cast, a division by zero, …).
    #[error("{0}")]
    Failed(String),
    /// Needed more memory than the service's pool holds.
    #[error("{0}")]
    Memory(String),
    /// Reading the data objects failed.
    #[error("{0}")]
    Storage(String),
    #[error("the query ran longer than {0} ms")]
    Timeout(u64),
    #[error("too many queries of this tenant are running")]
    Busy,
    #[error("{0}")]
    Internal(String),
}

impl QueryFailure {
    /// Reason code (metrics `outcome`, JSON `error`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Refused(_) => "refused",
            Self::Invalid(_) => "invalid_query",
            Self::Failed(_) => "query_failed",
            Self::Memory(_) => "memory_limit",
            Self::Storage(_) => "storage",
            Self::Timeout(_) => "timeout",
            Self::Busy => "concurrency_limit",
            Self::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Refused(_) => StatusCode::FORBIDDEN,
            Self::Invalid(_) | Self::Failed(_) => StatusCode::BAD_REQUEST,
            Self::Memory(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Storage(_) => StatusCode::BAD_GATEWAY,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Busy => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn response(&self) -> Response {
        let body = serde_json::json!({"error": self.reason(), "detail": self.to_string()});
        let mut r = (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if matches!(self, Self::Busy) {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }

    /// Sorts a DataFusion error by what went wrong.
    pub fn classify(e: DataFusionError) -> Self {
        if refused_by_store(&e) {
            return Self::Refused(e.strip_backtrace());
        }
        let msg = e.strip_backtrace();
        match e.find_root() {
            DataFusionError::ResourcesExhausted(_) => Self::Memory(msg),
            DataFusionError::SQL(..)
            | DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(_) => Self::Invalid(msg),
            DataFusionError::ObjectStore(_) | DataFusionError::ParquetError(_) => {
                Self::Storage(msg)
            }
            DataFusionError::Internal(_) => Self::Internal(msg),
            _ => Self::Failed(msg),
        }
    }
}

/// Whether the scoped store refused a path somewhere down the error chain.
fn refused_by_store(e: &DataFusionError) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut depth = 0;
    while let Some(err) = cur {
        if let Some(object_store::Error::PermissionDenied { .. }) =
            err.downcast_ref::<object_store::Error>()
        {
            return true;
        }
        if let Some(DataFusionError::ObjectStore(os)) = err.downcast_ref::<DataFusionError>()
            && matches!(os.as_ref(), object_store::Error::PermissionDenied { .. })
        {
            return true;
        }
        depth += 1;
        if depth > 64 {
            break;
        }
        cur = err.source();
    }
    false
}

/// Plans, checks and runs `sql` for `tenant`, keeping at most `max_rows` rows.
pub async fn execute(
    sessions: &Sessions,
    tenant: &str,
    sql: &str,
    dedupe: bool,
    max_rows: usize,
) -> Result<Answer, QueryFailure> {
    let internal = |e: DataFusionError| QueryFailure::Internal(e.strip_backtrace());
    let ctx = sessions.session(tenant, dedupe).map_err(internal)?;
    if dedupe {
        sessions
            .register_dedupe_views(&ctx)
            .await
            .map_err(internal)?;
    }
    let plan = ctx
        .state()
        .create_logical_plan(sql)
        .await
        .map_err(QueryFailure::classify)?;
    sql_options()
        .verify_plan(&plan)
        .map_err(|e| QueryFailure::Refused(e.strip_backtrace()))?;
    // EXPLAIN [ANALYZE] must stay the plan's root (its rows are few; the cap still holds).
    let explain = matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_));
    let mut df = ctx
        .execute_logical_plan(plan)
        .await
        .map_err(QueryFailure::classify)?;
    if !explain {
        df = df
            .limit(0, Some(max_rows.saturating_add(1)))
            .map_err(QueryFailure::classify)?;
    }
    let mut stream = df.execute_stream().await.map_err(QueryFailure::classify)?;
    let schema: SchemaRef = stream.schema();
    let mut batches = Vec::new();
    let (mut rows, mut truncated) = (0usize, false);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(QueryFailure::classify)?;
        let room = max_rows - rows;
        if batch.num_rows() > room {
            truncated = true;
            if room > 0 {
                batches.push(batch.slice(0, room));
            }
            rows = max_rows;
            break;
        }
        rows += batch.num_rows();
        batches.push(batch);
    }
    Ok(Answer {
        schema,
        batches,
        rows,
        truncated,
    })
}
