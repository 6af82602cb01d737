//! Bucket operations: CreateBucket, HeadBucket, ListBuckets, DeleteBucket,
//! GetBucketLocation, and the bucket's notification configuration (put validates each
//! queue with SQS, as AWS does, then sends the `s3:TestEvent`).

use super::{S3Backend, notify, timestamp};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

const US_EAST_1: &str = "us-east-1";

fn custom(code: &'static str, message: String) -> S3Error {
    let mut e = S3Error::with_message(S3ErrorCode::Custom(code.into()), message);
    e.set_status_code(http::StatusCode::BAD_REQUEST);
    e
}

impl S3Backend {
    fn owner(&self) -> Owner {
        Owner {
            display_name: Some("gameday".into()),
            id: Some(self.ctx.config.account_id.clone()),
        }
    }

    /// A LocationConstraint must name the emulator's region, and us-east-1 is named by
    /// leaving it out. No constraint at all is accepted in every region.
    fn check_location(&self, input: &CreateBucketInput) -> S3Result<()> {
        let region = self.ctx.config.region.as_str();
        let constraint = input
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.location_constraint.as_ref())
            .map(|c| c.as_str());
        match constraint {
            None | Some("") => Ok(()),
            Some(c) if region == US_EAST_1 || c == US_EAST_1 => Err(custom(
                "InvalidLocationConstraint",
                format!("The specified location-constraint is not valid: {c}"),
            )),
            Some(c) if c != region => Err(custom(
                "IllegalLocationConstraintException",
                format!(
                    "The {c} location constraint is incompatible for the region specific endpoint this request was sent to."
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    pub(super) async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let input = &req.input;
        self.check_location(input)?;
        // Re-creating a bucket you own: 409 BucketAlreadyOwnedByYou "in all AWS Regions
        // except in the North Virginia Region. For legacy compatibility, if you re-create
        // an existing bucket that you already own in the North Virginia Region, Amazon S3
        // returns 200 OK" (S3 API reference, CreateBucket, Errors).
        if !self.store.create_bucket(&input.bucket, self.now_ms())
            && self.ctx.config.region != US_EAST_1
        {
            return Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            ));
        }
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{}", input.bucket)),
        }))
    }

    pub(super) async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.store.bucket(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(self.ctx.config.region.clone()),
            ..Default::default()
        }))
    }

    pub(super) async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.store.bucket(&req.input.bucket)?;
        let region = &self.ctx.config.region;
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: (region != US_EAST_1)
                .then(|| BucketLocationConstraint::from(region.clone())),
        }))
    }

    pub(super) async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let input = &req.input;
        let max = match input.max_buckets {
            Some(n) if !(1..=10_000).contains(&n) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "max-buckets must be between 1 and 10000"
                ));
            }
            Some(n) => n as usize,
            None => usize::MAX,
        };
        let prefix = input.prefix.as_deref().unwrap_or("");
        let after = input.continuation_token.as_deref().unwrap_or("");
        let mut buckets: Vec<Bucket> = Vec::new();
        let mut next = None;
        for b in self.store.buckets() {
            if !b.name.starts_with(prefix) || b.name.as_str() <= after {
                continue;
            }
            if buckets.len() == max {
                next = buckets.last().and_then(|b| b.name.clone());
                break;
            }
            buckets.push(Bucket {
                bucket_region: Some(self.ctx.config.region.clone()),
                creation_date: Some(timestamp(b.created_ms)),
                name: Some(b.name.clone()),
            });
        }
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            continuation_token: next,
            owner: Some(self.owner()),
            prefix: input.prefix.clone(),
        }))
    }

    pub(super) async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.store.delete_bucket(&req.input.bucket)?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    pub(super) async fn put_bucket_notification_configuration(
        &self,
        req: S3Request<PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let targets = notify::parse_config(&input.notification_configuration)?;
        if input.skip_destination_validation != Some(true) {
            let bucket_arn = bucket.arn();
            let refused: Vec<String> = targets
                .iter()
                .filter_map(|t| {
                    self.sqs
                        .check_s3_may_send(&t.queue_arn, &bucket_arn)
                        .err()
                        .map(|e| format!("{} ({e})", t.queue_arn))
                })
                .collect();
            if !refused.is_empty() {
                return Err(s3_error!(
                    InvalidArgument,
                    "Unable to validate the following destination configurations: {}",
                    refused.join(", ")
                ));
            }
        }
        let mut queues: Vec<String> = targets.iter().map(|t| t.queue_arn.clone()).collect();
        queues.sort();
        queues.dedup();
        bucket.set_notifications(targets);
        let request_id = self.store.next_sequencer();
        let now = self.now_ms();
        for queue in queues {
            self.deliver(
                &queue,
                notify::test_event_json(&bucket.name, now, &request_id),
            );
        }
        Ok(S3Response::new(PutBucketNotificationConfigurationOutput {}))
    }

    pub(super) async fn get_bucket_notification_configuration(
        &self,
        req: S3Request<GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
        let bucket = self.store.bucket(&req.input.bucket)?;
        Ok(S3Response::new(notify::to_output(&bucket.notifications())))
    }
}
