//! Virtual-host-style addressing: which bucket, if any, a `Host` header names.
//!
//! `bucket.s3.localhost:4566`, `bucket.localhost:4566`,
//! `bucket.s3.localhost.localstack.cloud:4566` and the AWS forms
//! (`bucket.s3.amazonaws.com`, `bucket.s3.<region>.amazonaws.com`) carry the bucket in the
//! host; everything else (`127.0.0.1:PORT`, `localhost:PORT`, a proxy's name) is
//! path-style. Unknown host names are never taken for buckets, so a component reaching
//! the emulator through a named proxy keeps working.

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

/// Base domains a bucket may be a subdomain of, longest first so that
/// `b.s3.localhost.localstack.cloud` is not read as bucket `b.s3` of `localhost...`.
const BASE_DOMAINS: &[&str] = &[
    "s3.localhost.localstack.cloud",
    "localhost.localstack.cloud",
    "s3.amazonaws.com",
    "s3.localhost",
    "localhost",
];

/// The bucket named by `host` (with or without `:port`), if it is virtual-host style.
pub fn bucket_from_host(host: &str) -> Option<&str> {
    let name = strip_port(host);
    if name.parse::<std::net::IpAddr>().is_ok() || name.starts_with('[') {
        return None;
    }
    for base in BASE_DOMAINS {
        if name == *base {
            return None;
        }
        if let Some(bucket) = name
            .strip_suffix(base)
            .and_then(|rest| rest.strip_suffix('.'))
        {
            return non_empty(bucket);
        }
    }
    // bucket.s3.<region>.amazonaws.com and bucket.s3-<region>.amazonaws.com
    let rest = name.strip_suffix(".amazonaws.com")?;
    let (bucket, endpoint) = rest.rsplit_once('.')?;
    let (bucket, endpoint) = if endpoint.starts_with("s3-") {
        (bucket, endpoint)
    } else {
        // `endpoint` is the region; the label before it must be `s3`.
        let (bucket, s3) = bucket.rsplit_once('.')?;
        (bucket, s3)
    };
    if endpoint == "s3" || endpoint.starts_with("s3-") {
        non_empty(bucket)
    } else {
        None
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The emulator's host parser, handed to s3s.
#[derive(Debug, Default)]
pub struct EmulatorHost;

impl S3Host for EmulatorHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        match bucket_from_host(host) {
            Some(bucket) => Ok(VirtualHost::new(host).with_bucket(bucket)),
            None => Ok(VirtualHost::new(host)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_hosts_name_their_bucket() {
        assert_eq!(bucket_from_host("b1.s3.localhost:4566"), Some("b1"));
        assert_eq!(bucket_from_host("b1.localhost:4566"), Some("b1"));
        assert_eq!(
            bucket_from_host("my.dotted.bucket.localhost"),
            Some("my.dotted.bucket")
        );
        assert_eq!(
            bucket_from_host("b1.s3.localhost.localstack.cloud:4566"),
            Some("b1")
        );
        assert_eq!(
            bucket_from_host("b1.localhost.localstack.cloud:4566"),
            Some("b1")
        );
        assert_eq!(bucket_from_host("b1.s3.amazonaws.com"), Some("b1"));
        assert_eq!(
            bucket_from_host("b1.s3.eu-west-1.amazonaws.com"),
            Some("b1")
        );
        assert_eq!(
            bucket_from_host("b1.s3-eu-west-1.amazonaws.com"),
            Some("b1")
        );
    }

    #[test]
    fn other_hosts_are_path_style() {
        for host in [
            "127.0.0.1:4566",
            "[::1]:4566",
            "localhost:4566",
            "localhost",
            "s3.localhost:4566",
            "s3.localhost.localstack.cloud:4566",
            "localhost.localstack.cloud",
            "gateway-a:8080",
            "s3.amazonaws.com",
            "s3.eu-west-1.amazonaws.com",
            "kinesis.us-east-1.amazonaws.com",
        ] {
            assert_eq!(bucket_from_host(host), None, "{host}");
        }
    }
}
