//! Records put into Kinesis come out as committed Parquet rows, exactly once, item by
//! item; a graceful stop hands every lease off.

use super::common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_become_committed_parquet_rows_exactly_once() {
    let env = Env::start().await;
    let w = Running::start(env.config("delivery-a-1"), None).await;
    let mut expected = put_mixed(&env, 1).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            reqwest::get(format!("{}/readyz", w.base))
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await,
        "worker becomes ready"
    );
    // A second round while running: several commits per shard.
    expected.extend(put_mixed(&env, 2).await);
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);

    // Objects sit in their partitions (ingest time, not the worker's clock), Snappy.
    let data = env.keys("metrics/").await;
    assert!(
        data.iter()
            .any(|k| k.starts_with("metrics/tenant=studio-a/dt=2026-11-26/hour=10/"))
    );
    assert!(
        data.iter()
            .any(|k| k.starts_with("metrics/tenant=studio-b/dt=2026-11-26/hour=11/"))
    );
    let one = env.get(&data[0]).await.expect("object");
    let meta =
        parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(one)).expect("parquet");
    use parquet::file::reader::FileReader;
    assert_eq!(
        meta.metadata().row_group(0).column(0).compression(),
        parquet::basic::Compression::SNAPPY
    );

    let text = w.metrics().await;
    assert_eq!(
        sum_metric(&text, "delivery_rows_written_total", ""),
        expected.len() as f64
    );
    assert_eq!(sum_metric(&text, "delivery_shard_owned", ""), SHARDS as f64);

    assert_eq!(w.stop().await, ingest::delivery::Exit::Stopped);
    for i in 0..SHARDS {
        let lease = env.lease(env.shard_id(i)).await.expect("lease");
        assert_eq!(lease.owner, "", "lease released on graceful stop");
        assert_eq!(lease.epoch, 1);
    }
    // Nothing more, nothing less after the hand-off.
    assert_exactly(&env.table().await, &expected);
}
