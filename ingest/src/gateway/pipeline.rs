//! The path every accepted request takes once decoded: hygiene (schema, labels, PII,
//! cardinality), quota, aggregation, Kinesis. The answer says what the client must do;
//! a success means every accepted item is in Kinesis.

use super::Gateway;
use super::hygiene::Rejection;
use super::inputs::events::{Outcome, Parsed};
use super::quota::{Demand, QuotaVerdict};
use super::sink::{Packing, aggregate_events, aggregate_samples};
use crate::keys::series_fingerprint;
use std::time::Duration;

/// Why a request (or its remainder) was not acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// 400: retrying cannot help.
    Invalid {
        reason: &'static str,
        detail: String,
    },
    /// 429: over quota, retry after.
    Quota { retry_after: Duration },
    /// 413: larger than the quota could ever admit.
    TooLarge { bucket: &'static str },
    /// 503: Kinesis did not take it in time (backpressure), retry after.
    Unavailable { retry_after: Duration },
}

impl Failure {
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::Invalid { reason, .. } => reason,
            Failure::Quota { .. } => "quota_exceeded",
            Failure::TooLarge { .. } => "too_large_for_quota",
            Failure::Unavailable { .. } => "backpressure",
        }
    }
}

/// What happened to a batch of series.
#[derive(Debug, Default)]
pub struct SeriesResult {
    pub accepted: usize,
    /// Items refused by hygiene (only when the protocol allows partial acceptance).
    pub rejected: usize,
    pub first_rejection: Option<String>,
    pub failure: Option<Failure>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Gateway {
    /// How this gateway puts records together under the shard map `shards`.
    fn packing<'a>(&self, shards: Option<&'a [(u128, u128)]>) -> Packing<'a> {
        Packing {
            max_record_bytes: self.config.kinesis.max_record_bytes,
            shards,
        }
    }

    /// `whole`: one bad series refuses the whole request (remote_write); otherwise bad
    /// series are dropped and counted (OTLP partial success).
    pub async fn ingest_series(
        &self,
        tenant: &str,
        mut series: Vec<super::inputs::Series>,
        body_bytes: usize,
        whole: bool,
    ) -> SeriesResult {
        let mut result = SeriesResult::default();
        let now = now_ms();
        // Pass 1: the content rules. A whole-request protocol stops at the first bad
        // series before any series has been counted against the active-series budget.
        let mut clean = Vec::with_capacity(series.len());
        for (labels, samples) in series.drain(..) {
            let fp = series_fingerprint(&labels);
            let verdict = self
                .hygiene
                .check_series_fingerprinted(tenant, &labels, fp)
                .and_then(|()| self.check_exemplars(&samples));
            match verdict {
                Ok(()) => clean.push((fp, (labels, samples))),
                Err(r) => {
                    if self.refuse(tenant, &r, samples.len(), whole, &mut result) {
                        return result;
                    }
                }
            }
        }
        // Pass 2: the active-series budget, only for series that passed pass 1.
        let mut kept = Vec::with_capacity(clean.len());
        for (fp, (labels, samples)) in clean {
            match self.hygiene.admit_series(tenant, fp, now) {
                Ok(()) => kept.push((fp, (labels, samples))),
                Err(r) => {
                    if self.refuse(tenant, &r, samples.len(), whole, &mut result) {
                        return result;
                    }
                }
            }
        }
        let n: usize = kept.iter().map(|(_, (_, s))| s.len()).sum();
        if n == 0 {
            return result;
        }
        let demand = Demand {
            samples: n as f64,
            bytes: body_bytes as f64,
            events: 0.0,
        };
        if let Some(f) = self.take_quota(tenant, demand, n) {
            result.failure = Some(f);
            return result;
        }
        let shards = self.shards.current();
        let records = aggregate_samples(
            tenant,
            &self.config.instance,
            now,
            kept,
            self.packing(shards.as_deref()),
        );
        match self.writer.write(records).await {
            Ok(()) => {
                self.metrics
                    .samples_accepted
                    .get_or_create(&tenant_labels(tenant))
                    .inc_by(n as u64);
                result.accepted = n;
            }
            Err(e) => {
                self.metrics.reject(tenant, e.reason(), n as u64);
                result.failure = Some(Failure::Unavailable {
                    retry_after: e.retry_after(),
                });
            }
        }
        result
    }

    /// Events are judged one by one; the accepted ones are written together.
    pub async fn ingest_events(
        &self,
        tenant: &str,
        parsed: Vec<Parsed>,
        body_bytes: usize,
    ) -> (Vec<Outcome>, Option<Failure>) {
        let mut outcomes = Vec::with_capacity(parsed.len());
        let mut accepted = Vec::new();
        for p in parsed {
            match p {
                Ok((event, data)) => {
                    let pii = self
                        .hygiene
                        .check_event_data(&data)
                        .err()
                        .map(|r| r.reason())
                        .or_else(|| {
                            [
                                &event.event_id,
                                &event.event_type,
                                &event.event_name,
                                &event.app_version,
                            ]
                            .iter()
                            .find_map(|t| self.hygiene.check_text(t))
                            .map(|_| "pii_in_event_field")
                        });
                    match pii {
                        Some(reason) => {
                            self.metrics.reject(tenant, reason, 1);
                            outcomes.push(Outcome::Error(reason));
                        }
                        None => {
                            outcomes.push(Outcome::Ok);
                            accepted.push(event);
                        }
                    }
                }
                Err(reason) => {
                    self.metrics.reject(tenant, reason, 1);
                    outcomes.push(Outcome::Error(reason));
                }
            }
        }
        let n = accepted.len();
        if n == 0 {
            return (outcomes, None);
        }
        let demand = Demand {
            samples: 0.0,
            bytes: body_bytes as f64,
            events: n as f64,
        };
        if let Some(f) = self.take_quota(tenant, demand, n) {
            return (outcomes, Some(f));
        }
        let shards = self.shards.current();
        let records = aggregate_events(
            tenant,
            &self.config.instance,
            now_ms(),
            accepted,
            self.packing(shards.as_deref()),
        );
        match self.writer.write(records).await {
            Ok(()) => {
                self.metrics
                    .events_accepted
                    .get_or_create(&tenant_labels(tenant))
                    .inc_by(n as u64);
                (outcomes, None)
            }
            Err(e) => {
                self.metrics.reject(tenant, e.reason(), n as u64);
                (
                    outcomes,
                    Some(Failure::Unavailable {
                        retry_after: e.retry_after(),
                    }),
                )
            }
        }
    }

    /// Exemplar labels are labels too: PII in their values is refused like in a
    /// series label (the allowlist does not apply: they carry trace ids).
    /// Counts a refused series; true when the whole request is refused with it.
    fn refuse(
        &self,
        tenant: &str,
        r: &Rejection,
        samples: usize,
        whole: bool,
        result: &mut SeriesResult,
    ) -> bool {
        self.metrics.reject(tenant, r.reason(), samples as u64);
        if whole {
            result.failure = Some(Failure::Invalid {
                reason: r.reason(),
                detail: r.detail(),
            });
            return true;
        }
        result.rejected += samples;
        result.first_rejection.get_or_insert_with(|| r.detail());
        false
    }

    fn check_exemplars(&self, samples: &[crate::envelope::Sample]) -> Result<(), Rejection> {
        for l in samples
            .iter()
            .flat_map(|s| &s.exemplars)
            .flat_map(|e| &e.labels)
        {
            if let Some(kind) = self.hygiene.check_text(&l.value) {
                return Err(Rejection::Pii {
                    kind,
                    location: "an exemplar label".into(),
                });
            }
        }
        Ok(())
    }

    fn take_quota(&self, tenant: &str, demand: Demand, items: usize) -> Option<Failure> {
        match self.quotas.take(tenant, demand) {
            QuotaVerdict::Admitted => None,
            QuotaVerdict::Exceeded { retry_after, .. } => {
                self.metrics.reject(tenant, "quota_exceeded", items as u64);
                Some(Failure::Quota { retry_after })
            }
            QuotaVerdict::TooLarge { bucket } => {
                self.metrics
                    .reject(tenant, "too_large_for_quota", items as u64);
                Some(Failure::TooLarge { bucket })
            }
        }
    }
}

fn tenant_labels(tenant: &str) -> super::metrics::TenantLabels {
    super::metrics::TenantLabels {
        tenant: tenant.to_string(),
    }
}

impl Gateway {
    /// OTLP (HTTP or gRPC): accepted count, rejected data points, a message about the
    /// first rejection, and the failure that stopped the request, if any.
    pub async fn ingest_otlp(
        &self,
        tenant: &str,
        req: opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
        body_bytes: usize,
    ) -> (usize, usize, String, Option<Failure>) {
        use super::hygiene::AttributeVerdict;
        let converted = super::inputs::otlp::convert(
            req,
            |key| {
                self.hygiene.check_resource_attribute(tenant, key, "") == AttributeVerdict::Promote
            },
            true,
        );
        if converted.dropped_resource_attributes > 0 {
            self.metrics
                .dropped_resource_attributes
                .get_or_create(&tenant_labels(tenant))
                .inc_by(converted.dropped_resource_attributes);
        }
        for reason in &converted.rejected {
            self.metrics.reject(tenant, reason, 1);
        }
        let r = self
            .ingest_series(tenant, converted.series, body_bytes, false)
            .await;
        let rejected = r.rejected + converted.rejected.len();
        let message = r
            .first_rejection
            .or_else(|| converted.rejected.first().map(|s| s.to_string()))
            .unwrap_or_default();
        (r.accepted, rejected, message, r.failure)
    }
}
