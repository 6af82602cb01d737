//! Reading one shard: GetShardIterator at the resume point, then GetRecords. Throttling
//! (ProvisionedThroughputExceeded, LimitExceeded) is an error the caller backs off from
//! and counts; an expired iterator is replaced by a new one after the last record read;
//! a shard that no longer exists is reported so its lease can be released.

use crate::table::{Resume, SeqNo};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::ShardIteratorType;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("throttled: {0}")]
    Throttled(&'static str),
    #[error("shard not found")]
    ShardGone,
    #[error("kinesis {reason}: {detail}")]
    Other {
        reason: &'static str,
        detail: String,
    },
}

/// One GetRecords answer.
#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<(SeqNo, Vec<u8>)>,
    pub millis_behind_latest: Option<i64>,
    /// Approximate arrival time (ms since epoch) of the last record in the batch.
    pub last_arrival_ms: Option<i64>,
    /// The iterator had expired and was replaced (nothing read this time).
    pub iterator_renewed: bool,
}

pub struct Reader {
    client: aws_sdk_kinesis::Client,
    stream: String,
    shard_id: String,
    start: Resume,
    iterator: Option<String>,
    last_read: Option<SeqNo>,
    /// The shard was closed (split/merge) and fully read.
    pub closed: bool,
    /// Test-only break (`read.unsafe_start_at_latest`): the first iterator is `LATEST`.
    at_latest: bool,
}

fn classify<E: ProvideErrorMetadata>(e: &E) -> ReadError {
    match e.code() {
        Some("ProvisionedThroughputExceededException") => {
            ReadError::Throttled("provisioned_throughput_exceeded")
        }
        Some("LimitExceededException") => ReadError::Throttled("limit_exceeded"),
        Some("KMSThrottlingException") => ReadError::Throttled("kms_throttling"),
        Some("ResourceNotFoundException") => ReadError::ShardGone,
        Some("ExpiredIteratorException") => ReadError::Other {
            reason: "expired_iterator",
            detail: String::new(),
        },
        code => ReadError::Other {
            reason: "kinesis_error",
            detail: format!("{} {}", code.unwrap_or("?"), e.message().unwrap_or("")),
        },
    }
}

impl Reader {
    pub fn new(
        client: aws_sdk_kinesis::Client,
        stream: &str,
        shard_id: &str,
        start: Resume,
    ) -> Self {
        Self {
            client,
            stream: stream.to_string(),
            shard_id: shard_id.to_string(),
            start,
            iterator: None,
            last_read: None,
            closed: false,
            at_latest: false,
        }
    }

    /// Starts at the stream's tip instead of `start` (see `unsafe_start_at_latest`).
    pub fn start_at_latest(&mut self) {
        self.at_latest = true;
    }

    pub fn last_read(&self) -> Option<&SeqNo> {
        self.last_read.as_ref()
    }

    async fn fresh_iterator(&self) -> Result<Option<String>, ReadError> {
        let pos = match &self.last_read {
            Some(s) => Resume::After(s.clone()),
            None => self.start.clone(),
        };
        let mut req = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(&self.shard_id);
        req = match pos {
            _ if self.at_latest && self.last_read.is_none() => {
                req.shard_iterator_type(ShardIteratorType::Latest)
            }
            Resume::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            Resume::At(s) => req
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(s.0),
            Resume::After(s) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(s.0),
        };
        match req.send().await {
            Ok(o) => Ok(o.shard_iterator),
            Err(e) => Err(classify(&e)),
        }
    }

    /// One GetRecords call (getting an iterator first when needed).
    pub async fn next(&mut self, limit: i32) -> Result<Batch, ReadError> {
        if self.closed {
            return Ok(Batch::default());
        }
        let it = match self.iterator.take() {
            Some(it) => it,
            None => match self.fresh_iterator().await? {
                Some(it) => it,
                None => {
                    self.closed = true;
                    return Ok(Batch::default());
                }
            },
        };
        let out = match self
            .client
            .get_records()
            .shard_iterator(&it)
            .limit(limit)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                return match classify(&e) {
                    ReadError::Other {
                        reason: "expired_iterator",
                        ..
                    } => Ok(Batch {
                        iterator_renewed: true,
                        ..Batch::default()
                    }),
                    other => {
                        // Throttled or failed: the same iterator is still good to retry.
                        if !matches!(other, ReadError::ShardGone) {
                            self.iterator = Some(it);
                        }
                        Err(other)
                    }
                };
            }
        };
        let last_arrival_ms = out
            .records
            .last()
            .and_then(|r| r.approximate_arrival_timestamp())
            .and_then(|t| t.to_millis().ok());
        let records: Vec<(SeqNo, Vec<u8>)> = out
            .records
            .into_iter()
            .map(|r| (SeqNo::new(r.sequence_number), r.data.into_inner()))
            .collect();
        if let Some((s, _)) = records.last() {
            self.last_read = Some(s.clone());
        }
        match out.next_shard_iterator {
            Some(next) => self.iterator = Some(next),
            None => self.closed = true,
        }
        Ok(Batch {
            records,
            millis_behind_latest: out.millis_behind_latest,
            last_arrival_ms,
            iterator_renewed: false,
        })
    }
}
