//! The S3 operation a raw request is (`PutObject`, `ListObjectsV2`, ...), worked out from
//! method, path, query and a few headers before s3s sees the request. Only fault
//! targeting uses it, so it stays cheap: no decoding, no allocation.

use super::host::bucket_from_host;
use http::{HeaderMap, Method, Uri};

/// What the path addresses once the bucket is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Service,
    Bucket,
    Object,
}

fn target(uri: &Uri, headers: &HeaderMap) -> Target {
    let path = uri.path().trim_start_matches('/');
    let virtual_host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(bucket_from_host)
        .is_some();
    if virtual_host {
        return if path.is_empty() {
            Target::Bucket
        } else {
            Target::Object
        };
    }
    match path.split_once('/') {
        None if path.is_empty() => Target::Service,
        None => Target::Bucket,
        Some((_, "")) => Target::Bucket,
        Some(_) => Target::Object,
    }
}

fn has_param(uri: &Uri, name: &str) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.split_once('=').map_or(kv, |(k, _)| k) == name)
    })
}

/// The S3 operation `method` + `uri` + `headers` is; "Unknown" when it is none we name.
pub fn operation_name(method: &Method, uri: &Uri, headers: &HeaderMap) -> &'static str {
    let q = |name| has_param(uri, name);
    match target(uri, headers) {
        Target::Service => match *method {
            Method::GET => "ListBuckets",
            _ => "Unknown",
        },
        Target::Bucket => match *method {
            Method::GET if q("notification") => "GetBucketNotificationConfiguration",
            Method::GET if q("location") => "GetBucketLocation",
            Method::GET if q("uploads") => "ListMultipartUploads",
            Method::GET if q("versions") => "ListObjectVersions",
            Method::GET if q("list-type") => "ListObjectsV2",
            Method::GET => "ListObjects",
            Method::PUT if q("notification") => "PutBucketNotificationConfiguration",
            Method::PUT => "CreateBucket",
            Method::HEAD => "HeadBucket",
            Method::DELETE => "DeleteBucket",
            Method::POST if q("delete") => "DeleteObjects",
            _ => "Unknown",
        },
        Target::Object => match *method {
            Method::PUT if headers.contains_key("x-amz-copy-source") => {
                if q("uploadId") {
                    "UploadPartCopy"
                } else {
                    "CopyObject"
                }
            }
            Method::PUT if q("uploadId") => "UploadPart",
            Method::PUT if q("tagging") => "PutObjectTagging",
            Method::PUT => "PutObject",
            Method::GET if q("uploadId") => "ListParts",
            Method::GET if q("tagging") => "GetObjectTagging",
            Method::GET => "GetObject",
            Method::HEAD => "HeadObject",
            Method::DELETE if q("uploadId") => "AbortMultipartUpload",
            Method::DELETE => "DeleteObject",
            Method::POST if q("uploads") => "CreateMultipartUpload",
            Method::POST if q("uploadId") => "CompleteMultipartUpload",
            _ => "Unknown",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(method: Method, uri: &str, headers: &[(&str, &str)]) -> &'static str {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        operation_name(&method, &uri.parse().unwrap(), &map)
    }

    #[test]
    fn names_path_style_operations() {
        use Method as M;
        type Case<'a> = (M, &'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (M::GET, "/", &[], "ListBuckets"),
            (M::PUT, "/b", &[], "CreateBucket"),
            (M::HEAD, "/b", &[], "HeadBucket"),
            (M::DELETE, "/b/", &[], "DeleteBucket"),
            (M::GET, "/b?list-type=2&prefix=a", &[], "ListObjectsV2"),
            (M::GET, "/b", &[], "ListObjects"),
            (M::POST, "/b?delete", &[], "DeleteObjects"),
            (
                M::PUT,
                "/b?notification",
                &[],
                "PutBucketNotificationConfiguration",
            ),
            (
                M::GET,
                "/b?notification=",
                &[],
                "GetBucketNotificationConfiguration",
            ),
            (M::PUT, "/b/k/x.parquet", &[], "PutObject"),
            (
                M::PUT,
                "/b/k",
                &[("x-amz-copy-source", "/b/j")],
                "CopyObject",
            ),
            (M::PUT, "/b/k?partNumber=1&uploadId=u", &[], "UploadPart"),
            (M::GET, "/b/k", &[], "GetObject"),
            (M::HEAD, "/b/k", &[], "HeadObject"),
            (M::DELETE, "/b/k", &[], "DeleteObject"),
            (M::POST, "/b/k?uploads", &[], "CreateMultipartUpload"),
            (M::POST, "/b/k?uploadId=u", &[], "CompleteMultipartUpload"),
            (M::DELETE, "/b/k?uploadId=u", &[], "AbortMultipartUpload"),
            (M::GET, "/b/k?uploadId=u", &[], "ListParts"),
            (M::PATCH, "/b/k", &[], "Unknown"),
        ];
        for (m, uri, h, want) in cases {
            assert_eq!(name(m.clone(), uri, h), *want, "{m} {uri}");
        }
    }

    #[test]
    fn names_virtual_host_operations() {
        let host = [("host", "b.s3.localhost:4566")];
        assert_eq!(name(Method::GET, "/?list-type=2", &host), "ListObjectsV2");
        assert_eq!(name(Method::PUT, "/", &host), "CreateBucket");
        assert_eq!(name(Method::PUT, "/key", &host), "PutObject");
        assert_eq!(
            name(Method::GET, "/", &[("host", "127.0.0.1:4566")]),
            "ListBuckets"
        );
    }
}
