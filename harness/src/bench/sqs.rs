//! SQS figures: SendMessageBatch of 10.

use super::figures::Figure;
use super::{drive, latency_figures};
use anyhow::Context;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use std::time::Duration;

pub async fn send_batches(
    conf: &aws_config::SdkConfig,
    secs: Duration,
    in_flight: usize,
) -> anyhow::Result<Vec<Figure>> {
    let q = aws_sdk_sqs::Client::new(conf);
    let url = q
        .create_queue()
        .queue_name(format!("bench-{}", std::process::id()))
        .send()
        .await
        .context("CreateQueue")?
        .queue_url()
        .context("CreateQueue returned no QueueUrl")?
        .to_string();
    let (n, hist, elapsed) = drive(secs, in_flight, move |_w, _i| {
        let (q, url) = (q.clone(), url.clone());
        async move {
            let entries = (0..10)
                .map(|j| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{j}"))
                        .message_body(r#"{"event":"x","value":1}"#)
                        .build()
                        .expect("id and body set")
                })
                .collect();
            let out = q
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .context("SendMessageBatch")?;
            if !out.failed().is_empty() {
                anyhow::bail!("{} messages refused", out.failed().len());
            }
            Ok(out.successful().len() as u64)
        }
    })
    .await?;
    let rate = n as f64 / elapsed.as_secs_f64();
    let mut figures = vec![Figure::new("sqs.send_batch10", rate, "msg/s", true).target(50_000.0)];
    figures.extend(latency_figures("sqs.send_message_batch", &hist));
    Ok(figures)
}
