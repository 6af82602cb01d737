//! Rules that span fields of a scenario: what each selected gate needs from the load
//! profile (T1 a 1× step; T2 a step between 1× and the peak, the peak, and a step after
//! it; T3 every class of bad traffic), unique names, a usable protocol mix.

use super::error::ScenarioError;
use super::file::ScenarioFile;
use crate::gates::GateId;
use std::collections::BTreeSet;
use std::path::Path;

pub fn check(path: &Path, text: &str, f: &ScenarioFile) -> Result<(), ScenarioError> {
    let err = |span: Option<std::ops::Range<usize>>, field: &str, msg: String| {
        ScenarioError::invalid(path, text, span, field, msg)
    };
    let steps = f.load.steps.get_ref();
    let steps_span = Some(f.load.steps.span());
    let gates_span = Some(f.gates.span());

    if let Some(name) = &f.name
        && (name.is_empty() || name.contains(char::is_whitespace))
    {
        return Err(err(None, "name", format!("{name:?} must be one word")));
    }
    if f.gates.get_ref().is_empty() {
        return Err(err(gates_span, "gates", "judge at least one gate".into()));
    }
    if let Some(dup) = first_duplicate(f.gates.get_ref().iter().map(|g| g.to_string())) {
        return Err(err(gates_span, "gates", format!("{dup} is listed twice")));
    }
    if f.stack.azs.is_empty() {
        return Err(err(None, "stack.azs", "at least one AZ".into()));
    }
    if let Some(dup) = first_duplicate(f.stack.azs.iter().cloned()) {
        return Err(err(
            None,
            "stack.azs",
            format!("AZ {dup:?} is listed twice"),
        ));
    }
    let ids = &f.tenants.ids;
    if ids.is_empty() {
        return Err(err(None, "tenants.ids", "at least one tenant".into()));
    }
    if let Some(bad) = ids.iter().find(|id| {
        id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }) {
        return Err(err(
            None,
            "tenants.ids",
            format!("{bad:?}: tenant ids are lowercase letters, digits and '-'"),
        ));
    }
    if let Some(dup) = first_duplicate(ids.iter().cloned()) {
        return Err(err(
            None,
            "tenants.ids",
            format!("tenant {dup:?} is listed twice"),
        ));
    }
    if steps.is_empty() {
        return Err(err(steps_span, "load.steps", "at least one step".into()));
    }
    if let Some(dup) = first_duplicate(steps.iter().map(|s| s.name.clone())) {
        return Err(err(
            steps_span,
            "load.steps",
            format!("step name {dup:?} is used twice"),
        ));
    }
    if f.load.mix.remote_write.0 + f.load.mix.otlp.0 <= 0.0 {
        return Err(err(
            None,
            "load.mix",
            "remote_write and otlp cannot both be 0".into(),
        ));
    }
    let bad_total = f.load.bad.total();
    if bad_total >= 1.0 {
        return Err(err(
            None,
            "load.bad",
            format!("bad shares add up to {bad_total}; clean traffic needs a share too"),
        ));
    }

    let gates = f.gates.get_ref();
    let is = |m: f64, target: f64| (m - target).abs() < 1e-9;
    if gates.contains(&GateId::T1) && !steps.iter().any(|s| is(s.multiplier.0, 1.0)) {
        return Err(err(
            steps_span,
            "load.steps",
            "gate T1 judges 1×: add a step with multiplier = 1".into(),
        ));
    }
    if gates.contains(&GateId::T2) {
        let peak = steps.iter().map(|s| s.multiplier.0).fold(0.0, f64::max);
        let last_peak = steps.iter().rposition(|s| is(s.multiplier.0, peak));
        let absorbed = steps
            .iter()
            .any(|s| s.multiplier.0 > 1.0 && s.multiplier.0 < peak);
        let after = last_peak.is_some_and(|i| steps[i + 1..].iter().any(|s| s.multiplier.0 <= 1.0));
        if peak <= 1.0 || !absorbed || !after {
            return Err(err(
                steps_span,
                "load.steps",
                format!(
                    "gate T2 needs a step between 1× and the peak (absorbed, e.g. 3×), the peak \
                     (e.g. 5×) and a step at ≤ 1× after it (recovery); the steps are {}",
                    steps
                        .iter()
                        .map(|s| format!("{}×", s.multiplier.0))
                        .collect::<Vec<_>>()
                        .join(" → ")
                ),
            ));
        }
    }
    if gates.contains(&GateId::T3) {
        let b = &f.load.bad;
        let missing: Vec<&str> = [
            ("pii", b.pii.0),
            ("unknown_label", b.unknown_label.0),
            ("high_cardinality", b.high_cardinality.0),
            ("bad_schema", b.bad_schema.0),
        ]
        .into_iter()
        .filter(|(_, share)| *share <= 0.0)
        .map(|(name, _)| name)
        .collect();
        if !missing.is_empty() {
            return Err(err(
                None,
                "load.bad",
                format!(
                    "gate T3 judges every class of bad traffic; give a share > 0 to: {}",
                    missing.join(", ")
                ),
            ));
        }
    }
    let load_secs: f64 = steps.iter().map(|s| s.secs.0).sum();
    for (i, fault) in f.faults.iter().enumerate() {
        let span = Some(fault.span());
        let fault = fault.get_ref();
        if let Err(e) = fault.check(&f.stack.azs) {
            return Err(err(span, &format!("faults[{i}].{}", e.field), e.message));
        }
        if fault.at_secs >= load_secs {
            return Err(err(
                span,
                &format!("faults[{i}].at_secs"),
                format!(
                    "starts at {} s, after the load ends ({load_secs} s)",
                    fault.at_secs
                ),
            ));
        }
    }
    for (i, c) in f.stop_conditions.iter().enumerate() {
        if let Err(e) = c.get_ref().check() {
            return Err(err(Some(c.span()), &format!("stop_conditions[{i}]"), e));
        }
    }
    super::fault_needs::check(path, text, f)?;
    Ok(())
}

fn first_duplicate(items: impl Iterator<Item = String>) -> Option<String> {
    let mut seen = BTreeSet::new();
    items.into_iter().find(|i| !seen.insert(i.clone()))
}
