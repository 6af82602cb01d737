//! Building remote_write requests (snappy-compressed protobuf) for the tests.

#![allow(dead_code)]

use ingest::envelope::Label;
use ingest::gateway::inputs::remote_write::{RwSample, TimeSeries, WriteRequest};

pub fn encode(req: &WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&prost::Message::encode_to_vec(req))
        .expect("snappy")
}

/// One series of plain samples.
pub fn series(labels: &[(&str, &str)], points: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| Label {
                name: (*n).into(),
                value: (*v).into(),
            })
            .collect(),
        samples: points
            .iter()
            .map(|(t, v)| RwSample {
                value: *v,
                timestamp: *t,
            })
            .collect(),
        ..Default::default()
    }
}

/// A body of `n` gauge samples in one series (region=eu) starting at `t0`.
pub fn gauge_body(name: &str, t0: i64, n: usize) -> Vec<u8> {
    let points: Vec<(i64, f64)> = (0..n).map(|i| (t0 + i as i64, i as f64)).collect();
    encode(&WriteRequest {
        timeseries: vec![series(&[("__name__", name), ("region", "eu")], &points)],
        metadata: vec![],
    })
}
