//! The gateway's own telemetry at `/metrics` (Prometheus text format): requests by
//! tenant, endpoint and status; rejected items by reason; TTFB; accepted items;
//! PutRecords calls, retries and in-flight; dropped resource attributes.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::Ordering;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub tenant: String,
    pub endpoint: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub tenant: String,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: &'static str,
}

fn ttfb_histogram() -> Histogram {
    // 0.25 ms … ~4 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub rejected: Family<ReasonLabels, Counter>,
    pub samples_accepted: Family<TenantLabels, Counter>,
    pub events_accepted: Family<TenantLabels, Counter>,
    pub dropped_resource_attributes: Family<TenantLabels, Counter>,
    pub ttfb: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    put_calls: Counter,
    records_retried: Counter,
    call_failures: Counter,
    in_flight: Gauge,
    shard_map_refreshes: Family<OutcomeLabels, Counter>,
    shard_map_shards: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("gateway");
        let m = Self {
            requests: Family::default(),
            rejected: Family::default(),
            samples_accepted: Family::default(),
            events_accepted: Family::default(),
            dropped_resource_attributes: Family::default(),
            ttfb: Family::new_with_constructor(ttfb_histogram),
            put_calls: Counter::default(),
            records_retried: Counter::default(),
            call_failures: Counter::default(),
            in_flight: Gauge::default(),
            shard_map_refreshes: Family::default(),
            shard_map_shards: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "requests",
            "Requests by tenant, endpoint and status",
            m.requests.clone(),
        );
        registry.register(
            "rejected_items",
            "Rejected samples, events or requests by reason",
            m.rejected.clone(),
        );
        registry.register(
            "samples_accepted",
            "Samples acknowledged (stored in Kinesis)",
            m.samples_accepted.clone(),
        );
        registry.register(
            "events_accepted",
            "Events acknowledged (stored in Kinesis)",
            m.events_accepted.clone(),
        );
        registry.register(
            "dropped_resource_attributes",
            "OTLP resource attributes dropped (not promoted)",
            m.dropped_resource_attributes.clone(),
        );
        registry.register(
            "ttfb_seconds",
            "Time to first byte of the response",
            m.ttfb.clone(),
        );
        registry.register(
            "putrecords_calls",
            "PutRecords calls made",
            m.put_calls.clone(),
        );
        registry.register(
            "putrecords_records_retried",
            "Records retried after a partial failure",
            m.records_retried.clone(),
        );
        registry.register(
            "putrecords_call_failures",
            "PutRecords calls that failed as a whole",
            m.call_failures.clone(),
        );
        registry.register(
            "putrecords_in_flight",
            "PutRecords calls in flight",
            m.in_flight.clone(),
        );
        registry.register(
            "shard_map_refreshes",
            "ListShards refreshes of the shard map aggregation groups by, by outcome",
            m.shard_map_refreshes.clone(),
        );
        registry.register(
            "shard_map_shards",
            "Open shards in the shard map (0: none yet, records grouped by partition key)",
            m.shard_map_shards.clone(),
        );
        Self { registry, ..m }
    }
}

impl Metrics {
    pub fn shard_map_refreshed(&self, r: super::sink::shards::Refresh) {
        self.shard_map_refreshes
            .get_or_create(&OutcomeLabels {
                outcome: r.outcome(),
            })
            .inc();
        if let super::sink::shards::Refresh::Listed(n) = r {
            self.shard_map_shards.set(n as i64);
        }
    }

    pub fn reject(&self, tenant: &str, reason: &'static str, n: u64) {
        self.rejected
            .get_or_create(&ReasonLabels {
                tenant: tenant.to_string(),
                reason,
            })
            .inc_by(n);
    }

    pub fn request(&self, tenant: &str, endpoint: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                tenant: tenant.to_string(),
                endpoint,
                status,
            })
            .inc();
        self.ttfb
            .get_or_create(&EndpointLabels { endpoint })
            .observe(seconds);
    }

    /// Text exposition, with the writer's counters copied in at scrape time.
    pub fn render(&self, writer: &super::sink::writer::WriterStats) -> String {
        let set = |c: &Counter, v: u64| {
            let cur = c.get();
            if v > cur {
                c.inc_by(v - cur);
            }
        };
        set(&self.put_calls, writer.put_calls.load(Ordering::Relaxed));
        set(
            &self.records_retried,
            writer.records_retried.load(Ordering::Relaxed),
        );
        set(
            &self.call_failures,
            writer.call_failures.load(Ordering::Relaxed),
        );
        self.in_flight
            .set(writer.in_flight.load(Ordering::Relaxed) as i64);
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.push_str("# encoding failed\n");
        }
        out
    }
}
