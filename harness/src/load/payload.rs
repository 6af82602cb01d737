//! What one request carries, independent of its encoding: the next batch of catalog
//! units of a tenant and protocol (each with a timestamp strictly after its previous
//! one, so (tenant, series, timestamp) is unique per producer), the sample identities the
//! ledger records for it, and the values (deterministic in unit and timestamp).

use super::ledger::{MAX_ROWS, sample_id};
use super::shapes::{Catalog, Protocol};

/// One unit emitted at one timestamp (ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Emission {
    pub unit: u32,
    pub ts: i64,
}

/// A value that moves with time and differs between units.
pub fn value_of(e: &Emission) -> f64 {
    ((e.ts / 1000) % 100_000) as f64 + (e.unit % 97) as f64 * 0.25
}

/// Walks one tenant's units of one protocol round-robin.
pub struct Cursor {
    pub protocol: Protocol,
    next: usize,
    /// Completed passes over the units (a pass sends every unit once).
    pub passes: u64,
    /// Batches handed out (for the gateway rotation).
    pub batches: u64,
    last_ts: Vec<i64>,
}

impl Cursor {
    pub fn new(catalog: &Catalog, protocol: Protocol) -> Cursor {
        Cursor {
            protocol,
            next: 0,
            passes: 0,
            batches: 0,
            last_ts: vec![i64::MIN; catalog.units_of(protocol).len()],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.last_ts.is_empty()
    }

    /// The next units, up to `rows` stored rows (at least one unit), at `now_ms`.
    pub fn next_batch(&mut self, catalog: &Catalog, rows: usize, now_ms: i64) -> Vec<Emission> {
        let units = catalog.units_of(self.protocol);
        let mut out = Vec::new();
        let mut n = 0usize;
        if units.is_empty() {
            return out;
        }
        while out.is_empty() || n < rows {
            let i = self.next;
            let unit = units[i];
            let ts = now_ms.max(self.last_ts[i].saturating_add(1));
            self.last_ts[i] = ts;
            out.push(Emission { unit, ts });
            n += catalog.units[unit as usize].rows as usize;
            self.next += 1;
            if self.next == units.len() {
                self.next = 0;
                self.passes += 1;
                if out.len() >= units.len() {
                    break; // one whole pass in one request is enough
                }
            }
        }
        self.batches += 1;
        out
    }
}

/// The ledger identities of a batch: one per stored row.
pub fn sample_ids(tenant: u8, catalog: &Catalog, batch: &[Emission], base_ms: i64) -> Vec<u64> {
    let mut ids = Vec::with_capacity(batch.len() * 2);
    for e in batch {
        let u = &catalog.units[e.unit as usize];
        for r in u.first_row..u.first_row + u.rows {
            debug_assert!(r < MAX_ROWS);
            ids.push(sample_id(tenant, r, e.ts - base_ms));
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_unique_per_unit_even_within_one_millisecond() {
        let c = Catalog::build(1, 300, 1.0);
        let mut cur = Cursor::new(&c, Protocol::RemoteWrite);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            for e in cur.next_batch(&c, 100, 1_000) {
                assert!(seen.insert((e.unit, e.ts)), "{e:?} twice");
            }
        }
        assert!(cur.passes > 0);
    }
}
