//! Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
//! AbortMultipartUpload, ListParts.
//!
//! Completion follows S3: parts listed in ascending order (InvalidPartOrder), each
//! uploaded with the ETag given (InvalidPart), every part but the last at least the
//! minimum part size (EntityTooSmall); the ETag is the md5 of the concatenated binary
//! part md5s plus `-N`. `If-None-Match: *` / `If-Match` are checked and the object
//! stored in one step under the bucket lock.

use super::body::{self, Payload};
use super::conditions::WriteConditions;
use super::ops_object::{claims, stored_encoding, trailer};
use super::settings::{MAX_LIST_KEYS, MAX_PART_NUMBER};
use super::store::{Object, ObjectMeta, Part as StoredPart, Upload};
use super::{S3Backend, principal, timestamp};
use bytes::BytesMut;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use std::collections::BTreeMap;
use std::sync::Arc;

fn invalid_part() -> s3s::S3Error {
    s3_error!(
        InvalidPart,
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag."
    )
}

/// The checksums of a completed part must match those stored for it, where both exist.
fn part_checksums_match(listed: &CompletedPart, stored: &Checksum) -> bool {
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    same(&listed.checksum_crc32, &stored.checksum_crc32)
        && same(&listed.checksum_crc32c, &stored.checksum_crc32c)
        && same(&listed.checksum_sha1, &stored.checksum_sha1)
        && same(&listed.checksum_sha256, &stored.checksum_sha256)
        && same(&listed.checksum_crc64nvme, &stored.checksum_crc64nvme)
}

impl S3Backend {
    pub(super) async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let upload = Upload {
            key: input.key.clone(),
            meta: ObjectMeta {
                content_type: input.content_type,
                content_encoding: stored_encoding(input.content_encoding),
                content_disposition: input.content_disposition,
                content_language: input.content_language,
                cache_control: input.cache_control,
                metadata: input.metadata,
            },
            checksum_algorithm: input.checksum_algorithm.clone(),
            parts: BTreeMap::new(),
        };
        self.store.create_upload(&bucket, id.clone(), upload)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(id),
            checksum_algorithm: input.checksum_algorithm,
            ..Default::default()
        }))
    }

    pub(super) async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let S3Request {
            mut input,
            headers,
            trailing_headers,
            ..
        } = req;
        let checksum = Checksum {
            checksum_crc32: input.checksum_crc32.take(),
            checksum_crc32c: input.checksum_crc32c.take(),
            checksum_sha1: input.checksum_sha1.take(),
            checksum_sha256: input.checksum_sha256.take(),
            checksum_crc64nvme: input.checksum_crc64nvme.take(),
            checksum_type: None,
        };
        let number = input.part_number;
        let claims = if (1..=MAX_PART_NUMBER).contains(&number) {
            claims(
                input.content_md5.as_deref(),
                checksum,
                input.checksum_algorithm.clone(),
            )
        } else {
            Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
            ))
        };
        let (
            Payload {
                data,
                digest,
                checksum,
                ..
            },
            _,
        ) = body::receive(
            input.body.take(),
            input.content_length,
            self.settings(),
            claims,
            trailer(&headers),
            trailing_headers.as_ref(),
        )
        .await?;
        let bucket = self.store.bucket(&input.bucket)?;
        let part = StoredPart {
            data,
            digest,
            last_modified_ms: self.now_ms(),
            checksum: checksum.clone(),
        };
        let etag = part.etag();
        self.store
            .put_part(&bucket, &input.upload_id, &input.key, number, part)?;
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(ETag::Strong(etag)),
            checksum_crc32: checksum.checksum_crc32,
            checksum_crc32c: checksum.checksum_crc32c,
            checksum_sha1: checksum.checksum_sha1,
            checksum_sha256: checksum.checksum_sha256,
            checksum_crc64nvme: checksum.checksum_crc64nvme,
            ..Default::default()
        }))
    }

    pub(super) async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = &req.input;
        let conditions = WriteConditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
        };
        conditions.check_supported()?;
        let listed = input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_deref())
            .unwrap_or_default();
        if listed.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let mut numbers = Vec::with_capacity(listed.len());
        for p in listed {
            let n = p.part_number.ok_or_else(invalid_part)?;
            if numbers.last().is_some_and(|&prev| n <= prev) {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. The parts list must be specified in order by part number."
                ));
            }
            numbers.push(n);
        }
        let bucket = self.store.bucket(&input.bucket)?;
        let (parts, meta) = self
            .store
            .with_upload(&bucket, &input.upload_id, &input.key, |u| {
                (u.parts.clone(), u.meta.clone())
            })?;
        let mut chosen = Vec::with_capacity(listed.len());
        for p in listed {
            let stored = p
                .part_number
                .and_then(|n| parts.get(&n))
                .ok_or_else(invalid_part)?;
            let etag_ok = p.e_tag.as_ref().is_none_or(|e| e.value() == stored.etag());
            if !etag_ok || !part_checksums_match(p, &stored.checksum) {
                return Err(invalid_part());
            }
            chosen.push(stored.clone());
        }
        let min = self.settings().min_part_bytes;
        if chosen[..chosen.len() - 1]
            .iter()
            .any(|p| (p.data.len() as u64) < min)
        {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size."
            ));
        }
        let total: usize = chosen.iter().map(|p| p.data.len()).sum();
        let data = match chosen.as_slice() {
            [only] => only.data.clone(),
            many => {
                let mut buf = BytesMut::with_capacity(total);
                for p in many {
                    buf.extend_from_slice(&p.data);
                }
                buf.freeze()
            }
        };
        let mut md5s = Md5::new();
        for p in &chosen {
            md5s.update(&p.digest);
        }
        let etag = format!("{}-{}", hex::encode(md5s.finalize()), chosen.len());
        let object = Arc::new(Object {
            data,
            etag: etag.clone(),
            last_modified_ms: self.now_ms(),
            meta,
            checksum: Checksum::default(),
        });
        self.store.complete_upload(
            &bucket,
            &input.upload_id,
            &input.key,
            object.clone(),
            &conditions,
        )?;
        let who = principal(req.credentials.as_ref());
        self.notify(
            &bucket,
            "ObjectCreated:CompleteMultipartUpload",
            &input.key,
            Some(&object),
            &who,
        );
        let host = req
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(ETag::Strong(etag)),
            location: Some(format!("http://{host}/{}/{}", input.bucket, input.key)),
            ..Default::default()
        }))
    }

    pub(super) async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        self.store
            .abort_upload(&bucket, &input.upload_id, &input.key)?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    pub(super) async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = &req.input;
        let max = input.max_parts.unwrap_or(MAX_LIST_KEYS);
        if max < 0 {
            return Err(s3_error!(InvalidArgument, "max-parts cannot be negative"));
        }
        let max = max.min(MAX_LIST_KEYS) as usize;
        let marker = input.part_number_marker.unwrap_or(0);
        let bucket = self.store.bucket(&input.bucket)?;
        let (parts, algorithm, truncated) =
            self.store
                .with_upload(&bucket, &input.upload_id, &input.key, |u| {
                    let mut after = u.parts.range(marker.saturating_add(1)..);
                    let page: Vec<(i32, Arc<StoredPart>)> = after
                        .by_ref()
                        .take(max)
                        .map(|(n, p)| (*n, p.clone()))
                        .collect();
                    (page, u.checksum_algorithm.clone(), after.next().is_some())
                })?;
        let owner = Owner {
            display_name: Some("gameday".into()),
            id: Some(self.ctx.config.account_id.clone()),
        };
        let next = parts.last().map(|(n, _)| *n);
        let parts: Vec<Part> = parts
            .into_iter()
            .map(|(n, p)| Part {
                part_number: Some(n),
                e_tag: Some(ETag::Strong(p.etag())),
                size: Some(p.data.len() as i64),
                last_modified: Some(timestamp(p.last_modified_ms)),
                checksum_crc32: p.checksum.checksum_crc32.clone(),
                checksum_crc32c: p.checksum.checksum_crc32c.clone(),
                checksum_sha1: p.checksum.checksum_sha1.clone(),
                checksum_sha256: p.checksum.checksum_sha256.clone(),
                checksum_crc64nvme: p.checksum.checksum_crc64nvme.clone(),
            })
            .collect();
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            upload_id: Some(input.upload_id.clone()),
            max_parts: Some(max as i32),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: truncated.then_some(next).flatten(),
            is_truncated: Some(truncated),
            parts: Some(parts),
            checksum_algorithm: algorithm,
            initiator: Some(Initiator {
                display_name: owner.display_name.clone(),
                id: owner.id.clone(),
            }),
            owner: Some(owner),
            storage_class: Some(StorageClass::from(StorageClass::STANDARD.to_owned())),
            ..Default::default()
        }))
    }
}
