//! The synthetic game servers as request builders: per tenant a catalog and a cursor per
//! protocol, per tenant an event producer with its sequence. [`Producers::job`] makes
//! the next request of a stream — clean, or (with the hygiene shares of the spec) a bad
//! one from `hygiene` — with the ledger identities it carries.

use super::events;
use super::hygiene::{self, Planted};
use super::payload::{Cursor, sample_ids};
use super::shapes::{Catalog, Protocol};
use super::{BadMix, otlp, remote_write};
use bytes::Bytes;
use fake::rand::rngs::SmallRng;
use fake::rand::{RngExt, SeedableRng};
use std::sync::Arc;
use std::time::Instant;

/// What a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    RemoteWrite,
    Otlp,
    Events,
}

impl Kind {
    pub fn path(self) -> &'static str {
        match self {
            Kind::RemoteWrite => "/api/v1/write",
            Kind::Otlp => "/v1/metrics",
            Kind::Events => "/v1/events",
        }
    }

    pub fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::RemoteWrite => &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "snappy"),
                ("x-prometheus-remote-write-version", "0.1.0"),
            ],
            Kind::Otlp => &[("content-type", "application/x-protobuf")],
            Kind::Events => &[("content-type", "application/json")],
        }
    }
}

/// The ledger identities a request carries.
#[derive(Clone, Debug)]
pub enum Items {
    Samples(Vec<u64>),
    Events(Vec<u64>),
    /// Bad traffic: not in the ledger (if any of it is stored, the audit sees a phantom).
    Untracked(u64),
}

impl Items {
    pub fn len(&self) -> u64 {
        match self {
            Items::Samples(v) | Items::Events(v) => v.len() as u64,
            Items::Untracked(n) => *n,
        }
    }
}

/// Clean traffic, or bad traffic of a hygiene class (`pii`, `unknown_label`,
/// `high_cardinality`, `bad_schema`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Class {
    Clean,
    Bad(&'static str),
}

pub struct Job {
    pub step: usize,
    /// When the open-model clock scheduled it (TTFB is measured from here).
    pub due: Instant,
    pub tenant: u8,
    pub kind: Kind,
    pub body: Bytes,
    pub items: Items,
    pub gateway: usize,
    pub class: Class,
}

pub struct Producers {
    pub run_id: String,
    pub base_ms: i64,
    pub catalogs: Vec<Arc<Catalog>>,
    cursors: Vec<[Cursor; 2]>,
    event_seq: Vec<u64>,
    rng: SmallRng,
    gateways: usize,
    samples_per_request: usize,
    events_per_request: usize,
    app_version: String,
    pub bad: BadMix,
    /// Per tenant: the active-series budget (high-cardinality bursts go past it).
    budgets: Vec<u64>,
    high_card_sent: Vec<u32>,
    /// Per bad class: requests due (see `roll_bad`); None until the first request.
    bad_due: Option<[f64; 4]>,
    /// Per tenant: canary rounds done (bursts wait until every series is warm).
    pub canary_rounds: Vec<Arc<std::sync::atomic::AtomicU64>>,
    pub planted: Vec<Planted>,
}

/// At most this many high-cardinality bursts per tenant per run (each is budget+1 series).
const MAX_HIGH_CARD: u32 = 3;

impl Producers {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seed: u64,
        run_id: String,
        base_ms: i64,
        catalogs: Vec<Arc<Catalog>>,
        gateways: usize,
        samples_per_request: usize,
        events_per_request: usize,
        bad: BadMix,
        budgets: Vec<u64>,
    ) -> Producers {
        let cursors = catalogs
            .iter()
            .map(|c| {
                [
                    Cursor::new(c, Protocol::RemoteWrite),
                    Cursor::new(c, Protocol::Otlp),
                ]
            })
            .collect();
        let n = catalogs.len();
        Producers {
            run_id,
            base_ms,
            cursors,
            event_seq: vec![0; n],
            rng: SmallRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15),
            gateways: gateways.max(1),
            samples_per_request: samples_per_request.max(1),
            events_per_request: events_per_request.max(1),
            app_version: "1.42.0+gameday".into(),
            bad,
            budgets,
            high_card_sent: vec![0; n],
            bad_due: None,
            canary_rounds: (0..n).map(|_| Default::default()).collect(),
            planted: Vec::new(),
            catalogs,
        }
    }

    pub fn has_units(&self, tenant: u8, p: Protocol) -> bool {
        !self.cursors[tenant as usize][p as usize].is_empty()
    }

    /// Every series of the tenant has been sent through every gateway (so a
    /// high-cardinality burst, which fills the budget, cannot starve a clean series).
    fn warm(&self, tenant: u8) -> bool {
        let g = self.gateways as u64 + 1;
        self.cursors[tenant as usize]
            .iter()
            .all(|c| c.is_empty() || c.passes >= g)
            && self.canary_rounds[tenant as usize].load(std::sync::atomic::Ordering::Relaxed) >= g
    }

    /// The next request of a stream.
    pub fn job(&mut self, tenant: u8, kind: Kind, step: usize, due: Instant, now_ms: i64) -> Job {
        if let Some(class) = self.roll_bad(tenant) {
            let t = tenant as usize;
            let budget = self.budgets.get(t).copied().unwrap_or(0);
            let gw = self.rng.random_range(0..self.gateways);
            let bad = hygiene::bad_request(
                &mut self.rng,
                class,
                &self.run_id,
                tenant,
                now_ms,
                budget,
                self.high_card_sent[t],
            );
            if class == "high_cardinality" {
                self.high_card_sent[t] += 1;
            }
            if let Some(p) = &bad.planted {
                self.planted.push(p.clone());
            }
            return Job {
                step,
                due,
                tenant,
                kind: bad.kind,
                body: bad.body,
                items: Items::Untracked(bad.items),
                gateway: gw,
                class: Class::Bad(class),
            };
        }
        let t = tenant as usize;
        let (body, items, gateway) = match kind {
            Kind::RemoteWrite | Kind::Otlp => {
                let p = if kind == Kind::RemoteWrite {
                    Protocol::RemoteWrite
                } else {
                    Protocol::Otlp
                };
                let catalog = self.catalogs[t].clone();
                let cur = &mut self.cursors[t][p as usize];
                // Rotate gateways by pass so that every batch visits every gateway.
                let gateway = ((cur.batches + cur.passes) % self.gateways as u64) as usize;
                let batch = cur.next_batch(&catalog, self.samples_per_request, now_ms);
                let ids = sample_ids(tenant, &catalog, &batch, self.base_ms);
                let body = match p {
                    Protocol::RemoteWrite => remote_write::body(&catalog, &batch),
                    Protocol::Otlp => otlp::body(&catalog, &batch),
                };
                (body, Items::Samples(ids), gateway)
            }
            Kind::Events => {
                let mut ids = Vec::with_capacity(self.events_per_request);
                let mut evs = Vec::with_capacity(self.events_per_request);
                for _ in 0..self.events_per_request {
                    let seq = self.event_seq[t];
                    self.event_seq[t] += 1;
                    let id = events::event_id(&self.run_id, tenant, 0, seq);
                    evs.push(events::event(&mut self.rng, &id, now_ms, &self.app_version));
                    ids.push(super::ledger::event_key(tenant, 0, seq));
                }
                let gateway = (self.event_seq[t] / self.events_per_request as u64
                    % self.gateways as u64) as usize;
                (Bytes::from(events::batch(evs)), Items::Events(ids), gateway)
            }
        };
        Job {
            step,
            due,
            tenant,
            kind,
            body,
            items,
            gateway,
            class: Class::Clean,
        }
    }

    /// Whether this request is bad on purpose, and of which class. Each class accrues its
    /// share per request and fires when a whole request is due, so a run of n requests
    /// carries ~share × n of every class (a short run is never left without one by
    /// chance); the phases start at seeded random offsets.
    fn roll_bad(&mut self, tenant: u8) -> Option<&'static str> {
        let b = self.bad.clone();
        let classes = [
            (b.pii, "pii"),
            (b.unknown_label, "unknown_label"),
            (b.high_cardinality, "high_cardinality"),
            (b.bad_schema, "bad_schema"),
        ];
        if self.bad_due.is_none() {
            let mut phase = [0.0; 4];
            for p in &mut phase {
                *p = self.rng.random::<f64>();
            }
            self.bad_due = Some(phase);
        }
        let high_card_ok =
            self.warm(tenant) && self.high_card_sent[tenant as usize] < MAX_HIGH_CARD;
        let due = self.bad_due.as_mut()?;
        let mut pick = None;
        for (i, (share, class)) in classes.into_iter().enumerate() {
            if share <= 0.0 {
                continue;
            }
            // Capped: a class held back (high cardinality before warm-up) does not
            // flood the run once it may go.
            due[i] = (due[i] + share).min(2.0);
            let allowed = class != "high_cardinality" || high_card_ok;
            if pick.is_none() && due[i] >= 1.0 && allowed {
                due[i] -= 1.0;
                pick = Some(class);
            }
        }
        pick
    }
}
