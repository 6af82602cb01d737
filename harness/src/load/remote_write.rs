//! Prometheus remote_write bodies (snappy block format over `prometheus.WriteRequest`,
//! the gateway's own prost messages) for a batch of catalog units: counters and gauges
//! as samples, classic histograms as `_bucket{le}` / `_sum` / `_count` series, and
//! exponential histograms as native histograms (spans + deltas).

use super::payload::{Emission, value_of};
use super::shapes::{Catalog, FAMILIES, Family, fmt_le};
use bytes::Bytes;
use ingest::envelope::Label;
use ingest::gateway::inputs::remote_write::{
    BucketSpan, Exemplar, HistCount, HistZeroCount, RwHistogram, RwSample, TimeSeries, WriteRequest,
};

fn label(n: &str, v: &str) -> Label {
    Label {
        name: n.to_string(),
        value: v.to_string(),
    }
}

fn series(name: &str, server: &[(String, String)], extra: Option<(&str, String)>) -> Vec<Label> {
    let mut l = vec![label("__name__", name)];
    l.extend(server.iter().map(|(k, v)| label(k, v)));
    if let Some((k, v)) = extra {
        l.push(label(k, &v));
    }
    l
}

fn number(labels: Vec<Label>, value: f64, ts: i64) -> TimeSeries {
    TimeSeries {
        labels,
        samples: vec![RwSample {
            value,
            timestamp: ts,
        }],
        ..Default::default()
    }
}

/// The series of one emission (one unit at one timestamp).
pub fn timeseries(catalog: &Catalog, e: &Emission, out: &mut Vec<TimeSeries>) {
    let unit = &catalog.units[e.unit as usize];
    let (name, family) = FAMILIES[unit.family];
    let server = &catalog.servers[unit.server as usize];
    let v = value_of(e);
    match family {
        Family::Counter | Family::Gauge => out.push(number(series(name, server, None), v, e.ts)),
        Family::Classic(bounds) => {
            let count = 40 + (e.ts % 17) as u64;
            let mut cum = 0u64;
            for (i, b) in bounds.iter().enumerate() {
                cum += count / (bounds.len() as u64 + 1) + (i as u64 % 2);
                out.push(number(
                    series(&format!("{name}_bucket"), server, Some(("le", fmt_le(*b)))),
                    cum as f64,
                    e.ts,
                ));
            }
            out.push(number(
                series(
                    &format!("{name}_bucket"),
                    server,
                    Some(("le", "+Inf".into())),
                ),
                count.max(cum) as f64,
                e.ts,
            ));
            out.push(number(
                series(&format!("{name}_sum"), server, None),
                v,
                e.ts,
            ));
            out.push(number(
                series(&format!("{name}_count"), server, None),
                count.max(cum) as f64,
                e.ts,
            ));
        }
        Family::Exponential => {
            let (a, b, c) = (3 + (e.ts % 5), 7 + (e.ts % 3), 2);
            out.push(TimeSeries {
                labels: series(name, server, None),
                histograms: vec![RwHistogram {
                    count: Some(HistCount::CountInt((a + b + c) as u64)),
                    sum: v,
                    schema: 3,
                    zero_threshold: 1e-128,
                    zero_count: Some(HistZeroCount::ZeroCountInt(0)),
                    positive_spans: vec![BucketSpan {
                        offset: -20,
                        length: 3,
                    }],
                    positive_deltas: vec![a, b - a, c - b],
                    timestamp: e.ts,
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
    }
}

/// Encodes series as a remote_write body.
pub fn encode(timeseries: Vec<TimeSeries>) -> Bytes {
    let req = WriteRequest {
        timeseries,
        metadata: Vec::new(),
    };
    let raw = prost::Message::encode_to_vec(&req);
    // Compressing a Vec cannot fail except on inputs over 4 GiB, which a bounded request
    // never is; an empty body would be refused by the gateway and counted, not hidden.
    Bytes::from(
        snap::raw::Encoder::new()
            .compress_vec(&raw)
            .unwrap_or_default(),
    )
}

/// The body of a batch of emissions.
pub fn body(catalog: &Catalog, batch: &[Emission]) -> Bytes {
    let mut ts = Vec::with_capacity(batch.len() * 2);
    for e in batch {
        timeseries(catalog, e, &mut ts);
    }
    encode(ts)
}

/// One series with extra labels (hygiene traffic), a single sample.
pub fn one_series(
    name: &str,
    labels: &[(String, String)],
    ts: i64,
    exemplar_labels: Option<&[(String, String)]>,
) -> TimeSeries {
    let mut l = vec![label("__name__", name)];
    l.extend(labels.iter().map(|(k, v)| label(k, v)));
    TimeSeries {
        labels: l,
        samples: vec![RwSample {
            value: 1.0,
            timestamp: ts,
        }],
        exemplars: exemplar_labels
            .map(|ex| {
                vec![Exemplar {
                    labels: ex.iter().map(|(k, v)| label(k, v)).collect(),
                    value: 1.0,
                    timestamp: ts,
                }]
            })
            .unwrap_or_default(),
        ..Default::default()
    }
}
