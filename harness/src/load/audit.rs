//! Classifies stored rows against the ledger (pure: the rows come from `storage`, or
//! from a test by hand). Per row: its provenance (Kinesis shard + sequence number +
//! sub-sequence) seen before → delivery duplicate; else its identity seen before → retry
//! duplicate; else an identity the ledger never sent (or only ever saw refused) →
//! phantom. At the end: acked identities never stored → lost. Planted PII is searched
//! verbatim (Aho-Corasick over label values, exemplars and event data); label names are
//! checked against allowlist ∪ structural ∪ tenant-permitted.

use super::ledger::Ledger;
use crate::evidence::AuditEvidence;
use aho_corasick::AhoCorasick;
use roaring::RoaringTreemap;
use std::collections::{BTreeSet, HashMap};

/// Examples kept per problem.
const EXAMPLES: usize = 5;

pub struct Auditor<'a> {
    ledger: &'a Ledger,
    pii: Option<AhoCorasick>,
    records: HashMap<(String, String), u32>,
    provenance: RoaringTreemap,
    samples: RoaringTreemap,
    events: RoaringTreemap,
    ev: AuditEvidence,
    pii_found: BTreeSet<String>,
    labels_outside: BTreeSet<String>,
    examples: HashMap<&'static str, usize>,
    /// Rows of a tenant the ledger does not know (another run's data, or a mis-routed row).
    pub unknown_tenant_rows: u64,
}

/// A stored sample as the reader hands it over.
pub struct SampleRow<'r> {
    pub tenant: &'r str,
    pub metric: &'r str,
    pub labels: &'r [(&'r str, &'r str)],
    pub ts_ms: i64,
    pub exemplars: Option<&'r str>,
}

/// Where a stored row came from.
pub struct Provenance<'r> {
    pub shard: &'r str,
    pub seq: &'r str,
    pub sub_seq: u32,
}

impl<'a> Auditor<'a> {
    pub fn new(ledger: &'a Ledger) -> Auditor<'a> {
        let pii = (!ledger.planted_pii.is_empty())
            .then(|| AhoCorasick::new(&ledger.planted_pii).ok())
            .flatten();
        Auditor {
            ledger,
            pii,
            records: HashMap::new(),
            provenance: RoaringTreemap::new(),
            samples: RoaringTreemap::new(),
            events: RoaringTreemap::new(),
            ev: AuditEvidence::default(),
            pii_found: BTreeSet::new(),
            labels_outside: BTreeSet::new(),
            examples: HashMap::new(),
            unknown_tenant_rows: 0,
        }
    }

    fn example(&mut self, what: &'static str, text: impl FnOnce() -> String) {
        let n = self.examples.entry(what).or_default();
        if *n < EXAMPLES {
            *n += 1;
            self.ev.examples.push(format!("{what}: {}", text()));
        }
    }

    /// `true` if this exact (shard, seq, sub_seq) was stored before.
    fn delivery_duplicate(&mut self, p: &Provenance) -> bool {
        let next = self.records.len() as u32;
        let rec = *self
            .records
            .entry((p.shard.to_string(), p.seq.to_string()))
            .or_insert(next);
        !self
            .provenance
            .insert((u64::from(rec) << 32) | u64::from(p.sub_seq))
    }

    fn search_pii(&mut self, text: &str, place: &str) {
        let Some(ac) = &self.pii else { return };
        let hits: Vec<String> = ac
            .find_iter(text)
            .map(|m| self.ledger.planted_pii[m.pattern().as_usize()].clone())
            .collect();
        for h in hits {
            if self.pii_found.insert(format!("{h} (in {place})")) {
                self.example("pii", || format!("{h:?} in {place}"));
            }
        }
    }

    pub fn sample(&mut self, row: &SampleRow, p: &Provenance) {
        self.ev.stored_rows += 1;
        if self.delivery_duplicate(p) {
            self.ev.delivery_duplicates += 1;
            self.example("delivery duplicate", || {
                format!("{}/{} #{} ({})", p.shard, p.seq, p.sub_seq, row.metric)
            });
            return;
        }
        if let Some(ex) = row.exemplars {
            self.search_pii(ex, "exemplars");
        }
        let Some(t) = self.ledger.tenant_index(row.tenant) else {
            self.unknown_tenant_rows += 1;
            self.phantom(|| format!("sample of unknown tenant {}", row.tenant));
            return;
        };
        match self
            .ledger
            .stored_sample_id(t, row.metric, row.labels, row.ts_ms)
        {
            Some(id) => {
                if !self.samples.insert(id) {
                    self.ev.retry_duplicates += 1;
                    self.example("retry duplicate", || {
                        format!("{} {} @{}", row.tenant, row.metric, row.ts_ms)
                    });
                } else if !self.ledger.samples.sent(id)
                    || (self.ledger.samples.refused.contains(id)
                        && !self.ledger.samples.acked.contains(id)
                        && !self.ledger.samples.unresolved.contains(id))
                {
                    self.phantom(|| {
                        format!("{} {} @{} (never acked)", row.tenant, row.metric, row.ts_ms)
                    });
                }
            }
            None => {
                // A series the producers never made: its content is suspect.
                for (k, v) in row.labels {
                    self.search_pii(v, "label value");
                    self.check_label(t, k);
                }
                self.phantom(|| {
                    format!(
                        "{} {} {:?} @{}",
                        row.tenant, row.metric, row.labels, row.ts_ms
                    )
                });
            }
        }
    }

    fn check_label(&mut self, tenant: u8, name: &str) {
        let ok = self
            .ledger
            .allowed_labels
            .get(tenant as usize)
            .is_some_and(|s| s.contains(name));
        if !ok && self.labels_outside.insert(name.to_string()) {
            self.example("label outside allowlist", || name.to_string());
        }
    }

    fn phantom(&mut self, text: impl FnOnce() -> String) {
        self.ev.phantoms += 1;
        self.example("phantom", text);
    }

    pub fn event(&mut self, tenant: &str, event_id: &str, event_data: &str, p: &Provenance) {
        self.ev.stored_rows += 1;
        if self.delivery_duplicate(p) {
            self.ev.delivery_duplicates += 1;
            self.example("delivery duplicate", || {
                format!("{}/{} #{} (event {event_id})", p.shard, p.seq, p.sub_seq)
            });
            return;
        }
        self.search_pii(event_data, "event data");
        let Some(t) = self.ledger.tenant_index(tenant) else {
            self.unknown_tenant_rows += 1;
            self.phantom(|| format!("event of unknown tenant {tenant}"));
            return;
        };
        match self.ledger.stored_event_id(t, event_id) {
            Some(id) => {
                if !self.events.insert(id) {
                    self.ev.retry_duplicates += 1;
                    self.example("retry duplicate", || format!("{tenant} event {event_id}"));
                } else if !self.ledger.events.acked.contains(id)
                    && !self.ledger.events.unresolved.contains(id)
                {
                    self.phantom(|| format!("{tenant} event {event_id} (never acked)"));
                }
            }
            None => self.phantom(|| format!("{tenant} event {event_id} (not sent by this run)")),
        }
    }

    pub fn finish(mut self) -> AuditEvidence {
        let l = self.ledger;
        self.ev.acked = l.samples.acked.len() + l.events.acked.len();
        let lost_samples = &l.samples.acked - &self.samples;
        let lost_events = &l.events.acked - &self.events;
        self.ev.lost = lost_samples.len() + lost_events.len();
        for id in lost_samples.iter().take(EXAMPLES) {
            let (t, row, off) = super::ledger::unpack_sample(id);
            self.example("lost", || {
                format!(
                    "sample tenant {} row {row} @{}",
                    l.tenants.get(t as usize).cloned().unwrap_or_default(),
                    l.base_ms + off
                )
            });
        }
        for id in lost_events.iter().take(EXAMPLES) {
            self.example("lost", || format!("event key {id:#x}"));
        }
        self.ev.pii_found = self.pii_found.into_iter().collect();
        self.ev.labels_outside_allowlist = self.labels_outside.into_iter().collect();
        self.ev
    }
}
