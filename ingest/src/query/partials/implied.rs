//! Which conjuncts of a scan's filter are true for every row of one object, judged from
//! the statistics its commit carries (`ingest_time` min/max, the `dt` and `hour` of its
//! key). A dashboard's time range covers most objects whole: for those, the range's
//! bounds say nothing about the object's answer, so they are left out of its cache key
//! and the answer is reused when the range moves.
//!
//! Only `column <op> literal` (either side) with `<`, `<=`, `>`, `>=`, `=` is judged,
//! and only on columns without nulls; anything else is "not implied" (kept in the key).

use crate::query::catalog::DataObject;
use crate::query::table::{DT, HOUR, INGEST_TIME};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
use std::cmp::Ordering;
use std::sync::Arc;

/// Whether `conjunct` holds for every row of `object`. `column_name` names the table
/// column a filter input column index reads (`None`: computed, not a stored column).
pub fn implied(
    conjunct: &Arc<dyn PhysicalExpr>,
    column_name: &dyn Fn(usize) -> Option<String>,
    object: &DataObject,
) -> bool {
    let Some(b) = conjunct.downcast_ref::<BinaryExpr>() else {
        return false;
    };
    let (col, lit, op) = match (column_of(b.left()), literal_of(b.right())) {
        (Some(c), Some(l)) => (c, l, *b.op()),
        _ => match (literal_of(b.left()), column_of(b.right())) {
            (Some(l), Some(c)) => match b.op().swap() {
                Some(op) => (c, l, op),
                None => return false,
            },
            _ => return false,
        },
    };
    let Some(name) = column_name(col.index()) else {
        return false;
    };
    let (min, max) = match name.as_str() {
        INGEST_TIME => match (
            order_time(object.min_ingest_ms, lit),
            order_time(object.max_ingest_ms, lit),
        ) {
            (Some(min), Some(max)) => (min, max),
            _ => return false,
        },
        DT => match order_str(&object.dt, lit) {
            Some(o) => (o, o),
            None => return false,
        },
        HOUR => match order_str(&object.hour, lit) {
            Some(o) => (o, o),
            None => return false,
        },
        _ => return false,
    };
    // `min`/`max`: how the object's smallest/largest value compares with the literal.
    match op {
        Operator::GtEq => min != Ordering::Less,
        Operator::Gt => min == Ordering::Greater,
        Operator::LtEq => max != Ordering::Greater,
        Operator::Lt => max == Ordering::Less,
        Operator::Eq => min == Ordering::Equal && max == Ordering::Equal,
        _ => false,
    }
}

fn column_of(e: &Arc<dyn PhysicalExpr>) -> Option<&Column> {
    e.downcast_ref::<Column>()
}

fn literal_of(e: &Arc<dyn PhysicalExpr>) -> Option<&ScalarValue> {
    e.downcast_ref::<Literal>().map(|l| l.value())
}

/// `ms` (an `ingest_time` statistic, milliseconds) against a timestamp literal, compared
/// in the literal's unit (exact: the statistic is scaled up, never the literal down).
fn order_time(ms: i64, lit: &ScalarValue) -> Option<Ordering> {
    let (v, per_ms) = match lit {
        ScalarValue::TimestampSecond(Some(s), _) => {
            return Some((ms as i128).cmp(&(*s as i128 * 1000)));
        }
        ScalarValue::TimestampMillisecond(Some(v), _) => (*v, 1),
        ScalarValue::TimestampMicrosecond(Some(v), _) => (*v, 1_000),
        ScalarValue::TimestampNanosecond(Some(v), _) => (*v, 1_000_000),
        _ => return None,
    };
    Some((ms as i128 * per_ms).cmp(&(v as i128)))
}

fn order_str(value: &str, lit: &ScalarValue) -> Option<Ordering> {
    match lit {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Some(value.cmp(s.as_str())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use datafusion::physical_expr::expressions::{binary, col, lit};

    fn object() -> DataObject {
        DataObject {
            key: "metrics/tenant=a/dt=2026-11-26/hour=10/x.parquet".into(),
            rows: 10,
            bytes: 100,
            min_ingest_ms: 1_000,
            max_ingest_ms: 2_000,
            dt: "2026-11-26".into(),
            hour: "10".into(),
            shard_id: "shardId-000000000000".into(),
        }
    }

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new(
                INGEST_TIME,
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
            Field::new(DT, DataType::Utf8, false),
            Field::new("value", DataType::Float64, false),
        ])
    }

    fn names(i: usize) -> Option<String> {
        [INGEST_TIME, DT, "value"].get(i).map(|s| s.to_string())
    }

    fn ts(ms: i64) -> ScalarValue {
        ScalarValue::TimestampMillisecond(Some(ms), Some("UTC".into()))
    }

    fn judge(column: &str, op: Operator, value: ScalarValue, flipped: bool) -> bool {
        let s = schema();
        let c = col(column, &s).unwrap();
        let (l, r) = if flipped {
            (lit(value), c)
        } else {
            (c, lit(value))
        };
        let e = binary(l, op, r, &s).unwrap();
        implied(&e, &names, &object())
    }

    #[test]
    fn a_range_covering_the_object_is_implied_and_one_cutting_it_is_not() {
        assert!(judge(INGEST_TIME, Operator::GtEq, ts(1_000), false));
        assert!(!judge(INGEST_TIME, Operator::Gt, ts(1_000), false));
        assert!(judge(INGEST_TIME, Operator::Gt, ts(999), false));
        assert!(judge(INGEST_TIME, Operator::Lt, ts(2_001), false));
        assert!(!judge(INGEST_TIME, Operator::Lt, ts(2_000), false));
        assert!(judge(INGEST_TIME, Operator::LtEq, ts(2_000), false));
        assert!(!judge(INGEST_TIME, Operator::GtEq, ts(1_500), false));
        assert!(!judge(INGEST_TIME, Operator::Eq, ts(1_500), false));
        // literal on the left: 2001 > ingest_time
        assert!(judge(INGEST_TIME, Operator::Gt, ts(2_001), true));
        assert!(!judge(INGEST_TIME, Operator::Gt, ts(1_500), true));
    }

    #[test]
    fn units_are_compared_exactly() {
        let ns = |v: i64| ScalarValue::TimestampNanosecond(Some(v), Some("UTC".into()));
        assert!(judge(INGEST_TIME, Operator::GtEq, ns(1_000_000_000), false));
        assert!(!judge(
            INGEST_TIME,
            Operator::GtEq,
            ns(1_000_000_001),
            false
        ));
        let s = |v: i64| ScalarValue::TimestampSecond(Some(v), Some("UTC".into()));
        assert!(judge(INGEST_TIME, Operator::GtEq, s(1), false));
        assert!(!judge(INGEST_TIME, Operator::Lt, s(2), false));
    }

    #[test]
    fn partition_equality_and_unknown_columns() {
        let utf8 = |s: &str| ScalarValue::Utf8(Some(s.into()));
        assert!(judge(DT, Operator::Eq, utf8("2026-11-26"), false));
        assert!(!judge(DT, Operator::Eq, utf8("2026-11-25"), false));
        assert!(judge(DT, Operator::GtEq, utf8("2026-11-25"), false));
        // no statistics for value: never implied
        assert!(!judge(
            "value",
            Operator::GtEq,
            ScalarValue::Float64(Some(-1e300)),
            false
        ));
        // a null literal is not judged
        assert!(!judge(
            INGEST_TIME,
            Operator::GtEq,
            ScalarValue::TimestampMillisecond(None, Some("UTC".into())),
            false
        ));
    }
}
