//! Tests of the borrowed envelope reader against prost's decoding.

use super::*;
use crate::envelope::{Buckets, Event, Label, MetricType, Sample, Value};

fn env() -> Envelope {
    let l = |n: &str, v: &str| Label {
        name: n.into(),
        value: v.into(),
    };
    Envelope {
        tenant: "studio-a".into(),
        kind: Kind::Metrics as i32,
        ingest_time_ms: 1_795_680_000_000,
        producer: "gateway-b".into(),
        samples: vec![
            Sample {
                labels: vec![l("__name__", "up"), l("region", "eu")],
                timestamp_ms: 7,
                metric_type: MetricType::Gauge as i32,
                value: Some(Value::Number(1.5)),
                exemplars: vec![Exemplar {
                    labels: vec![l("trace", "x")],
                    value: 2.0,
                    timestamp_ms: 3,
                    trace_id: vec![1, 2],
                    span_id: vec![3],
                }],
            },
            Sample {
                labels: vec![l("__name__", "tick")],
                timestamp_ms: -4,
                metric_type: MetricType::ExponentialHistogram as i32,
                value: Some(Value::Histogram(Histogram {
                    count: 3,
                    positive: Some(Buckets {
                        offset: -1,
                        bucket_counts: vec![1, 2],
                    }),
                    ..Default::default()
                })),
                exemplars: vec![],
            },
        ],
        events: vec![Event {
            event_id: "e1".into(),
            event_type: "t".into(),
            event_name: "n".into(),
            event_timestamp_ms: 9,
            app_version: "1.0".into(),
            event_data_json: "{}".into(),
        }],
    }
}

#[test]
fn reads_what_prost_decodes() {
    let e = env();
    let b = Body::decode_record(&e.encode_record()).unwrap();
    assert_eq!(
        (b.tenant.as_str(), b.producer.as_str()),
        ("studio-a", "gateway-b")
    );
    assert_eq!(
        (b.kind(), b.ingest_time_ms, b.len()),
        (Kind::Metrics, e.ingest_time_ms, 3)
    );
    let mut seen = 0;
    for (i, (_, bytes)) in b.named_samples().enumerate() {
        let mut v = SampleView::default();
        v.read(bytes).unwrap();
        let s = &e.samples[i];
        let labels: Vec<(&str, &str)> = s
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(v.labels, labels);
        assert_eq!(
            (v.timestamp_ms, v.metric_type),
            (s.timestamp_ms, s.metric_type)
        );
        match &s.value {
            Some(Value::Histogram(h)) => {
                assert_eq!(v.histogram().unwrap().as_ref(), Some(h))
            }
            Some(Value::Number(n)) => {
                assert!(matches!(v.value, ValueView::Number(x) if x == *n))
            }
            None => assert!(matches!(v.value, ValueView::None)),
        }
        assert_eq!(v.exemplars().unwrap(), s.exemplars);
        seen += 1;
    }
    assert_eq!(seen, 2);
    b.each_event(|i, bytes| -> Res<()> {
        let v = EventView::read(bytes)?;
        let ev = &e.events[i];
        assert_eq!(
            (
                v.event_id,
                v.event_type,
                v.event_name,
                v.app_version,
                v.event_data_json
            ),
            (
                ev.event_id.as_str(),
                ev.event_type.as_str(),
                ev.event_name.as_str(),
                ev.app_version.as_str(),
                ev.event_data_json.as_str()
            )
        );
        assert_eq!(v.event_timestamp_ms, ev.event_timestamp_ms);
        Ok(())
    })
    .unwrap();
}

#[test]
fn labels_of_any_shape_read_as_prost_reads_them() {
    let long = "x".repeat(200);
    let mut shapes: Vec<Vec<u8>> = vec![
        Label {
            name: "region".into(),
            value: "eu".into(),
        }
        .encode_to_vec(),
        Label {
            name: long.clone(),
            value: "v".into(),
        }
        .encode_to_vec(),
        Label {
            name: "n".into(),
            value: long,
        }
        .encode_to_vec(),
        Label {
            name: "".into(),
            value: "v".into(),
        }
        .encode_to_vec(),
        Label {
            name: "n".into(),
            value: "".into(),
        }
        .encode_to_vec(),
        vec![0x12, 1, b'v', 0x0a, 1, b'n'],
        vec![0x0a, 1, b'a', 0x0a, 1, b'b', 0x12, 1, b'v'],
        vec![0x0a, 1, b'n', 0x12, 1, b'v', 0x18, 7],
        vec![0x0a, 1, b'n', 0x12, 2, b'v'],
        vec![0x0a, 1, 0xff, 0x12, 1, b'v'],
        // Not ASCII: UTF-8 (the fast path's ASCII scan fails, the full check passes)
        // and not UTF-8 in the value.
        Label {
            name: "région".into(),
            value: "東京".into(),
        }
        .encode_to_vec(),
        vec![0x0a, 1, b'n', 0x12, 2, 0xc3, 0x28],
    ];
    shapes.push(vec![]);
    for b in shapes {
        let ours = label::<true>(&b);
        match Label::decode(b.as_slice()) {
            Ok(l) => assert_eq!(ours, Ok((l.name.as_str(), l.value.as_str())), "{b:?}"),
            Err(_) => assert!(ours.is_err(), "{b:?}: {ours:?}"),
        }
    }
}

#[test]
fn refuses_what_prost_refuses() {
    let raw = env().encode_to_vec();
    // Every truncation and a few corruptions: accepted exactly when prost accepts.
    let mut cases: Vec<Vec<u8>> = (0..raw.len()).map(|n| raw[..n].to_vec()).collect();
    for i in (0..raw.len()).step_by(3) {
        let mut c = raw.clone();
        c[i] ^= 0x80;
        cases.push(c);
        let mut c = raw.clone();
        c[i] = 0xff;
        cases.push(c);
    }
    let mut bad_utf8 = Envelope {
        tenant: "x".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let last = bad_utf8.len() - 1;
    bad_utf8[last] = 0xff;
    cases.push(bad_utf8);
    for c in cases {
        let ours = Body::parse(c.clone());
        let theirs = Envelope::decode(c.as_slice());
        assert_eq!(
            ours.is_ok(),
            theirs.is_ok(),
            "{c:?}: {ours:?} vs {theirs:?}"
        );
        if let (Ok(b), Ok(e)) = (ours, theirs) {
            assert_eq!((b.samples, b.events), (e.samples.len(), e.events.len()));
            assert_eq!(
                (b.tenant, b.kind, b.ingest_time_ms),
                (e.tenant, e.kind, e.ingest_time_ms)
            );
        }
    }
}

#[test]
fn samples_are_named_by_their_last_name_label() {
    let l = |n: &str, v: &str| Label {
        name: n.into(),
        value: v.into(),
    };
    let mut e = env();
    e.samples[1].labels = vec![l("__name__", "a"), l("x", "y"), l("__name__", "b")];
    e.samples.push(Sample {
        labels: vec![l("x", "y")],
        ..e.samples[0].clone()
    });
    let b = Body::from_envelope(&e);
    let named: Vec<(&str, Vec<(&str, &str)>)> = b
        .named_samples()
        .map(|(name, item)| {
            let mut v = SampleView::default();
            v.read(item).unwrap();
            (name, v.labels.clone())
        })
        .collect();
    assert_eq!(
        named,
        vec![
            ("up", vec![("__name__", "up"), ("region", "eu")]),
            ("b", vec![("__name__", "a"), ("x", "y"), ("__name__", "b")]),
            ("", vec![("x", "y")]),
        ]
    );
    assert_eq!(b.samples, 3);
}

#[test]
fn a_sample_splits_into_its_labels_and_the_rest() {
    let b = Body::from_envelope(&env());
    for (_, item) in b.named_samples() {
        let mut whole = SampleView::default();
        whole.read(item).unwrap();
        let (labels, rest) = item.split_labels();
        let mut read = Vec::new();
        labels.read(&mut read).unwrap();
        assert_eq!(read, whole.labels, "the run holds every label");
        let mut r = SampleView::default();
        r.read(rest).unwrap();
        assert!(r.labels.is_empty());
        assert_eq!(
            (r.timestamp_ms, r.metric_type),
            (whole.timestamp_ms, whole.metric_type)
        );
    }
}

#[test]
fn an_item_reads_only_as_the_message_it_was_checked_as() {
    let mut e = env();
    e.events.push(crate::envelope::Event {
        event_id: "e1".into(),
        ..Default::default()
    });
    let b = Body::from_envelope(&e);
    let (_, sample) = b.named_samples().next().unwrap();
    assert!(matches!(
        EventView::read(sample),
        Err(ViewError::WrongItem("sample"))
    ));
    let mut event = None;
    b.each_event(|_, item| -> Result<(), ViewError> {
        event = Some(item);
        Ok(())
    })
    .unwrap();
    let mut v = SampleView::default();
    assert!(matches!(
        v.read(event.unwrap()),
        Err(ViewError::WrongItem("event"))
    ));
    assert_eq!(EventView::read(event.unwrap()).unwrap().event_id, "e1");
}
