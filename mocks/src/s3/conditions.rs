//! Conditional requests, which s3s parses but never checks.
//!
//! Writes (PutObject, CompleteMultipartUpload, DeleteObject): `If-None-Match: *` →
//! 412 if the key exists; `If-Match: "<etag>"` → 412 if the ETag differs, 404 NoSuchKey
//! if the key is absent (what AWS answers, and what object_store expects).
//! Reads (GetObject, HeadObject, CopyObject's source): RFC 9110 §13.2.2 order, as S3
//! documents it — If-Match, else If-Unmodified-Since (412); then If-None-Match, else
//! If-Modified-Since (304 for GET/HEAD, 412 for a copy source). Times compare in whole
//! seconds, the precision of `Last-Modified`.

use super::store::{Object, no_such_key};
use s3s::dto::{ETagCondition, Timestamp};
use s3s::{S3Result, s3_error};

/// The preconditions of a write.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriteConditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
}

pub fn precondition_failed() -> s3s::S3Error {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

impl WriteConditions<'_> {
    /// S3 supports only `If-None-Match: *` on writes; anything else is refused before
    /// the body is read.
    pub fn check_supported(&self) -> S3Result<()> {
        match self.if_none_match {
            Some(ETagCondition::ETag(_)) => Err(s3_error!(
                NotImplemented,
                "A header you provided implies functionality that is not implemented: If-None-Match accepts only *"
            )),
            _ => Ok(()),
        }
    }
}

fn etag_matches(cond: &ETagCondition, etag: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == etag,
    }
}

/// Checks a write's preconditions against the object now at the key.
pub fn check_write(current: Option<&Object>, c: &WriteConditions<'_>) -> S3Result<()> {
    if let Some(cond) = c.if_none_match
        && let Some(obj) = current
        && etag_matches(cond, &obj.etag)
    {
        return Err(precondition_failed());
    }
    if let Some(cond) = c.if_match {
        let obj = current.ok_or_else(no_such_key)?;
        if !etag_matches(cond, &obj.etag) {
            return Err(precondition_failed());
        }
    }
    Ok(())
}

/// The preconditions of a read.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadConditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    Proceed,
    NotModified,
    PreconditionFailed,
}

fn unix_seconds(t: &Timestamp) -> i64 {
    time::OffsetDateTime::from(t.clone()).unix_timestamp()
}

pub fn check_read(obj: &Object, c: &ReadConditions<'_>) -> ReadOutcome {
    let modified_s = obj.last_modified_ms.div_euclid(1000);
    match (c.if_match, c.if_unmodified_since) {
        (Some(cond), _) if !etag_matches(cond, &obj.etag) => {
            return ReadOutcome::PreconditionFailed;
        }
        (None, Some(t)) if modified_s > unix_seconds(t) => {
            return ReadOutcome::PreconditionFailed;
        }
        _ => {}
    }
    match (c.if_none_match, c.if_modified_since) {
        (Some(cond), _) if etag_matches(cond, &obj.etag) => ReadOutcome::NotModified,
        (None, Some(t)) if modified_s <= unix_seconds(t) => ReadOutcome::NotModified,
        _ => ReadOutcome::Proceed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::dto::ETag;

    fn obj(etag: &str, modified_s: i64) -> Object {
        Object {
            data: bytes::Bytes::new(),
            etag: etag.into(),
            last_modified_ms: modified_s * 1000 + 500,
            meta: Default::default(),
            checksum: Default::default(),
        }
    }

    fn tag(v: &str) -> ETagCondition {
        ETagCondition::ETag(ETag::Strong(v.into()))
    }

    fn ts(s: i64) -> Timestamp {
        time::OffsetDateTime::from_unix_timestamp(s).unwrap().into()
    }

    #[test]
    fn write_conditions() {
        let o = obj("abc", 100);
        let any = ETagCondition::Any;
        let create = WriteConditions {
            if_none_match: Some(&any),
            ..Default::default()
        };
        assert!(check_write(None, &create).is_ok());
        let e = check_write(Some(&o), &create).unwrap_err();
        assert_eq!(e.code(), &s3s::S3ErrorCode::PreconditionFailed);

        let good = tag("abc");
        let stale = tag("old");
        let update = |c| WriteConditions {
            if_match: Some(c),
            ..Default::default()
        };
        assert!(check_write(Some(&o), &update(&good)).is_ok());
        let e = check_write(Some(&o), &update(&stale)).unwrap_err();
        assert_eq!(e.code(), &s3s::S3ErrorCode::PreconditionFailed);
        let e = check_write(None, &update(&good)).unwrap_err();
        assert_eq!(e.code(), &s3s::S3ErrorCode::NoSuchKey);

        let unsupported = WriteConditions {
            if_none_match: Some(&good),
            ..Default::default()
        };
        assert!(unsupported.check_supported().is_err());
        assert!(create.check_supported().is_ok());
    }

    #[test]
    fn read_conditions_follow_rfc_order() {
        let o = obj("abc", 100);
        let (good, stale) = (tag("abc"), tag("old"));
        let (before, at, after) = (ts(99), ts(100), ts(101));
        let c = |m, nm, ms, us| ReadConditions {
            if_match: m,
            if_none_match: nm,
            if_modified_since: ms,
            if_unmodified_since: us,
        };
        use ReadOutcome::*;
        assert_eq!(check_read(&o, &c(None, None, None, None)), Proceed);
        assert_eq!(
            check_read(&o, &c(Some(&stale), None, None, None)),
            PreconditionFailed
        );
        assert_eq!(check_read(&o, &c(Some(&good), None, None, None)), Proceed);
        // If-Match true wins over a failing If-Unmodified-Since.
        assert_eq!(
            check_read(&o, &c(Some(&good), None, None, Some(&before))),
            Proceed
        );
        assert_eq!(
            check_read(&o, &c(None, None, None, Some(&before))),
            PreconditionFailed
        );
        assert_eq!(check_read(&o, &c(None, None, None, Some(&at))), Proceed);
        assert_eq!(
            check_read(&o, &c(None, Some(&good), None, None)),
            NotModified
        );
        assert_eq!(check_read(&o, &c(None, Some(&stale), None, None)), Proceed);
        // If-None-Match false wins over an If-Modified-Since that says "not modified".
        assert_eq!(
            check_read(&o, &c(None, Some(&stale), Some(&after), None)),
            Proceed
        );
        assert_eq!(check_read(&o, &c(None, None, Some(&at), None)), NotModified);
        assert_eq!(check_read(&o, &c(None, None, Some(&before), None)), Proceed);
    }
}
