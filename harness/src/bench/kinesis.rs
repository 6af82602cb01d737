//! Kinesis figures: PutRecords of 500 records, then reading everything back.

use super::figures::Figure;
use super::{drive, latency_figures};
use anyhow::Context;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use std::time::{Duration, Instant};

/// 150 bytes, shaped like a game event.
pub const PAYLOAD: &[u8; 150] = br#"{"event_id":"0123456789abcdef0123456789abcdef0123","type":"match_end","ts":1700000000,"labels":{"region":"eu-west-1","az":"a"},"value":42,"pad":"xxx"}"#;

const SHARDS: i32 = 4;

fn batch(w: usize, i: u64) -> Vec<PutRecordsRequestEntry> {
    (0..500)
        .map(|j| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(PAYLOAD.to_vec()))
                .partition_key(format!("{w}-{i}-{j}"))
                .build()
                .expect("data and key set")
        })
        .collect()
}

async fn create_stream(k: &Client, name: &str) -> anyhow::Result<()> {
    k.create_stream()
        .stream_name(name)
        .shard_count(SHARDS)
        .send()
        .await
        .context("CreateStream")?;
    Ok(())
}

async fn put(k: &Client, name: &str, w: usize, i: u64) -> anyhow::Result<u64> {
    let out = k
        .put_records()
        .stream_name(name)
        .set_records(Some(batch(w, i)))
        .send()
        .await
        .context("PutRecords")?;
    let failed = out.failed_record_count().unwrap_or(0) as u64;
    if failed > 0 {
        anyhow::bail!("{failed} records refused with limits off");
    }
    Ok(500)
}

pub async fn throughput(
    conf: &aws_config::SdkConfig,
    secs: Duration,
    in_flight: usize,
) -> anyhow::Result<Vec<Figure>> {
    let k = Client::new(conf);
    let name = format!("bench-{}", std::process::id());
    create_stream(&k, &name).await?;
    let (written, hist, elapsed) = {
        let (k, name) = (k.clone(), name.clone());
        drive(secs, in_flight, move |w, i| {
            let (k, name) = (k.clone(), name.clone());
            async move { put(&k, &name, w, i).await }
        })
        .await?
    };
    let write_rate = written as f64 / elapsed.as_secs_f64();
    let mut figures =
        vec![Figure::new("kinesis.write", write_rate, "rec/s", true).target(500_000.0)];
    figures.extend(latency_figures("kinesis.put_records", &hist));

    let shards = k.list_shards().stream_name(&name).send().await?;
    let start = Instant::now();
    let mut read = 0u64;
    let mut hist = hdrhistogram::Histogram::<u64>::new(3)?;
    for sh in shards.shards() {
        let mut it = k
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id(sh.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await?
            .shard_iterator()
            .map(str::to_string);
        while let Some(i) = it {
            let t = Instant::now();
            let r = k
                .get_records()
                .shard_iterator(i)
                .limit(10_000)
                .send()
                .await?;
            hist.record(t.elapsed().as_micros() as u64)?;
            if r.records().is_empty() {
                break;
            }
            read += r.records().len() as u64;
            it = r.next_shard_iterator().map(str::to_string);
        }
    }
    if read != written {
        anyhow::bail!("read back {read} records of {written} written");
    }
    figures.push(
        Figure::new(
            "kinesis.read",
            read as f64 / start.elapsed().as_secs_f64(),
            "rec/s",
            true,
        )
        .target(500_000.0),
    );
    figures.extend(latency_figures("kinesis.get_records", &hist));
    Ok(figures)
}

/// Writes `records` 150-byte records (for the memory figure).
pub async fn fill(
    conf: &aws_config::SdkConfig,
    records: usize,
    in_flight: usize,
) -> anyhow::Result<()> {
    let k = Client::new(conf);
    let name = "bench-memory";
    create_stream(&k, name).await?;
    let calls = records.div_ceil(500) as u64;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..in_flight {
        let (k, next) = (k.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= calls {
                    return anyhow::Ok(());
                }
                put(&k, name, w, i).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}
