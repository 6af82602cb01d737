//! ListObjectsV2: prefix, delimiter (CommonPrefixes), max-keys, start-after and
//! continuation tokens, KeyCount, IsTruncated, encoding-type=url.
//!
//! Works on the bucket's sorted map by range: each page costs O(page · log n), and a
//! common prefix is jumped over instead of walking the keys under it.

use super::notify::encode_key;
use super::settings::MAX_LIST_KEYS;
use super::store::Object;
use super::{S3Backend, timestamp};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// Above every character: `cp + MAX_CHAR` sorts after almost every key under `cp`.
const MAX_CHAR: char = '\u{10FFFF}';

/// Where a page ended: after a key, or after a common prefix (everything under it).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mark {
    Key(String),
    Prefix(String),
}

impl Mark {
    fn encode(&self) -> String {
        match self {
            Mark::Key(k) => B64.encode(format!("k{k}")),
            Mark::Prefix(p) => B64.encode(format!("p{p}")),
        }
    }

    fn decode(token: &str) -> S3Result<Mark> {
        let invalid = || {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        };
        let raw = B64.decode(token).map_err(|_| invalid())?;
        let s = String::from_utf8(raw).map_err(|_| invalid())?;
        match s.split_at_checked(1) {
            Some(("k", k)) => Ok(Mark::Key(k.to_owned())),
            Some(("p", p)) => Ok(Mark::Prefix(p.to_owned())),
            _ => Err(invalid()),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Default)]
struct Page {
    contents: Vec<(String, Arc<Object>)>,
    prefixes: Vec<String>,
    next: Option<Mark>,
}

fn list_page(
    map: &BTreeMap<String, Arc<Object>>,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<Mark>,
    max: usize,
) -> Page {
    let mut page = Page::default();
    // Keys under `skip` belong to a common prefix already listed.
    let (mut lower, mut skip) = match after {
        Some(Mark::Key(k)) => (Bound::Excluded(k), None),
        Some(Mark::Prefix(p)) => (Bound::Excluded(format!("{p}{MAX_CHAR}")), Some(p)),
        None => (Bound::Unbounded, None),
    };
    let below_prefix = match &lower {
        Bound::Unbounded => true,
        Bound::Excluded(s) | Bound::Included(s) => s.as_str() < prefix,
    };
    if below_prefix {
        lower = Bound::Included(prefix.to_owned());
    }
    let mut last: Option<Mark> = None;
    'pages: loop {
        let range = map.range::<str, _>((lower.as_ref().map(String::as_str), Bound::Unbounded));
        for (key, obj) in range {
            if !key.starts_with(prefix) {
                break 'pages;
            }
            if skip.as_deref().is_some_and(|s| key.starts_with(s)) {
                continue;
            }
            if page.contents.len() + page.prefixes.len() == max {
                page.next = last;
                return page;
            }
            let rest = &key[prefix.len()..];
            if let Some(i) = delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
                let cp = key[..prefix.len() + i].to_owned();
                page.prefixes.push(cp.clone());
                lower = Bound::Excluded(format!("{cp}{MAX_CHAR}"));
                last = Some(Mark::Prefix(cp.clone()));
                skip = Some(cp);
                continue 'pages;
            }
            page.contents.push((key.clone(), obj.clone()));
            last = Some(Mark::Key(key.clone()));
        }
        break;
    }
    page
}

fn checksum_algorithms(o: &Object) -> Option<Vec<ChecksumAlgorithm>> {
    let c = &o.checksum;
    let names: Vec<ChecksumAlgorithm> = [
        (c.checksum_crc32.is_some(), ChecksumAlgorithm::CRC32),
        (c.checksum_crc32c.is_some(), ChecksumAlgorithm::CRC32C),
        (c.checksum_sha1.is_some(), ChecksumAlgorithm::SHA1),
        (c.checksum_sha256.is_some(), ChecksumAlgorithm::SHA256),
        (c.checksum_crc64nvme.is_some(), ChecksumAlgorithm::CRC64NVME),
    ]
    .into_iter()
    .filter(|(present, _)| *present)
    .map(|(_, n)| ChecksumAlgorithm::from(n.to_owned()))
    .collect();
    (!names.is_empty()).then_some(names)
}

impl S3Backend {
    pub(super) async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = &req.input;
        let url = match input.encoding_type.as_ref().map(|e| e.as_str()) {
            None => false,
            Some(EncodingType::URL) => true,
            Some(_) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Invalid Encoding Method specified in Request"
                ));
            }
        };
        let max_keys = input.max_keys.unwrap_or(MAX_LIST_KEYS);
        if max_keys < 0 {
            return Err(s3_error!(InvalidArgument, "max-keys cannot be negative"));
        }
        let after = match (&input.continuation_token, &input.start_after) {
            (Some(t), _) => Some(Mark::decode(t)?),
            (None, Some(s)) if !s.is_empty() => Some(Mark::Key(s.clone())),
            _ => None,
        };
        let bucket = self.store.bucket(&input.bucket)?;
        let prefix = input.prefix.as_deref().unwrap_or("");
        let delimiter = input.delimiter.as_deref().filter(|d| !d.is_empty());
        let max = max_keys.min(MAX_LIST_KEYS) as usize;
        let page = if max == 0 {
            Page::default()
        } else {
            bucket.with_keys(|map| list_page(map, prefix, delimiter, after, max))
        };
        let enc = |s: &str| if url { encode_key(s) } else { s.to_owned() };
        let owner = (input.fetch_owner == Some(true)).then(|| Owner {
            display_name: Some("gameday".into()),
            id: Some(self.ctx.config.account_id.clone()),
        });
        let key_count = (page.contents.len() + page.prefixes.len()) as i32;
        let contents: Vec<Object_> = page
            .contents
            .iter()
            .map(|(key, o)| Object_ {
                key: Some(enc(key)),
                e_tag: Some(ETag::Strong(o.etag.clone())),
                last_modified: Some(timestamp(o.last_modified_ms)),
                size: Some(o.size() as i64),
                storage_class: Some(ObjectStorageClass::from(
                    ObjectStorageClass::STANDARD.to_owned(),
                )),
                checksum_algorithm: checksum_algorithms(o),
                owner: owner.clone(),
                ..Default::default()
            })
            .collect();
        let common_prefixes: Vec<CommonPrefix> = page
            .prefixes
            .iter()
            .map(|p| CommonPrefix {
                prefix: Some(enc(p)),
            })
            .collect();
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(bucket.name.clone()),
            prefix: Some(enc(prefix)),
            delimiter: delimiter.map(enc),
            max_keys: Some(max_keys),
            key_count: Some(key_count),
            is_truncated: Some(page.next.is_some()),
            continuation_token: input.continuation_token.clone(),
            next_continuation_token: page.next.as_ref().map(Mark::encode),
            start_after: input.start_after.as_deref().map(enc),
            encoding_type: input.encoding_type.clone(),
            contents: (!contents.is_empty()).then_some(contents),
            common_prefixes: (!common_prefixes.is_empty()).then_some(common_prefixes),
            ..Default::default()
        }))
    }
}

/// s3s's listing entry (named `Object`, like ours).
type Object_ = s3s::dto::Object;

#[cfg(test)]
mod tests {
    use super::*;

    fn map(keys: &[&str]) -> BTreeMap<String, Arc<Object>> {
        keys.iter()
            .map(|k| {
                let o = Object {
                    data: bytes::Bytes::new(),
                    etag: String::new(),
                    last_modified_ms: 0,
                    meta: Default::default(),
                    checksum: Default::default(),
                };
                ((*k).to_owned(), Arc::new(o))
            })
            .collect()
    }

    fn names(p: &Page) -> (Vec<&str>, Vec<&str>) {
        (
            p.contents.iter().map(|(k, _)| k.as_str()).collect(),
            p.prefixes.iter().map(String::as_str).collect(),
        )
    }

    #[test]
    fn pages_through_keys_and_prefixes() {
        let m = map(&["a/1", "a/2", "b", "c/x/1", "c/x/2", "c/y", "d"]);
        let p = list_page(&m, "", Some("/"), None, 3);
        assert_eq!(names(&p), (vec!["b"], vec!["a/", "c/"]));
        assert_eq!(p.next, Some(Mark::Prefix("c/".into())));
        let p = list_page(&m, "", Some("/"), p.next, 3);
        assert_eq!(names(&p), (vec!["d"], vec![]));
        assert_eq!(p.next, None);

        let p = list_page(&m, "c/", Some("/"), None, 10);
        assert_eq!(names(&p), (vec!["c/y"], vec!["c/x/"]));
        let p = list_page(&m, "", None, Some(Mark::Key("b".into())), 2);
        assert_eq!(names(&p), (vec!["c/x/1", "c/x/2"], vec![]));
        assert_eq!(p.next, Some(Mark::Key("c/x/2".into())));
        let p = list_page(&m, "a/", None, Some(Mark::Key("0".into())), 10);
        assert_eq!(names(&p), (vec!["a/1", "a/2"], vec![]));
    }

    #[test]
    fn tokens_round_trip() {
        for m in [Mark::Key("x/é y".into()), Mark::Prefix("p/".into())] {
            assert_eq!(Mark::decode(&m.encode()).unwrap(), m);
        }
        assert!(Mark::decode("%%%").is_err());
    }
}
