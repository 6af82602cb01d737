//! Deletes: DeleteObject (idempotent, optionally `If-Match`) and DeleteObjects (up to
//! 1,000 keys, a result per key, `Quiet` reporting only errors). Each removal that
//! took an object away sends `ObjectRemoved:Delete`.

use super::conditions::WriteConditions;
use super::settings::MAX_DELETE_KEYS;
use super::{S3Backend, principal};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

impl S3Backend {
    pub(super) async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let conditions = WriteConditions {
            if_match: input.if_match.as_ref(),
            if_none_match: None,
        };
        if self
            .store
            .remove(&bucket, &input.key, &conditions)?
            .is_some()
        {
            let who = principal(req.credentials.as_ref());
            self.notify(&bucket, "ObjectRemoved:Delete", &input.key, None, &who);
        }
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    pub(super) async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = &req.input;
        let objects = &input.delete.objects;
        if objects.is_empty() || objects.len() > MAX_DELETE_KEYS {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: a Delete names 1 to {MAX_DELETE_KEYS} keys"
            ));
        }
        let bucket = self.store.bucket(&input.bucket)?;
        let quiet = input.delete.quiet == Some(true);
        let who = principal(req.credentials.as_ref());
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for obj in objects {
            let cond = obj.e_tag.clone().map(ETagCondition::ETag);
            let conditions = WriteConditions {
                if_match: cond.as_ref(),
                if_none_match: None,
            };
            match self.store.remove(&bucket, &obj.key, &conditions) {
                Ok(removed) => {
                    if removed.is_some() {
                        self.notify(&bucket, "ObjectRemoved:Delete", &obj.key, None, &who);
                    }
                    if !quiet {
                        deleted.push(DeletedObject {
                            key: Some(obj.key.clone()),
                            ..Default::default()
                        });
                    }
                }
                Err(e) => {
                    self.ctx
                        .counters
                        .incr(&format!("s3.rejected.DeleteObjects.{}", e.code().as_str()));
                    errors.push(Error {
                        code: Some(e.code().as_str().to_owned()),
                        key: Some(obj.key.clone()),
                        message: e.message().map(str::to_owned),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!deleted.is_empty()).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }
}
