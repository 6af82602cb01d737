//! The ledger: the identity of everything the producers sent and what became of it.
//! Samples are (tenant, catalog row, timestamp) packed into a `u64`; events are (tenant,
//! producer, sequence) decoded from their `event_id`. Ids live in roaring bitmaps
//! (a few bytes per identity, so a burst run's ~10M samples stay small), one set per
//! fate: acked (2xx), refused (a definitive 4xx/429 answer, retries exhausted) and
//! unresolved (the last answer was a 5xx or a transport error: it may or may not be
//! stored). Counters beside them: sent, acked, rejected by reason, retried, dropped.
//! See `design.md` beside this file for how the audit classifies storage against it.

use super::shapes::{Catalog, row_hash};
use roaring::RoaringTreemap;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Rows per tenant catalog the packing can address.
pub const MAX_ROWS: u32 = 1 << 20;
const TS_BITS: u32 = 36;

/// (tenant 8 bits | row 20 bits | ms since the ledger's base 36 bits).
pub fn sample_id(tenant: u8, row: u32, ts_offset_ms: i64) -> u64 {
    let ts = ts_offset_ms.clamp(0, (1i64 << TS_BITS) - 1) as u64;
    (u64::from(tenant) << 56) | (u64::from(row & (MAX_ROWS - 1)) << TS_BITS) | ts
}

pub fn unpack_sample(id: u64) -> (u8, u32, i64) {
    (
        (id >> 56) as u8,
        ((id >> TS_BITS) as u32) & (MAX_ROWS - 1),
        (id & ((1 << TS_BITS) - 1)) as i64,
    )
}

/// (tenant 8 bits | producer 16 bits | sequence 40 bits).
pub fn event_key(tenant: u8, producer: u16, seq: u64) -> u64 {
    (u64::from(tenant) << 56) | (u64::from(producer) << 40) | (seq & ((1 << 40) - 1))
}

/// What became of a sent identity, as far as the producer can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    Acked,
    Refused(String),
    Unresolved(String),
}

#[derive(Default)]
pub struct IdSets {
    pub acked: RoaringTreemap,
    pub refused: RoaringTreemap,
    pub unresolved: RoaringTreemap,
}

impl IdSets {
    fn record(&mut self, fate: &Fate, id: u64) {
        match fate {
            Fate::Acked => {
                self.acked.insert(id);
                self.unresolved.remove(id);
            }
            Fate::Refused(_) => {
                self.refused.insert(id);
            }
            Fate::Unresolved(_) => {
                self.unresolved.insert(id);
            }
        }
    }

    pub fn sent(&self, id: u64) -> bool {
        self.acked.contains(id) || self.refused.contains(id) || self.unresolved.contains(id)
    }
}

/// Counters of the whole run (per-step figures live in the step evidence).
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub samples_sent: u64,
    pub samples_acked: u64,
    pub events_sent: u64,
    pub events_acked: u64,
    /// Items rejected per reason (the gateway's reason code or `http_<status>`).
    pub rejected: BTreeMap<String, u64>,
    /// Items whose last answer was ambiguous (5xx, transport error), per reason.
    pub unresolved: BTreeMap<String, u64>,
    pub retries: u64,
    /// Items of requests the bounded send queue dropped (never sent).
    pub dropped: u64,
    /// Items acked by a retry after an attempt whose answer was lost or a 5xx: if that
    /// attempt was stored too, the audit finds a retry duplicate.
    pub acked_after_ambiguous: u64,
}

/// Everything the audit needs to know about what was sent.
pub struct Ledger {
    pub run_id: String,
    /// Sample timestamps are stored relative to this (ms since epoch).
    pub base_ms: i64,
    pub tenants: Vec<String>,
    pub samples: IdSets,
    pub events: IdSets,
    pub counts: Counts,
    /// Exact PII strings planted by hygiene traffic (the audit searches for each).
    pub planted_pii: Vec<String>,
    /// Per tenant: identity hash of a stored series → catalog row.
    rows: Vec<HashMap<u64, u32>>,
    /// Per tenant: label names storage may hold (allowlist ∪ structural ∪ permitted).
    pub allowed_labels: Vec<HashSet<String>>,
}

impl Ledger {
    pub fn new(run_id: String, base_ms: i64, tenants: Vec<String>) -> Ledger {
        let n = tenants.len();
        Ledger {
            run_id,
            base_ms,
            tenants,
            samples: IdSets::default(),
            events: IdSets::default(),
            counts: Counts::default(),
            planted_pii: Vec::new(),
            rows: vec![HashMap::new(); n],
            allowed_labels: vec![HashSet::new(); n],
        }
    }

    /// Registers a tenant's catalog (call again after adding canary series).
    pub fn index_catalog(&mut self, tenant: u8, catalog: &Catalog) {
        if let Some(map) = self.rows.get_mut(tenant as usize) {
            map.clear();
            for (i, r) in catalog.rows.iter().enumerate() {
                map.insert(row_hash(&r.metric, &r.labels), i as u32);
            }
        }
    }

    pub fn tenant_index(&self, tenant: &str) -> Option<u8> {
        self.tenants
            .iter()
            .position(|t| t == tenant)
            .map(|i| i as u8)
    }

    /// The identity of a stored sample, `None` if the harness never made that series.
    pub fn stored_sample_id(
        &self,
        tenant: u8,
        metric: &str,
        labels: &[(&str, &str)],
        ts_ms: i64,
    ) -> Option<u64> {
        let row = *self
            .rows
            .get(tenant as usize)?
            .get(&row_hash(metric, labels))?;
        let off = ts_ms - self.base_ms;
        (0..(1i64 << TS_BITS))
            .contains(&off)
            .then(|| sample_id(tenant, row, off))
    }

    pub fn stored_event_id(&self, tenant: u8, event_id: &str) -> Option<u64> {
        let (t, p, seq) = super::events::parse_event_id(&self.run_id, event_id)?;
        (t == tenant).then(|| event_key(t, p, seq))
    }

    pub fn record_samples(&mut self, fate: &Fate, ids: &[u64]) {
        let n = ids.len() as u64;
        for id in ids {
            self.samples.record(fate, *id);
        }
        self.count(fate, n, true);
    }

    pub fn record_events(&mut self, outcomes: &[(u64, Fate)]) {
        for (id, fate) in outcomes {
            self.events.record(fate, *id);
            self.count(fate, 1, false);
        }
    }

    fn count(&mut self, fate: &Fate, n: u64, samples: bool) {
        let c = &mut self.counts;
        match fate {
            Fate::Acked if samples => c.samples_acked += n,
            Fate::Acked => c.events_acked += n,
            Fate::Refused(r) => *c.rejected.entry(r.clone()).or_default() += n,
            Fate::Unresolved(r) => *c.unresolved.entry(r.clone()).or_default() += n,
        }
    }

    pub fn acked_total(&self) -> u64 {
        self.samples.acked.len() + self.events.acked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_pack_and_unpack() {
        let id = sample_id(3, 12_345, 987_654_321);
        assert_eq!(unpack_sample(id), (3, 12_345, 987_654_321));
        assert_ne!(sample_id(3, 1, 5), sample_id(2, 1, 5));
        assert_ne!(event_key(1, 2, 3), event_key(1, 3, 2));
    }

    #[test]
    fn an_ack_after_an_ambiguous_answer_settles_the_identity() {
        let mut l = Ledger::new("r".into(), 0, vec!["a".into()]);
        l.record_samples(&Fate::Unresolved("http_503".into()), &[1, 2]);
        l.record_samples(&Fate::Acked, &[1]);
        assert!(l.samples.acked.contains(1) && !l.samples.unresolved.contains(1));
        assert!(l.samples.unresolved.contains(2));
        assert_eq!(l.counts.samples_acked, 1);
    }
}
