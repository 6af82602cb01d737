//! Request bodies of PutObject and UploadPart: collected into one `Bytes` under the size
//! limit (no copy for a single-chunk body, one for a chunked one), hashed once on the
//! way in (the ETag digest — md5, or CRC64 with `fast_etags` — plus the checksums the
//! client sends or asks for), then verified the way S3 does: `Content-MD5`
//! (InvalidDigest if malformed, BadDigest if it differs) and `x-amz-checksum-*` from
//! headers or aws-chunked trailers (BadDigest). Errors raised inside s3s's signature
//! layer while streaming become AWS's own errors.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Crc64Nvme, Md5};
use s3s::dto::{Checksum, ChecksumAlgorithm, StreamingBlob};
use s3s::{S3Error, S3ErrorCode, S3Result, TrailingHeaders, s3_error};

/// A collected, hashed body.
#[derive(Debug)]
pub struct Payload {
    pub data: Bytes,
    /// What the ETag is made of: the md5, or (fast ETags) CRC64-NVME and length.
    pub digest: [u8; 16],
    /// The md5, when it was computed (always, unless fast ETags and no Content-MD5).
    pub md5: Option<[u8; 16]>,
    /// The checksums computed over `data` (those the client sent or asked for).
    pub checksum: Checksum,
}

/// What the client says about its body.
#[derive(Debug, Default)]
pub struct Claims {
    pub content_md5: Option<[u8; 16]>,
    /// Checksum values from `x-amz-checksum-*` headers (trailers are merged later).
    pub checksum: Checksum,
    /// `x-amz-sdk-checksum-algorithm` / `x-amz-checksum-algorithm`.
    pub algorithm: Option<ChecksumAlgorithm>,
}

pub fn entity_too_large(max: u64) -> S3Error {
    s3_error!(
        EntityTooLarge,
        "Your proposed upload exceeds the maximum allowed size of {max} bytes"
    )
}

/// Decodes `Content-MD5` (base64 of 16 bytes); `InvalidDigest` if it is not one.
pub fn decode_content_md5(value: Option<&str>) -> S3Result<Option<[u8; 16]>> {
    use base64::Engine as _;
    let Some(value) = value else { return Ok(None) };
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
        .map(Some)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))
}

/// Which checksums to compute: every algorithm claimed by a header, named by the
/// algorithm header, or announced in `x-amz-trailer`.
pub fn hasher_for(claims: &Claims, trailer: Option<&str>) -> S3Result<ChecksumHasher> {
    let mut h = ChecksumHasher::default();
    let c = &claims.checksum;
    let mut enable = |name: &str| -> S3Result<()> {
        match name.to_ascii_uppercase().as_str() {
            ChecksumAlgorithm::CRC32 => h.crc32 = Some(Default::default()),
            ChecksumAlgorithm::CRC32C => h.crc32c = Some(Default::default()),
            ChecksumAlgorithm::SHA1 => h.sha1 = Some(Default::default()),
            ChecksumAlgorithm::SHA256 => h.sha256 = Some(Default::default()),
            ChecksumAlgorithm::CRC64NVME => h.crc64nvme = Some(Default::default()),
            other => {
                return Err(s3_error!(
                    InvalidRequest,
                    "Checksum algorithm {other} is not supported"
                ));
            }
        }
        Ok(())
    };
    for (present, name) in [
        (c.checksum_crc32.is_some(), ChecksumAlgorithm::CRC32),
        (c.checksum_crc32c.is_some(), ChecksumAlgorithm::CRC32C),
        (c.checksum_sha1.is_some(), ChecksumAlgorithm::SHA1),
        (c.checksum_sha256.is_some(), ChecksumAlgorithm::SHA256),
        (c.checksum_crc64nvme.is_some(), ChecksumAlgorithm::CRC64NVME),
    ] {
        if present {
            enable(name)?;
        }
    }
    if let Some(a) = &claims.algorithm {
        enable(a.as_str())?;
    }
    if let Some(t) = trailer {
        for name in t.split(',') {
            if let Some(alg) = name.trim().strip_prefix("x-amz-checksum-") {
                enable(alg)?;
            }
        }
    }
    Ok(h)
}

/// An error from the body stream (s3s verifies payload hashes and chunk signatures
/// while the body is read) as the S3 error AWS would answer.
fn stream_error(e: &(dyn std::error::Error + Send + Sync)) -> S3Error {
    let text = e.to_string();
    if text.contains("Sha256Mismatch") {
        let mut err = S3Error::with_message(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
        err.set_status_code(http::StatusCode::BAD_REQUEST);
        err
    } else if text.contains("SignatureMismatch") {
        s3_error!(
            SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided."
        )
    } else if text.contains("FormatError") || text.contains("TooLarge") || text.contains("TooMany")
    {
        s3_error!(InvalidRequest, "Malformed aws-chunked body: {text}")
    } else {
        s3_error!(
            IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        )
    }
}

/// Bytes still read (and dropped) from a body that is refused before its end, so the
/// client, still sending, reads the error rather than a reset connection.
const DRAIN_MAX: u64 = 64 << 20;

/// Reads and drops what is left of a refused body (up to [`DRAIN_MAX`]).
pub async fn drain(body: Option<StreamingBlob>) {
    let Some(mut stream) = body else { return };
    let mut seen: u64 = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len() as u64;
        if seen > DRAIN_MAX {
            break;
        }
    }
}

/// Which digest an ETag is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Md5,
    /// CRC64-NVME (8 bytes) then the length (8 bytes): content-derived, cheap.
    Fast,
}

/// The ETag digest of `data` in one go (copies of multipart objects).
pub fn digest_of(data: &[u8], kind: Digest) -> [u8; 16] {
    match kind {
        Digest::Md5 => Md5::checksum(data),
        Digest::Fast => fast_digest(Crc64Nvme::checksum(data), data.len() as u64),
    }
}

fn fast_digest(crc: [u8; 8], len: u64) -> [u8; 16] {
    let mut d = [0u8; 16];
    d[..8].copy_from_slice(&crc);
    d[8..].copy_from_slice(&len.to_be_bytes());
    d
}

/// Reads the whole body (at most `max` bytes) and hashes it: the ETag digest `kind`,
/// the md5 as well when `want_md5`, and the checksums `hasher` is set up for.
pub async fn collect(
    body: Option<StreamingBlob>,
    content_length: Option<i64>,
    max: u64,
    mut hasher: ChecksumHasher,
    kind: Digest,
    want_md5: bool,
) -> S3Result<Payload> {
    let mut md5 = (kind == Digest::Md5 || want_md5).then(Md5::new);
    let mut crc = (kind == Digest::Fast).then(Crc64Nvme::new);
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut total: u64 = 0;
    if let Some(mut stream) = body {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| stream_error(&*e))?;
            if chunk.is_empty() {
                continue;
            }
            total += chunk.len() as u64;
            if total > max {
                drain(Some(stream)).await;
                return Err(entity_too_large(max));
            }
            if let Some(m) = &mut md5 {
                m.update(&chunk);
            }
            if let Some(c) = &mut crc {
                c.update(&chunk);
            }
            hasher.update(&chunk);
            match (&mut joined, first.take()) {
                (Some(buf), _) => buf.extend_from_slice(&chunk),
                (None, None) => first = Some(chunk),
                (None, Some(head)) => {
                    let hint = content_length.and_then(|n| usize::try_from(n).ok());
                    let mut buf = BytesMut::with_capacity(hint.unwrap_or(0).max(total as usize));
                    buf.extend_from_slice(&head);
                    buf.extend_from_slice(&chunk);
                    joined = Some(buf);
                }
            }
        }
    }
    let data = match (joined, first) {
        (Some(buf), _) => buf.freeze(),
        (None, Some(b)) => b,
        (None, None) => Bytes::new(),
    };
    let md5 = md5.map(Md5::finalize);
    let digest = match (crc, md5) {
        (Some(c), _) => fast_digest(c.finalize(), data.len() as u64),
        (None, Some(m)) => m,
        (None, None) => [0; 16],
    };
    Ok(Payload {
        data,
        digest,
        md5,
        checksum: hasher.finalize(),
    })
}

/// Receives a body: refuses it early (after draining) when `claims` is already an
/// error or `content_length` exceeds `max`, else collects, hashes and verifies it.
/// `trailer` is the `x-amz-trailer` header.
pub async fn receive(
    body: Option<StreamingBlob>,
    content_length: Option<i64>,
    settings: &super::S3Config,
    claims: S3Result<Claims>,
    trailer: Option<&str>,
    trailers: Option<&TrailingHeaders>,
) -> S3Result<(Payload, Claims)> {
    let max = settings.max_object_bytes;
    let prepared = claims.and_then(|claims| {
        if content_length.is_some_and(|n| n < 0 || n as u64 > max) {
            return Err(entity_too_large(max));
        }
        let hasher = hasher_for(&claims, trailer)?;
        Ok((claims, hasher))
    });
    let (mut claims, hasher) = match prepared {
        Ok(p) => p,
        Err(e) => {
            drain(body).await;
            return Err(e);
        }
    };
    let kind = if settings.fast_etags {
        Digest::Fast
    } else {
        Digest::Md5
    };
    let want_md5 = claims.content_md5.is_some();
    let payload = collect(body, content_length, max, hasher, kind, want_md5).await?;
    merge_trailers(&mut claims, trailers)?;
    verify(&payload, &claims)?;
    Ok((payload, claims))
}

/// Checksum values sent as aws-chunked trailers join the claims (readable once the
/// body has been read to its end).
pub fn merge_trailers(claims: &mut Claims, trailers: Option<&TrailingHeaders>) -> S3Result<()> {
    let Some(map) = trailers.and_then(TrailingHeaders::take) else {
        return Ok(());
    };
    let c = &mut claims.checksum;
    for (name, slot) in [
        ("x-amz-checksum-crc32", &mut c.checksum_crc32),
        ("x-amz-checksum-crc32c", &mut c.checksum_crc32c),
        ("x-amz-checksum-sha1", &mut c.checksum_sha1),
        ("x-amz-checksum-sha256", &mut c.checksum_sha256),
        ("x-amz-checksum-crc64nvme", &mut c.checksum_crc64nvme),
    ] {
        if let Some(v) = map.get(name) {
            let v = v
                .to_str()
                .map_err(|_| s3_error!(InvalidRequest, "Value for {name} trailer is invalid."))?;
            *slot = Some(v.to_owned());
        }
    }
    Ok(())
}

/// Compares what the client claimed with what was computed.
pub fn verify(payload: &Payload, claims: &Claims) -> S3Result<()> {
    if let Some(md5) = claims.content_md5
        && Some(md5) != payload.md5
    {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    let (c, p) = (&claims.checksum, &payload.checksum);
    for (name, claimed, computed) in [
        ("CRC32", &c.checksum_crc32, &p.checksum_crc32),
        ("CRC32C", &c.checksum_crc32c, &p.checksum_crc32c),
        ("SHA1", &c.checksum_sha1, &p.checksum_sha1),
        ("SHA256", &c.checksum_sha256, &p.checksum_sha256),
        ("CRC64NVME", &c.checksum_crc64nvme, &p.checksum_crc64nvme),
    ] {
        if let Some(claimed) = claimed
            && Some(claimed) != computed.as_ref()
        {
            return Err(s3_error!(
                BadDigest,
                "The {name} you specified did not match the calculated checksum."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(chunks: &[&'static [u8]]) -> StreamingBlob {
        let items: Vec<Result<Bytes, std::io::Error>> =
            chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        StreamingBlob::wrap(futures::stream::iter(items))
    }

    #[tokio::test]
    async fn collects_hashes_and_verifies() {
        let claims = Claims {
            algorithm: Some(ChecksumAlgorithm::from(ChecksumAlgorithm::CRC32.to_owned())),
            ..Default::default()
        };
        let h = hasher_for(&claims, None).unwrap();
        let p = collect(
            Some(blob(&[b"hello ", b"world"])),
            Some(11),
            100,
            h,
            Digest::Md5,
            false,
        )
        .await
        .unwrap();
        assert_eq!(&p.data[..], b"hello world");
        assert_eq!(hex::encode(p.digest), "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(p.md5, Some(p.digest));
        // CRC32 of "hello world" is 0x0d4a1185.
        assert_eq!(p.checksum.checksum_crc32.as_deref(), Some("DUoRhQ=="));

        let mut bad = Claims::default();
        bad.checksum.checksum_crc32 = Some("AAAAAA==".into());
        assert_eq!(
            verify(&p, &bad).unwrap_err().code(),
            &S3ErrorCode::BadDigest
        );
        let md5 = decode_content_md5(Some("XrY7u+Ae7tCTyyK7j1rNww==")).unwrap();
        let good = Claims {
            content_md5: md5,
            ..Default::default()
        };
        assert!(verify(&p, &good).is_ok());
        let e = decode_content_md5(Some("not-md5")).unwrap_err();
        assert_eq!(e.code(), &S3ErrorCode::InvalidDigest);
    }

    #[tokio::test]
    async fn refuses_bodies_over_the_limit() {
        let h = ChecksumHasher::default();
        let e = collect(
            Some(blob(&[b"12345", b"6"])),
            None,
            5,
            h,
            Digest::Md5,
            false,
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), &S3ErrorCode::EntityTooLarge);
    }

    #[tokio::test]
    async fn fast_digests_skip_md5_unless_asked() {
        let h = ChecksumHasher::default;
        let p = collect(
            Some(blob(&[b"ab", b"c"])),
            None,
            10,
            h(),
            Digest::Fast,
            false,
        )
        .await
        .unwrap();
        assert_eq!(p.md5, None);
        assert_eq!(p.digest, digest_of(b"abc", Digest::Fast));
        assert_eq!(&p.digest[8..], &3u64.to_be_bytes());
        let q = collect(Some(blob(&[b"abd"])), None, 10, h(), Digest::Fast, true)
            .await
            .unwrap();
        assert_ne!(q.digest, p.digest);
        assert_eq!(q.md5, Some(digest_of(b"abd", Digest::Md5)));
    }
}
