//! A tenant's catalog is big enough for the requests the spec asks for: a request is cut
//! at one pass over a protocol's units, so a catalog smaller than a request would send
//! fewer samples per request (and per second) than the spec offers.

use super::super::payload::Cursor;
use super::super::shapes::{Catalog, Protocol};
use super::super::{LoadSpec, catalog_rows};

fn rows_per_request(spec: &LoadSpec, rw_share: f64, p: Protocol) -> usize {
    let rows = catalog_rows(spec, rw_share, 25_000);
    let c = Catalog::build(7, rows, rw_share);
    let mut cur = Cursor::new(&c, p);
    let batch = cur.next_batch(&c, spec.samples_per_request, 1_000);
    batch
        .iter()
        .map(|e| c.units[e.unit as usize].rows as usize)
        .sum()
}

#[test]
fn a_request_of_2000_samples_carries_2000_samples_in_either_protocol() {
    let spec = LoadSpec {
        samples_per_request: 2_000,
        ..LoadSpec::default()
    };
    for share in [0.5, 0.2, 1.0] {
        for p in [Protocol::RemoteWrite, Protocol::Otlp] {
            if (share == 1.0) && p == Protocol::Otlp {
                continue;
            }
            let n = rows_per_request(&spec, share, p);
            assert!(
                n >= 2_000,
                "{p:?} at rw share {share}: {n} rows per request"
            );
        }
    }
}

#[test]
fn the_default_catalog_is_kept_when_requests_fit_and_the_budget_still_bounds_it() {
    let spec = LoadSpec::default();
    assert_eq!(catalog_rows(&spec, 0.5, 25_000), spec.series_per_tenant);
    let big = LoadSpec {
        samples_per_request: 20_000,
        ..LoadSpec::default()
    };
    assert_eq!(catalog_rows(&big, 0.5, 25_000), 25_000);
}

#[test]
fn the_catalog_stays_inside_the_ledgers_row_numbers_whatever_the_budget() {
    let huge = LoadSpec {
        samples_per_request: 1_000_000,
        ..LoadSpec::default()
    };
    let rows = catalog_rows(&huge, 0.5, 10_000_000);
    assert!(rows < super::super::ledger::MAX_ROWS as usize, "{rows}");
}
