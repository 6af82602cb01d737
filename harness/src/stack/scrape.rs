//! Reading the components' `/metrics` (Prometheus / OpenMetrics text): every sample line
//! becomes `full name with labels → value`, e.g.
//! `gateway_requests_total{tenant="a",status="429"} → 12`.

use std::collections::BTreeMap;

/// Parses Prometheus text exposition; comments, blank lines and unparsable lines are
/// skipped (a component's metrics are evidence, not input to trust blindly).
pub fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((series, rest)) = split_series(line) else {
            continue;
        };
        // `value [timestamp]`
        let Some(value) = rest.split_whitespace().next() else {
            continue;
        };
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => match v.parse::<f64>() {
                Ok(v) => v,
                Err(_) => continue,
            },
        };
        out.insert(series.to_string(), value);
    }
    out
}

/// Splits `name{labels} rest` (label values may hold spaces, braces and escaped quotes).
fn split_series(line: &str) -> Option<(&str, &str)> {
    let Some(open) = line.find('{') else {
        let (name, rest) = line.split_once(char::is_whitespace)?;
        return Some((name, rest));
    };
    if line[..open].contains(char::is_whitespace) {
        let (name, rest) = line.split_once(char::is_whitespace)?;
        return Some((name, rest));
    }
    let bytes = line.as_bytes();
    let mut in_quotes = false;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b'}' if !in_quotes => return Some((&line[..=i], &line[i + 1..])),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Adds `from` into `into` (same series from several components are summed).
pub fn sum_into(into: &mut BTreeMap<String, f64>, from: &BTreeMap<String, f64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_insert(0.0) += v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counters_gauges_and_labels_with_odd_values() {
        let text = r#"# HELP gateway_requests Requests.
# TYPE gateway_requests counter
gateway_requests_total{tenant="a",status="429"} 12
gateway_requests_total{tenant="a",status="200"} 3.5e3 1700000000000
gateway_in_flight 4
weird{path="/v1/x y",msg="a \"}\" b"} 1
h_bucket{le="+Inf"} +Inf
broken{a="b" 1
# EOF
"#;
        let m = parse(text);
        assert_eq!(
            m[r#"gateway_requests_total{tenant="a",status="429"}"#],
            12.0
        );
        assert_eq!(
            m[r#"gateway_requests_total{tenant="a",status="200"}"#],
            3500.0
        );
        assert_eq!(m["gateway_in_flight"], 4.0);
        assert_eq!(m[r#"weird{path="/v1/x y",msg="a \"}\" b"}"#], 1.0);
        assert!(m[r#"h_bucket{le="+Inf"}"#].is_infinite());
        assert_eq!(m.len(), 5);
        let mut total = BTreeMap::new();
        sum_into(&mut total, &m);
        sum_into(&mut total, &m);
        assert_eq!(total["gateway_in_flight"], 8.0);
    }
}
