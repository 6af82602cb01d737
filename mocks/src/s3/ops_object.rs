//! Object reads and writes: PutObject (conditional, verified, notified), GetObject
//! (ranges, conditional, checksums), HeadObject and CopyObject (metadata directive,
//! copy-source conditions).

use super::body::{self, Claims, Payload};
use super::conditions::{
    ReadConditions, ReadOutcome, WriteConditions, check_read, precondition_failed,
};
use super::store::{Object, ObjectMeta, no_such_key};
use super::{S3Backend, principal, timestamp};
use http::{HeaderMap, HeaderValue};
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use std::sync::Arc;

/// AWS answers an object stored without a Content-Type with this one.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// `aws-chunked` describes the request, not the object: S3 does not store it.
pub(super) fn stored_encoding(enc: Option<String>) -> Option<String> {
    let enc = enc?;
    let kept: Vec<&str> = enc
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

pub(super) fn claims(
    content_md5: Option<&str>,
    checksum: Checksum,
    algorithm: Option<ChecksumAlgorithm>,
) -> S3Result<Claims> {
    Ok(Claims {
        content_md5: body::decode_content_md5(content_md5)?,
        checksum,
        algorithm,
    })
}

pub(super) fn trailer(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-amz-trailer").and_then(|v| v.to_str().ok())
}

fn with_headers(mut e: S3Error, headers: &[(&'static str, String)]) -> S3Error {
    let mut map = HeaderMap::new();
    map.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            map.insert(*name, v);
        }
    }
    e.set_headers(map);
    e
}

fn http_date(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&f).unwrap_or_default()
}

fn not_modified(obj: &Object) -> S3Error {
    with_headers(
        s3_error!(NotModified),
        &[
            ("etag", format!("\"{}\"", obj.etag)),
            ("last-modified", http_date(obj.last_modified_ms)),
        ],
    )
}

/// What a GET or HEAD serves: the object, or its 304/412.
fn read_checks(obj: &Object, c: &ReadConditions<'_>) -> S3Result<()> {
    match check_read(obj, c) {
        ReadOutcome::Proceed => Ok(()),
        ReadOutcome::NotModified => Err(not_modified(obj)),
        ReadOutcome::PreconditionFailed => Err(precondition_failed()),
    }
}

/// The byte range served, as `(range, Content-Range)`; `InvalidRange` (416) if it
/// cannot be satisfied.
fn resolve_range(
    range: Option<&Range>,
    size: u64,
) -> S3Result<(std::ops::Range<usize>, Option<String>)> {
    let Some(r) = range else {
        return Ok((0..size as usize, None));
    };
    let r = r.check(size).map_err(|_| {
        with_headers(
            s3_error!(InvalidRange, "The requested range is not satisfiable"),
            &[("content-range", format!("bytes */{size}"))],
        )
    })?;
    let header = format!("bytes {}-{}/{size}", r.start, r.end - 1);
    Ok((r.start as usize..r.end as usize, Some(header)))
}

/// Checksums are answered only when asked for and only for the whole object.
fn answered_checksum(obj: &Object, mode: Option<&ChecksumMode>, ranged: bool) -> Checksum {
    let enabled = mode.is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
    if !enabled || ranged {
        return Checksum::default();
    }
    Checksum {
        checksum_type: Some(ChecksumType::from(ChecksumType::FULL_OBJECT.to_owned())),
        ..obj.checksum.clone()
    }
}

fn has_checksum(c: &Checksum) -> bool {
    c.checksum_crc32.is_some()
        || c.checksum_crc32c.is_some()
        || c.checksum_sha1.is_some()
        || c.checksum_sha256.is_some()
        || c.checksum_crc64nvme.is_some()
}

impl S3Backend {
    pub(super) async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let S3Request {
            mut input,
            headers,
            credentials,
            trailing_headers,
            ..
        } = req;
        let conditions = WriteConditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
        };
        let checksum = Checksum {
            checksum_crc32: input.checksum_crc32.take(),
            checksum_crc32c: input.checksum_crc32c.take(),
            checksum_sha1: input.checksum_sha1.take(),
            checksum_sha256: input.checksum_sha256.take(),
            checksum_crc64nvme: input.checksum_crc64nvme.take(),
            checksum_type: None,
        };
        let claims = conditions.check_supported().and_then(|()| {
            claims(
                input.content_md5.as_deref(),
                checksum,
                input.checksum_algorithm.clone(),
            )
        });
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
        let etag = hex::encode(digest);
        let typed = has_checksum(&checksum);
        let object = Arc::new(Object {
            data,
            etag: etag.clone(),
            last_modified_ms: self.now_ms(),
            meta: ObjectMeta {
                content_type: input.content_type.take(),
                content_encoding: stored_encoding(input.content_encoding.take()),
                content_disposition: input.content_disposition.take(),
                content_language: input.content_language.take(),
                cache_control: input.cache_control.take(),
                metadata: input.metadata.take(),
            },
            checksum: checksum.clone(),
        });
        let conditions = WriteConditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
        };
        self.store
            .put(&bucket, &input.key, object.clone(), &conditions)?;
        let who = principal(credentials.as_ref());
        self.notify(
            &bucket,
            "ObjectCreated:Put",
            &input.key,
            Some(&object),
            &who,
        );
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(etag)),
            checksum_crc32: checksum.checksum_crc32,
            checksum_crc32c: checksum.checksum_crc32c,
            checksum_sha1: checksum.checksum_sha1,
            checksum_sha256: checksum.checksum_sha256,
            checksum_crc64nvme: checksum.checksum_crc64nvme,
            checksum_type: typed.then(|| ChecksumType::from(ChecksumType::FULL_OBJECT.to_owned())),
            ..Default::default()
        }))
    }

    pub(super) async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = &req.input;
        if input.part_number.is_some() {
            return Err(s3_error!(
                NotImplemented,
                "GetObject by partNumber is not implemented by this emulator"
            ));
        }
        let bucket = self.store.bucket(&input.bucket)?;
        let obj = bucket.get(&input.key).ok_or_else(no_such_key)?;
        read_checks(
            &obj,
            &ReadConditions {
                if_match: input.if_match.as_ref(),
                if_none_match: input.if_none_match.as_ref(),
                if_modified_since: input.if_modified_since.as_ref(),
                if_unmodified_since: input.if_unmodified_since.as_ref(),
            },
        )?;
        let (range, content_range) = resolve_range(input.range.as_ref(), obj.size())?;
        let ranged = content_range.is_some();
        let data = obj.data.slice(range);
        let len = data.len() as i64;
        let c = answered_checksum(&obj, input.checksum_mode.as_ref(), ranged);
        let m = &obj.meta;
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::from(s3s::Body::from(data))),
            accept_ranges: Some("bytes".into()),
            content_length: Some(len),
            content_range,
            content_type: Some(
                m.content_type
                    .clone()
                    .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into()),
            ),
            content_encoding: m.content_encoding.clone(),
            content_disposition: m.content_disposition.clone(),
            content_language: m.content_language.clone(),
            cache_control: m.cache_control.clone(),
            metadata: m.metadata.clone(),
            e_tag: Some(ETag::Strong(obj.etag.clone())),
            last_modified: Some(timestamp(obj.last_modified_ms)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_type: c.checksum_type.filter(|_| has_checksum(&obj.checksum)),
            ..Default::default()
        }))
    }

    pub(super) async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let obj = bucket.get(&input.key).ok_or_else(no_such_key)?;
        read_checks(
            &obj,
            &ReadConditions {
                if_match: input.if_match.as_ref(),
                if_none_match: input.if_none_match.as_ref(),
                if_modified_since: input.if_modified_since.as_ref(),
                if_unmodified_since: input.if_unmodified_since.as_ref(),
            },
        )?;
        let (range, content_range) = resolve_range(input.range.as_ref(), obj.size())?;
        let ranged = content_range.is_some();
        let c = answered_checksum(&obj, input.checksum_mode.as_ref(), ranged);
        let m = &obj.meta;
        Ok(S3Response::new(HeadObjectOutput {
            accept_ranges: Some("bytes".into()),
            content_length: Some(range.len() as i64),
            content_range,
            content_type: Some(
                m.content_type
                    .clone()
                    .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into()),
            ),
            content_encoding: m.content_encoding.clone(),
            content_disposition: m.content_disposition.clone(),
            content_language: m.content_language.clone(),
            cache_control: m.cache_control.clone(),
            metadata: m.metadata.clone(),
            e_tag: Some(ETag::Strong(obj.etag.clone())),
            last_modified: Some(timestamp(obj.last_modified_ms)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_type: c.checksum_type.filter(|_| has_checksum(&obj.checksum)),
            ..Default::default()
        }))
    }

    pub(super) async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = &req.input;
        let (src_bucket, src_key) = match &input.copy_source {
            CopySource::Bucket { bucket, key, .. } => (&**bucket, &**key),
            _ => {
                return Err(s3_error!(
                    NotImplemented,
                    "Copying from an access point or outpost is not implemented by this emulator"
                ));
            }
        };
        let source = self.store.bucket(src_bucket)?;
        let src = source.get(src_key).ok_or_else(no_such_key)?;
        let outcome = check_read(
            &src,
            &ReadConditions {
                if_match: input.copy_source_if_match.as_ref(),
                if_none_match: input.copy_source_if_none_match.as_ref(),
                if_modified_since: input.copy_source_if_modified_since.as_ref(),
                if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
            },
        );
        if outcome != ReadOutcome::Proceed {
            return Err(precondition_failed());
        }
        let max = self.settings().max_object_bytes;
        if src.size() > max {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: {max}"
            ));
        }
        let replace = match input.metadata_directive.as_ref().map(|d| d.as_str()) {
            None | Some(MetadataDirective::COPY) => false,
            Some(MetadataDirective::REPLACE) => true,
            Some(other) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Unknown metadata directive: {other}"
                ));
            }
        };
        if !replace && src_bucket == input.bucket && src_key == input.key {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let dest = self.store.bucket(&input.bucket)?;
        let meta = if replace {
            ObjectMeta {
                content_type: input.content_type.clone(),
                content_encoding: input.content_encoding.clone(),
                content_disposition: input.content_disposition.clone(),
                content_language: input.content_language.clone(),
                cache_control: input.cache_control.clone(),
                metadata: input.metadata.clone(),
            }
        } else {
            src.meta.clone()
        };
        // A copy is a single-part object: a multipart source gets a single-part ETag.
        let etag = if src.etag.contains('-') {
            hex::encode(body::digest_of(&src.data, self.digest_kind()))
        } else {
            src.etag.clone()
        };
        let object = Arc::new(Object {
            data: src.data.clone(),
            etag: etag.clone(),
            last_modified_ms: self.now_ms(),
            meta,
            checksum: src.checksum.clone(),
        });
        self.store.put(
            &dest,
            &input.key,
            object.clone(),
            &WriteConditions::default(),
        )?;
        let who = principal(req.credentials.as_ref());
        self.notify(&dest, "ObjectCreated:Copy", &input.key, Some(&object), &who);
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(ETag::Strong(etag)),
                last_modified: Some(timestamp(object.last_modified_ms)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }
}
