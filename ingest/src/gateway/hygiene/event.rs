//! PII in an event's `event_data`: every string, every object key (keys are judged
//! before their values), nested arrays and objects at any depth, and integers that
//! look like card or phone numbers. The rejection names the JSON path, never the value.

use super::detect::Detectors;
use super::rejection::echo;
use super::{PiiKind, Rejection};
use serde_json::Value;

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn path(steps: &[Step<'_>], last_is_key: bool) -> String {
    let mut s = String::from("event_data $");
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Key(_) if last_is_key && i + 1 == steps.len() => s.push_str(".<key>"),
            Step::Key(k) => {
                s.push('.');
                s.push_str(echo(k).trim_matches('`'));
            }
            Step::Index(n) => s.push_str(&format!("[{n}]")),
        }
    }
    s
}

pub(super) fn check(d: &Detectors, value: &Value) -> Result<(), Rejection> {
    let mut steps = Vec::new();
    walk(d, value, &mut steps).map_err(|(kind, location)| Rejection::Pii { kind, location })
}

fn walk<'a>(
    d: &Detectors,
    v: &'a Value,
    steps: &mut Vec<Step<'a>>,
) -> Result<(), (PiiKind, String)> {
    match v {
        Value::String(s) => match d.check(s) {
            Some(k) => Err((k, path(steps, false))),
            None => Ok(()),
        },
        Value::Number(n) => match d.check_number(n) {
            Some(k) => Err((k, path(steps, false))),
            None => Ok(()),
        },
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                walk(d, item, steps)?;
                steps.pop();
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, item) in map {
                steps.push(Step::Key(k));
                if let Some(kind) = d.check(k) {
                    return Err((kind, path(steps, true)));
                }
                walk(d, item, steps)?;
                steps.pop();
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) => Ok(()),
    }
}
