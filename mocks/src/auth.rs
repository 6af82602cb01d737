//! Credentials: SigV4 verification for the JSON services (Kinesis, SQS) against the
//! table of known access keys, and the same table handed to s3s for S3.
//!
//! The canonical request follows AWS's "Create a signed AWS API request"
//! (SigV4): method, URI, sorted query, the signed headers, the payload hash.

use crate::config::EmulatorConfig;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};
use std::sync::Arc;

type HmacSha256 = Hmac<Sha256>;

/// Why a request's credentials were refused; each maps to AWS's own error per protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey,
    #[error("Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'.")]
    Malformed,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
    )]
    SignatureMismatch,
    #[error("Signature expired: request time is more than 15 minutes away from the server time.")]
    Expired,
}

impl AuthError {
    /// Counter suffix: `auth.rejected.<reason>`.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::UnknownAccessKey => "unknown_key",
            AuthError::Malformed => "malformed",
            AuthError::SignatureMismatch => "signature",
            AuthError::Expired => "expired",
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthError> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or(AuthError::Malformed)?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (credential, signed, signature) = match (credential, signed, signature) {
        (Some(c), Some(h), Some(s)) => (c, h, s),
        _ => return Err(AuthError::Malformed),
    };
    let mut scope = credential.split('/');
    let mut next = || scope.next().ok_or(AuthError::Malformed);
    let (access_key_id, date, region, service) = (next()?, next()?, next()?, next()?);
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

/// Checks a request signed for a JSON service. With `verify_signatures` off only the
/// access key must be known.
pub fn verify_request(
    config: &EmulatorConfig,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), AuthError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed)?;
    let auth = parse_authorization(value)?;
    let secret = config
        .secret_for(auth.access_key_id)
        .ok_or(AuthError::UnknownAccessKey)?;
    if !config.verify_signatures {
        return Ok(());
    }
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or(AuthError::Malformed)?;
    check_skew(amz_date)?;
    let payload_hash = match headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        Some(h) => h.to_string(),
        None => hex::encode(Sha256::digest(body)),
    };
    let canonical = canonical_request(method, uri, headers, &auth.signed_headers, &payload_hash)?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, auth.date, auth.region, auth.service);
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch)
    }
}

fn check_skew(amz_date: &str) -> Result<(), AuthError> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = time::PrimitiveDateTime::parse(amz_date, format)
        .map_err(|_| AuthError::Malformed)?
        .assume_utc();
    let skew_ms = (t.unix_timestamp() * 1000 - crate::clock::system_now_ms()).abs();
    if skew_ms > 15 * 60 * 1000 {
        return Err(AuthError::Expired);
    }
    Ok(())
}

fn canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &[&str],
    payload_hash: &str,
) -> Result<String, AuthError> {
    let mut out = String::with_capacity(256);
    out.push_str(method.as_str());
    out.push('\n');
    out.push_str(if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    });
    out.push('\n');
    let mut query: Vec<(&str, &str)> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .collect();
    query.sort();
    for (i, (k, v)) in query.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out.push('\n');
    for name in signed_headers {
        let mut values = headers.get_all(*name).iter().peekable();
        if values.peek().is_none() {
            return Err(AuthError::SignatureMismatch);
        }
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for v in values {
            if !first {
                out.push(',');
            }
            first = false;
            let v = v.to_str().map_err(|_| AuthError::Malformed)?;
            out.push_str(&v.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // An HMAC key of any length is valid, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The credential table as s3s sees it: S3 signatures (header, presigned, chunked) are
/// verified by s3s itself against these secrets.
pub struct S3Credentials(pub Arc<EmulatorConfig>);

#[async_trait::async_trait]
impl s3s::auth::S3Auth for S3Credentials {
    async fn get_secret_key(&self, access_key: &str) -> s3s::S3Result<s3s::auth::SecretKey> {
        self.0
            .secret_for(access_key)
            .map(s3s::auth::SecretKey::from)
            .ok_or_else(|| s3s::s3_error!(InvalidAccessKeyId))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_authorization_header() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd",
        )
        .unwrap();
        assert_eq!(a.access_key_id, "AKID");
        assert_eq!(a.service, "kinesis");
        assert_eq!(a.signed_headers, vec!["host", "x-amz-date"]);
        assert_eq!(a.signature, "abcd");
        assert_eq!(parse_authorization("Bearer x"), Err(AuthError::Malformed));
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=AKID"),
            Err(AuthError::Malformed)
        );
    }

    #[test]
    fn signing_key_matches_aws_example() {
        // From AWS's SigV4 documentation ("Examples of how to derive a signing key").
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }
}
