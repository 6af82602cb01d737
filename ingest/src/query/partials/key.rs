//! The structural form of what a cached partial state was computed by, and its digest.
//!
//! Display strings are not keys: they drop brackets (`a - (b - c)` prints as `a - b - c`),
//! shorten binary literals and do not quote strings. [`expr`] renders an expression tree
//! node by node — the node's kind, every parameter that changes its value (operator, cast
//! type and options, literal type and escaped value, function name and return type,
//! negation flags), then its children, each length-prefixed — and only for the node kinds
//! listed here, all deterministic. Anything else (scalar subqueries, whose value is known
//! only when the query runs; volatile functions; dynamic filters; unknown node kinds)
//! renders as `None` and the aggregation is not rewritten. [`Key`] hashes length-prefixed
//! parts with SHA-256.

use datafusion::common::ScalarValue;
use datafusion::physical_expr::expressions::{
    BinaryExpr, CaseExpr, CastExpr, Column, InListExpr, IsNotNullExpr, IsNullExpr, LikeExpr,
    Literal, NegativeExpr, NotExpr, TryCastExpr,
};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// `e` rendered structurally, or `None` when it is not a known deterministic expression.
pub fn expr(e: &Arc<dyn PhysicalExpr>) -> Option<String> {
    let head = if let Some(c) = e.downcast_ref::<Column>() {
        format!("col[{:?}@{}]", c.name(), c.index())
    } else if let Some(l) = e.downcast_ref::<Literal>() {
        format!("lit[{}]", literal(l.value()))
    } else if let Some(b) = e.downcast_ref::<BinaryExpr>() {
        format!("bin[{:?}]", b.op())
    } else if let Some(c) = e.downcast_ref::<CastExpr>() {
        format!("cast[{:?} {:?}]", c.cast_type(), c.cast_options())
    } else if let Some(c) = e.downcast_ref::<TryCastExpr>() {
        format!("trycast[{:?}]", c.cast_type())
    } else if let Some(f) = e.downcast_ref::<ScalarFunctionExpr>() {
        if e.is_volatile_node() {
            return None;
        }
        format!("fn[{:?} {:?}]", f.name(), f.return_type())
    } else if let Some(i) = e.downcast_ref::<InListExpr>() {
        format!("in[{}]", i.negated())
    } else if let Some(l) = e.downcast_ref::<LikeExpr>() {
        format!("like[{} {}]", l.negated(), l.case_insensitive())
    } else if let Some(c) = e.downcast_ref::<CaseExpr>() {
        format!(
            "case[{} {} {}]",
            c.expr().is_some(),
            c.when_then_expr().len(),
            c.else_expr().is_some()
        )
    } else if e.downcast_ref::<IsNullExpr>().is_some() {
        "isnull".into()
    } else if e.downcast_ref::<IsNotNullExpr>().is_some() {
        "notnull".into()
    } else if e.downcast_ref::<NotExpr>().is_some() {
        "not".into()
    } else if e.downcast_ref::<NegativeExpr>().is_some() {
        "neg".into()
    } else {
        return None;
    };
    let mut out = head;
    out.push('(');
    for c in e.children() {
        let s = expr(c)?;
        out.push_str(&format!("{}:{s}", s.len()));
    }
    out.push(')');
    Some(out)
}

/// A literal's type and value; strings escaped (so no value can imitate structure).
fn literal(v: &ScalarValue) -> String {
    match v.try_as_str() {
        Some(Some(s)) => format!("{:?} {:?}", v.data_type(), s),
        _ => format!("{:?} {v:?}", v.data_type()),
    }
}

/// Length-prefixed parts, hashed when complete.
#[derive(Debug, Clone, Default)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn part(&mut self, s: &str) {
        self.0.extend_from_slice(&(s.len() as u64).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
    }

    /// SHA-256 of the parts, hex.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{binary, col, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Int64, false),
            Field::new("c", DataType::Int64, false),
            Field::new("s", DataType::Utf8, false),
        ])
    }

    fn minus(l: Arc<dyn PhysicalExpr>, r: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        binary(l, Operator::Minus, r, &schema()).unwrap()
    }

    #[test]
    fn brackets_and_literals_are_told_apart() {
        let s = schema();
        let (a, b, c) = (
            col("a", &s).unwrap(),
            col("b", &s).unwrap(),
            col("c", &s).unwrap(),
        );
        let nested = minus(a.clone(), minus(b.clone(), c.clone()));
        let flat = minus(minus(a, b), c);
        assert_eq!(
            nested.to_string(),
            flat.to_string(),
            "Display drops the brackets"
        );
        assert_ne!(expr(&nested).unwrap(), expr(&flat).unwrap());
        // Same text, different types; a string that looks like structure stays a string.
        assert_ne!(expr(&lit(1i64)).unwrap(), expr(&lit(1i32)).unwrap());
        let tricky = lit(ScalarValue::Utf8(Some("x\") 2:ok(".into())));
        assert!(expr(&tricky).unwrap().contains(r#""x\") 2:ok(""#));
    }

    #[test]
    fn parts_are_length_prefixed() {
        let (mut one, mut two) = (Key::default(), Key::default());
        one.part("ab");
        one.part("c");
        two.part("a");
        two.part("bc");
        assert_ne!(one.digest(), two.digest());
        assert_eq!(one.digest().len(), 64);
    }
}
