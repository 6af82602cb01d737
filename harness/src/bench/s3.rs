//! S3 figures: PutObject of 64 KiB.

use super::figures::Figure;
use super::{drive, latency_figures};
use anyhow::Context;
use std::time::Duration;

pub async fn put_objects(
    conf: &aws_config::SdkConfig,
    secs: Duration,
    in_flight: usize,
) -> anyhow::Result<Vec<Figure>> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("bench-{}", std::process::id());
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .context("CreateBucket")?;
    let body = bytes::Bytes::from(vec![7u8; 64 * 1024]);
    let (n, hist, elapsed) = drive(secs, in_flight, move |w, i| {
        let (s3, bucket, body) = (s3.clone(), bucket.clone(), body.clone());
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(format!("w{w}/{i}"))
                .body(body.into())
                .send()
                .await
                .context("PutObject")?;
            Ok(1)
        }
    })
    .await?;
    let rate = n as f64 / elapsed.as_secs_f64();
    let mut figures = vec![Figure::new("s3.put_object_64k", rate, "obj/s", true).target(5_000.0)];
    figures.extend(latency_figures("s3.put_object", &hist));
    Ok(figures)
}
