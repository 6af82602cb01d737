//! The sweeper against the embedded backend, driven directly (no worker loop): a shard's
//! chain and orphans are written by hand, reads can be made to fail for one key through an
//! SDK interceptor, and what is left in the bucket after the sweeps is compared with what
//! the chain references.

use super::common::*;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use ingest::delivery::metrics::Metrics;
use ingest::delivery::store::Store;
use ingest::delivery::sweeper::{Scope, Sweeper};
use ingest::table::layout::{commit_key, lease_key};
use ingest::table::{Commit, CommittedObject, Lease, Resume, SeqNo};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const ME: &str = "delivery-sweeper-test";
const SHARD: &str = "shardId-000000000007";

/// Fails the next `left` GETs of `key` before they reach the wire.
#[derive(Debug)]
struct FailGets {
    key: String,
    left: Arc<AtomicU32>,
}

impl Intercept for FailGets {
    fn name(&self) -> &'static str {
        "FailGets"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let req = ctx.request();
        if req.method() == "GET"
            && req
                .uri()
                .split('?')
                .next()
                .unwrap_or("")
                .ends_with(&self.key)
            && self
                .left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(format!("injected GetObject failure on {}", self.key).into());
        }
        Ok(())
    }
}

/// A store whose next `fails` GETs of `key` fail.
async fn failing_store(env: &Env, key: &str, fails: u32) -> (Store, Arc<AtomicU32>) {
    let left = Arc::new(AtomicU32::new(fails));
    let conf = env
        .s3
        .config()
        .to_builder()
        .interceptor(FailGets {
            key: key.to_string(),
            left: left.clone(),
        })
        .build();
    (
        Store::new(aws_sdk_s3::Client::from_conf(conf), BUCKET),
        left,
    )
}

fn data_key(first_seq: u64, epoch: u64) -> String {
    format!("events/tenant=a/dt=2026-11-26/hour=10/{SHARD}-{first_seq}-e{epoch}.parquet")
}

fn object(key: &str, seq: u64) -> CommittedObject {
    CommittedObject {
        key: key.to_string(),
        rows: 1,
        bytes: 4,
        first_seq: SeqNo::new(seq.to_string()),
        last_seq: SeqNo::new(seq.to_string()),
        min_ingest_ms: HOUR_10,
        max_ingest_ms: HOUR_10,
    }
}

fn commit(number: u64, epoch: u64, parent: Option<&str>, objects: Vec<CommittedObject>) -> Commit {
    Commit {
        shard_id: SHARD.into(),
        epoch,
        number,
        parent: parent.map(String::from),
        created_ms: HOUR_10,
        objects,
        durable: Default::default(),
        resume: Resume::After(SeqNo::new(number.to_string())),
        checkpoint: None,
    }
}

async fn put(env: &Env, key: &str, body: Vec<u8>) {
    env.s3
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.into())
        .send()
        .await
        .expect("PutObject");
}

/// Writes `commits` (oldest first) with one data object each, and the lease pointing at
/// the last one; returns every key the chain references.
async fn write_chain(env: &Env, commits: &[Commit], epoch: u64) -> Vec<String> {
    let mut referenced = Vec::new();
    for c in commits {
        for o in &c.objects {
            put(env, &o.key, b"PAR1".to_vec()).await;
            referenced.push(o.key.clone());
        }
        let key = commit_key(SHARD, c.number, c.epoch);
        put(env, &key, c.to_json()).await;
        referenced.push(key);
    }
    let head = commits.last().expect("a chain");
    let lease = Lease {
        shard_id: SHARD.into(),
        owner: ME.into(),
        epoch,
        expires_at_ms: i64::MAX,
        head: Some(commit_key(SHARD, head.number, head.epoch)),
        commits: head.number,
        resume: head.resume.clone(),
    };
    put(env, &lease_key(SHARD), lease.to_json()).await;
    referenced
}

fn scope<'a>(store: &'a Store, metrics: &'a Metrics) -> Scope<'a> {
    Scope {
        store,
        worker_id: ME,
        grace_ms: 0,
        now_ms: HOUR_10 * 10,
        metrics,
        page_keys: 1_000,
        pages_per_sweep: 100,
    }
}

async fn missing(env: &Env, keys: &[String]) -> Vec<String> {
    let present = env.keys("").await;
    keys.iter()
        .filter(|k| !present.contains(k))
        .cloned()
        .collect()
}

/// Issue 16, bug 1: a GetObject that fails part way down the chain must not leave the
/// older, still-referenced commits and data (epoch below the current one after the
/// take-over) looking unreachable to the next sweep.
#[tokio::test]
async fn a_failed_read_in_the_walk_never_lets_a_later_sweep_delete_referenced_objects() {
    let env = Env::start().await;
    // Epoch 1 wrote commits 1..=3, the worker that took over (epoch 2) wrote 4 and 5.
    let mut chain = Vec::new();
    let mut parent: Option<String> = None;
    for (number, epoch) in [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)] {
        let c = commit(
            number,
            epoch,
            parent.as_deref(),
            vec![object(&data_key(number * 10, epoch), number * 10)],
        );
        parent = Some(commit_key(SHARD, number, epoch));
        chain.push(c);
    }
    let referenced = write_chain(&env, &chain, 2).await;
    // A zombie of epoch 1 wrote data and a commit 4 that never took effect: orphans.
    let orphan_data = data_key(40, 1);
    let orphan_commit = commit_key(SHARD, 4, 1);
    put(&env, &orphan_data, b"PAR1".to_vec()).await;
    let zombie = commit(
        4,
        1,
        chain[2].parent.as_deref(),
        vec![object(&orphan_data, 40)],
    );
    put(&env, &orphan_commit, zombie.to_json()).await;

    // The parent of the head (commit 4, epoch 2) cannot be read during the first sweep.
    let (store, left) = failing_store(&env, &commit_key(SHARD, 4, 2), 1).await;
    let metrics = Metrics::default();
    let mut sweeper = Sweeper::default();
    let owned = vec![SHARD.to_string()];
    let first = sweeper.sweep(&scope(&store, &metrics), &owned).await;
    assert_eq!(left.load(Ordering::SeqCst), 0, "the injected failure fired");
    assert_eq!(
        missing(&env, &referenced).await,
        Vec::<String>::new(),
        "after the failed sweep ({first:?}) every referenced object is still there"
    );
    let second = sweeper.sweep(&scope(&store, &metrics), &owned).await;
    assert_eq!(
        missing(&env, &referenced).await,
        Vec::<String>::new(),
        "after the next sweep ({second:?}) every referenced object is still there"
    );
    let left_over = env.keys("").await;
    assert!(
        !left_over.contains(&orphan_data) && !left_over.contains(&orphan_commit),
        "a complete walk still sweeps the zombie's orphans: {left_over:?}"
    );
}

/// Issue 16, bug 4: a sweep whose listing is slow must not hold lease evaluation up: the
/// shards a departing worker releases are taken by the sweeping worker at its next
/// evaluation, while its sweeper still waits on S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_evaluation_goes_on_while_a_sweep_is_slow() {
    let env = Env::start().await;
    let faults = env.emu.emulator.ctx.faults.clone();
    faults
        .inject(mocks::Fault::Latency {
            service: mocks::Service::S3,
            operation: Some("ListObjectsV2".into()),
            delay_ms: mocks::Delay::Constant(60_000),
        })
        .expect("latency fault");
    let mut sweeping = env.config("delivery-a-1");
    sweeping.sweeper.interval_ms = 100;
    sweeping.sweeper.grace_ms = 0;
    let a = Running::start(sweeping, None).await;
    let b = Running::start(env.config("delivery-b-1"), None).await;
    let both_own = eventually(Duration::from_secs(20), || async {
        !a.worker.owned().is_empty() && !b.worker.owned().is_empty()
    })
    .await;
    assert!(both_own, "the two workers share the shards");
    let counters = env.emu.emulator.ctx.counters.clone();
    let slow = eventually(Duration::from_secs(10), || async {
        counters.get("fault.latency.s3") > 0
    })
    .await;
    assert!(slow, "the sweeper's listing is waiting on S3");
    assert_eq!(b.stop().await, ingest::delivery::Exit::Stopped);
    // B released its leases: A's next evaluation (every 400 ms) takes them.
    let took_all = eventually(Duration::from_secs(8), || async {
        a.worker.owned().len() == SHARDS
    })
    .await;
    let owned = a.worker.owned();
    faults.clear_all();
    assert!(
        took_all,
        "A took B's released shards while its sweep was slow; it owns {owned:?}"
    );
    a.worker.crash();
}

/// Issue 16, bugs 4 and 5: the listing goes a few pages per sweep and resumes where it
/// stopped, so orphans past one sweep's pages are swept by the next ones; and a chain with
/// a checkpoint keeps everything it references (the commits below the checkpoint and every
/// object it lists) while the zombies' orphans go.
#[tokio::test]
async fn orphans_past_one_sweeps_pages_are_swept_later_and_a_checkpoint_keeps_its_chain() {
    let env = Env::start().await;
    // Epochs 1, 1, 2, 2 (checkpoint at 3), 3; the lease is at epoch 3.
    let mut chain = Vec::new();
    let mut manifest = ingest::table::Manifest::default();
    let mut parent: Option<String> = None;
    let mut segment = None;
    for (number, epoch) in [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3)] {
        let mut c = commit(
            number,
            epoch,
            parent.as_deref(),
            vec![object(&data_key(number * 10, epoch), number * 10)],
        );
        if number == 3 {
            let (cp, mut parts) = manifest.checkpoint_with(&c).expect("checkpoint");
            segment = Some(parts.remove(0));
            c.checkpoint = Some(cp);
        }
        manifest.apply(&c).expect("chain");
        parent = Some(commit_key(SHARD, number, epoch));
        chain.push(c);
    }
    let mut referenced = write_chain(&env, &chain, 3).await;
    // The checkpoint's segment, written before its commit.
    let (segment_key, segment) = segment.expect("a checkpoint at 3");
    assert_eq!(segment.objects.len(), 3, "commits 1-3's objects");
    put(&env, &segment_key, segment.to_json()).await;
    referenced.push(segment_key.clone());
    // Zombies: epoch 1 wrote a commit 3 (and its checkpoint's segment) that never took
    // effect, and 25 flushes.
    let zombie_segment = segment_key.replace("-e2.json", "-e1.json");
    let mut orphans = vec![commit_key(SHARD, 3, 1), zombie_segment.clone()];
    put(&env, &orphans[0], chain[1].to_json()).await;
    put(&env, &zombie_segment, segment.to_json()).await;
    for i in 0..25 {
        let k = data_key(1_000 + i, 1);
        put(&env, &k, b"PAR1".to_vec()).await;
        orphans.push(k);
    }
    let store = Store::new(env.s3.clone(), BUCKET);
    let metrics = Metrics::default();
    let mut s = scope(&store, &metrics);
    s.page_keys = 4;
    s.pages_per_sweep = 2;
    let mut sweeper = Sweeper::default();
    let owned = vec![SHARD.to_string()];
    let first = sweeper.sweep(&s, &owned).await.expect("sweep");
    assert!(
        first.deleted < orphans.len() as u64,
        "one sweep lists 2 pages of 4 keys: {first:?}"
    );
    for _ in 0..40 {
        sweeper.sweep(&s, &owned).await.expect("sweep");
    }
    let left = env.keys("").await;
    let kept: Vec<&String> = orphans.iter().filter(|k| left.contains(k)).collect();
    assert!(kept.is_empty(), "every orphan swept, left: {kept:?}");
    assert_eq!(
        missing(&env, &referenced).await,
        Vec::<String>::new(),
        "nothing the chain references was deleted"
    );
}
