//! `Content-Encoding` of request bodies: identity or gzip (what OTLP/HTTP exporters send
//! by default), decompressed with a hard limit so a small body cannot expand without bound.

use std::io::Read;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodingError {
    #[error("Content-Encoding {0:?} is not supported (identity, gzip)")]
    Unsupported(String),
    #[error("body is not valid gzip")]
    BadGzip,
    #[error("decompressed body exceeds {0} bytes")]
    TooLarge(usize),
}

impl EncodingError {
    pub fn reason(&self) -> &'static str {
        match self {
            EncodingError::Unsupported(_) => "unsupported_encoding",
            EncodingError::BadGzip => "bad_compression",
            EncodingError::TooLarge(_) => "body_too_large",
        }
    }
}

/// The body as the decoder must see it.
pub fn decode(
    content_encoding: Option<&str>,
    body: bytes::Bytes,
    max: usize,
) -> Result<bytes::Bytes, EncodingError> {
    match content_encoding.map(str::trim) {
        None | Some("") | Some("identity") => Ok(body),
        Some(e) if e.eq_ignore_ascii_case("gzip") => {
            let mut out = Vec::new();
            // Read one byte past the limit to tell "exactly max" from "more".
            let mut reader = flate2::read::GzDecoder::new(body.as_ref()).take(max as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|_| EncodingError::BadGzip)?;
            if out.len() > max {
                return Err(EncodingError::TooLarge(max));
            }
            Ok(out.into())
        }
        Some(other) => Err(EncodingError::Unsupported(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> bytes::Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap().into()
    }

    #[test]
    fn gzip_identity_limits_and_garbage() {
        let body = gzip(b"hello otlp");
        assert_eq!(
            decode(Some("gzip"), body.clone(), 100).unwrap().as_ref(),
            b"hello otlp"
        );
        assert_eq!(decode(None, "raw".into(), 100).unwrap().as_ref(), b"raw");
        assert_eq!(
            decode(Some("gzip"), gzip(&[0u8; 1000]), 999),
            Err(EncodingError::TooLarge(999))
        );
        assert_eq!(
            decode(Some("gzip"), gzip(&[0u8; 1000]), 1000)
                .unwrap()
                .len(),
            1000
        );
        assert_eq!(
            decode(Some("gzip"), "not gzip".into(), 100),
            Err(EncodingError::BadGzip)
        );
        assert_eq!(
            decode(Some("br"), body, 100).unwrap_err().reason(),
            "unsupported_encoding"
        );
    }
}
